"""The README's Python example runs as written and does what it says."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)
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
