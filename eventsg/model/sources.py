"""Input populations: spike sources and sigma-delta encoded signal sources."""
from dataclasses import dataclass

import numpy as np

from .validation import check_array, check_choice, check_count, check_name, check_scalar, fail

CODINGS = ("pulse", "delta")


@dataclass(frozen=True, eq=False)
class SpikeSource:
    """A fixed list of input events ``(t, i, a)``.

    n: channels. times: event times in ms (finite, >= 0; any order, sorted
    stably here). ids: channel of each event, in [0, n). amplitudes: scalar or one
    per event (default 1). coding: "pulse" (each event makes bucket 1 of a target
    jump by w*a) or "delta" (the channel transmits r = running sum of a).
    """
    n: int
    times: np.ndarray
    ids: np.ndarray
    amplitudes: np.ndarray = None
    coding: str = "pulse"
    name: str = None

    def __post_init__(self):
        owner = f"SpikeSource({self.name or ''})"
        n = check_count(owner, "n", self.n)
        times = np.asarray(self.times, dtype=np.float64).reshape(-1) if np.ndim(self.times) else None
        if times is None:
            fail(owner, "times", self.times, "a 1-D array of event times in ms")
        times = check_array(owner, "times", times, [times.shape], nonnegative=True)
        ids = np.asarray(self.ids)
        if ids.shape != times.shape:
            fail(owner, "ids", f"array of shape {ids.shape}", f"of shape {times.shape} (one per event)")
        if ids.size and (not np.issubdtype(ids.dtype, np.integer)):
            if not np.all(np.isfinite(ids.astype(float))) or np.any(ids != np.round(ids)):
                fail(owner, "ids", ids, "integers")
        ids = ids.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            bad = ids[(ids < 0) | (ids >= n)][0]
            fail(owner, "ids", bad, f"in [0, {n}) (n = {n})")
        amps = 1.0 if self.amplitudes is None else self.amplitudes
        amps = check_array(owner, "amplitudes", amps, [(), times.shape])
        check_choice(owner, "coding", self.coding, CODINGS)
        check_name(owner, self.name)
        order = np.argsort(times, kind="stable")
        for key, arr in (("times", times), ("ids", ids), ("amplitudes", amps)):
            arr = np.ascontiguousarray(arr[order])
            arr.flags.writeable = False
            object.__setattr__(self, key, arr)
        object.__setattr__(self, "n", n)

    @property
    def kind(self):
        return "source"

    def events(self, duration):
        """(times, ids, amplitudes) of the events up to ``duration`` ms."""
        keep = self.times <= duration
        return self.times[keep], self.ids[keep], self.amplitudes[keep]


@dataclass(frozen=True, eq=False)
class PoissonSource:
    """Independent Poisson spike trains, generated when the network is compiled.

    n: channels; rate: Hz (scalar or per channel); seed: int, or None to derive
    one from the network's seed and this population's position; t_start, t_stop
    in ms (t_stop None: the run's duration). coding as for SpikeSource.
    """
    n: int
    rate: float
    seed: int = None
    coding: str = "pulse"
    t_start: float = 0.0
    t_stop: float = None
    name: str = None

    def __post_init__(self):
        owner = f"PoissonSource({self.name or ''})"
        check_count(owner, "n", self.n)
        object.__setattr__(self, "rate", check_array(owner, "rate", self.rate, [(), (self.n,)],
                                                     nonnegative=True))
        if self.seed is not None:
            check_count(owner, "seed", self.seed, low=0)
        check_choice(owner, "coding", self.coding, CODINGS)
        check_scalar(owner, "t_start", self.t_start, nonnegative=True)
        if self.t_stop is not None:
            check_scalar(owner, "t_stop", self.t_stop, nonnegative=True)
        check_name(owner, self.name)

    @property
    def kind(self):
        return "source"

    def events(self, duration, seed):
        """(times, ids, amplitudes) for a run of ``duration`` ms, with ``seed`` if own seed is None."""
        rng = np.random.default_rng(self.seed if self.seed is not None else seed)
        t_stop = duration if self.t_stop is None else min(self.t_stop, duration)
        span = max(t_stop - self.t_start, 0.0)
        counts = rng.poisson(self.rate * span * 1e-3)
        ids = np.repeat(np.arange(self.n), counts)
        times = self.t_start + rng.random(ids.size) * span
        order = np.argsort(times, kind="stable")
        return times[order], ids[order], np.ones(ids.size)


@dataclass(frozen=True, eq=False)
class SignalSource:
    """Analog input, piecewise linear between samples, encoded by sigma-delta spikes.

    t: sample times in ms (finite, non-decreasing); values: shape (len(t),) or
    (len(t), n); the signal is constant before t[0] and after t[-1]. theta: the
    encoder's threshold (> 0, scalar or per channel). Encoding is exact (analytic
    crossing times) on the signed signal itself: see ``eventsg.engine.encode``.
    The source behaves as a delta-coded spike source.
    """
    t: np.ndarray
    values: np.ndarray
    theta: float
    name: str = None

    def __post_init__(self):
        owner = f"SignalSource({self.name or ''})"
        t = np.asarray(self.t, dtype=np.float64)
        if t.ndim != 1 or t.size < 1:
            fail(owner, "t", self.t, "a 1-D array of at least one sample time in ms")
        t = check_array(owner, "t", t, [t.shape])
        if np.any(np.diff(t) < 0):
            fail(owner, "t", t, "non-decreasing")
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != t.size:
            fail(owner, "values", f"array of shape {values.shape}", f"of shape ({t.size},) or ({t.size}, n)")
        values = check_array(owner, "values", values, [values.shape])
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "theta", check_array(owner, "theta", self.theta,
                                                      [(), (values.shape[1],)], positive=True))
        check_name(owner, self.name)

    @property
    def n(self):
        return self.values.shape[1]

    @property
    def coding(self):
        return "delta"

    @property
    def kind(self):
        return "source"
