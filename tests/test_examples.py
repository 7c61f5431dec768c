"""The example scripts in scripts/examples run (quick versions) and save their figure."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scripts" / "examples"
SCRIPTS = ["sigma_delta_reconstruction", "bucket_impulse_responses", "threshold_sweep"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_and_saves_its_figure(name, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    # the scripts import eventsg; make the work tree importable whether or not it is installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--quick",
                           "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    png = tmp_path / f"{name}.png"
    assert png.exists() and png.stat().st_size > 10_000, f"{name} saved no figure"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "saved" in done.stdout


def test_examples_readme_lists_every_script():
    text = (EXAMPLES / "README.md").read_text()
    for name in SCRIPTS:
        assert f"python scripts/examples/{name}.py" in text
    for path in EXAMPLES.glob("*.py"):
        helper = path.stem == "figure_output"                 # shared by the scripts
        assert helper or path.stem in SCRIPTS, f"{path.name} is not run by this test"
