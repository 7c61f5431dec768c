"""Every benchmark in one run, and where eventsg stands against each target.

    python scripts/bench_all.py [--quick] [--only engine,brian2,...] [--out bench-results]

Runs the benchmark scripts one after another, each in a process of its own and
its output in a folder of its own under --out (engine/, brian2/, nest/,
scaling/, resolution/, training/), with the settings BENCHMARKS.md uses
(``--quick``: the short settings of its clean-clone check, for a smoke test, not
for numbers). A script whose peer does not import here (Brian2, NEST, snnTorch)
is reported as skipped and the others still run. Then reads their CSVs and
prints, and writes as targets.csv, one row per target of the benchmark issue:
the goal, what this run measured, and whether it is met.
"""
import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                          # noqa: E402

HERE = Path(__file__).resolve().parent

FULL = {
    "engine": ["--repeats", "7"],
    "brian2": ["--repeats", "7", "--compare-targets", ""],
    "nest": [],
    "scaling": ["--sizes", "1000,10000,100000", "--ks", "1,2,4,8,16", "--repeats", "3"],
    "resolution": [],
    "training": [],
}
"""Each benchmark's arguments (besides --out), as BENCHMARKS.md runs it."""

QUICK = {
    "engine": ["--repeats", "2", "--duration", "300"],
    "brian2": ["--duration", "200", "--dts", "0.1,0.01", "--activity-rates", "10,2.5",
               "--compare-targets", "", "--repeats", "2", "--brian2-repeats", "1",
               "--paired-rounds", "3"],
    "nest": ["--duration", "300"],
    "scaling": ["--sizes", "1000,10000", "--ks", "2,4", "--repeats", "1",
                "--events", "1e6", "--silent", "100,10000", "--linear", "125,250,500",
                "--linear-repeats", "2"],
    "resolution": ["--duration", "100", "--dts", "0.1,0.01"],
    "training": ["--quick"],
}
"""Short settings: every script runs to its tables in a few minutes (smoke test)."""

SCRIPTS = {name: f"bench_{name}.py" for name in FULL}

ENGINE_TARGET = 1e7
"""Synaptic events per second on one core, K = 4."""
BRIAN2_EQUAL_ACCURACY_TARGET = 50.0
"""Speed-up over Brian2 where its median spike-time error first falls below ..."""
ACCURACY_MS = 1e-3
"""... this (ms)."""
BRIAN2_LARGEST_DT_TARGET = 1.0
"""Speed-up over Brian2 at its largest dt (0.1 ms)."""
SILENT_FLAT = 2.0
"""A silent network's kernel time may vary at most this factor over its durations
(a cost per unit of simulated time would grow with the 1000-fold range)."""
LINEAR_R2 = 0.99
"""Least R^2 of a straight line through run time against synaptic events."""
MEMORY_FLAT = 1.1
"""Most growth of eventsg's training-step memory when samples are 10x as long."""


def read_csv(path):
    """Rows of a CSV as dicts of str, or None if the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _num(row, key):
    return float(row[key])


def _row(target, goal, measured, met, source):
    return dict(target=target, goal=goal, measured=measured,
                met="yes" if met is True else "no" if met is False else met, source=source)


def _missing(target, goal, source):
    return _row(target, goal, "not measured", "-", source)


def engine_rows(out):
    rows = read_csv(out / "engine" / "engine.csv")
    goal = f">= {ENGINE_TARGET:.0e} synaptic events/s"
    name = "engine throughput, one core, K = 4"
    if rows is None:
        return [_missing(name, goal, "engine")]
    ev = next(r for r in rows if r["engine"] == "event-driven")
    rate = _num(ev, "median_syn_events_per_s")
    return [_row(name, goal, f"{rate / 1e6:.2f} M/s ({rate / ENGINE_TARGET:.2f}x the target)",
                 rate >= ENGINE_TARGET, "engine/engine.csv")]


def brian2_rows(out):
    rows = read_csv(out / "brian2" / "brian2_dt.csv")
    eq = "Brian2 at equal accuracy (its median error <= 1e-3 ms)"
    large = "Brian2 at its largest dt"
    eq_goal = f">= {BRIAN2_EQUAL_ACCURACY_TARGET:g}x faster"
    large_goal = f"> {BRIAN2_LARGEST_DT_TARGET:g}x faster"
    if rows is None:
        return [_missing(eq, eq_goal, "brian2"), _missing(large, large_goal, "brian2")]
    fastest = {}            # per dt, Brian2's fastest run: the least speed-up over it
    for r in rows:
        if r["simulator"] == "brian2":
            dt = _num(r, "dt_ms")
            if dt not in fastest or _num(r, "eventsg_speedup") < _num(fastest[dt],
                                                                        "eventsg_speedup"):
                fastest[dt] = r
    peers = [fastest[dt] for dt in sorted(fastest, reverse=True)]
    src = "brian2/brian2_dt.csv"
    acc = next((r for r in peers if _num(r, "median_err_ms") < ACCURACY_MS), None)
    if acc is None:
        smallest = peers[-1]
        first = _row(eq, eq_goal, f"Brian2's error never fell below {ACCURACY_MS:g} ms "
                     f"(smallest dt {_num(smallest, 'dt_ms'):g} ms)", "-", src)
    else:
        ratio = _num(acc, "eventsg_speedup")
        first = _row(eq, eq_goal, f"{ratio:.1f}x at dt = {_num(acc, 'dt_ms'):g} ms "
                     f"(median error {_num(acc, 'median_err_ms'):.2g} ms"
                     f"{_threads_note(rows, acc)})",
                     ratio >= BRIAN2_EQUAL_ACCURACY_TARGET, src)
    top = peers[0]
    ratio = _num(top, "eventsg_speedup")
    measured = (f"{ratio:.2f}x at dt = {_num(top, 'dt_ms'):g} ms "
                f"(its median error {_num(top, 'median_err_ms'):.2g} ms"
                f"{_threads_note(rows, top)})")
    paired = _paired_best(out)
    if paired is None:
        second = _row(large, large_goal, measured, ratio > BRIAN2_LARGEST_DT_TARGET, src)
    else:
        second = _row(large, large_goal + " (paired rounds: the 95 % interval above 1)",
                      measured + "; " + _paired_note(paired),
                      _num(paired, "ci_low") > BRIAN2_LARGEST_DT_TARGET,
                      src + ", brian2/brian2_paired_summary.csv")
    return [first, second] + brian2_cost_rows(out)


def _paired_best(out):
    """The paired rounds' summary row of eventsg's fastest setting (the highest median
    ratio), or None if the Brian2 benchmark ran none."""
    rows = read_csv(out / "brian2" / "brian2_paired_summary.csv")
    if not rows:
        return None
    return max(rows, key=lambda r: _num(r, "median_ratio"))


def _paired_note(r):
    n = int(_num(r, "eventsg_threads"))
    rounds = int(_num(r, "rounds"))
    return (f"paired rounds, eventsg on {n} thread{'s' * (n > 1)}: median "
            f"{_num(r, 'median_ratio'):.2f}x, {100 * _num(r, 'confidence'):g} % interval "
            f"{_num(r, 'ci_low'):.2f} to {_num(r, 'ci_high'):.2f}, faster in "
            f"{round(_num(r, 'share_faster') * rounds)} of {rounds} rounds")


def _threads_note(rows, peer):
    """How many threads each side's fastest run took, and the ratio on one thread each
    (tables without a threads column: nothing)."""
    if not peer.get("threads"):
        return ""
    ours = [r for r in rows if r["simulator"].startswith("eventsg")]
    best = min(ours, key=lambda r: _num(r, "run_s"))
    one = next((r for r in rows if r["simulator"] == "brian2" and r["dt_ms"] == peer["dt_ms"]
                and int(_num(r, "threads")) == 1), None)
    text = (f"; eventsg on {int(_num(best, 'threads'))}, Brian2 on "
            f"{int(_num(peer, 'threads'))} threads")
    if one is not None:
        text += f"; one thread each: {_num(one, 'speedup_1thread'):.3g}x"
    return text


def brian2_cost_rows(out):
    rows = read_csv(out / "brian2" / "brian2_cost.csv")
    if rows is None:
        return []
    keys = [k for k in rows[0] if k.startswith("brian2_dt") and k.endswith("_rel")]
    result = []
    for r in rows[1:]:
        peers = ", ".join(f"Brian2 dt={k[len('brian2_dt'):-len('_rel')]} {float(r[k]):.2f}"
                          for k in keys)
        result.append(_row(f"cost growth: {r['case']}", "report",
                           f"events {float(r['events_rel']):.2f}, eventsg "
                           f"{float(r['eventsg_rel']):.2f}, {peers}", "-",
                           "brian2/brian2_cost.csv"))
    return result


def _waiting(row):
    """'; waiting ..' from a threads.csv row's barrier share ('' where it has none)."""
    value = row.get("barrier_share", "")
    if value in ("", "nan"):
        return ""
    return f"; the threads waited {100 * float(value):.1f} % of their time for each other"


def threads_rows(out):
    """The engine on several threads (reference): speed-up over one, same spikes, and
    how long the threads waited for each other."""
    rows = read_csv(out / "engine" / "threads.csv")
    if rows is None:
        return []
    return [_row(f"engine on {r['threads']} threads (reference)", "report",
                 f"{_num(r, 'speedup_over_1'):.2f}x one thread; "
                 f"{_num(r, 'median_syn_events_per_s') / 1e6:.2f} M/s; same spikes: "
                 f"{r['same_spikes']} (times within {_num(r, 'max_time_diff_ms'):.2g} ms)"
                 + _waiting(r), "-", "engine/threads.csv")
            for r in rows if int(r["threads"]) > 1]


def nest_rows(out):
    rows = read_csv(out / "nest" / "nest.csv")
    name = "NEST iaf_psc_exp_ps, synaptic events/s (reference)"
    if rows is None:
        return [_missing(name, "report", "nest")]
    ours = next(r for r in rows if r["simulator"].startswith("eventsg"))
    peer = next(r for r in rows if r["simulator"].startswith("NEST"))
    ratio = _num(ours, "events_per_s") / _num(peer, "events_per_s")
    return [_row(name, "report", f"{ratio:.2f}x NEST's", "-", "nest/nest.csv")]


def linear_fit(x, y):
    """(slope, intercept, R^2) of the least-squares line y = intercept + slope x."""
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept), float(np.corrcoef(x, y)[0, 1] ** 2)


def scaling_rows(out):
    silent = read_csv(out / "scaling" / "silent.csv")
    linear = read_csv(out / "scaling" / "linear.csv")
    s_name = "silent network: cost against duration"
    s_goal = f"flat (max / min <= {SILENT_FLAT:g})"
    l_name = "cost against the number of events"
    l_goal = f"linear (R^2 >= {LINEAR_R2:g})"
    rows = []
    if silent is None:
        rows.append(_missing(s_name, s_goal, "scaling"))
    else:
        walls = [_num(r, "wall_s") for r in silent]
        durs = [_num(r, "duration_ms") for r in silent]
        spread = max(walls) / min(walls)
        rows.append(_row(s_name, s_goal, f"{spread:.2f} over {min(durs):g}..{max(durs):g} ms "
                         f"({min(walls) * 1e3:.2f}..{max(walls) * 1e3:.2f} ms)",
                         spread <= SILENT_FLAT, "scaling/silent.csv"))
    if linear is None or len(linear) < 3:
        rows.append(_missing(l_name, l_goal, "scaling"))
    else:
        ev = [_num(r, "synaptic_events") for r in linear]
        wall = [_num(r, "wall_s") for r in linear]
        slope, icpt, r2 = linear_fit(ev, wall)
        rows.append(_row(l_name, l_goal, f"R^2 {r2:.4f}: {slope * 1e9:.1f} ns per event + "
                         f"{icpt * 1e3:.0f} ms", r2 >= LINEAR_R2, "scaling/linear.csv"))
    return rows


def training_rows(out):
    rows = read_csv(out / "training" / "training_ratios.csv")
    s_name = "training speed per sample vs snnTorch BPTT at dt = 0.1 ms"
    m_name = "training memory, samples 10x as long"
    s_goal = ">= 1x (samples per CPU second)"
    m_goal = f"eventsg flat (<= {MEMORY_FLAT:g}x), BPTT grows"
    if rows is None:
        return [_missing(s_name, s_goal, "training"), _missing(m_name, m_goal, "training")]
    fine = min(rows, key=lambda r: _num(r, "dt_ms"))
    speed = _num(fine, "speed_train")
    ours = _num(fine, "eventsg_traced_growth")
    theirs = _num(fine, "snntorch_graph_growth")
    src = "training/training_ratios.csv"
    return [_row(s_name, s_goal, f"{speed:.2f}x at dt = {_num(fine, 'dt_ms'):g} ms",
                 speed >= 1.0, src),
            _row(m_name, m_goal, f"eventsg {ours:.2f}x, snnTorch's BPTT graph {theirs:.2f}x",
                 ours <= MEMORY_FLAT and theirs > 2.0, src)]


def target_rows(out):
    """One row per target of the benchmark issue, from the CSVs under ``out``."""
    out = Path(out)
    return (engine_rows(out) + threads_rows(out) + brian2_rows(out) + nest_rows(out)
            + scaling_rows(out) + training_rows(out))


def run_script(name, args, out, python=sys.executable):
    """Run one benchmark script into out/name; returns (exit code, seconds)."""
    folder = Path(out) / name
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [python, str(HERE / SCRIPTS[name]), *args, "--out", str(folder)]
    t0 = time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        code = proc.wait()
    return code, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short settings (a smoke test, not numbers to quote)")
    parser.add_argument("--only", default=",".join(FULL),
                        help="benchmarks to run, of: " + ", ".join(FULL))
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(FULL))
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {unknown}; allowed: {', '.join(FULL)}")
    settings = QUICK if args.quick else FULL
    out = Path(args.out)
    print(f"{report.now()}; {report.machine()}")
    runs = []
    for i, name in enumerate(names, 1):
        print(f"\n=== [{i}/{len(names)}] {SCRIPTS[name]} {' '.join(settings[name])}", flush=True)
        code, secs = run_script(name, settings[name], out)
        runs.append(dict(benchmark=name, exit_code=code, seconds=round(secs, 1),
                         status="done" if code == 0 else "skipped or failed (see log.txt)"))
    report.table_and_csv(out, "runs.csv", "benchmark scripts run", runs)
    report.table_and_csv(out, "targets.csv", "where eventsg stands (this run"
                         + (", quick settings: not numbers to quote)" if args.quick else ")"),
                         target_rows(out))
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
