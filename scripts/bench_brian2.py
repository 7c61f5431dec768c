"""Brian2 peer benchmark: the engine benchmark network in eventsg and in Brian2.

    python scripts/bench_brian2.py [--duration 1000] [--dts 0.1,0.01,0.001] [--out bench-results]

Network: eventsg.examples.two_layer_network (500 Poisson inputs at 10 Hz -> 1000
-> 1000 SpikingGamma neurons, K = 4, fan-out 100, delays 1 ms), expressed in
Brian2 by scripts/peers/brian2_gamma.py (same input spike times, same weights).
Brian2 runs on its fastest target here, C++ standalone, on one thread and with
OpenMP on --brian2-threads threads (the Cython runtime target is timed once at
the largest dt for comparison); eventsg on one thread and on --threads threads
(default: every core this process may use). The speed-ups compare each side's
fastest of these; ``speedup_1thread`` gives ours on one thread. Run times are
medians: of each built Brian2 binary's --brian2-repeats runs, and of every run of
the event-driven engine on the benchmark network: --repeats at the start and
--repeats more after each of Brian2's binaries (so that on a machine shared with
other tenants both sides are timed over the same minutes; --no-interleave: the
first --repeats only).

Tables (printed, and written as CSV to --out):
* brian2_dt.csv: per dt, Brian2's build (code generation + compilation) and run
  time, its spikes against our exact event-driven run (median and 90th
  percentile |dt_spike|, matched fractions), and Brian2 run time / ours;
* brian2_paired.csv and brian2_paired_summary.csv: paired rounds at the largest dt
  (--paired-rounds): after each run of Brian2's one-thread binary, one run of
  ours on each thread count, so that each round's ratio (Brian2's run over ours)
  compares runs of the same seconds; per thread count the median ratio, its 95 %
  bootstrap confidence interval (scipy.stats.bootstrap, percentile method) and the
  share of rounds ours was faster. The target "faster than Brian2 at dt = 0.1 ms"
  counts as met when the interval's lower end is above 1;
* brian2_targets.csv: Brian2's code-generation targets at the largest dt;
* brian2_cost.csv: how each side's run time grows when the simulated duration
  doubles at equal activity, and when the activity halves: the input rate halved,
  and the input rate at which the synaptic events halve (found by bisection); our
  four runs timed in --repeats interleaved rounds of their own;
* brian2_activity.csv: the same network with the input rate at each of
  --activity-rates: synaptic events, each side's run time at the largest dt and
  at the equal-accuracy dt, Brian2's median spike-time error there, and the
  ratios; the summary names the activity below which each target holds.
The summary names the dt at which Brian2's median spike-time error first falls
below 1e-3 ms, and our speed ratio there.
"""
import argparse
import inspect
import os
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                          # noqa: E402
from peers.brian2_gamma import brian2_status, run_brian2           # noqa: E402
from peers.rounds import interleaved_rounds                        # noqa: E402
from peers.spike_match import concat_populations, match            # noqa: E402

from eventsg.examples import two_layer_network                     # noqa: E402

ACCURACY_MS = 1e-3
MATCH_WINDOW_MS = 3.0
WARM_UP_MS = 20.0
"""An untimed run before each series of timed ones."""
TARGET_AT_EQUAL_ACCURACY = 50.0
"""The speed-up over Brian2 aimed for at equal accuracy ..."""
TARGET_AT_LARGEST_DT = 1.0
"""... and at dt = 0.1 ms."""
PAIRED_CONFIDENCE = 0.95
"""Confidence level of the paired rounds' interval for the median ratio."""


def gamma_spikes(res, pops):
    return concat_populations([(*res.spikes(p), p.n) for p in pops])


def brian2_spikes(run, pops):
    return concat_populations([(*run.spikes[p.name], p.n) for p in pops])


def event_walls(net, duration, repeats, threads=1):
    """(kernel wall s of each run, last result) of the event-driven engine."""
    walls, res = [], None
    for _ in range(repeats):
        res = net.run(duration=duration, threads=threads)
        walls.append(res.stats.wall_s)
    return walls, res


def event_run(net, duration, repeats, threads=1):
    """(median kernel wall s, last result) of the event-driven engine."""
    walls, res = event_walls(net, duration, repeats, threads)
    return statistics.median(walls), res


class OurRuns:
    """Kernel wall times of the event-driven engine on the benchmark network, by thread
    count, sampled again and again through the script: on a machine shared with other
    tenants, our runs and Brian2's then see the same spells of load (a burst of our
    runs at the start alone may fall in a quiet or a busy minute)."""

    def __init__(self, net, duration, repeats, walls):
        """``walls``: {threads: [kernel wall s of the runs so far]}."""
        self.net, self.duration, self.repeats = net, duration, repeats
        self.walls = {n: list(w) for n, w in walls.items()}

    def sample(self):
        """``repeats`` more runs on each thread count, after a short one (as at the start:
        Brian2's build and run leave other data in the caches)."""
        for n, walls in self.walls.items():
            self.net.run(duration=WARM_UP_MS, threads=n)
            walls.extend(event_walls(self.net, self.duration, self.repeats, n)[0])

    def medians(self):
        """{threads: median kernel wall s} over every run so far."""
        return {n: statistics.median(w) for n, w in self.walls.items()}


class PairedRounds:
    """Our runs one by one beside the runs of one Brian2 binary (run_brian2's
    ``between``): after each of Brian2's runs, one run on each thread count, the
    order reversed every other round. Each round's ratio, Brian2's run over ours,
    then compares runs that saw the same seconds of a shared machine's load."""

    def __init__(self, net, duration, threads):
        self.net, self.duration, self.threads = net, duration, list(threads)
        self.walls = {n: [] for n in self.threads}

    def __call__(self):
        """One round: a run on each thread count."""
        first = len(self.walls[self.threads[0]]) % 2 == 0
        for n in (self.threads if first else self.threads[::-1]):
            self.walls[n].append(self.net.run(duration=self.duration, threads=n).stats.wall_s)

    def rows(self, brian2_s):
        """Per round: Brian2's run (``brian2_s``, one per round, s), ours and the ratios."""
        rows = []
        for k, b in enumerate(brian2_s):
            row = dict(round=k + 1, brian2_s=b)
            for n in self.threads:
                row[f"eventsg_{n}thread_s"] = self.walls[n][k]
            for n in self.threads:
                row[f"ratio_{n}thread"] = b / self.walls[n][k]
            rows.append(row)
        return rows


def paired_summary(brian2_s, ours_s, confidence=PAIRED_CONFIDENCE, seed=0):
    """Brian2's run over ours, round by round (equal-length sequences of s): returns
    (median ratio, (low, high) bootstrap confidence interval of the median, share of
    rounds in which ours was faster). The resampling is seeded: the same rounds give
    the same interval."""
    ratios = np.asarray(brian2_s, float) / np.asarray(ours_s, float)
    if ratios.size == 0:
        raise ValueError("paired_summary needs at least one round")
    median = float(np.median(ratios))
    if ratios.size < 2 or np.all(ratios == ratios[0]):
        interval = (median, median)         # nothing to resample
    else:
        res = scipy_stats.bootstrap((ratios,), np.median, confidence_level=confidence,
                                    method="percentile",
                                    random_state=np.random.default_rng(seed))
        interval = (float(res.confidence_interval.low), float(res.confidence_interval.high))
    return median, interval, float(np.mean(ratios > 1.0))


def paired_table(args, dt, pairs, brian2_s):
    """Write and print the paired rounds (brian2_paired.csv) and their summary per thread
    count (brian2_paired_summary.csv); returns the summary rows."""
    report.table_and_csv(args.out, "brian2_paired.csv",
                         f"paired rounds at dt = {dt:g} ms: Brian2's one-thread binary, then "
                         "eventsg on each thread count; ratio = Brian2's run / ours",
                         pairs.rows(brian2_s))
    summary = []
    for n in pairs.threads:
        median, (low, high), faster = paired_summary(brian2_s, pairs.walls[n])
        summary.append(dict(dt_ms=dt, eventsg_threads=n, rounds=len(brian2_s),
                            median_ratio=median, ci_low=low, ci_high=high,
                            confidence=PAIRED_CONFIDENCE, share_faster=faster,
                            met=low > TARGET_AT_LARGEST_DT))
    report.table_and_csv(args.out, "brian2_paired_summary.csv",
                         f"paired rounds at dt = {dt:g} ms: median ratio with its "
                         f"{100 * PAIRED_CONFIDENCE:g} % bootstrap interval; met: the "
                         f"interval above {TARGET_AT_LARGEST_DT:g}", summary)
    return summary


def usable_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--dts", default="0.1,0.01,0.001", help="Brian2 steps, ms")
    parser.add_argument("--repeats", type=int, default=3, help="event-driven repeats (median)")
    parser.add_argument("--brian2-repeats", type=int, default=3,
                        help="runs of each built Brian2 standalone binary (median)")
    parser.add_argument("--threads", type=int, default=usable_cores(),
                        help="eventsg's threads besides one (default: the usable cores)")
    parser.add_argument("--brian2-threads", default=None,
                        help="OpenMP threads of Brian2's standalone runs besides none, comma-"
                             "separated (default: --threads; '' for one thread only)")
    parser.add_argument("--target", default="cpp_standalone")
    parser.add_argument("--compare-targets", default="cython",
                        help="other Brian2 targets timed at the largest dt ('' for none)")
    parser.add_argument("--integrator", default="propagator", choices=("propagator", "exact"))
    parser.add_argument("--skip-cost", action="store_true", help="skip the duration/activity table")
    parser.add_argument("--activity-rates", default="10,5,2.5,1.25",
                        help="input rates (Hz) of the activity sweep ('' for none)")
    parser.add_argument("--paired-rounds", type=int, default=21,
                        help="runs of Brian2's one-thread binary at the largest dt, each "
                             "followed by one of ours on each thread count (0: none)")
    parser.add_argument("--no-interleave", action="store_true",
                        help="time our runs only before Brian2's (not again after each of its "
                             "builds)")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    ok, why = brian2_status()
    if not ok:
        sys.exit(f"brian2 does not import here ({why}); see BENCHMARKS.md for the set-up")
    dts = sorted((float(x) for x in args.dts.split(",")), reverse=True)

    net, (inp, hid, out) = two_layer_network()
    pops = (hid, out)
    omp = ([args.threads] if args.brian2_threads is None and args.threads > 1 else
           [int(x) for x in (args.brian2_threads or "").split(",") if x and int(x) > 1])
    net.run(duration=WARM_UP_MS)                               # compile or load the kernels
    first, exact_res = event_walls(net, args.duration, args.repeats)
    wall = statistics.median(first)
    exact = gamma_spikes(exact_res, pops)
    s = exact_res.stats
    theta = float(hid.theta.min())
    print(f"{report.now()}; {report.machine()}")
    print(f"event-driven: {args.duration:g} ms, {s.synaptic_events} synaptic events, {s.spikes} "
          f"spikes, median wall {wall:.3f} s ({s.synaptic_events / wall / 1e6:.2f} M events/s)")
    results, walls = {1: exact_res}, {1: first}
    if args.threads > 1:
        net.run(duration=WARM_UP_MS, threads=args.threads)     # compile or load run_thread
        walls[args.threads], results[args.threads] = event_walls(net, args.duration,
                                                                 args.repeats, args.threads)
        wall_n = statistics.median(walls[args.threads])
        print(f"event-driven on {args.threads} threads: median wall {wall_n:.3f} s "
              f"({wall / wall_n:.2f}x one thread's)")
    ours = OurRuns(net, args.duration, args.repeats, walls)

    brian_rows = []
    runs, fastest = {}, {}
    pairs = PairedRounds(net, args.duration, walls) if args.paired_rounds > 0 else None
    for dt in dts:
        for threads in [0] + omp:
            paired = pairs is not None and dt == dts[0] and threads == 0
            b = run_brian2(net, args.duration, dt, target=args.target, integrator=args.integrator,
                           repeats=max(args.brian2_repeats, args.paired_rounds) if paired
                           else args.brian2_repeats, openmp_threads=threads,
                           between=pairs if paired else None)
            if not args.no_interleave:
                ours.sample()           # our runs beside Brian2's, in the same minutes
            if threads == 0:
                runs[dt] = b
            if dt not in fastest or b.run_s < fastest[dt].run_s:
                fastest[dt] = b
            m = match(exact, brian2_spikes(b, pops), MATCH_WINDOW_MS, merge_small=0.5 * theta)
            brian_rows.append((dt, threads, b, m))
            for note in b.notes:
                print(f"  note (dt={dt:g}, {max(threads, 1)} threads): {note}")
    walls = ours.medians()
    wall = walls[1]
    best = min(walls.values())
    summary = paired_table(args, dts[0], pairs, runs[dts[0]].run_times) if pairs else []
    if not args.no_interleave:
        print(f"event-driven, all {len(ours.walls[1])} runs of each (between Brian2's): median "
              + ", ".join(f"{w:.3f} s on {n} thread{'s' * (n > 1)}" for n, w in walls.items()))

    rows = []
    for n, res in results.items():
        m = match(exact, gamma_spikes(res, pops), MATCH_WINDOW_MS, merge_small=0.5 * theta)
        rows.append(dict(simulator="eventsg event-driven", target="numba", threads=n,
                         dt_ms=0.0, build_s=res.stats.jit_s, run_s=walls[n],
                         spikes=res.stats.spikes, synaptic_events=res.stats.synaptic_events,
                         median_err_ms=m.median_error_ms, p90_err_ms=m.p90_error_ms,
                         matched_of_exact=m.matched_of_exact, matched_of_peer=m.matched_of_approx,
                         eventsg_speedup="-", speedup_1thread=wall / walls[n]))
    for dt, threads, b, m in brian_rows:
        rows.append(dict(simulator="brian2", target=args.target, threads=max(threads, 1),
                         dt_ms=dt, build_s=b.build_s, run_s=b.run_s, spikes=b.n_spikes,
                         synaptic_events=b.synaptic_events,
                         median_err_ms=m.median_error_ms, p90_err_ms=m.p90_error_ms,
                         matched_of_exact=m.matched_of_exact,
                         matched_of_peer=m.matched_of_approx,
                         eventsg_speedup=b.run_s / best, speedup_1thread=b.run_s / wall))
    report.table_and_csv(args.out, "brian2_dt.csv",
                         f"eventsg vs Brian2 ({args.target}, {args.integrator}), "
                         f"{args.duration:g} ms; errors against the exact run (one thread); "
                         "speed-up: Brian2 run / eventsg's fastest run", rows)

    acc_dt = next((r["dt_ms"] for r in rows if r["simulator"] == "brian2"
                   and r["median_err_ms"] < ACCURACY_MS), None)
    if acc_dt is None:
        print(f"\nBrian2's median spike-time error never fell below {ACCURACY_MS:g} ms "
              f"(smallest dt {dts[-1]:g} ms)")
    else:
        ratio = fastest[acc_dt].run_s / best
        print(f"\nequal accuracy: Brian2's median error first falls below {ACCURACY_MS:g} ms at "
              f"dt = {acc_dt:g} ms; eventsg is {ratio:.1f}x faster there "
              f"(target >= {TARGET_AT_EQUAL_ACCURACY:g}x; each side's fastest run; "
              f"{runs[acc_dt].run_s / wall:.1f}x one thread against one); "
              f"at dt = {dts[0]:g} ms: {fastest[dts[0]].run_s / best:.2f}x "
              f"({runs[dts[0]].run_s / wall:.2f}x one thread against one)")
    for r in summary:
        n = r["eventsg_threads"]
        print(f"paired rounds at dt = {r['dt_ms']:g} ms, eventsg on {n} thread{'s' * (n > 1)}: "
              f"median {r['median_ratio']:.3f}x ({100 * r['confidence']:g} % interval "
              f"{r['ci_low']:.3f} to {r['ci_high']:.3f}; faster in "
              f"{round(r['share_faster'] * r['rounds'])} of {r['rounds']} rounds): target "
              f"{'met' if r['met'] else 'not met'} (the interval above "
              f"{TARGET_AT_LARGEST_DT:g})")

    targets = [t for t in args.compare_targets.split(",") if t]
    if targets:
        trows = [dict(target=args.target, dt_ms=dts[0], build_s=runs[dts[0]].build_s,
                      run_s=runs[dts[0]].run_s, spikes=runs[dts[0]].n_spikes)]
        for t in targets:
            b = run_brian2(net, args.duration, dts[0], target=t, integrator=args.integrator)
            trows.append(dict(target=t, dt_ms=dts[0], build_s=b.build_s, run_s=b.run_s,
                              spikes=b.n_spikes))
        report.table_and_csv(args.out, "brian2_targets.csv",
                             f"Brian2 targets at dt = {dts[0]:g} ms, {args.duration:g} ms "
                             "(build: code generation + compilation, cached builds are faster)",
                             trows)

    cost_dts = [dts[0]] + ([acc_dt] if acc_dt is not None and acc_dt != dts[0] else [])
    peer = Runs(args, net, pops, wall, exact_res, runs)
    if not args.skip_cost:
        cost_table(args, peer, cost_dts)
    rates = [float(x) for x in args.activity_rates.split(",") if x]
    if rates:
        activity_table(args, peer, rates, cost_dts, acc_dt)


class Runs:
    """Each side's runs by (input rate, duration[, dt]), each measured once per script run."""

    def __init__(self, args, net, pops, wall, exact_res, brian_runs):
        self.args = args
        self.base_rate = inspect.signature(two_layer_network).parameters["rate_hz"].default
        self.nets = {self.base_rate: (net, pops)}
        self.events = {(self.base_rate, args.duration): (wall, exact_res)}
        self.brian = {(self.base_rate, args.duration, dt): b for dt, b in brian_runs.items()}

    def network(self, rate):
        """(network, (hidden, output)) at input rate ``rate`` (Hz)."""
        if rate not in self.nets:
            n, (_, hid, out) = two_layer_network(rate_hz=rate)
            self.nets[rate] = (n, (hid, out))
        return self.nets[rate]

    def eventsg(self, rate, duration):
        """(median wall s, last result) of the event-driven engine."""
        key = (rate, duration)
        if key not in self.events:
            self.events[key] = event_run(self.network(rate)[0], duration, self.args.repeats)
        return self.events[key]

    def brian2(self, rate, duration, dt):
        key = (rate, duration, dt)
        if key not in self.brian:
            self.brian[key] = run_brian2(self.network(rate)[0], duration, dt,
                                         target=self.args.target,
                                         integrator=self.args.integrator,
                                         repeats=self.args.brian2_repeats)
        return self.brian[key]


def cost_table(args, peer, cost_dts):
    """brian2_cost.csv: run time as the duration doubles and as the activity halves."""
    rate0 = peer.base_rate
    base_events = peer.eventsg(rate0, args.duration)[1].stats.synaptic_events
    half_rate = half_events_rate(peer, rate0, args.duration, base_events)
    cases = (("base", rate0, args.duration),
             ("duration x2", rate0, 2 * args.duration),
             ("input rate / 2", rate0 / 2, args.duration),
             ("synaptic events / 2", half_rate, args.duration))
    ours = interleaved_event_runs([(peer.network(rate)[0], dur) for _, rate, dur in cases],
                                  args.repeats)
    crows = []
    for (label, rate, dur), (w2, r2) in zip(cases, ours):
        row = dict(case=label, duration_ms=dur, input_hz=round(rate, 4),
                   synaptic_events=r2.stats.synaptic_events, spikes=r2.stats.spikes,
                   eventsg_s=w2)
        for dt in cost_dts:
            row[f"brian2_dt{dt:g}_s"] = peer.brian2(rate, dur, dt).run_s
        crows.append(row)
    base = crows[0]
    for r in crows:
        for k in [k for k in r if k.endswith("_s")]:
            r[k.replace("_s", "_rel")] = r[k] / base[k]
        r["events_rel"] = r["synaptic_events"] / base["synaptic_events"]
    report.table_and_csv(args.out, "brian2_cost.csv",
                         "cost growth (rel = relative to base): the duration doubled at equal "
                         "activity; the input rate halved; the input rate at which the synaptic "
                         "events halve", crows)


def interleaved_event_runs(cases, repeats):
    """[(median kernel wall s, last result)] of the event-driven engine for each
    (network, duration) of ``cases``, timed in ``repeats`` rounds that each run every
    case once (the order reversed every other round), so that the ratios between the
    cases compare runs of the same minutes on a shared machine."""
    for net, _ in cases:
        net.run(duration=WARM_UP_MS)
    return [(statistics.median(w), res) for w, res in interleaved_rounds(cases, repeats)]


def half_events_rate(peer, rate0, duration, base_events, steps=12):
    """The input rate (Hz) at which the network makes half the synaptic events it makes at
    rate0, by bisection on single event-driven runs (the events grow with the rate)."""
    lo, hi = 0.0, rate0
    miss = {}                   # rate tried -> |its synaptic events - half the base's|
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        events = peer.network(mid)[0].run(duration=duration).stats.synaptic_events
        miss[mid] = abs(events - base_events / 2)
        if events < base_events / 2:
            lo = mid
        else:
            hi = mid
    best = min(miss, key=miss.get)
    for r in list(peer.nets):
        if r not in (rate0, best):
            del peer.nets[r]
    return best


def activity_table(args, peer, rates, cost_dts, acc_dt):
    """brian2_activity.csv: both sides as the input rate, and with it every layer's
    activity, falls; and the activity below which each target holds."""
    rows = []
    for rate in sorted(rates, reverse=True):
        n, pops = peer.network(rate)
        w, res = peer.eventsg(rate, args.duration)
        n_neurons = sum(p.n for p in pops)
        row = dict(input_hz=rate, synaptic_events=res.stats.synaptic_events,
                   events_per_neuron_ms=res.stats.synaptic_events / n_neurons / args.duration,
                   eventsg_s=w)
        for dt in cost_dts:
            b = peer.brian2(rate, args.duration, dt)
            row[f"brian2_dt{dt:g}_s"] = b.run_s
            row[f"speedup_dt{dt:g}"] = b.run_s / w
        if acc_dt is not None:
            theta = float(pops[0].theta.min())
            m = match(gamma_spikes(res, pops), brian2_spikes(peer.brian2(rate, args.duration,
                                                                         acc_dt), pops),
                      MATCH_WINDOW_MS, merge_small=0.5 * theta)
            row[f"median_err_dt{acc_dt:g}_ms"] = m.median_error_ms
        rows.append(row)
    report.table_and_csv(args.out, "brian2_activity.csv",
                         f"eventsg vs Brian2 as the input rate falls ({args.duration:g} ms; "
                         "speed-up = Brian2 run / eventsg run)", rows)
    goals = [(cost_dts[0], TARGET_AT_LARGEST_DT)]
    if acc_dt is not None and acc_dt != cost_dts[0]:
        goals.append((acc_dt, TARGET_AT_EQUAL_ACCURACY))
    for dt, goal in goals:
        print(f"  dt = {dt:g} ms, target speed-up {goal:g}: " + target_summary(rows, dt, goal))


def target_summary(rows, dt, goal):
    """Where, along the activity sweep (rows by falling rate), a speed-up target holds."""
    key = f"speedup_dt{dt:g}"
    met = [r for r in rows if r[key] >= goal]
    missed = [r for r in rows if r[key] < goal]
    if not met:
        return (f"not met down to {rows[-1]['input_hz']:g} Hz "
                f"({rows[-1]['events_per_neuron_ms']:.3g} events per neuron and ms)")
    top = max(met, key=lambda r: r["events_per_neuron_ms"])
    text = (f"met up to {top['input_hz']:g} Hz ({top['events_per_neuron_ms']:.3g} events per "
            f"neuron and ms, {top[key]:.3g}x)")
    if missed:
        low = min(missed, key=lambda r: r["events_per_neuron_ms"])
        text += (f", missed from {low['input_hz']:g} Hz ({low['events_per_neuron_ms']:.3g}, "
                 f"{low[key]:.3g}x)")
    return text


if __name__ == "__main__":
    main()
