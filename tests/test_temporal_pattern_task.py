"""The temporal pattern detection task (scripts/train_temporal_pattern.py) learns on a tiny version.

A few short training sequences and one epoch: the trained read-out detects held-out
pattern occurrences at their end, which the untrained network does not.
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import train_temporal_pattern as task


def test_learning_detects_the_pattern_which_the_untrained_network_does_not():
    args = task.parse_args(["--train", "8", "--test", "6", "--epochs", "1", "--duration", "300",
                            "--test-duration", "500"])
    train_set = task.make_data(args, args.train, 0)[0]
    test_set = task.held_out(args, args.test)
    r_in, r_out = task.rate_inside_outside(list(train_set) + list(test_set), args.pattern_ms)
    assert abs(r_in - r_out) < 0.05 * args.rate          # the pattern cannot be found by rate
    trainer, history, _ = task.train(args, train_set, test_set, log=lambda *a: None)
    before, after = history[0], history[-1]
    assert before["epoch"] == 0 and after["epoch"] == 1
    assert before["test_f1"] < 0.3
    assert after["test_f1"] >= 0.9
    assert after["test_median_abs_error_ms"] < 2.0
    assert after["test_loss_grid"] < 0.5 * before["test_loss_grid"]
    # the detections are the read-out's own spikes: none without the pattern
    noise = task.score(args, task.trained_params(trainer), task.held_out(args, 3, occurrences="0"))
    assert noise["n_true"] == 0 and noise["false_alarms_per_s"] < 1.0


def test_pulse_target_crosses_half_at_each_end():
    t, v = task.pulse_target([100.0, 250.0], rise=2.0, hold=8.0, fall=4.0)
    assert np.all(np.diff(t) > 0)
    for e in (100.0, 250.0):
        assert np.interp(e, t, v) == 0.5
        assert np.interp(e + 5.0, t, v) == 1.0 and np.interp(e + 13.0, t, v) == 0.0
