"""Trainer: run samples through a network with the online learning rule of docs/learning.md."""
import time
from typing import NamedTuple

import numpy as np

from ..compile import compile_network
from ..compile.compiler import _source_events
from ..compile.learning import F_LR, build_learner, set_sample
from ..engine.learn_state import F_DT, I_LOSS, LOSS_CE, reset_sample, zero_gradients
from ..engine.learning import learn_finish
from ..engine.state import ST_DONE, ST_NONFINITE, make_recorder, make_state
from ..errors import RunawayError, SimulationError
from ..model.sources import SpikeSource
from ..model.validation import check_scalar, fail
from ..results import build_result


class SampleOutcome(NamedTuple):
    """What one sample gave: loss L, read-out integrals (n_out,), predicted class, spikes per population."""
    loss: float
    readout: np.ndarray
    prediction: int
    spikes: dict
    result: object        # SimulationResult (spikes, sampled states)


class Trainer:
    """Train ``net`` online; ``inputs`` is the SpikeSource whose events each sample replaces.

    readout: gamma population read by the loss; loss: "mse" or "ce"; optimizer:
    "sgd" or "adam" with learning rate ``lr``; window: (t_a, t_b) ms read-out window,
    or None for the whole sample. engine: "event" (exact) or "clock", the fixed-step
    reference with step ``dt`` ms (the same rule with spikes on the grid and the
    integrals as left Riemann sums; it converges to the exact one as dt -> 0).
    Parameters live in the Trainer (``weights``, ``bucket_weights``, ``biases``) and
    persist from sample to sample.
    """

    def __init__(self, net, inputs, readout, loss="mse", optimizer="sgd", lr=1e-3, window=None,
                 betas=(0.9, 0.999), eps=1e-8, max_spikes=10_000_000, chunks=1, engine="event",
                 dt=None):
        self.net = net
        self.inputs = net.population(inputs)
        if not isinstance(self.inputs, SpikeSource):
            fail("Trainer", "inputs", self.inputs.name, "a SpikeSource of the network")
        self.readout = net.population(readout)
        self.window = window
        self.max_spikes = max_spikes
        self.chunks = chunks
        self.compiled, self.layout = compile_network(net, 1.0)
        self.learner = build_learner(net, self.compiled, self.layout, self.readout, loss=loss,
                                     optimizer=optimizer, lr=lr, betas=betas, eps=eps)
        self._source_index = self.layout.index(self.inputs.name)
        self.base_lr = self.lr
        from ..simulate import check_engine
        self.engine, self.dt = check_engine("Trainer", engine, dt)
        self.learner.fopt[F_DT] = 0.0 if self.dt is None else self.dt
        self._warm = [False, False]      # kernels typed, with and without sampled states
        self._pop_of_neuron = np.zeros(self.layout.n_neurons, np.int64)
        for i, kind in enumerate(self.layout.kinds):
            if kind == "gamma":
                off = self.layout.offsets[i]
                self._pop_of_neuron[off:off + self.layout.sizes[i]] = i

    @property
    def classifies(self):
        """True for the cross-entropy loss (samples have labels; accuracy is defined)."""
        return int(self.learner.iopt[I_LOSS]) == LOSS_CE

    @property
    def lr(self):
        """The learning rate now (``fit`` may scale it per epoch; see ``lr_decay``)."""
        return float(self.learner.fopt[F_LR])

    @lr.setter
    def lr(self, value):
        self.learner.fopt[F_LR] = check_scalar("Trainer", "lr", value, positive=True)

    # -- inputs --------------------------------------------------------------------------
    def _input_events(self, times, ids, amplitudes, duration):
        parts_t, parts_n, parts_a = [], [], []
        for i, pop in enumerate(self.net.populations):
            if self.layout.kinds[i] != "source":
                continue
            if i == self._source_index:
                t = np.asarray(times, np.float64).reshape(-1)
                g = np.asarray(ids, np.int64).reshape(-1)
                a = np.ones(t.size) if amplitudes is None else np.broadcast_to(
                    np.asarray(amplitudes, np.float64), t.shape)
                if t.size and (g.min() < 0 or g.max() >= pop.n):
                    fail("sample", "ids", g[(g < 0) | (g >= pop.n)][0], f"in [0, {pop.n})")
                if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
                    fail("sample", "times", t[~(np.isfinite(t) & (t >= 0))][0], "finite and >= 0 ms")
                keep = t <= duration
                t, g, a = t[keep], g[keep], a[keep]
            else:
                t, g, a = _source_events(self.net, pop, duration)
            parts_t.append(np.asarray(t, np.float64))
            parts_n.append(self.layout.offsets[i] + np.asarray(g, np.int64))
            parts_a.append(np.asarray(a, np.float64))
        t = np.concatenate(parts_t)
        order = np.argsort(t, kind="stable")
        return (np.ascontiguousarray(t[order]), np.ascontiguousarray(np.concatenate(parts_n)[order]),
                np.ascontiguousarray(np.concatenate(parts_a)[order]))

    # -- one sample ----------------------------------------------------------------------
    def run_sample(self, times, ids, duration, amplitudes=None, label=0, target=None, update=True,
                   sample_times=None, record_spikes=True):
        """Run one sample of ``duration`` ms from the zero state, learning online.

        With ``update=False`` parameters stay and ``gradients()`` holds the sample's
        gradient afterwards. record_spikes: keep the spikes in the outcome's result
        (False: count them per population only, so memory does not grow with the
        sample's activity). Returns a SampleOutcome.
        """
        from ..simulate import _run_clock, _run_event, run_stats, spike_flusher
        duration = check_scalar("sample", "duration", duration, positive=True)
        t, g, a = self._input_events(times, ids, amplitudes, duration)
        net = self.compiled._replace(in_time=t, in_node=g, in_amp=a)
        lrn = set_sample(self.learner, duration, label=label, target=target,
                         window=self.window, update=update)
        reset_sample(lrn)
        zero_gradients(lrn)      # a sample run without updates leaves its gradient behind
        layout = self.layout
        times_s = np.empty(0) if sample_times is None else np.asarray(sample_times, np.float64)
        neurons = np.arange(layout.n_neurons) if sample_times is not None else np.empty(0, np.int64)
        recorder = make_recorder(net, times_s, neurons)
        state = make_state(net, spike_buffer=max(1 << 14, 2 * layout.n_neurons + 16))
        chunks = []
        counts = np.zeros(len(layout.names), np.int64)

        def count(chunk):
            counts[:] += np.bincount(self._pop_of_neuron[chunk[1]], minlength=counts.size)
        flush = spike_flusher(state, chunks.append if record_spikes else count)
        wall = time.perf_counter()
        run = _run_event if self.engine == "event" else _run_clock
        status, t_reached, jit_s = run(net, layout, state, recorder, duration, self.dt, flush,
                                       self.chunks, False, self.max_spikes, 10 ** 12, 2,
                                       learner=lrn, warm=self._warm[sample_times is None])
        self._warm[sample_times is None] = True
        wall = time.perf_counter() - wall - jit_s
        flush()
        if status != ST_DONE:
            kind = SimulationError if status == ST_NONFINITE else RunawayError
            raise kind(f"sample stopped at t = {t_reached:.6g} ms (status {status}); "
                       "check the learning rate and max_spikes")
        learn_finish(net, lrn, duration)
        stats = run_stats(state.ctr, self.engine, duration, self.dt, 0.0, jit_s, wall)
        names = {n for n, k in zip(layout.names, layout.kinds) if k == "gamma"} \
            if sample_times is not None else set()
        result = build_result(layout, chunks, recorder, names, stats, "ok", "", duration)
        if record_spikes:
            spikes = {p: len(result.spikes(p)) for p in result.populations}
        else:
            spikes = {name: int(counts[i]) for i, name in enumerate(layout.names)
                      if layout.kinds[i] == "gamma"}
        readout = lrn.xint.copy()
        return SampleOutcome(float(lrn.loss[0]), readout, int(np.argmax(readout)), spikes, result)

    # -- parameters ----------------------------------------------------------------------
    def _proj_slice(self, proj):
        k = next(i for i, p in enumerate(self.net.projections) if p is proj)
        base = self.compiled.proj_row_start[k]
        lo = self.compiled.syn_indptr[base]
        hi = self.compiled.syn_indptr[base + proj.pre.n]
        return k, base, lo, hi

    def _as_matrix(self, proj, values):
        import scipy.sparse as sp
        k, base, lo, hi = self._proj_slice(proj)
        indptr = self.compiled.syn_indptr[base:base + proj.pre.n + 1] - lo
        off = self.layout.offsets[self.layout.index(proj.post.name)]
        cols = self.compiled.syn_target[lo:hi] - off
        return sp.csr_matrix((values[lo:hi].copy(), cols, indptr), shape=(proj.pre.n, proj.post.n))

    def weights(self, proj):
        """Current weights of a projection (scipy.sparse CSR, shape (n_pre, n_post))."""
        return self._as_matrix(proj, self.compiled.syn_weight)

    def _neurons(self, pop):
        i = self.layout.index(self.net.population(pop).name)
        off, n = self.layout.offsets[i], self.layout.sizes[i]
        return off, n, self.layout.K[i]

    def bucket_weights(self, pop):
        """Current bucket weights v (n, K) of a gamma population."""
        off, n, K = self._neurons(pop)
        b0 = self.compiled.nrn_bstart[off]
        return self.compiled.v[b0:b0 + n * K].reshape(n, K).copy()

    def biases(self, pop):
        off, n, _ = self._neurons(pop)
        return self.compiled.nrn_bias[off:off + n].copy()

    def gradients(self):
        """Gradient integrals accumulated since the last update: {'W': {proj: CSR}, 'v': {...}, 'b': {...}}."""
        lrn = self.learner
        out = {"W": {}, "v": {}, "b": {}}
        for proj in self.net.projections:
            out["W"][proj] = self._as_matrix(proj, lrn.gw)
        for i, name in enumerate(self.layout.names):
            if self.layout.kinds[i] != "gamma":
                continue
            off, n, K = self._neurons(name)
            b0 = self.compiled.nrn_bstart[off]
            out["v"][name] = lrn.gv[b0:b0 + n * K].reshape(n, K).copy()
            out["b"][name] = lrn.gb[off:off + n].copy()
        return out
