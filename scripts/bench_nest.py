"""NEST throughput reference: eventsg's engine benchmark network against NEST's
precise-timing LIF model (iaf_psc_exp_ps) on a network of the same size and
about the same number of synaptic events.

    python scripts/bench_nest.py [--duration 1000] [--repeats 3] [--out bench-results]

Both get the same 500 Poisson input trains (10 Hz; NEST replays eventsg's input
times with spike generators in precise-timing mode, through parrot neurons so
that the fan-out is a connection rule), 1000 + 1000 neurons, fan-out 100, delays
1 ms, one thread. NEST's two weights are tuned by bisection (on runs of a fifth
of the duration) so that its hidden and output layers emit about as many spikes
as eventsg's: the synaptic events then match too. Run time: eventsg's kernel
time against NEST's nest.Run (after nest.Prepare). Writes nest.csv to --out.
"""
import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import report                                       # noqa: E402
from peers.nest_lif import nest_status, run_nest, tune_weight   # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args(argv)
    ok, why = nest_status()
    if not ok:
        sys.exit(f"nest does not import here ({why})")

    from eventsg.examples import two_layer_network
    net, (inp, hid, out) = two_layer_network()
    net.run(duration=20.0)
    walls, res = [], None
    for _ in range(args.repeats):
        res = net.run(duration=args.duration)
        walls.append(res.stats.wall_s)
    wall = statistics.median(walls)
    n_hid, n_out = len(res.spikes(hid)), len(res.spikes(out))
    t_in, i_in, _ = inp.events(args.duration, net.population_seed(inp))

    short = args.duration / 5
    keep = t_in <= short
    frac = short / args.duration
    w_in = tune_weight(lambda w: run_nest(t_in[keep], i_in[keep], inp.n, short, w, 0.0).hidden_spikes,
                       n_hid * frac, 100.0, 1000.0)
    w_hid = tune_weight(lambda w: run_nest(t_in[keep], i_in[keep], inp.n, short, w_in, w).output_spikes,
                        n_out * frac, 10.0, 1000.0)
    nruns = [run_nest(t_in, i_in, inp.n, args.duration, w_in, w_hid) for _ in range(args.repeats)]
    nrun = sorted(nruns, key=lambda r: r.run_s)[len(nruns) // 2]

    s = res.stats
    rows = [dict(simulator="eventsg event-driven", model="SpikingGamma K=4", run_s=wall,
                 input_events=s.input_events, hidden_spikes=n_hid, output_spikes=n_out,
                 synaptic_events=s.synaptic_events, events_per_s=s.synaptic_events / wall),
            dict(simulator="NEST 1 thread", model="iaf_psc_exp_ps", run_s=nrun.run_s,
                 input_events=nrun.input_events, hidden_spikes=nrun.hidden_spikes,
                 output_spikes=nrun.output_spikes, synaptic_events=nrun.synaptic_events,
                 events_per_s=nrun.events_per_s)]
    print(f"{report.now()}; {report.machine()}")
    print(f"NEST weights (pA): input {w_in:.1f}, hidden {w_hid:.1f}; build {nrun.build_s:.2f} s")
    report.table_and_csv(args.out, "nest.csv", f"eventsg vs NEST iaf_psc_exp_ps, "
                         f"{args.duration:g} ms, 500 -> 1000 -> 1000, fan-out 100", rows)
    ratio = (s.synaptic_events / wall) / nrun.events_per_s
    print(f"\neventsg / NEST synaptic events per second: {ratio:.2f}x "
          f"(run time ratio NEST / eventsg {nrun.run_s / wall:.2f}x)")


if __name__ == "__main__":
    main()
