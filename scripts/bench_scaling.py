"""Scaling of the event-driven engine: network size, K, duration, number of events.

    python scripts/bench_scaling.py [--sizes 1000,10000,100000] [--ks 1,2,4,8,16] [--repeats 3]
                                    [--threads 2] [--out bench-results]

Tables (printed, CSV in --out) and plots (PNG):
* scaling_size.csv / .png: events per second and memory as the network grows
  (eventsg.examples.two_layer_network with N/2 + N/2 gamma neurons, N/4 Poisson
  inputs at 10 Hz, fan-out 100: in-degree and activity per neuron stay those of
  the benchmark network); each run's duration is chosen for about --events
  synaptic events; with --threads > 1, the same runs on that many threads too
  (``*_threads`` columns, and their speed-up over one thread);
* scaling_k.csv / .png: the same as K goes 1, 2, 4, 8, 16 at N = 2000;
* silent.csv: kernel time of a network with no input against the duration
  (should be flat), the median of at least 7 rounds;
* linear.csv: kernel time against the number of synaptic events (duration
  varied at equal activity; the cost per event should be constant), the median
  of --linear-repeats rounds.
The silent and linear tables time their durations in rounds that run each
duration once (interleaved_runs), so that load from other tenants of a shared
machine does not fall on one duration's runs alone.
Each size and K runs in a fresh process, so that its peak resident memory
(ru_maxrss) is its own; "traced" is the peak of Python/numpy allocations during
Network.run (tracemalloc), less the returned spikes. Run times are the median
(wall_s, events_per_s) and the best (best_wall_s) of --repeats runs after a first
one: on a shared machine a single run can be off by a third.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report          # noqa: E402
from peers.rounds import interleaved_rounds  # noqa: E402

EVENTS_PER_NEURON_MS = 2.4        # synaptic events per gamma neuron per ms (benchmark network)
SILENT_ROUNDS = 7                 # least rounds of the silent table


def timed_runs(net, duration, repeats, threads=1):
    """(median, best) kernel wall time (s) of ``repeats`` runs, and the last run's stats."""
    walls, stats = [], None
    options = {"threads": threads} if threads > 1 else {}
    for _ in range(max(repeats, 1)):
        stats = net.run(duration=duration, **options).stats
        walls.append(stats.wall_s)
    return statistics.median(walls), min(walls), stats


def interleaved_runs(net, durations, repeats):
    """{duration: (median, best kernel wall s, last run's stats)} of ``repeats`` rounds
    that each run every duration once, in turn (the order reversed every other round):
    a spell of load on a shared machine then falls on every duration alike, where
    back-to-back runs of one duration would put it on that duration alone."""
    runs = interleaved_rounds([(net, d) for d in durations], repeats)
    return {d: (statistics.median(walls), min(walls), last.stats)
            for d, (walls, last) in zip(durations, runs)}


def worker(n, K, duration, rate, repeats, threads=1):
    """Run one configuration in this process; print a JSON line."""
    from eventsg.examples import two_layer_network
    warm, _ = two_layer_network(n_inputs=50, n_hidden=100, n_out=100, fan_out=10, K=K)
    warm.run(duration=10.0)
    t0 = time.perf_counter()
    net, pops = two_layer_network(n_inputs=max(n // 4, 1), n_hidden=n // 2, n_out=n // 2,
                                  K=K, rate_hz=rate)
    build_s = time.perf_counter() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    compile_s = net.run(duration=duration).stats.compile_s
    wall, best, s = timed_runs(net, duration, repeats)
    tracemalloc.start()
    res2 = net.run(duration=duration)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    spikes = sum(x.t.nbytes + x.i.nbytes + x.a.nbytes
                 for x in (res2.spikes(p) for p in res2.populations))
    row = dict(n=n, K=K, duration_ms=duration, input_hz=rate,
               synaptic_events=s.synaptic_events, spikes=s.spikes, wall_s=wall,
               best_wall_s=best, events_per_s=s.synaptic_events / wall if wall else 0.0,
               compile_s=compile_s, build_s=build_s, traced_mb=(peak - spikes) / 1e6,
               rss_before_mb=rss0,
               peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if threads > 1:
        net.run(duration=min(duration, 10.0), threads=threads)     # compile or load
        wall_t, best_t, st = timed_runs(net, duration, repeats, threads)
        row.update(threads=threads, wall_s_threads=wall_t, best_wall_s_threads=best_t,
                   events_per_s_threads=st.synaptic_events / wall_t if wall_t else 0.0,
                   speedup_threads=wall / wall_t if wall_t else 0.0)
    print(json.dumps(row))


def spawn(n, K, duration, repeats, rate=10.0, threads=1):
    out = subprocess.run([sys.executable, __file__, "--worker", str(n), str(K), str(duration),
                          str(rate), str(repeats), str(threads)], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plot(rows, x, xlabel, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    ax2 = ax.twinx()
    xs = [r[x] for r in rows]
    ax.plot(xs, [r["events_per_s"] / 1e6 for r in rows], "o-", color="tab:blue",
            label="synaptic events / s (M)")
    if rows and "events_per_s_threads" in rows[0]:
        ax.plot(xs, [r["events_per_s_threads"] / 1e6 for r in rows], "o--", color="tab:cyan",
                label=f"the same on {rows[0]['threads']} threads")
    ax2.plot(xs, [r["peak_rss_mb"] for r in rows], "s--", color="tab:red", label="peak RSS (MB)")
    ax2.plot(xs, [max(r["traced_mb"], 1e-3) for r in rows], "^:", color="tab:orange",
             label="traced in run (MB)")
    ax.set_xscale("log", base=10 if x == "n" else 2)
    ax2.set_yscale("log")
    ax.set_ylim(0, None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("M synaptic events / s", color="tab:blue")
    ax2.set_ylabel("memory (MB)", color="tab:red")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="gamma neurons")
    parser.add_argument("--ks", default="1,2,4,8,16")
    parser.add_argument("--events", type=float, default=1e7, help="synaptic events per size run")
    parser.add_argument("--k-duration", type=float, default=1000.0, help="ms, for the K runs")
    parser.add_argument("--silent", default="100,1000,10000,100000", help="durations, ms")
    parser.add_argument("--linear", default="125,250,500,1000,2000", help="durations, ms")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per configuration (median and best reported)")
    parser.add_argument("--linear-repeats", type=int, default=7,
                        help="rounds of the linear table (each runs every duration once)")
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--threads", type=int, default=2,
                        help="also run the size table on this many threads (1: not)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        n, K, d, rate, repeats, threads = args.worker
        worker(int(n), int(K), float(d), float(rate), int(repeats), int(threads))
        return
    out = Path(args.out)
    print(f"{report.now()}; {report.machine()}")

    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        dur = round(args.events / (EVENTS_PER_NEURON_MS * n), 1)
        rows.append(spawn(n, 4, dur, args.repeats, threads=args.threads))
    report.table_and_csv(out, "scaling_size.csv", "network size (K = 4, fan-out 100)", rows)
    plot(rows, "n", "gamma neurons", out / "scaling_size.png",
         "Event-driven engine: throughput and memory against network size")

    krows = [spawn(2000, int(k), args.k_duration, args.repeats) for k in args.ks.split(",")]
    report.table_and_csv(out, "scaling_k.csv", f"buckets K (N = 2000, {args.k_duration:g} ms)",
                         krows)
    plot(krows, "K", "buckets K", out / "scaling_k.png",
         "Event-driven engine: throughput and memory against K (N = 2000)")

    from eventsg.examples import two_layer_network
    silent, _ = two_layer_network(rate_hz=0.0)
    silent.run(duration=10.0)
    srows = []
    durations = [float(x) for x in args.silent.split(",")]
    # (a silent run takes about a millisecond: at least SILENT_ROUNDS rounds, whatever
    # --repeats says, so that one disturbed run does not decide the table)
    rounds = max(args.repeats, SILENT_ROUNDS)
    for d, (wall, best, s) in interleaved_runs(silent, durations, rounds).items():
        srows.append(dict(duration_ms=d, events=s.events, synaptic_events=s.synaptic_events,
                          wall_s=wall, best_wall_s=best))
    report.table_and_csv(out, "silent.csv", "silent network (no input): kernel time against "
                         "duration (should be flat)", srows)

    net, _ = two_layer_network()
    net.run(duration=10.0)
    lrows = []
    durations = [float(x) for x in args.linear.split(",")]
    for d, (wall, best, s) in interleaved_runs(net, durations, args.linear_repeats).items():
        lrows.append(dict(duration_ms=d, synaptic_events=s.synaptic_events, wall_s=wall,
                          best_wall_s=best, ns_per_event=1e9 * wall / s.synaptic_events))
    report.table_and_csv(out, "linear.csv", "cost against the number of events (benchmark "
                         "network, duration varied)", lrows)
    per = [r["ns_per_event"] for r in lrows]
    print(f"  cost per event: {min(per):.0f}..{max(per):.0f} ns "
          f"(max/min {max(per) / min(per):.2f})")


if __name__ == "__main__":
    main()
