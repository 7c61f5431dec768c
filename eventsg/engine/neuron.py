"""SpikingGamma neuron rules shared by the event-driven and fixed-step engines.

Signal ``x = b + v . z``, output ``y = max(0, x)``, threshold ``theta = theta0 + h``.
Spike kinds: NO_SPIKE, UP, DOWN, FLOOR (MODEL.md section 3).
"""
from .jit import inline_kernel

NO_SPIKE = 0
UP = 1
DOWN = 2
FLOOR = 3

GATE_EPS = 1e-9
"""Down spikes need ``r > (1 + GATE_EPS) * theta`` (the level r - theta above the floor)."""


@inline_kernel
def neuron_signal(z, v, bias):
    """x = bias + sum_k v_k z_k (dimensionless)."""
    x = bias
    for k in range(z.shape[0]):
        x += v[k] * z[k]
    return x


@inline_kernel
def spike_kind(x, r, theta):
    """Which spike rule holds for signal x, transmitted r and threshold theta.

    The floor takes precedence: when x <= 0 and r > 0 the neuron transmits
    exact silence (amplitude -r) even if the down rule holds as well.
    """
    if x <= 0.0 and r > 0.0:
        return FLOOR
    y = x if x > 0.0 else 0.0
    if y - r >= theta:
        return UP
    if r - y >= theta and r > (1.0 + GATE_EPS) * theta:
        return DOWN
    return NO_SPIKE


@inline_kernel
def spike_amplitude(kind, x, r, theta, at_crossing):
    """Signed amplitude of a spike of ``kind``.

    At a crossing of a continuous signal the model's amplitude is exactly
    +theta, -theta or -r; where the state jumped (``at_crossing`` False) it is
    the graded y - r.
    """
    if kind == FLOOR:
        return -r
    if at_crossing:
        return theta if kind == UP else -theta
    y = x if x > 0.0 else 0.0
    return y - r


@inline_kernel
def adapted_increment(beta, amplitude):
    """Threshold adaptation added at a spike: beta * |a|."""
    return beta * abs(amplitude)
