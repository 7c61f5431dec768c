"""The delivery loop's run of inputs that fit (event_loop._fit_run) against the same
inputs taken one at a time by input_fits and add_pending, as the delivery loop takes
them.

From random margins, pending terms and push bounds (shared by the row's targets, as
_fit_run takes them), both must stop at the same input (the first that does not
fit, which spends nothing) and leave the same margins, pending terms, pending drive
steps and flags, bit for bit.
"""
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

from eventsg.engine.crossing import drive_step_fits, input_fits, refund_bounds
from eventsg.engine.event_loop import _fit_run
from eventsg.engine.pending import add_pending

N = 40


class _Pending(NamedTuple):
    """What add_pending reads and writes of the engine state."""
    lazy: np.ndarray
    rowf: np.ndarray
    has_pend: np.ndarray


@njit(cache=False)
def _one_at_a_time(target, weight, k, end, amp, bound_up, bound_down, st, absorbed, pulse, f4,
                   refund):
    while k < end:
        g = target[k]
        w = weight[k] * amp
        if refund:
            if not drive_step_fits(st.lazy, g, w, bound_up):
                break
        elif not input_fits(st.lazy, g, w, bound_up, bound_down):
            break
        add_pending(None, st, g, 4, w, pulse, f4)
        absorbed[g] = 1
        k += 1
    return k


def _state(rng, spent):
    """Random margins (those of neurons ``spent`` 0), pending drive steps and terms, flags."""
    lazy = np.zeros((N, 8))
    lazy[:, :2] = rng.uniform(0.2, 3.0, (N, 2))
    lazy[spent, :2] = 0.0
    lazy[:, 2:7] = rng.normal(size=(N, 5))
    return dict(lazy=lazy, absorbed=rng.integers(0, 2, N).astype(np.uint8),
                has_pend=rng.integers(0, 2, N).astype(np.uint8))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pulse, refund", [(True, False), (False, False), (False, True)])
def test_same_as_one_input_at_a_time(seed, pulse, refund):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, N, 300)
    weight = rng.normal(0.0, 0.05, 300)
    f4 = tuple(rng.normal(size=4))
    bound_up, bound_down = rng.uniform(0.0, 1.0, 2)
    if refund:
        bound_down = 0.0        # (drive steps refund only into targets with every v >= 0)
    k0 = int(rng.integers(0, 20))
    amp = float(rng.choice([-1.0, 0.5, 2.0]))
    # margins spent in a few neurons the first inputs do not reach: the run stops there
    spent = np.setdiff1d(np.arange(N), target[k0:k0 + 5])[:4]
    base = _state(rng, spent)
    a = {key: v.copy() for key, v in base.items()}
    b = {key: v.copy() for key, v in base.items()}
    row_up, row_down, shrink = bound_up, bound_down, 1.0
    if refund:              # as the delivery loop hands a refunding row to _fit_run
        row_up, row_down, shrink = refund_bounds(bound_up, bound_down, 1.0)
    stop_a = _fit_run(target, weight, k0, 300, amp, row_up, row_down, a["lazy"],
                      a["absorbed"], a["has_pend"], pulse, f4, shrink)
    st = _Pending(b["lazy"], np.zeros((2, 4)), b["has_pend"])
    stop_b = _one_at_a_time(target, weight, k0, 300, amp, bound_up, bound_down, st,
                            b["absorbed"], pulse, f4, refund)
    assert stop_a == stop_b
    assert k0 + 5 <= stop_a < 300          # several inputs fit first, then one does not
    for key in base:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    if stop_a < 300:
        g = target[stop_a]
        w = weight[stop_a] * amp
        # the input it stopped at does not fit (and spent nothing)
        lazy = a["lazy"].copy()
        if refund:
            assert not drive_step_fits(lazy, g, w, bound_up)
        else:
            assert not input_fits(lazy, g, w, bound_up, bound_down)
