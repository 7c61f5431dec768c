"""`eventsg train CONFIG.toml`: the run config format plus a [train] section."""
from pathlib import Path

import numpy as np
import pytest

from eventsg.cli import main
from eventsg.errors import SpecError
from eventsg.io import load_config
from eventsg.training import train_config

from test_training_shd import write_two_class_file

SHD_CONFIG = """
[network]
seed = 1
[run]
duration = 40.0
[[population]]
name = "input"
type = "spikes"
n = 20
times = []
ids = []
[[population]]
name = "readout"
type = "gamma"
n = 2
K = 2
tau = [2.0, 4.0]
theta = 0.05
[[projection]]
pre = "input"
post = "readout"
weights = {kind = "dense_normal", mean = 0.0, std = 0.05, seed = 3}
[train]
inputs = "input"
readout = "readout"
loss = "ce"
optimizer = "adam"
lr = 0.02
epochs = 3
window = [0.0, 12.0]
checkpoint = "ckpt.h5"
curve = "curve.png"
[train.data]
kind = "shd"
file = "train.h5"
test_file = "test.h5"
"""


def test_train_cli_on_an_shd_layout_file(tmp_path, capsys):
    write_two_class_file(tmp_path / "train.h5", n=24, seed=0)
    write_two_class_file(tmp_path / "test.h5", n=10, seed=1)
    config = tmp_path / "shd.toml"
    config.write_text(SHD_CONFIG)
    assert main(["train", str(config), "-q"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")]
    assert len(lines) == 3 and "test loss" in lines[-1]
    final_test_accuracy = float(lines[-1].split("test loss")[1].split("accuracy")[1].split("|")[0])
    assert final_test_accuracy >= 0.9
    assert (tmp_path / "curve.png").stat().st_size > 5_000 and (tmp_path / "ckpt.h5").exists()


def test_randman_config_trains(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "scripts" / "configs" / "randman.toml").read_text()
    text = text.replace("n_train = 1000", "n_train = 20").replace("n_test = 500", "n_test = 10")
    text = text.replace('curve = "randman_curve.png"', "")
    trainer, history = train_config(text, epochs=1, progress=False)
    assert len(history) == 1 and 0.0 <= history[0]["test_accuracy"] <= 1.0
    assert set(history[0]["rate_hz"]) == {"readout"}


def test_temporal_pattern_config_trains_on_the_generators_step_targets(tmp_path, capsys):
    """MSE to the generator's step targets (repeated times) from the CLI: no accuracy is
    printed for a loss without classes, and the curve shows loss and spike rates."""
    text = (Path(__file__).resolve().parent.parent / "scripts" / "configs"
            / "temporal_pattern.toml").read_text()
    for key, small in (("n_train = 100", "n_train = 4"), ("n_test = 20", "n_test = 2"),
                       ("duration = 500.0", "duration = 200.0"),
                       ("duration_ms = 500.0", "duration_ms = 200.0"),
                       ("occurrences = [1, 3]", "occurrences = 1"),
                       ('curve = "temporal_pattern_curve.png"',
                        f'curve = "{(tmp_path / "tp.png").as_posix()}"')):
        assert key in text
        text = text.replace(key, small)
    config = tmp_path / "tp.toml"
    config.write_text(text)
    assert main(["train", str(config), "-q", "--epochs", "1"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch")][0]
    assert "test loss" in line and "accuracy" not in line and "readout" in line
    assert (tmp_path / "tp.png").stat().st_size > 5_000


def test_run_section_selects_the_fixed_step_reference(tmp_path):
    """[run] engine = "clock" with dt trains with the fixed-step rule (same config format)."""
    write_two_class_file(tmp_path / "train.h5", n=6, seed=0)
    write_two_class_file(tmp_path / "test.h5", n=4, seed=1)
    base = SHD_CONFIG.replace('checkpoint = "ckpt.h5"', "").replace('curve = "curve.png"', "")
    base = base.replace('"train.h5"', repr(str(tmp_path / "train.h5")).replace("'", '"'))
    base = base.replace('"test.h5"', repr(str(tmp_path / "test.h5")).replace("'", '"'))
    clock = base.replace("duration = 40.0", 'duration = 40.0\nengine = "clock"\ndt = 0.01')
    exact, _ = train_config(base, epochs=1, progress=False)
    stepped, _ = train_config(clock, epochs=1, progress=False)
    assert (stepped.engine, stepped.dt, exact.engine) == ("clock", 0.01, "event")
    w_exact = exact.weights(exact.net.projections[0]).toarray()
    w_clock = stepped.weights(stepped.net.projections[0]).toarray()
    assert not np.array_equal(w_exact, w_clock)
    assert np.abs(w_exact - w_clock).max() < 0.05 * np.abs(w_exact).max()


@pytest.mark.parametrize("change, where", [
    (('readout = "readout"', 'readout = "input"'), "train.readout"),
    (('inputs = "input"', 'inputs = "readout"'), "train.inputs"),
    (('kind = "shd"', 'kind = "mnist"'), "train.data.kind"),
    (('loss = "ce"', 'loss = "hinge"'), "train.loss"),
    (("lr = 0.02", "lr = -1.0"), "train.lr"),
    (("epochs = 3", "epocs = 3"), "train.epocs"),
    (("window = [0.0, 12.0]", "window = [12.0, 0.0]"), "train.window"),
])
def test_bad_train_sections_name_the_key(tmp_path, change, where):
    write_two_class_file(tmp_path / "train.h5", n=2)
    write_two_class_file(tmp_path / "test.h5", n=2)
    config = tmp_path / "bad.toml"
    config.write_text(SHD_CONFIG.replace(*change))
    with pytest.raises(SpecError, match=where.replace(".", r"\.")):
        load_config(config)


def test_missing_train_section_is_a_clear_error():
    text = SHD_CONFIG.split("[train]")[0]
    with pytest.raises(SpecError, match=r"\[train\]"):
        train_config(text)
