"""The SpikingGamma network of docs/model.md expressed in Brian2 (clock-driven).

``run_brian2(net, duration, dt)`` translates an ``eventsg.Network`` (spike and
Poisson sources with unit amplitudes, gamma populations, projections with one
delay each) into Brian2 objects, runs it and returns the spikes with their
amplitudes and the timings (code generation and compilation apart from the run).

Model, per gamma neuron (docs/model.md sections 2-3):

* buckets ``z1..zK`` with ``tau_k dz_k/dt = z_(k-1) - z_k`` and ``z_0 = I``, the
  piecewise-constant drive; they are linear, so Brian2 integrates them exactly
  (``method="exact"``); or, with ``integrator="propagator"``, by a
  ``run_regularly`` operation that applies the exact propagator ``expm(A dt)``
  computed once with scipy (the same numbers, without Brian2's symbolic step,
  which gets slow for large K);
* ``x = bias + sum_k v_k z_k``, ``y = max(x, 0)``, ``theta = theta0 + h`` with
  ``tau_h dh/dt = -h`` (only when ``beta > 0``);
* threshold: the three conditions of section 3 (up, down with the gate
  ``r > (1 + eps) theta``, floor), tested on the time grid;
* reset: ``a = y - r``, ``r = y``, ``h += beta |a|`` (the graded amplitude of
  eventsg's fixed-step reference engine);
* pulse sources make ``z1`` of the target jump by ``w``; gamma populations send
  delta-coded spikes: the drive ``I`` of the target jumps by ``w a``.

Delays: a Brian2 synapse reads presynaptic variables when the spike is
delivered, not when it was emitted, so ``w * a_pre`` after a delay would see the
amplitude of a later spike. Each neuron therefore keeps its last ``ring``
amplitudes in ``a0..a{ring-1}``, written in turn by the reset (slot = spike count
mod ring). Per outgoing projection, a one-to-one "relay" Synapses object with the
projection's delay runs just before the projection's synapses (its pathway gets ``order=-2``): it
copies the slot of the spike being delivered (deliveries of one neuron come in
emission order, one per step at most, as the delay is one per projection) into
``aout`` and advances the neuron's delivery count; the projection's synapses
then add ``w * aout_pre``. This is exact as long as no neuron emits ``ring`` or
more spikes within one delay; the run checks that from the recorded spikes and
reports violations (``ring_overflows``). The extra cost is one relay event per
spike, against fan-out synaptic events per spike.

Timing on the grid, as in eventsg's fixed-step engine (docs/model-choices.md):
at step ``n`` the state is advanced exactly to ``t = n dt``, the deliveries due
at ``t`` are applied, then the spike conditions are tested and resets done.
Brian2's schedule is reordered for that (``synapses`` before ``thresholds``);
spikes detected at step ``m`` then enter the synaptic queues at step ``m + 1``,
so a projection's delay, rounded to ``D >= 1`` whole steps, is given to Brian2
as ``D - 1`` steps. Input events are put on the grid point that ends their step
(an event in ``((n-1) dt, n dt]`` is emitted at ``n dt``); two events of one
input channel in one step are not possible in a SpikeGeneratorGroup: the later
one moves to the next free step (counted as ``shifted_inputs``; rare, an O(dt)
error). With these rules Brian2 reproduces eventsg's fixed-step engine spike
for spike (to rounding), and so converges to the exact engine as dt -> 0.
"""
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp

EPS_DOWN = 1e-9          # the gate of the down rule (docs/model.md section 3)
TARGETS = ("cpp_standalone", "cython", "numpy")


def brian2_status():
    """(True, version) if brian2 imports, else (False, the reason)."""
    try:
        import brian2
    except Exception as err:              # noqa: BLE001 - any import failure means "not usable"
        return False, f"{type(err).__name__}: {err}"
    return True, brian2.__version__


@dataclass
class Brian2Run:
    target: str
    dt_ms: float
    duration_ms: float
    spikes: dict                 # population name -> (t, i, a) arrays
    sizes: dict                  # population name -> n
    build_s: float               # code generation + compilation (runtime targets: + set-up)
    run_s: float                 # the simulation loop (standalone: the binary's own timing,
    #                              median of the runs)
    process_s: float = None      # standalone: the binary's wall time (with loading, writing)
    synaptic_events: int = 0
    input_events: int = 0
    shifted_inputs: int = 0
    ring_overflows: int = 0
    integrator: str = "exact"
    notes: list = field(default_factory=list)
    openmp_threads: int = 0      # standalone: OpenMP threads (0: none, one thread)
    run_times: tuple = ()        # standalone: each run's own timing, in order, s

    @property
    def n_spikes(self):
        return sum(len(s[0]) for s in self.spikes.values())


def _gamma_params(pop):
    """(K,) time constants shared by the population and (n, K) bucket weights."""
    tau = np.asarray(pop.tau_per_neuron(), float)
    if np.any(tau != tau[:1]):
        raise NotImplementedError(f"{pop.name}: per-neuron time constants are not supported here")
    return tau[0].copy(), np.asarray(pop.v_per_neuron(), float)


def _propagator(tau, dt):
    A = np.diag(-1.0 / tau) + np.diag(1.0 / tau[1:], -1)
    return scipy.linalg.expm(A * dt)


def _scalar_or_var(name, value, n, eqs, params):
    """A literal if uniform over the population, else a per-neuron constant parameter.

    Constants are written into the equations as literals, so that every object
    that reads them (e.g. a SpikeMonitor of a subexpression) resolves them.
    """
    arr = np.broadcast_to(np.asarray(value, float), (n,))
    if np.all(arr == arr[0]):
        return f"({float(arr[0])!r})"
    eqs.append(f"{name} : 1 (constant)")
    params[name] = arr.copy()
    return name


def _gamma_group(b2, pop, ring, out_delays, integrator, dt):
    """A NeuronGroup for a gamma population; returns (group, extra objects)."""
    tau, v = _gamma_params(pop)
    K, n = pop.K, pop.n
    eqs, params = [], {}
    vs = [_scalar_or_var(f"v{k + 1}", v[:, k], n, eqs, params) for k in range(K)]
    bias = _scalar_or_var("bias", pop.bias, n, eqs, params)
    theta0 = _scalar_or_var("theta0", pop.theta, n, eqs, params)
    adapt = pop.beta > 0
    ode = integrator == "exact"
    for k in range(1, K + 1):
        prev = "I" if k == 1 else f"z{k - 1}"
        eqs.append(f"dz{k}/dt = ({prev} - z{k}) / ({float(tau[k - 1])!r} * ms) : 1" if ode
                   else f"z{k} : 1")
    eqs.append("I : 1")
    eqs.append("r : 1")
    eqs.append(f"x = {bias} + " + " + ".join(f"{vs[k - 1]} * z{k}" for k in range(1, K + 1))
               + " : 1")
    eqs.append("y = x * int(x > 0) : 1")
    eqs.append("a_now = y - r : 1")
    if adapt:
        eqs.append(f"dh/dt = -h / ({float(pop.tau_h)!r} * ms) : 1" if ode else "h : 1")
        eqs.append(f"theta = {theta0} + h : 1")
    else:
        eqs.append(f"theta = {theta0} : 1")
    relay = bool(out_delays)
    if relay:
        eqs += [f"a{s} : 1" for s in range(ring)]
        eqs.append("c : integer")
        for p in range(len(out_delays)):
            eqs += [f"kd{p} : integer", f"aout{p} : 1"]
    threshold = (f"(y - r >= theta) or (r - y >= theta and r > {1 + EPS_DOWN!r} * theta) "
                 "or (x <= 0 and r > 0)")
    reset = ["a_spk = y - r", "r = y"]
    if adapt:
        reset.append(f"h += {float(pop.beta)!r} * abs(a_spk)")
    if relay:
        reset += [f"a{s} = a_spk * int(c == {s}) + a{s} * int(c != {s})" for s in range(ring)]
        reset.append(f"c = (c + 1) % {ring}")
    eqs.append("a_spk : 1")
    G = b2.NeuronGroup(n, "\n".join(eqs), threshold=threshold, reset="\n".join(reset),
                       method="exact" if ode else None, name=pop.name)
    for key, arr in params.items():
        setattr(G, key, arr)
    extra = []
    if not ode:
        E = _propagator(tau, dt)
        lines = []
        for k in range(K, 0, -1):     # row k reads z_1..z_k before they are updated
            terms = " + ".join(f"{float(E[k - 1, j])!r} * (z{j + 1} - I)" for j in range(k)
                               if E[k - 1, j] != 0.0)
            lines.append(f"z{k} = I + {terms}")
        if adapt:
            lines.append(f"h = h * {float(np.exp(-dt / pop.tau_h))!r}")
        extra.append(G.run_regularly("\n".join(lines), when="groups", name=f"{pop.name}_prop"))
    return G, extra


def _step_times(times, ids, n_channels, dt):
    """Grid steps (end of the step holding each event); moves same-channel duplicates on."""
    steps = np.ceil(np.asarray(times) / dt - 1e-9).astype(np.int64)
    steps = np.maximum(steps, 0)
    shifted = 0
    order = np.lexsort((steps, ids))
    s, c = steps[order], np.asarray(ids)[order]
    for k in range(1, s.size):                 # sorted by channel, then step
        if c[k] == c[k - 1] and s[k] <= s[k - 1]:
            s[k] = s[k - 1] + 1
            shifted += 1
    steps[order] = s
    return steps, shifted


def _source_events(net, pop, duration):
    if hasattr(pop, "rate"):                               # PoissonSource
        t, i, a = pop.events(duration, net.population_seed(pop))
    elif hasattr(pop, "times"):                            # SpikeSource
        t, i, a = pop.events(duration)
    else:
        raise NotImplementedError(f"{pop.name}: only spike and Poisson sources are supported")
    if np.any(np.asarray(a) != 1.0):
        raise NotImplementedError(f"{pop.name}: only unit amplitudes are supported")
    return np.asarray(t, float), np.asarray(i, np.int64)


def _ring_overflows(t, i, ring, delay_ms):
    """Spikes that overwrite an amplitude slot before its delivery (k-th and k+ring-th
    spike of a neuron closer than the delay)."""
    if len(t) == 0 or delay_ms is None:
        return 0
    order = np.lexsort((t, i))
    ts, ii = np.asarray(t)[order], np.asarray(i)[order]
    if ts.size <= ring:
        return 0
    same = ii[ring:] == ii[:-ring]
    return int(np.sum(same & (ts[ring:] - ts[:-ring] <= delay_ms + 1e-12)))


def run_brian2(net, duration, dt, target="cpp_standalone", ring=8, integrator="exact",
               build_dir=None, keep_build=False, repeats=1, openmp_threads=0, between=None):
    """Run an eventsg Network in Brian2 for ``duration`` ms at step ``dt`` ms.

    target: "cpp_standalone", "cython" or "numpy". ``repeats``: for the standalone
    target, how many times the built binary runs; ``run_s`` is then the median of
    its own timings (each run starts from the same initial state and writes the same
    results), and ``run_times`` keeps each one. ``openmp_threads``: the standalone
    target's OpenMP threads (0: none). ``between``: for the standalone target, called
    with no arguments after each run of the binary (paired rounds: another
    simulator's run beside each of Brian2's, in the same seconds).
    Returns a Brian2Run.
    """
    import brian2 as b2

    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}")
    b2.prefs.logging.console_log_level = "WARNING"
    tmp = None
    if target == "cpp_standalone":
        tmp = build_dir or tempfile.mkdtemp(prefix="esg-brian2-")
        b2.set_device("cpp_standalone", directory=tmp, build_on_run=False)
        b2.device.reinit()
        b2.set_device("cpp_standalone", directory=tmp, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = int(openmp_threads)
    else:
        b2.set_device("runtime")
        b2.prefs.codegen.target = target
    dt = float(dt)
    ms = b2.ms
    b2.defaultclock.dt = dt * ms

    gamma = [p for p in net.populations if getattr(p, "kind", "") == "gamma"]
    out_delays = {p.name: [] for p in gamma}
    delay_steps = {}
    for k, proj in enumerate(net.projections):
        if proj.per_synapse_delay:
            raise NotImplementedError("per-synapse delays are not supported here")
        delay_steps[k] = max(1, int(round(proj.delay / dt)))
        if proj.pre.name in out_delays:
            out_delays[proj.pre.name].append(k)

    objs, groups, monitors = [], {}, {}
    shifted, n_inputs = 0, 0
    for p in net.populations:
        if getattr(p, "kind", "") == "gamma":
            G, extra = _gamma_group(b2, p, ring, out_delays[p.name], integrator, dt)
            groups[p.name] = G
            objs += [G] + extra
            monitors[p.name] = b2.SpikeMonitor(G, variables=["a_now"], name=f"{p.name}_spikes")
            objs.append(monitors[p.name])
        else:
            if p.coding != "pulse" and p.coding != "delta":
                raise NotImplementedError(p.coding)
            t, i = _source_events(net, p, duration)
            steps, sh = _step_times(t, i, p.n, dt)
            keep = steps * dt <= duration + 1e-9
            shifted += sh
            n_inputs += int(np.sum(keep))
            G = b2.SpikeGeneratorGroup(p.n, i[keep], steps[keep] * dt * ms, name=p.name)
            groups[p.name] = G
            objs.append(G)

    relay_index = {}
    for k, proj in enumerate(net.projections):
        pre, post = groups[proj.pre.name], groups[proj.post.name]
        W = sp.csr_matrix(proj.weights).tocoo()
        # with the schedule below, a spike of step m is pushed at step m + 1: a
        # Brian2 delay of D - 1 steps delivers it at step m + D
        d = (delay_steps[k] - 1) * dt * ms
        if proj.pre.name in out_delays:                      # gamma -> gamma, delta-coded
            slot = out_delays[proj.pre.name].index(k)
            sel = " + ".join(f"a{s}_post * int(kd{slot}_post == {s})" for s in range(ring))
            R = b2.Synapses(pre, pre, on_pre=f"aout{slot}_post = {sel}\n"
                            f"kd{slot}_post = (kd{slot}_post + 1) % {ring}",
                            delay=d, name=f"relay_{proj.pre.name}_{k}")
            R.pre.order = -2            # before every projection's pathway (order -1)
            R.connect(j="i", namespace={})
            objs.append(R)
            on_pre = f"I_post += w * aout{slot}_pre"
            relay_index[k] = slot
        elif proj.pre.coding == "pulse":
            on_pre = "z1_post += w"
        else:
            on_pre = "I_post += w"
        S = b2.Synapses(pre, post, "w : 1 (constant)", on_pre=on_pre, delay=d,
                        name=f"proj{k}_{proj.pre.name}_{proj.post.name}")
        S.connect(i=W.row.astype(np.int64), j=W.col.astype(np.int64))
        S.w = W.data
        objs.append(S)

    network = b2.Network(objs)
    network.schedule = ["start", "groups", "synapses", "thresholds", "resets", "end"]
    notes = []
    process_s = None
    if target == "cpp_standalone":
        # the step at t = duration belongs to the run
        network.run(duration * ms + 0.5 * dt * ms, namespace={})
        t0 = time.perf_counter()
        b2.device.build(directory=tmp, compile=True, run=False, with_output=False)
        build_s = time.perf_counter() - t0
        run_times, process_times = [], []
        for _ in range(max(1, int(repeats))):
            t0 = time.perf_counter()
            b2.device.run(directory=tmp, with_output=False)
            process_times.append(time.perf_counter() - t0)
            run_times.append(float(getattr(b2.device, "_last_run_time", process_times[-1])
                                   or process_times[-1]))
            if between is not None:
                between()
        process_s = statistics.median(process_times)
        run_s = statistics.median(run_times)
    else:
        t0 = time.perf_counter()
        network.run(0 * ms, namespace={})              # code generation and compilation
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        network.run(duration * ms + 0.5 * dt * ms, namespace={})
        run_s = time.perf_counter() - t0

    spikes, sizes = {}, {}
    syn = 0
    overflow = 0
    for p in gamma:
        m = monitors[p.name]
        t = np.asarray(m.t / ms, float)
        i = np.asarray(m.i[:], np.int64)
        a = np.asarray(m.a_now[:], float)
        spikes[p.name], sizes[p.name] = (t, i, a), p.n
        for k in out_delays[p.name]:
            overflow += _ring_overflows(t, i, ring, delay_steps[k] * dt)
    for k, proj in enumerate(net.projections):
        fan = np.diff(sp.csr_matrix(proj.weights).indptr)
        if proj.pre.name in spikes:
            t, i, _ = spikes[proj.pre.name]
            arrive = t + delay_steps[k] * dt <= duration + 1e-9
            syn += int(fan[i[arrive]].sum())
        else:
            t, i = _source_events(net, proj.pre, duration)
            steps, _ = _step_times(t, i, proj.pre.n, dt)
            arrive = (steps + delay_steps[k]) * dt <= duration + 1e-9
            syn += int(fan[i[arrive]].sum())
    if overflow:
        notes.append(f"{overflow} spikes overwrote an amplitude slot before delivery "
                     f"(raise ring above {ring})")
    if target == "cpp_standalone":
        b2.device.reinit()
        b2.set_device("runtime")
        if not keep_build and build_dir is None and tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return Brian2Run(target, dt, float(duration), spikes, sizes, build_s, run_s, process_s,
                     syn, n_inputs, shifted, overflow, integrator, notes,
                     int(openmp_threads) if target == "cpp_standalone" else 0,
                     tuple(run_times) if target == "cpp_standalone" else ())
