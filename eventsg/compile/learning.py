"""Model + read-out choice -> the Learner arrays of the learning kernels (docs/learning.md)."""
import numpy as np

from ..engine.learn_state import (F_BETA1, F_BETA2, F_EPS, F_LR, F_WIN_A, F_WIN_B, I_LABEL,
                                  I_LOSS, I_NOUT, I_OPT, I_OUT0, I_OUT_POP, I_UPDATE, LOSS_CE,
                                  LOSS_MSE, N_FOPT, N_IOPT, OPT_ADAM, OPT_SGD, STACK, Learner)
from ..engine.propagator import MAX_TERMS
from .arrays import kernel_array
from ..model.population import GammaPopulation
from ..model.validation import fail

LOSSES = {"mse": LOSS_MSE, "ce": LOSS_CE}
OPTIMIZERS = {"sgd": OPT_SGD, "adam": OPT_ADAM}


def _graph(net):
    """Gamma-to-gamma successor sets by population index; SpecError on a cycle."""
    pops = net.populations
    index = {id(p): i for i, p in enumerate(pops)}
    succ = {i: set() for i, p in enumerate(pops) if isinstance(p, GammaPopulation)}
    for proj in net.projections:
        if isinstance(proj.pre, GammaPopulation):
            succ[index[id(proj.pre)]].add(index[id(proj.post)])
    order, state = [], {}

    def visit(i):
        if state.get(i) == 1:
            fail("learning", "projections", f"a cycle through {pops[i].name}",
                 "acyclic between gamma populations (recurrent projections cannot be trained)")
        if state.get(i) == 2:
            return
        state[i] = 1
        for k in sorted(succ[i]):
            visit(k)
        state[i] = 2
        order.append(i)          # post-order: successors first
    for i in sorted(succ):
        visit(i)
    return succ, order


def _reach(succ, i):
    seen, todo = set(), [i]
    while todo:
        for k in succ[todo.pop()]:
            if k not in seen:
                seen.add(k)
                todo.append(k)
    return seen


def build_learner(net, compiled, layout, readout, loss="mse", optimizer="sgd", lr=1e-3,
                  betas=(0.9, 0.999), eps=1e-8):
    """The Learner for training ``net`` with read-out population ``readout`` (object or name).

    loss: "mse" or "ce"; optimizer: "sgd" or "adam" with learning rate ``lr``.
    Raises SpecError for choices learning does not support (docs/learning.md).
    """
    owner = "learning"
    if loss not in LOSSES:
        fail(owner, "loss", loss, "one of " + ", ".join(map(repr, LOSSES)))
    if optimizer not in OPTIMIZERS:
        fail(owner, "optimizer", optimizer, "one of " + ", ".join(map(repr, OPTIMIZERS)))
    if not (np.isfinite(lr) and lr >= 0):
        fail(owner, "lr", lr, "a finite number >= 0")
    out = net.population(readout)
    if not isinstance(out, GammaPopulation):
        fail(owner, "readout", out.name, "a GammaPopulation")
    pops = net.populations
    P = len(pops)
    O = layout.index(out.name)
    succ, post_order = _graph(net)
    learn = np.zeros(P, np.int64)
    for i in succ:
        if i == O or O in _reach(succ, i):
            learn[i] = 1
            p = pops[i]
            if not p.tau_shared:
                fail(f"GammaPopulation({p.name})", "tau", "per-neuron time constants",
                     "shared by the population (K values) when the population is trained")
    index = {id(p): i for i, p in enumerate(pops)}
    for proj in net.projections:
        if learn[index[id(proj.post)]] and proj.per_synapse_delay:
            fail(f"Projection({proj.pre.name} -> {proj.post.name})", "delay", "per-synapse delays",
                 "one delay for the projection when its target is trained")

    first = np.zeros(P, np.int64)
    count = np.zeros(P, np.int64)
    for i, p in enumerate(pops):
        if isinstance(p, GammaPopulation):
            first[i] = layout.offsets[i]
            count[i] = p.n
    sync = [[] for _ in range(P)]
    desc = [[] for _ in range(P)]
    for i in range(P):
        if not learn[i]:
            continue
        sync[i] = [i] + [k for k in post_order if learn[k] and k != i and i in _reach(succ, k)]
        below = _reach(succ, i)
        desc[i] = [k for k in post_order if learn[k] and k in below]
    n = layout.n_neurons
    nrn_pop = np.zeros(n, np.int64)
    for i in range(P):
        nrn_pop[first[i]:first[i] + count[i]] = i

    # traces: one per projection row, K of the target population
    n_proj = len(net.projections)
    proj_learn = np.zeros(n_proj, np.int64)
    proj_rset = np.zeros(n_proj, np.int64)
    n_rows_total = compiled.syn_indptr.shape[0]
    tr_off = np.zeros(n_rows_total, np.int64)
    syn_trace = np.zeros(compiled.syn_target.shape[0], np.int64)
    total = 0
    for k, proj in enumerate(net.projections):
        post = index[id(proj.post)]
        proj_learn[k] = learn[post]
        proj_rset[k] = compiled.nrn_rset[first[post]]
        K = pops[post].K
        base = compiled.proj_row_start[k]
        n_pre = proj.pre.n
        tr_off[base:base + n_pre + 1] = total + K * np.arange(n_pre + 1)
        total += K * (n_pre + 1)
        indptr = compiled.syn_indptr[base:base + n_pre + 1]
        rows = np.repeat(np.arange(n_pre), np.diff(indptr))
        syn_trace[indptr[0]:indptr[-1]] = base + rows
    tgt = compiled.syn_target
    learned_syn = np.zeros(tgt.shape[0], bool)
    for k in range(n_proj):
        if proj_learn[k]:
            base = compiled.proj_row_start[k]
            lo = compiled.syn_indptr[base]
            hi = compiled.syn_indptr[base + pops[index[id(net.projections[k].pre)]].n]
            learned_syn[lo:hi] = True
    syn_ids = np.flatnonzero(learned_syn)
    order = np.argsort(tgt[syn_ids], kind="stable")
    in_syn = syn_ids[order]
    in_start = np.zeros(n + 1, np.int64)
    in_start[1:] = np.cumsum(np.bincount(tgt[in_syn], minlength=n))

    nb = compiled.v.shape[0]
    kmax = int(compiled.nrn_K.max())
    nsyn = tgt.shape[0]
    iopt = np.zeros(N_IOPT, np.int64)
    iopt[I_LOSS] = LOSSES[loss]
    iopt[I_OPT] = OPTIMIZERS[optimizer]
    iopt[I_UPDATE] = 1
    iopt[I_OUT_POP] = O
    iopt[I_OUT0] = first[O]
    iopt[I_NOUT] = count[O]
    iopt[I_LABEL] = 0
    fopt = np.zeros(N_FOPT)
    fopt[F_WIN_A], fopt[F_WIN_B] = 0.0, 1.0
    fopt[F_LR] = lr
    fopt[F_BETA1], fopt[F_BETA2] = betas
    fopt[F_EPS] = eps
    gain = np.add.reduceat(compiled.v, compiled.nrn_bstart) if n else np.zeros(0)

    def i64(a):
        return kernel_array(a, np.int64)

    def flat(lists):
        start = np.zeros(len(lists) + 1, np.int64)
        start[1:] = np.cumsum([len(x) for x in lists])
        return start, i64([k for x in lists for k in x])

    sync_start, sync_pops = flat(sync)
    desc_start, desc_pops = flat(desc)
    nf = 1 + max((int(count[i]) * (2 * pops[i].K + 2) for i in range(P) if learn[i]), default=0)
    z = np.zeros
    return Learner(
        pop_first=first, pop_count=count, pop_learn=learn, sync_start=sync_start,
        sync_pops=sync_pops, desc_start=desc_start, desc_pops=desc_pops,
        proj_learn=proj_learn, proj_rset=proj_rset, nrn_pop=nrn_pop, in_start=in_start,
        in_syn=i64(in_syn), in_trace=i64(syn_trace[in_syn]), tr_off=tr_off,
        iopt=iopt, fopt=fopt, tg_t=z(0), tg_v=z(0), brk=z(0),
        t_ref=z(n), t_int=z(n), zref=z(nb), iref=z(n), m0=z(n), U=z(nb),
        gain=kernel_array(gain, np.float64),
        gw=z(nsyn), gv=z(nb), gb=z(n), mw=z(nsyn), sw=z(nsyn), mv=z(nb), sv=z(nb), mb=z(n), sb=z(n),
        steps=z(n, np.int64), tr_z=z(max(total, 1)), tr_drive=z(n_rows_total),
        tr_t=z(n_rows_total), tc_t=np.full(n_rows_total, -1.0), tc_z=z(max(total, 1)),
        xint=z(int(count[O])), loss=z(1), dl=z(n), xl=z(n), ds=z(n),
        zn=z(nb), f=z(nf), fk=z(nf), fg=z(nf), fa=z(nf), fs=z(nf), fn=z(nf), acc=z(nf),
        stack=z((STACK, 2)), col=z(kmax), E=z((kmax, kmax)), work=z((kmax, max(kmax, MAX_TERMS + 1))))


def set_sample(lrn, duration, label=0, target=None, window=None, update=True):
    """The Learner for one sample of ``duration`` ms (new small arrays; shares the rest).

    label: class (cross-entropy); target: (times (S,), values (S, n_out)) piecewise
    linear (MSE), times non-decreasing: a time given twice is a step, the target
    taking the second value from that time on; window: (t_a, t_b) ms, default (0, duration); update: apply the
    optimizer at events (False: only accumulate the sample's gradient).
    """
    owner = "sample"
    n_out = int(lrn.iopt[I_NOUT])
    a, b = (0.0, float(duration)) if window is None else (float(window[0]), float(window[1]))
    if not (0.0 <= a < b <= duration):
        fail(owner, "window", (a, b), f"(t_a, t_b) with 0 <= t_a < t_b <= duration = {duration} ms")
    lrn.fopt[F_WIN_A], lrn.fopt[F_WIN_B] = a, b
    lrn.iopt[I_UPDATE] = 1 if update else 0
    if lrn.iopt[I_LOSS] == LOSS_CE:
        if not (0 <= int(label) < n_out):
            fail(owner, "label", label, f"an integer in [0, {n_out - 1}] (read-out neurons)")
        lrn.iopt[I_LABEL] = int(label)
        tg_t, tg_v = np.zeros(0), np.zeros(0)
    else:
        if target is None:
            fail(owner, "target", None, "(times, values) for the MSE loss")
        tg_t = kernel_array(np.reshape(target[0], -1), np.float64)
        tg_v = np.asarray(target[1], dtype=np.float64)
        if tg_v.ndim == 1:
            tg_v = tg_v[:, None]
        if tg_t.size < 1 or tg_v.shape != (tg_t.size, n_out):
            fail(owner, "target", f"times {tg_t.shape}, values {tg_v.shape}",
                 f"times (S,) and values (S, {n_out}) with S >= 1")
        if not (np.all(np.isfinite(tg_t)) and np.all(np.isfinite(tg_v))):
            fail(owner, "target", "non-finite entries", "finite")
        if np.any(np.diff(tg_t) < 0):
            k = int(np.flatnonzero(np.diff(tg_t) < 0)[0])
            fail(owner, "target", f"times decreasing at index {k + 1} ({tg_t[k]} -> {tg_t[k + 1]} ms)",
                 "non-decreasing times (a time given twice makes a step)")
        tg_v = kernel_array(tg_v.reshape(-1), np.float64)
    cuts = np.concatenate([tg_t, [a, b]])
    brk = np.unique(cuts[(cuts > 0.0) & (cuts < duration)])
    return lrn._replace(tg_t=tg_t, tg_v=tg_v, brk=kernel_array(brk, np.float64))
