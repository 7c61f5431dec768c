"""Measures of a run, computed from a SimulationResult only (times in ms, rates in Hz).

Rates are normalised by ``res.t_reached``, the time the run actually observed: a
run stopped early (runaway guard, interrupt) observed less than ``res.duration``.
Every function takes a gamma population by name or object; unknown names raise
KeyError (from the result), bad arguments raise SpecError.
"""
import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..model.validation import fail

# A spike whose neuron's transmitted signal r is 0 afterwards is a floor spike; r is
# rebuilt here as a running sum of amplitudes, exact up to rounding (this tolerance).
_FLOOR_RTOL = 1e-11


def _check_positive(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value <= 0:
        fail(owner, name, value, "a finite number > 0")
    return float(value)


def _check_int(owner, name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        fail(owner, name, value, f"an integer >= {low}")
    return int(value)


def _seconds(res):
    """Observed time of the run, s (NaN if the run observed no time)."""
    return res.t_reached * 1e-3 if res.t_reached > 0 else math.nan


def _groups(res, pop):
    """(order, bounds): spikes sorted by neuron (emission order kept); neuron j's are
    ``order[bounds[j]:bounds[j + 1]]``."""
    s = res.spikes(pop)
    order = np.argsort(s.i, kind="stable")
    return order, np.searchsorted(s.i[order], np.arange(res.size(pop) + 1))


# ----------------------------------------------------------------------------
# rates and sparsity
# ----------------------------------------------------------------------------

def spike_counts(res, pop):
    """Spikes per neuron, (n,) int (up, down and floor spikes alike)."""
    return np.bincount(res.spikes(pop).i, minlength=res.size(pop)).astype(np.int64)


def firing_rates(res, pop):
    """Per-neuron firing rate, (n,) Hz: spikes / observed time ``res.t_reached``."""
    return spike_counts(res, pop) / _seconds(res)


def mean_rate(res, pop):
    """Mean firing rate of a population, Hz (spikes per neuron per second)."""
    return len(res.spikes(pop)) / res.size(pop) / _seconds(res)


def silent_fraction(res, pop):
    """Fraction of the population's neurons that emitted no spike, in [0, 1]."""
    return float(np.mean(spike_counts(res, pop) == 0))


def spikes_per_input_event(res, pop=None):
    """Gamma spikes per input event read (one population, or all if ``pop`` is None).

    NaN when the run read no input event.
    """
    pops = res.populations if pop is None else [pop]
    spikes = sum(len(res.spikes(p)) for p in pops)
    n_in = res.stats.input_events
    return spikes / n_in if n_in > 0 else math.nan


# ----------------------------------------------------------------------------
# spike-train regularity
# ----------------------------------------------------------------------------

def isi_cv(res, pop, min_spikes=3):
    """Per-neuron coefficient of variation of the inter-spike intervals, (n,).

    CV = std(ISI) / mean(ISI) (population std, ddof = 0, as Elephant's ``cv``), over
    all of a neuron's spikes whatever their sign. Neurons with fewer than
    ``min_spikes`` spikes (default 3, i.e. at least 2 intervals) get NaN.
    """
    min_spikes = _check_int("isi_cv", "min_spikes", min_spikes, 2)
    t = res.spikes(pop).t
    order, bounds = _groups(res, pop)
    cv = np.full(res.size(pop), np.nan)
    for j in np.flatnonzero(np.diff(bounds) >= min_spikes):
        isi = np.diff(t[order[bounds[j]:bounds[j + 1]]])
        mean = isi.mean()
        cv[j] = isi.std() / mean if mean > 0 else np.nan
    return cv


def mean_cv(res, pop, min_spikes=3):
    """Mean ISI CV over the neurons with at least ``min_spikes`` spikes (NaN if none)."""
    cv = isi_cv(res, pop, min_spikes)
    cv = cv[np.isfinite(cv)]
    return float(cv.mean()) if cv.size else math.nan


# ----------------------------------------------------------------------------
# population rate over time
# ----------------------------------------------------------------------------

def _gaussian_kernel(sigma_bins, truncate=4.0):
    """Sampled Gaussian, unit sum, radius int(truncate * sigma + 0.5) bins (as scipy.ndimage)."""
    radius = int(truncate * sigma_bins + 0.5)
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma_bins) ** 2)
    return k / k.sum()


def population_rate(res, pop, bin_ms=1.0, smooth_ms=None):
    """Population rate over time: (bin centers ms, rate Hz), spikes per neuron per second.

    Bins of ``bin_ms`` ms cover [0, res.t_reached]; the last bin is cut at t_reached
    and its rate uses its actual width; a spike at exactly t_reached counts. With
    ``smooth_ms``, the binned rate is convolved with a Gaussian of standard deviation
    ``smooth_ms`` ms (truncated at 4 sd) and divided by the kernel mass inside the
    run, so a constant rate stays constant up to the edges.
    """
    bin_ms = _check_positive("population_rate", "bin_ms", bin_ms)
    if smooth_ms is not None:
        smooth_ms = _check_positive("population_rate", "smooth_ms", smooth_ms)
    T = float(res.t_reached)
    if T <= 0:
        return np.empty(0), np.empty(0)
    n_bins = max(1, math.ceil(T / bin_ms - 1e-9))
    edges = np.arange(n_bins + 1) * bin_ms
    edges[-1] = T
    counts, _ = np.histogram(res.spikes(pop).t, bins=edges)
    widths = np.diff(edges)
    rate = counts / res.size(pop) / (widths * 1e-3)
    if smooth_ms is not None:
        kernel = _gaussian_kernel(smooth_ms / bin_ms)
        mass = np.convolve(np.ones(n_bins), kernel, mode="full")
        smooth = np.convolve(rate, kernel, mode="full")
        r = (kernel.size - 1) // 2
        rate = smooth[r:r + n_bins] / mass[r:r + n_bins]
    return 0.5 * (edges[:-1] + edges[1:]), rate


# ----------------------------------------------------------------------------
# sigma-delta reconstruction
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ReconstructionError:
    """|y - r| over the sampled state (all samples, all neurons of a population).

    rms, max_abs: in signal units; rms_rel, max_rel: |y - r| / theta (theta at the
    same sample), which the model keeps <= 1.
    """
    rms: float
    max_abs: float
    rms_rel: float
    max_rel: float


def reconstruction_error(res, pop):
    """Transmitted r versus true y = max(0, x) at the sample times (needs a recorded state).

    Returns ReconstructionError (NaN everywhere if no time was sampled).
    """
    st = res.state(pop)
    err = np.abs(np.asarray(st.y) - np.asarray(st.r))
    if err.size == 0:
        return ReconstructionError(math.nan, math.nan, math.nan, math.nan)
    rel = err / np.asarray(st.theta)
    return ReconstructionError(rms=float(np.sqrt(np.mean(err ** 2))), max_abs=float(err.max()),
                               rms_rel=float(np.sqrt(np.mean(rel ** 2))),
                               max_rel=float(rel.max()))


# ----------------------------------------------------------------------------
# signed spikes
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedCounts:
    """Spikes of a population by kind: up (a > 0), down (a < 0, r stays > 0 after the
    spike) and floor (a < 0 that brings r to 0: the signal reached the ReLU floor)."""
    up: int
    down: int
    floor: int

    @property
    def total(self):
        return self.up + self.down + self.floor


def spike_kinds(res, pop):
    """Kind of every spike, in emission order: +1 up, -1 down, 0 floor (int8 array).

    The transmitted r of each neuron is rebuilt as the running sum of its amplitudes;
    a negative spike after which r is 0 (to rounding) is a floor spike.
    """
    s = res.spikes(pop)
    kinds = np.where(s.a > 0, 1, -1).astype(np.int8)
    order, bounds = _groups(res, pop)
    a = s.a[order]
    for j in np.flatnonzero(np.diff(bounds) > 0):
        lo, hi = bounds[j], bounds[j + 1]
        r_after = np.cumsum(a[lo:hi])
        r_before = r_after - a[lo:hi]
        floor = (a[lo:hi] < 0) & (np.abs(r_after) <=
                                  _FLOOR_RTOL * (np.abs(r_before) + np.abs(a[lo:hi])))
        kinds[order[lo:hi][floor]] = 0
    return kinds


def signed_counts(res, pop):
    """SignedCounts(up, down, floor) of a population."""
    k = spike_kinds(res, pop)
    return SignedCounts(up=int(np.sum(k == 1)), down=int(np.sum(k == -1)),
                        floor=int(np.sum(k == 0)))


# ----------------------------------------------------------------------------
# summary
# ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PopulationSummary:
    """All measures of one gamma population (rates Hz; errors NaN without a recorded state)."""
    n: int
    spikes: int
    rate_hz: float
    silent_fraction: float
    spikes_per_input_event: float
    mean_cv: float
    n_cv: int                  # neurons with a CV (>= 3 spikes)
    up: int
    down: int
    floor: int
    rms_error: float
    max_error: float
    max_error_rel: float       # max |y - r| / theta, <= 1 by the model

    def as_dict(self):
        return dict(self.__dict__)


def _has_state(res, pop):
    try:
        res.state(pop)
    except KeyError:
        return False
    return True


def population_summary(res, pop):
    """PopulationSummary of one gamma population."""
    cv = isi_cv(res, pop)
    sc = signed_counts(res, pop)
    err = reconstruction_error(res, pop) if _has_state(res, pop) else \
        ReconstructionError(math.nan, math.nan, math.nan, math.nan)
    return PopulationSummary(
        n=int(res.size(pop)), spikes=len(res.spikes(pop)), rate_hz=mean_rate(res, pop),
        silent_fraction=silent_fraction(res, pop),
        spikes_per_input_event=spikes_per_input_event(res, pop),
        mean_cv=float(np.mean(cv[np.isfinite(cv)])) if np.isfinite(cv).any() else math.nan,
        n_cv=int(np.isfinite(cv).sum()), up=sc.up, down=sc.down, floor=sc.floor,
        rms_error=err.rms, max_error=err.max_abs, max_error_rel=err.max_rel)


def summary(res):
    """{population name: PopulationSummary} for every gamma population of the run."""
    return {name: population_summary(res, name) for name in res.populations}


_COLUMNS = [("population", "{:>12}", "{:>12}"), ("n", "{:>7}", "{:>7d}"),
            ("spikes", "{:>9}", "{:>9d}"), ("rate Hz", "{:>9}", "{:>9.3g}"),
            ("silent", "{:>7}", "{:>7.1%}"), ("spk/in", "{:>8}", "{:>8.3g}"),
            ("CV", "{:>6}", "{:>6.2f}"), ("up", "{:>8}", "{:>8d}"), ("down", "{:>8}", "{:>8d}"),
            ("floor", "{:>7}", "{:>7d}"), ("max|y-r|/th", "{:>11}", "{:>11.3g}")]


def format_summary(res, table=None):
    """Readable text table of ``summary(res)`` (or of ``table``, a summary dict)."""
    table = summary(res) if table is None else table
    s = res.stats
    lines = [f"run: {res.duration:g} ms simulated, {res.t_reached:g} ms reached, "
             f"status {res.status}; {s.input_events} input events, {s.spikes} spikes, "
             f"{s.synaptic_events} synaptic events; "
             f"{spikes_per_input_event(res):.3g} spikes per input event",
             " ".join(h.format(name) for name, h, _ in _COLUMNS)]
    for name, p in table.items():
        values = [name, p.n, p.spikes, p.rate_hz, p.silent_fraction, p.spikes_per_input_event,
                  p.mean_cv, p.up, p.down, p.floor, p.max_error_rel]
        cells = []
        for (_, head, fmt), v in zip(_COLUMNS, values):
            if isinstance(v, float) and math.isnan(v):
                cells.append(head.format("-"))
            else:
                cells.append(fmt.format(v))
        lines.append(" ".join(cells))
    lines.append("rate: spikes per neuron per second over the reached time; silent: neurons "
                 "without spikes; CV: mean ISI CV (neurons with >= 3 spikes); "
                 "max|y-r|/th: sampled reconstruction error in thresholds (<= 1; - if no state)")
    return "\n".join(lines)
