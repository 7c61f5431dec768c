"""The command line: demo, run, info and plot, their files, and their errors."""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from eventsg.cli import main
from eventsg.io import load_result, load_run, read_spikes, spike_populations

SMALL_CONFIG = """
[network]
seed = 4

[run]
duration = {duration}

[[population]]
name = "input"
type = "poisson"
n = 40
rate = 20.0

[[population]]
name = "hidden"
type = "gamma"
n = 50
K = 3
tau = [1.0, 2.0, 4.0]
theta = 0.05

[[projection]]
pre = "input"
post = "hidden"
delay = 1.0
weights = {{ kind = "random_sparse", density = 0.3, mean = 0.3, std = 0.1, seed = 2 }}
"""


def write_config(path, duration=60.0):
    path.write_text(SMALL_CONFIG.format(duration=duration))
    return path


def test_demo_writes_run_file_and_figure(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "-q", "--duration", "40", "--neurons", "60", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "hidden" in printed and "synaptic events" in printed and "demo.png" in printed
    assert (out / "demo.png").stat().st_size > 10_000
    assert spike_populations(out / "demo.h5") == ["hidden", "output"]
    res = load_result(out / "demo.h5")
    assert res.spike_count("hidden") > 0 and res.state("hidden").x.shape[1] == 60
    net, duration, options = load_run(out / "demo.h5")     # the file alone redoes the run
    again = net.run(duration, **options)
    for pop in ("hidden", "output"):
        assert np.array_equal(again.spikes(pop).t, res.spikes(pop).t)


def test_run_info_plot(tmp_path, capsys):
    config = write_config(tmp_path / "small.toml")
    out = tmp_path / "small.h5"
    assert main(["run", str(config), "-o", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "hidden" in printed and "rate Hz" in printed and "M synaptic events/s" in printed
    with h5py.File(out, "r") as f:
        assert "[network]" in f["config"][()].decode()
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "status: ok" in info and "config stored: yes" in info and "hidden" in info
    assert main(["plot", str(out), "-o", str(tmp_path / "fig.png")]) == 0
    assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_bad_config_names_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL_CONFIG.format(duration=10.0).replace("theta = 0.05", "theta = -1.0"))
    assert main(["run", str(bad), "-o", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "population[1].theta" in err and "-1" in err
    assert not (tmp_path / "x.h5").exists()


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope.h5")]) == 2
    assert "nope.h5" in capsys.readouterr().err


def test_runaway_run_exits_nonzero_and_keeps_a_marked_file(tmp_path, capsys):
    config = tmp_path / "hot.toml"
    config.write_text(SMALL_CONFIG.format(duration=200.0).replace(
        "[run]\n", "[run]\nmax_spikes = 50\n"))
    out = tmp_path / "hot.h5"
    assert main(["run", str(config), "-o", str(out), "-q"]) == 3
    assert "max_spikes" in capsys.readouterr().err
    assert load_result(out).status == "runaway"


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_leaves_the_previous_file(tmp_path, how):
    config = write_config(tmp_path / "long.toml", duration=1e7)
    out = tmp_path / "out.h5"
    assert main(["run", str(write_config(tmp_path / "short.toml")), "-o", str(out), "-q"]) == 0
    before = out.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "eventsg", "run", str(config), "-o", str(out),
                             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not any(n.endswith(".tmp") for n in os.listdir(tmp_path)):
        time.sleep(0.2)                                     # until the run has its temp file
    time.sleep(1.0)
    proc.send_signal(how)
    # communicate drains the pipes (a full pipe would block the child); the signal can
    # arrive while a cold Numba cache is compiling, which finishes its step first
    _, err = proc.communicate(timeout=600)
    assert out.read_bytes() == before, err.decode(errors="replace")[-2000:]
    if how == signal.SIGINT:                                # Ctrl-C also removes the temp file
        assert sorted(os.listdir(tmp_path)) == ["long.toml", "out.h5", "short.toml"]
    assert len(read_spikes(out, "hidden")) > 0


def test_ctrl_c_during_a_run_is_raised_between_chunks_and_never_lost(tmp_path):
    """Inside deferred_interrupts SIGINT only sets a flag; the run raises it at its next
    chunk, even when it arrived while no Python code of the run was executing."""
    from eventsg.interrupt import deferred_interrupts
    from eventsg.io import load_config
    net, _ = load_config(write_config(tmp_path / "c.toml", duration=2000.0)).build()
    before = signal.getsignal(signal.SIGINT)
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)          # before the run: kept, not lost
            net.run(2000.0, chunks=50)
            finished.append(True)
    assert not finished                                  # raised by the run, not at the block's end
    assert signal.getsignal(signal.SIGINT) is before


def test_module_entry_point_shows_help():
    done = subprocess.run([sys.executable, "-m", "eventsg", "--help"], capture_output=True,
                          text=True, check=True)
    for command in ("demo", "run", "info", "plot"):
        assert command in done.stdout
