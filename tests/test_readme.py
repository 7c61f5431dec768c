"""The README's Python example runs as written and does what it says."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2, "README lost its python examples"
    monkeypatch.chdir(tmp_path)
    scope = {}
    for block in blocks:                 # one session: later blocks use earlier names
        exec(compile(block, "README.md", "exec"), scope)
    assert (tmp_path / "run.h5").exists() and (tmp_path / "overview.png").exists()
    assert np.array_equal(scope["again"].spikes("gamma2").t, scope["res"].spikes("gamma2").t)
    spk, st, res, ref = scope["spk"], scope["st"], scope["res"], scope["ref"]
    assert len(spk) > 0 and np.all(np.diff(spk.t) >= 0)
    assert st.z.shape == (501, 3, 4) and st.x.shape == (501, 3)
    assert np.all(np.abs(st.r - st.y) <= st.theta * (1 + 1e-12))
    assert res.stats.engine == "event" and ref.stats.engine == "clock"
    assert len(ref.spikes("gamma2")) > 0


def test_readme_names_the_two_setup_commands():
    text = README.read_text()
    assert "pip install -e . && eventsg demo" in text
    assert 'pip install -e ".[test]" && python -m pytest -q' in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest -q' in ci


def test_readme_config_is_valid():
    from eventsg.io import load_config
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1
    net, options = load_config(blocks[0]).build()
    assert [p.name for p in net.populations] == ["inputs", "hidden"]
    assert options["duration"] == 200.0 and options["record"] == ["hidden"]
