"""Model description -> CompiledNetwork (flat arrays) plus the bookkeeping to read results."""
from dataclasses import dataclass

import numpy as np

from ..engine.propagator import PROP_MODAL, TABLE_LEVELS, cascade_plan, power_table, rate_multiples
from .encode import encode_signal
from ..errors import CompileError
from ..model.population import GammaPopulation
from ..model.sources import PoissonSource, SignalSource
from ..engine.bounds import fill_push_bounds
from .arrays import CompiledNetwork, aligned_zeros, kernel_array

MAX_TABLE_ENTRIES = 1_000_000
"""Most power-table entries (8 MB) a network keeps; further series sets use squaring.

Building a table takes 0.1-1 ms per rate set, so the bound also caps the start-up
cost of populations whose neurons each have their own time constants."""


@dataclass(frozen=True)
class Layout:
    """Where each population lives in the flat arrays."""
    names: tuple                 # population names in order
    kinds: tuple                 # "source" or "gamma"
    sizes: tuple                 # n per population
    offsets: tuple               # first channel (sources) or first neuron (gamma)
    K: tuple                     # buckets (gamma) or 0
    n_channels: int
    n_neurons: int
    max_out: int                 # most projections leaving one population

    def index(self, name):
        return self.names.index(name)


def _source_events(net, pop, duration):
    if isinstance(pop, SignalSource):
        return encode_signal(pop.t, pop.values, pop.theta, duration)
    if isinstance(pop, PoissonSource):
        return pop.events(duration, net.population_seed(pop))
    return pop.events(duration)


def _i64(values):
    return kernel_array(values, np.int64)


def _f64(values):
    return kernel_array(values, np.float64)


def compile_network(net, duration):
    """Flatten ``net`` for a run of ``duration`` ms; returns (CompiledNetwork, Layout)."""
    pops = net.populations
    if not any(isinstance(p, GammaPopulation) for p in pops):
        raise CompileError("Network has no GammaPopulation: there is nothing to simulate; "
                           "add one with net.add(esg.GammaPopulation(...))")
    offsets, n_ch, n_nrn = [], 0, 0
    for p in pops:
        if isinstance(p, GammaPopulation):
            offsets.append(n_nrn)
            n_nrn += p.n
        else:
            offsets.append(n_ch)
            n_ch += p.n
    out_lists = [[] for _ in pops]
    pop_index = {id(p): i for i, p in enumerate(pops)}
    for k, proj in enumerate(net.projections):
        out_lists[pop_index[id(proj.pre)]].append(k)

    # neurons
    K_list, bstart = [], []
    bias, theta0, inv_tau_h, beta, rset_of = [], [], [], [], []
    v_parts, rate_parts, rset_start, rset_K = [], [], [], []
    rset_method, rset_mstart, V_parts, W_parts = [], [], [], []
    mult_parts, rset_base = [], []
    table_parts, rset_tstart, rset_tlen, rset_h = [], [], [], []
    n_table = 0
    n_buckets = n_rates = n_mat = 0
    shared_modal_set = {}                     # population -> its one modal rate set
    for p in pops:
        if not isinstance(p, GammaPopulation):
            continue
        rates = 1.0 / p.tau_per_neuron()
        if p.tau_shared:
            sets = rates[:1]
            which = np.zeros(p.n, np.int64)
        else:
            sets = rates
            which = np.arange(p.n)
        first_set = len(rset_start)
        for row in sets:
            rset_start.append(n_rates)
            rset_K.append(p.K)
            rate_parts.append(row)
            n_rates += p.K
            method, V, W = cascade_plan(1.0 / row)
            mult, base = rate_multiples(row)
            mult_parts.append(mult)
            rset_base.append(base)
            if n_table + TABLE_LEVELS * p.K * p.K <= MAX_TABLE_ENTRIES:
                table, h = power_table(row, method)
            else:
                table, h = np.zeros(0), 0.0       # many distinct sets: the squaring path
            rset_tstart.append(n_table)
            rset_tlen.append(table.size)
            rset_h.append(h)
            table_parts.append(table)
            n_table += table.size
            rset_method.append(method)
            rset_mstart.append(n_mat)
            V_parts.append(V.reshape(-1))
            W_parts.append(W.reshape(-1))
            n_mat += p.K * p.K
        if p.tau_shared and rset_method[first_set] == PROP_MODAL:
            shared_modal_set[id(p)] = first_set
        K_list.append(np.full(p.n, p.K))
        bstart.append(n_buckets + p.K * np.arange(p.n))
        n_buckets += p.n * p.K
        rset_of.append(first_set + which)
        v_parts.append(p.v_per_neuron().reshape(-1))
        bias.append(np.broadcast_to(p.bias, (p.n,)))
        theta0.append(np.broadcast_to(p.theta, (p.n,)))
        inv_tau_h.append(np.full(p.n, 1.0 / p.tau_h))
        beta.append(np.full(p.n, p.beta))

    # nodes
    node_pop = np.empty(n_ch + n_nrn, np.int64)
    node_local = np.empty(n_ch + n_nrn, np.int64)
    for i, p in enumerate(pops):
        base = offsets[i] + (n_ch if isinstance(p, GammaPopulation) else 0)
        node_pop[base:base + p.n] = i
        node_local[base:base + p.n] = np.arange(p.n)

    # projections, CSR rows per projection, rows sorted by (delay, target)
    pop_out_start = np.zeros(len(pops) + 1, np.int64)
    pop_out_start[1:] = np.cumsum([len(lst) for lst in out_lists])
    pop_out_proj = [k for lst in out_lists for k in lst]
    indptr_parts, target_parts, weight_parts, delay_parts = [], [], [], []
    proj_pulse, proj_delay, proj_row_start, proj_lazy_rset = [], [], [], []
    n_syn = n_rows = 0
    for proj in net.projections:
        W = proj.weights
        post_off = offsets[pop_index[id(proj.post)]]
        if proj.per_synapse_delay:
            delays = proj.delay.data
            rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
            order = np.lexsort((W.indices, delays, rows))
        else:
            delays = np.full(W.nnz, proj.delay)
            order = np.arange(W.nnz)
        indptr_parts.append(n_syn + W.indptr.astype(np.int64))
        target_parts.append(post_off + W.indices[order].astype(np.int64))
        weight_parts.append(W.data[order])
        delay_parts.append(delays[order])
        proj_pulse.append(1 if getattr(proj.pre, "coding", "delta") == "pulse"
                          and not isinstance(proj.pre, GammaPopulation) else 0)
        proj_delay.append(-1.0 if proj.per_synapse_delay else proj.delay)
        proj_row_start.append(n_rows)
        proj_lazy_rset.append(shared_modal_set.get(id(proj.post), -1))
        n_rows += W.shape[0] + 1
        n_syn += W.nnz

    # inputs
    in_t, in_node, in_a = [np.empty(0)], [np.empty(0, np.int64)], [np.empty(0)]
    for i, p in enumerate(pops):
        if isinstance(p, GammaPopulation):
            continue
        t, ids, a = _source_events(net, p, duration)
        in_t.append(np.asarray(t, np.float64))
        in_node.append(offsets[i] + np.asarray(ids, np.int64))
        in_a.append(np.asarray(a, np.float64))
    in_t, in_node, in_a = np.concatenate(in_t), np.concatenate(in_node), np.concatenate(in_a)
    order = np.argsort(in_t, kind="stable")

    cat = np.concatenate
    v_flat, bstart_flat = _f64(cat(v_parts)), _i64(cat(bstart))
    n_flat = len(bstart_flat)
    compiled = CompiledNetwork(
        nrn_K=_i64(cat(K_list)), nrn_bstart=bstart_flat, nrn_bias=_f64(cat(bias)),
        nrn_theta0=_f64(cat(theta0)), nrn_vpos=np.zeros(n_flat), nrn_vneg=np.zeros(n_flat),
        nrn_inv_tau_h=_f64(cat(inv_tau_h)), nrn_beta=_f64(cat(beta)),
        nrn_rset=_i64(cat(rset_of)), nrn_input_bounds=aligned_zeros((n_flat, 4)), v=v_flat,
        psi_pos=np.zeros(v_flat.size), psi_neg=np.zeros(v_flat.size), rates=_f64(cat(rate_parts)),
        rset_start=_i64(rset_start), rset_K=_i64(rset_K),
        rset_center=_f64([0.5 * (r.max() + r.min()) for r in rate_parts]),
        rset_spread=_f64([r.max() - r.min() for r in rate_parts]),
        rset_method=_i64(rset_method), rset_mstart=_i64(rset_mstart),
        rset_V=_f64(cat(V_parts)), rset_W=_f64(cat(W_parts)),
        rset_mult=_i64(cat(mult_parts)), rset_base=_f64(rset_base),
        rset_tstart=_i64(rset_tstart), rset_tlen=_i64(rset_tlen), rset_h=_f64(rset_h),
        rset_table=_f64(cat(table_parts) if table_parts else np.zeros(0)),
        node_pop=node_pop, node_local=node_local,
        pop_out_start=pop_out_start, pop_out_proj=_i64(pop_out_proj),
        proj_pulse=_i64(proj_pulse), proj_delay=_f64(proj_delay), proj_row_start=_i64(proj_row_start),
        proj_lazy_rset=_i64(proj_lazy_rset), proj_input_bounds=np.zeros((len(proj_pulse), 2)),
        proj_refund=np.zeros(len(proj_pulse), np.int64),
        syn_indptr=_i64(cat(indptr_parts) if indptr_parts else np.zeros(0)),
        syn_target=_i64(cat(target_parts) if target_parts else np.zeros(0)),
        syn_weight=_f64(cat(weight_parts) if weight_parts else np.zeros(0)),
        syn_delay=_f64(cat(delay_parts) if delay_parts else np.zeros(0)),
        in_time=_f64(in_t[order]), in_node=_i64(in_node[order]), in_amp=_f64(in_a[order]))
    fill_push_bounds(compiled)      # vpos, vneg, psi_pos, psi_neg, *_input_bounds, proj_refund
    layout = Layout(
        names=tuple(p.name for p in pops),
        kinds=tuple("gamma" if isinstance(p, GammaPopulation) else "source" for p in pops),
        sizes=tuple(p.n for p in pops), offsets=tuple(offsets),
        K=tuple(p.K if isinstance(p, GammaPopulation) else 0 for p in pops),
        n_channels=n_ch, n_neurons=n_nrn,
        max_out=max((len(lst) for lst in out_lists), default=0))
    return compiled, layout
