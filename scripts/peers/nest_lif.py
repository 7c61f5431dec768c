"""NEST throughput reference: iaf_psc_exp_ps (precise spike timing) in the shape of
the engine benchmark network.

500 spike generators replay the same Poisson input times as eventsg's inputs
(precise, off-grid times) -> 1000 -> 1000 iaf_psc_exp_ps neurons, fan-out 100
(fixed out-degree), delays 1 ms, one thread. The weights are tuned so that the
number of synaptic events is close to eventsg's on the same inputs.
"""
import time
from dataclasses import dataclass

import numpy as np


def nest_status():
    """(True, version) if nest imports, else (False, the reason)."""
    try:
        import nest
    except Exception as err:              # noqa: BLE001
        return False, f"{type(err).__name__}: {err}"
    return True, nest.__version__


@dataclass
class NestRun:
    duration_ms: float
    build_s: float
    run_s: float
    input_events: int
    hidden_spikes: int
    output_spikes: int
    synaptic_events: int
    hidden_times: np.ndarray
    hidden_ids: np.ndarray

    @property
    def events_per_s(self):
        return self.synaptic_events / self.run_s if self.run_s > 0 else float("inf")


def run_nest(input_times, input_ids, n_inputs, duration, w_in, w_hid, n_hidden=1000, n_out=1000,
             fan_out=100, delay=1.0, seed=1, resolution=0.1, model="iaf_psc_exp_ps"):
    """Build and simulate; weights in pA. Returns a NestRun (run_s: nest.Simulate only)."""
    import nest

    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:
        nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"local_num_threads": 1, "resolution": resolution, "rng_seed": seed,
                          "print_time": False})
    t0 = time.perf_counter()
    times = np.asarray(input_times, float)
    ids = np.asarray(input_ids, np.int64)
    keep = (times > 0) & (times <= duration)              # NEST wants times > 0
    times, ids = times[keep], ids[keep]
    gens = nest.Create("spike_generator", n_inputs,
                       params={"precise_times": True})
    order = np.lexsort((times, ids))
    bounds = np.searchsorted(ids[order], np.arange(n_inputs + 1))
    gens.set([{"spike_times": times[order][bounds[k]:bounds[k + 1]]} for k in range(n_inputs)])
    parrots = nest.Create("parrot_neuron_ps", n_inputs)   # so that fan-out is one connection rule
    nest.Connect(gens, parrots, "one_to_one", {"delay": resolution})
    hid = nest.Create(model, n_hidden)
    out = nest.Create(model, n_out)
    conn = {"rule": "fixed_outdegree", "outdegree": fan_out, "allow_multapses": False}
    nest.Connect(parrots, hid, conn, {"weight": w_in, "delay": delay})
    nest.Connect(hid, out, conn, {"weight": w_hid, "delay": delay})
    rec_h = nest.Create("spike_recorder")
    rec_o = nest.Create("spike_recorder")
    nest.Connect(hid, rec_h)
    nest.Connect(out, rec_o)
    nest.Prepare()
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(duration)
    run_s = time.perf_counter() - t0
    nest.Cleanup()
    ev_h = rec_h.get("events")
    n_h = len(ev_h["times"])
    n_o = rec_o.get("n_events")
    # deliveries within the run: inputs (through the parrots) and hidden spikes
    arrive_in = int(np.sum(times + resolution + delay <= duration + 1e-9))
    arrive_h = int(np.sum(np.asarray(ev_h["times"]) + delay <= duration + 1e-9))
    syn = fan_out * (arrive_in + arrive_h)
    return NestRun(float(duration), build_s, run_s, int(times.size), n_h, int(n_o), syn,
                   np.asarray(ev_h["times"]), np.asarray(ev_h["senders"]))


def tune_weight(f, target, lo, hi, iters=10, rel_tol=0.03):
    """Bisection on a weight w in [lo, hi] so that increasing f(w) is close to target."""
    w = 0.5 * (lo + hi)
    for _ in range(iters):
        w = 0.5 * (lo + hi)
        v = f(w)
        if abs(v - target) <= rel_tol * target:
            break
        lo, hi = (w, hi) if v < target else (lo, w)
    return w
