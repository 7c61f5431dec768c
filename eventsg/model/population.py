"""The SpikingGamma population description."""
from dataclasses import dataclass

import numpy as np

from .validation import check_array, check_count, check_name, check_scalar, fail

MAX_BUCKETS = 64


@dataclass(frozen=True, eq=False)
class GammaPopulation:
    """n SpikingGamma neurons with K buckets each (MODEL.md section 2).

    tau: bucket time constants in ms (> 0): scalar (all K equal; give K), (K,)
    shared by the population, or (n, K) per neuron. v: bucket weights, scalar,
    (K,) or (n, K); default 1/K each, so a constant input I gives x -> bias + I.
    bias: scalar or (n,). theta: threshold theta0 > 0, scalar or (n,).
    tau_h: threshold adaptation time constant in ms (> 0); beta >= 0: threshold
    increase per unit |amplitude| at a spike (0 disables adaptation).
    """
    n: int
    K: int = None
    tau: np.ndarray = 1.0
    theta: np.ndarray = 0.1
    v: np.ndarray = None
    bias: np.ndarray = 0.0
    tau_h: float = 100.0
    beta: float = 0.0
    name: str = None

    def __post_init__(self):
        owner = f"GammaPopulation({self.name or ''})"
        n = check_count(owner, "n", self.n)
        tau = np.asarray(self.tau, dtype=np.float64) if np.ndim(self.tau) else self.tau
        if self.K is not None:
            K = check_count(owner, "K", self.K, low=1, high=MAX_BUCKETS)
        elif np.ndim(tau) >= 1:
            K = np.shape(tau)[-1]
        else:
            K = 1
        if not 1 <= K <= MAX_BUCKETS:
            fail(owner, "K", K, f"an integer in [1, {MAX_BUCKETS}]")
        shared = np.ndim(tau) < 2
        tau = check_array(owner, "tau", tau, [(), (K,), (n, K)], positive=True)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "tau_shared", shared)
        object.__setattr__(self, "tau", tau[0].copy() if shared else tau)
        v = np.full(K, 1.0 / K) if self.v is None else self.v
        object.__setattr__(self, "v", check_array(owner, "v", v, [(), (K,), (n, K)]))
        object.__setattr__(self, "bias", check_array(owner, "bias", self.bias, [(), (n,)]))
        object.__setattr__(self, "theta", check_array(owner, "theta", self.theta, [(), (n,)],
                                                      positive=True))
        object.__setattr__(self, "tau_h", check_scalar(owner, "tau_h", self.tau_h, positive=True))
        object.__setattr__(self, "beta", check_scalar(owner, "beta", self.beta, nonnegative=True))
        check_name(owner, self.name)

    @property
    def kind(self):
        return "gamma"

    def tau_per_neuron(self):
        """(n, K) time constants in ms."""
        return np.broadcast_to(self.tau, (self.n, self.K))

    def v_per_neuron(self):
        """(n, K) bucket weights."""
        return np.broadcast_to(self.v, (self.n, self.K))
