"""The command line runs the built-in example and reports what it did."""
import subprocess
import sys

from eventsg.cli import main


def test_demo_prints_a_summary(capsys):
    assert main(["demo", "--duration", "20", "--neurons", "60", "--inputs", "40"]) == 0
    out = capsys.readouterr().out
    assert "hidden" in out and "output" in out and "synaptic events" in out


def test_demo_writes_a_sonata_file(tmp_path, capsys):
    from eventsg.io import read_spikes, spike_populations
    path = tmp_path / "demo.h5"
    assert main(["demo", "--duration", "20", "--neurons", "60", "--inputs", "40",
                 "-o", str(path)]) == 0
    assert spike_populations(path) == ["hidden", "output"]
    assert len(read_spikes(path, "hidden")) > 0
    assert str(path) in capsys.readouterr().out


def test_module_entry_point_shows_help():
    done = subprocess.run([sys.executable, "-m", "eventsg", "--help"], capture_output=True,
                          text=True, check=True)
    assert "demo" in done.stdout
