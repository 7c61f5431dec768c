"""Time resolution: spike-time error and wall time against dt.

    python scripts/bench_resolution.py [--duration 500] [--dts 0.1,0.03,0.01,0.003,0.001] [--out bench-results]

On the engine benchmark network (eventsg.examples.two_layer_network), for each
dt: eventsg's fixed-step reference engine and Brian2 (scripts/peers/brian2_gamma.py,
C++ standalone; skipped if brian2 does not import), each matched against the exact
event-driven run (median |dt_spike|, matched fraction), with their run times
(eventsg's event-driven run: the median of --repeats runs; Brian2's: of
--brian2-repeats runs of each built binary; the fixed-step runs: one each).
The event-driven engine is the exact line at error zero. Writes resolution.csv
and resolution.png (error against dt; wall time against dt on a second axis).
"""
import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                          # noqa: E402
from peers.brian2_gamma import brian2_status, run_brian2           # noqa: E402
from peers.spike_match import concat_populations, match            # noqa: E402

MATCH_WINDOW_MS = 3.0


def plot(rows, event_wall, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.5))
    ax2 = ax.twinx()
    styles = {"eventsg fixed-step": ("tab:blue", "o"), "brian2": ("tab:orange", "s")}
    floor = None
    for name, (color, marker) in styles.items():
        rs = [r for r in rows if r["simulator"].startswith(name)]
        if not rs:
            continue
        dts = [r["dt_ms"] for r in rs]
        err = [r["median_err_ms"] for r in rs]
        floor = min(err + ([floor] if floor else []))
        ax.loglog(dts, err, marker=marker, color=color, ls="-", label=f"{name}: median error" + (" (same spikes as fixed-step)" if name == "brian2" else ""),
                  markerfacecolor="none" if name == "brian2" else color, ms=8 if name == "brian2" else 5)
        ax2.loglog(dts, [r["run_s"] for r in rs], marker=marker, color=color, ls=":",
                   label=f"{name}: wall time")
    lo = floor / 10 if floor else 1e-5
    ax.axhline(lo, color="k", lw=2, label="event-driven: exact (error 0)")
    ax2.axhline(event_wall, color="k", ls=":", label="event-driven: wall time")
    ax.set_ylim(lo / 2, None)
    ax.set_xlabel("time step dt (ms)")
    ax.set_ylabel("median spike-time error (ms)")
    ax2.set_ylabel("wall time (s)")
    ax.invert_xaxis()
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    fig.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower center", ncol=2, frameon=False)
    ax.set_title("Spike-time error and cost against dt (engine benchmark network)", fontsize=9)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=500.0, help="ms")
    parser.add_argument("--dts", default="0.1,0.03,0.01,0.003,0.001")
    parser.add_argument("--repeats", type=int, default=3, help="event-driven repeats (median)")
    parser.add_argument("--brian2-repeats", type=int, default=3,
                        help="runs of each built Brian2 standalone binary (median)")
    parser.add_argument("--skip-brian2", action="store_true")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    dts = sorted((float(x) for x in args.dts.split(",")), reverse=True)
    use_b2 = not args.skip_brian2 and brian2_status()[0]
    if not args.skip_brian2 and not use_b2:
        print(f"brian2 does not import ({brian2_status()[1]}): Brian2 skipped")

    from eventsg.examples import two_layer_network
    net, (inp, hid, out) = two_layer_network()
    pops = (hid, out)
    net.run(duration=20.0)
    net.run(duration=5.0, engine="clock", dt=0.1)
    walls = []
    for _ in range(args.repeats):
        res = net.run(duration=args.duration)
        walls.append(res.stats.wall_s)
    wall = statistics.median(walls)
    exact = concat_populations([(*res.spikes(p), p.n) for p in pops])
    small = 0.5 * float(hid.theta.min())
    rows = [dict(simulator="eventsg event-driven", dt_ms=0.0, run_s=wall, spikes=len(exact[0]),
                 median_err_ms=0.0, p90_err_ms=0.0, matched_of_exact=1.0, matched_of_peer=1.0)]
    for dt in dts:
        c = net.run(duration=args.duration, engine="clock", dt=dt)
        m = match(exact, concat_populations([(*c.spikes(p), p.n) for p in pops]),
                  MATCH_WINDOW_MS, merge_small=small)
        rows.append(dict(simulator="eventsg fixed-step", dt_ms=dt, run_s=c.stats.wall_s,
                         spikes=m.n_approx, median_err_ms=m.median_error_ms,
                         p90_err_ms=m.p90_error_ms, matched_of_exact=m.matched_of_exact,
                         matched_of_peer=m.matched_of_approx))
        if use_b2:
            b = run_brian2(net, args.duration, dt, repeats=args.brian2_repeats)
            m = match(exact, concat_populations([(*b.spikes[p.name], p.n) for p in pops]),
                      MATCH_WINDOW_MS, merge_small=small)
            rows.append(dict(simulator=f"brian2 {b.target}", dt_ms=dt, run_s=b.run_s,
                             spikes=m.n_approx, median_err_ms=m.median_error_ms,
                             p90_err_ms=m.p90_error_ms, matched_of_exact=m.matched_of_exact,
                             matched_of_peer=m.matched_of_approx))
    print(f"{report.now()}; {report.machine()}")
    report.table_and_csv(args.out, "resolution.csv",
                         f"spike-time error against the exact run and run time, "
                         f"{args.duration:g} ms", rows)
    png = Path(args.out) / "resolution.png"
    plot(rows[1:], wall, png)
    print(f"  -> {png}")


if __name__ == "__main__":
    main()
