"""Read-only results of a run: spikes, sampled states, statistics, status."""
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


def _frozen(arr):
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


class Spikes(NamedTuple):
    """Spikes of one population in emission order: times t (ms), neuron ids i, signed amplitudes a."""
    t: np.ndarray
    i: np.ndarray
    a: np.ndarray

    def __len__(self):
        return self.t.shape[0]


class State(NamedTuple):
    """States sampled at times t (S,): x, y, r, theta of shape (S, n); buckets z (S, n, K)."""
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    theta: np.ndarray
    z: np.ndarray


@dataclass(frozen=True)
class RunStats:
    """Counts and timing of a run."""
    engine: str
    duration_ms: float
    dt_ms: float                 # None for the event-driven engine
    events: int                  # events handled (inputs, deliveries, predictions; steps for clock)
    replaced_predictions: int    # predictions replaced before they came due (neuron touched first)
    synaptic_events: int         # synaptic events delivered (one per synapse reached)
    spikes: int                  # spikes emitted by gamma neurons
    input_events: int            # input events read
    searches: int                # crossing searches started
    continuations: int           # searches resumed later
    compile_s: float             # building the flat arrays (and the threads' parts of them), s
    jit_s: float                 # compiling the kernels or loading them from Numba's cache, s
    wall_s: float                # kernel time, s (without jit_s)
    unchecked_inputs: int = 0    # synaptic events that fit in a silent target's margins
    #                              (applied, or kept pending, without a check or search)
    thread_busy: tuple = ()      # threads > 1: per thread, the share of its time in its
    #                              windows' event loops (the rest: barriers, merging spikes)
    thread_wait: tuple = ()      # ... and the share spent waiting at the barriers for the
    #                              others (() on one thread, or without a cycle counter)

    @property
    def synaptic_events_per_s(self):
        """Synaptic events delivered per second of kernel wall time."""
        return self.synaptic_events / self.wall_s if self.wall_s > 0 else float("inf")

    def thread_summary(self):
        """One line on where the threads' time went ("" on one thread)."""
        if not self.thread_busy:
            return ""
        busy = " / ".join(f"{100 * x:.0f} %" for x in self.thread_busy)
        wait = " / ".join(f"{100 * x:.0f} %" for x in self.thread_wait)
        return (f"{len(self.thread_busy)} threads: in their event loops {busy} of their time, "
                f"waiting for each other {wait}")

    def as_dict(self):
        d = dict(self.__dict__)
        d["synaptic_events_per_s"] = self.synaptic_events_per_s
        return d


class SimulationResult:
    """What a run produced. Arrays are read-only.

    ``status`` is "ok", or "runaway" / "nonfinite" / "interrupted" when the run
    stopped early (then ``message`` says why and everything up to the stop is kept).
    """

    def __init__(self, layout, spikes, states, stats, status="ok", message="", t_reached=None):
        self._layout = layout
        self._spikes = spikes
        self._states = states
        self.stats = stats
        self.status = status
        self.message = message
        self.t_reached = stats.duration_ms if t_reached is None else t_reached

    @property
    def populations(self):
        """Names of the gamma populations."""
        return [n for n, k in zip(self._layout.names, self._layout.kinds) if k == "gamma"]

    @property
    def duration(self):
        """Simulated time, ms."""
        return self.stats.duration_ms

    @property
    def sources(self):
        """Names of the input populations (spike, Poisson and signal sources)."""
        return [n for n, k in zip(self._layout.names, self._layout.kinds) if k != "gamma"]

    def size(self, pop):
        """Number of neurons (or channels, for a source) of a population (object or name)."""
        name = pop if isinstance(pop, str) else getattr(pop, "name", None)
        if name not in self._layout.names:
            raise KeyError(f"no population {name!r} in this result "
                           f"(populations: {', '.join(self._layout.names)})")
        return self._layout.sizes[self._layout.index(name)]

    def buckets(self, pop):
        """Number of buckets K of a gamma population."""
        return self._layout.K[self._layout.index(self._name(pop))]

    def _name(self, pop):
        name = pop if isinstance(pop, str) else getattr(pop, "name", None)
        if name not in self._spikes:
            raise KeyError(f"no gamma population {name!r} in this result "
                           f"(gamma populations: {', '.join(self.populations)})")
        return name

    def spikes(self, pop):
        """Spikes(t, i, a) of a gamma population (object or name)."""
        return self._spikes[self._name(pop)]

    def spike_count(self, pop):
        """Number of spikes of a gamma population (without loading them from a run file)."""
        name = self._name(pop)
        count = getattr(self._spikes, "count", None)
        return count(name) if count is not None else len(self._spikes[name])

    def spike_trains(self, pop):
        """{neuron id: spike times (ms)} for every neuron of the population."""
        s = self.spikes(pop)
        n = self._layout.sizes[self._layout.index(self._name(pop))]
        order = np.argsort(s.i, kind="stable")
        bounds = np.searchsorted(s.i[order], np.arange(n + 1))
        return {j: s.t[order[bounds[j]:bounds[j + 1]]] for j in range(n)}

    def state(self, pop):
        """State(t, x, y, r, theta, z) sampled at the run's sample times."""
        name = self._name(pop)
        if name not in self._states:
            raise KeyError(f"no state recorded for {name!r}: pass sample_times (and record) to run()")
        return self._states[name]

    def __repr__(self):
        counts = ", ".join(f"{n}: {self.spike_count(n)}" for n in self.populations)
        return (f"SimulationResult(engine={self.stats.engine!r}, duration={self.duration} ms, "
                f"status={self.status!r}, spikes={{{counts}}})")


def build_result(layout, spike_chunks, recorder, record_names, stats, status, message, t_reached):
    """Assemble a SimulationResult from the engine's flat outputs."""
    t = np.concatenate([c[0] for c in spike_chunks]) if spike_chunks else np.empty(0)
    g = np.concatenate([c[1] for c in spike_chunks]) if spike_chunks else np.empty(0, np.int64)
    a = np.concatenate([c[2] for c in spike_chunks]) if spike_chunks else np.empty(0)
    spikes, states = {}, {}
    col = 0
    zcol = 0
    for name, kind, n, off, K in zip(layout.names, layout.kinds, layout.sizes, layout.offsets,
                                     layout.K):
        if kind != "gamma":
            continue
        mine = (g >= off) & (g < off + n)
        spikes[name] = Spikes(_frozen(t[mine]), _frozen(g[mine] - off), _frozen(a[mine]))
        if name in record_names:
            x = recorder.x[:, col:col + n]
            S = recorder.times.shape[0]
            states[name] = State(_frozen(recorder.times), _frozen(x), _frozen(np.maximum(x, 0.0)),
                                 _frozen(recorder.r[:, col:col + n]),
                                 _frozen(recorder.theta[:, col:col + n]),
                                 _frozen(recorder.z[:, zcol:zcol + n * K].reshape(S, n, K)))
            col += n
            zcol += n * K
    return SimulationResult(layout, spikes, states, stats, status, message, t_reached)
