"""Command line: a thin shell over the Python API (``eventsg --help``)."""
import argparse
import sys

import numpy as np


def _demo(args):
    from .examples import two_layer_network
    net, (inp, hid, out) = two_layer_network(n_inputs=args.inputs, n_hidden=args.neurons,
                                             n_out=args.neurons, seed=args.seed)
    res = net.run(duration=args.duration, progress=True)
    _print_summary(res)
    if args.output:
        from .io import write_spikes
        write_spikes(args.output, res)
        print(f"  spikes written to {args.output} (SONATA spike report)")
    return 0


def _print_summary(res):
    s = res.stats
    print(f"{res}")
    for name in res.populations:
        spk = res.spikes(name)
        n = res.size(name)
        rate = len(spk) / max(n, 1) / (s.duration_ms * 1e-3)
        silent = 1.0 - np.unique(spk.i).size / max(n, 1)
        print(f"  {name:>10}: {len(spk):8d} spikes, {rate:8.2f} spikes/neuron/s, "
              f"{100 * silent:5.1f}% silent")
    print(f"  {s.synaptic_events} synaptic events in {s.wall_s:.3f} s "
          f"({s.synaptic_events_per_s / 1e6:.2f} M/s), {s.input_events} input events")


def build_parser():
    parser = argparse.ArgumentParser(prog="eventsg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the built-in example network and print a summary")
    demo.add_argument("--duration", type=float, default=200.0, help="simulated time, ms")
    demo.add_argument("--neurons", type=int, default=1000, help="gamma neurons per layer")
    demo.add_argument("--inputs", type=int, default=500, help="Poisson input channels")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("-o", "--output", help="write the spikes to this HDF5 file (SONATA layout)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
