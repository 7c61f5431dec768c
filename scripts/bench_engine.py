"""Engine benchmark: synaptic events per second on the 2-layer benchmark network.

    python scripts/bench_engine.py [--repeats 5] [--duration 1000] [--threads 2] [--out bench-results]

Network (eventsg.examples.two_layer_network): 500 Poisson inputs at 10 Hz ->
1000 hidden -> 1000 output SpikingGamma neurons, K = 4, fan-out 100, delays 1 ms.
Prints (and writes as CSV to --out, default bench-results/): synaptic events per
second of kernel wall time (median and best of the repeats after a warm-up run)
and their ratio to the 1e7/s target; where that time goes (the inputs that fit
in their target's margins, at the cost of one in a network where every input
fits, and the rest per crossing search); the same network on the
fixed-step reference engine (the peer in this run) at dt = 0.1 and 0.01 ms and our
speed-up over it; the same run on --threads threads (threads.csv: speed-up over
one thread, the threads' shares of their time busy and waiting at the barriers, and
whether the spikes are one thread's); the start-up time of a small run with a cold and with a warm
Numba cache (fresh processes); and the peak memory of runs of T and 2T ms.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                       # noqa: E402

TARGET_EVENTS_PER_S = 1e7
STARTUP_SNIPPET = (
    "import time; t0 = time.perf_counter()\n"
    "import eventsg\n"
    "from eventsg.examples import two_layer_network\n"
    "net, _ = two_layer_network(n_inputs=50, n_hidden=100, n_out=100, fan_out=10)\n"
    "net.run(duration=10.0); net.run(duration=10.0, engine='clock', dt=0.1)\n"
    "print(time.perf_counter() - t0)\n")


def startup_seconds(cache_dir):
    """Seconds from import to the end of a small run, in a fresh process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", STARTUP_SNIPPET], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def peak_memory_mb(net, duration):
    """Peak traced memory (MB) of a run, less the recorded spikes it returns."""
    tracemalloc.start()
    res = net.run(duration=duration)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    spikes = sum(s.t.nbytes + s.i.nbytes + s.a.nbytes
                 for s in (res.spikes(p) for p in res.populations))
    return (peak - spikes) / 1e6, spikes / 1e6


def fit_path_network(theta):
    """5000 Poisson inputs (100 Hz) -> 2000 gamma neurons (K = 4, tau 1, 2, 4, 8 ms, fan-out
    100): 5e7 synaptic events per simulated second. With a threshold out of reach
    (``theta`` = 1e6) every input fits in its target's margins and no search follows:
    the cost of an input on the fast path alone."""
    from eventsg import GammaPopulation, Network, PoissonSource
    from eventsg.examples import random_sparse
    net = Network(seed=1)
    inp = net.add(PoissonSource(n=5000, rate=100.0, coding="pulse", name="inputs"))
    hid = net.add(GammaPopulation(n=2000, K=4, tau=(1.0, 2.0, 4.0, 8.0), theta=theta,
                                  name="targets"))
    net.connect(inp, hid, random_sparse(5000, 2000, 100, 0.0085, 0.00425, 2), delay=1.0)
    return net


def cost_split(stats, wall, repeats, duration):
    """Rows splitting the benchmark run's ``wall`` (s) into its inputs that fit, at the
    cost per input of the all-fit network, and the rest per crossing search."""
    net = fit_path_network(theta=1e6)
    net.run(duration=10.0, ahead=False)
    walls, res = [], None
    for _ in range(repeats):
        # (its one population is fed only by sources: kept in the event loop, whose fast
        # path this measures)
        res = net.run(duration=duration, ahead=False)
        walls.append(res.stats.wall_s)
    fs = res.stats
    if fs.spikes or fs.unchecked_inputs != fs.synaptic_events:
        raise RuntimeError("the all-fit network spiked or checked an input")
    per_input = statistics.median(walls) / fs.synaptic_events
    fit_s = per_input * stats.unchecked_inputs
    rest_s = wall - fit_s
    return [
        {"part": "inputs that fit", "count": stats.unchecked_inputs,
         "ns_each": per_input * 1e9, "seconds": fit_s, "share_of_run": fit_s / wall},
        {"part": "the rest, per crossing search", "count": stats.searches,
         "ns_each": rest_s / stats.searches * 1e9, "seconds": rest_s,
         "share_of_run": rest_s / wall}]


def threads_table(args, net, serial, counts, median_wall, best_wall):
    """threads.csv: the benchmark run on several threads (interleaved with runs on
    one, so that both see the same machine), its speed-up and whether its spikes
    are those of one thread."""
    rows = [{"threads": 1, "runs": args.repeats, "median_wall_s": median_wall,
             "best_wall_s": best_wall,
             "median_syn_events_per_s": serial.stats.synaptic_events / median_wall,
             "speedup_over_1": 1.0, "busy_share": "-", "barrier_share": "-",
             "same_spikes": "-", "max_time_diff_ms": 0.0}]
    for n in counts:
        net.run(duration=50.0, threads=n)                   # compile or load run_thread
        walls, ones, busy, waiting, res = [], [], [], [], None
        for _ in range(args.repeats):
            res = net.run(duration=args.duration, threads=n)
            walls.append(res.stats.wall_s)
            # (the threads' mean share of their time in their event loops / at the barriers)
            busy.append(statistics.fmean(res.stats.thread_busy or [math.nan]))
            waiting.append(statistics.fmean(res.stats.thread_wait or [math.nan]))
            ones.append(net.run(duration=args.duration).stats.wall_s)
        same, diff = True, 0.0
        for pop in res.populations:
            a, b = serial.spikes(pop), res.spikes(pop)
            oa, ob = np.lexsort((a.t, a.i)), np.lexsort((b.t, b.i))
            same = same and np.array_equal(a.i[oa], b.i[ob])
            if same:
                diff = max(diff, float(np.max(np.abs(a.t[oa] - b.t[ob]), initial=0.0)))
        rows.append({"threads": n, "runs": args.repeats,
                     "median_wall_s": statistics.median(walls), "best_wall_s": min(walls),
                     "median_syn_events_per_s": res.stats.synaptic_events / statistics.median(walls),
                     "speedup_over_1": statistics.median(ones) / statistics.median(walls),
                     "busy_share": statistics.median(busy),
                     "barrier_share": statistics.median(waiting),
                     "same_spikes": same, "max_time_diff_ms": diff})
    report.table_and_csv(args.out, "threads.csv",
                         "the benchmark network on several threads (speed-up over one thread: "
                         "medians of interleaved runs; busy / barrier share: of the threads' "
                         "time, in their event loops / waiting for each other)", rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--skip-clock", action="store_true", help="skip the fixed-step peer")
    parser.add_argument("--skip-split", action="store_true",
                        help="skip the split of the run time (inputs that fit, searches)")
    parser.add_argument("--threads", default="2",
                        help="thread counts > 1 of the threads table ('' for none)")
    parser.add_argument("--out", default="bench-results", help="directory for the CSV")
    args = parser.parse_args(argv)

    from eventsg.examples import two_layer_network
    net, (inp, hid, out) = two_layer_network()
    net.run(duration=50.0)                                   # warm-up (compile or load cache)
    net.run(duration=50.0, ahead=False)
    rates, walls, res, loop_walls = [], [], None, []
    for _ in range(args.repeats):
        res = net.run(duration=args.duration)
        rates.append(res.stats.synaptic_events_per_s)
        walls.append(res.stats.wall_s)
        # every neuron in the one event loop, in the same minutes
        loop_walls.append(net.run(duration=args.duration, ahead=False).stats.wall_s)
    s = res.stats
    n_hid, n_out = len(res.spikes(hid)), len(res.spikes(out))
    rate = statistics.median(rates)
    print(f"{report.now()}; {report.machine()}")
    print(f"network: 500 Poisson inputs (10 Hz) -> 1000 -> 1000 gamma neurons, K=4, "
          f"fan-out 100, {args.duration:g} ms")
    print(f"activity: hidden {n_hid / 1000 / (args.duration / 1e3):.1f} Hz, output "
          f"{n_out / 1000 / (args.duration / 1e3):.1f} Hz; {s.synaptic_events} synaptic events, "
          f"{s.spikes} spikes, {s.searches} crossing searches")
    rows = [{"engine": "event-driven", "dt_ms": "-", "runs": args.repeats,
             "median_wall_s": statistics.median(walls), "best_wall_s": min(walls),
             "median_syn_events_per_s": rate, "best_syn_events_per_s": max(rates),
             "median_vs_1e7_target": rate / TARGET_EVENTS_PER_S,
             "best_vs_1e7_target": max(rates) / TARGET_EVENTS_PER_S,
             "event_driven_speedup": 1.0}]
    loop_rates = [s.synaptic_events / w for w in loop_walls]
    rows.append({"engine": "event-driven, ahead=False (the hidden layer in the event loop)",
                 "dt_ms": "-", "runs": args.repeats,
                 "median_wall_s": statistics.median(loop_walls), "best_wall_s": min(loop_walls),
                 "median_syn_events_per_s": statistics.median(loop_rates),
                 "best_syn_events_per_s": max(loop_rates),
                 "median_vs_1e7_target": statistics.median(loop_rates) / TARGET_EVENTS_PER_S,
                 "best_vs_1e7_target": max(loop_rates) / TARGET_EVENTS_PER_S,
                 "event_driven_speedup": statistics.median(loop_walls) / statistics.median(walls)})
    if not args.skip_clock:
        for dt in (0.1, 0.01):
            net.run(duration=5.0, engine="clock", dt=dt)
            ref = net.run(duration=args.duration, engine="clock", dt=dt)
            ref_rate = ref.stats.synaptic_events_per_s
            rows.append({"engine": "fixed-step", "dt_ms": dt, "runs": 1,
                         "median_wall_s": ref.stats.wall_s, "best_wall_s": ref.stats.wall_s,
                         "median_syn_events_per_s": ref_rate, "best_syn_events_per_s": ref_rate,
                         "median_vs_1e7_target": ref_rate / TARGET_EVENTS_PER_S,
                         "best_vs_1e7_target": ref_rate / TARGET_EVENTS_PER_S,
                         "event_driven_speedup": ref.stats.wall_s / statistics.median(walls)})
    report.table_and_csv(args.out, "engine.csv", "engine throughput (kernel wall time)", rows)
    counts = [int(x) for x in args.threads.split(",") if x]
    if counts:
        threads_table(args, net, res, counts, statistics.median(walls), min(walls))

    if not args.skip_split:
        split = cost_split(s, statistics.median(walls), args.repeats, args.duration)
        report.table_and_csv(
            args.out, "engine_split.csv",
            "where the time goes: inputs that fit at the cost of one in a network where all fit "
            "(5000 x 100 Hz -> 2000, theta out of reach, ahead=False); the rest (inputs that do "
            "not fit, searches, spikes, the hidden layer's pass ahead) per search", split)

    with tempfile.TemporaryDirectory() as cache:
        cold = startup_seconds(cache)
        warm = startup_seconds(cache)
    print(f"start-up of a small run (import + compile/load + run): cold cache {cold:.2f} s, "
          f"warm cache {warm:.2f} s (target < 2 s)")

    half = args.duration / 4
    m1, sp1 = peak_memory_mb(net, half)
    m2, sp2 = peak_memory_mb(net, 2 * half)
    print(f"peak memory without recorded spikes: {m1:.1f} MB for {half:g} ms, {m2:.1f} MB for "
          f"{2 * half:g} ms (ratio {m2 / m1:.2f}); recorded spikes {sp1:.1f} / {sp2:.1f} MB")


if __name__ == "__main__":
    main()
