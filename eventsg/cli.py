"""Command line: a thin shell over the Python API (``eventsg --help``).

    eventsg demo [-o DIR]              built-in experiment: HDF5 run file + PNG figure
    eventsg run CONFIG.toml -o OUT.h5  run a TOML config, stream spikes to a run file
    eventsg info OUT.h5                what a run file (or SONATA spike file) holds
    eventsg plot OUT.h5 -o FIG.png     raster, population rate and a neuron's state
    eventsg train CONFIG.toml          online training as the config's [train] section says
    eventsg sweep CONFIG.toml --grid theta=0.01,0.02 --seeds 0:10 -o SWEEP.h5
                                       runs over a grid of values and seeds, on dask
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from .errors import EventsgError, SimulationError
from .interrupt import deferred_interrupts


def _save_figure(res, path, **kwargs):
    import matplotlib
    matplotlib.use("Agg")
    from .analysis import overview_figure
    from .io import atomic_path
    fig = overview_figure(res, **kwargs)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    return path


def _print_summary(res):
    from .analysis import format_summary
    s = res.stats
    print(format_summary(res))
    print(f"kernel time {s.wall_s:.3f} s: {s.events / max(s.wall_s, 1e-12) / 1e6:.2f} M events/s, "
          f"{s.synaptic_events_per_s / 1e6:.2f} M synaptic events/s "
          f"(+ {s.jit_s:.1f} s to load or compile the kernels)")
    threads_line = s.thread_summary()
    if threads_line:
        print(threads_line)


def _demo(args):
    from .examples import demo_experiment
    from .io import run_to_file
    out = Path(args.output)
    net, duration, options = demo_experiment(duration=args.duration, n_neurons=args.neurons,
                                             seed=args.seed)
    res = run_to_file(net, out / "demo.h5", duration, progress=not args.quiet, **options)
    _print_summary(res)
    figure = _save_figure(res, out / "demo.png")
    print(f"run file: {out / 'demo.h5'} (open with eventsg.io.load_result, or any SONATA reader)")
    print(f"figure:   {figure}")
    return 0


def _run(args):
    from .io import run_to_file
    from .io.config import load_config
    config = load_config(args.config)
    net, options = config.build()
    output = args.output or (config.output.path if config.output.path is not None else None)
    if output is None:
        output = Path(args.config).with_suffix(".h5").name
    duration = options.pop("duration")
    if not config.output.states:
        options.pop("sample_times", None)
        options.pop("record", None)
    if args.threads is not None:
        options["threads"] = args.threads
    if args.duration is not None:
        duration = args.duration
        if options.get("sample_times") is not None:
            times = np.asarray(options["sample_times"])
            options["sample_times"] = times[times <= duration]
    print(f"running {args.config}: {len(net.populations)} populations, "
          f"{len(net.projections)} projections, {duration:g} ms -> {output}")
    try:
        res = run_to_file(net, output, duration, config=config, progress=not args.quiet,
                          **options)
    except SimulationError as err:
        print(f"eventsg run: {err}", file=sys.stderr)
        if err.result is not None:
            print(f"the partial run is in {output} (status {err.result.status!r})",
                  file=sys.stderr)
        return 3
    _print_summary(res)
    print(f"run file: {output}")
    if args.plot:
        print(f"figure:   {_save_figure(res, args.plot)}")
    return 0


def _epoch_scores(h, prefix):
    """'loss L accuracy A' of one epoch's record (no accuracy for a loss without classes)."""
    acc = h[prefix + "accuracy"]
    return f"loss {h[prefix + 'loss']:.4f}" + (f" accuracy {acc:.3f}" if acc == acc else "")


def _train(args):
    from .training import train_config
    _, history = train_config(args.config, epochs=args.epochs, progress=not args.quiet)
    for h in history:
        rates = ", ".join(f"{name} {rate:.3g} Hz" for name, rate in h["rate_hz"].items())
        test = f" | test {_epoch_scores(h, 'test_')}" if "test_loss" in h else ""
        print(f"epoch {h['epoch']:3d}: {_epoch_scores(h, '')}{test} | spikes/neuron/s: {rates}")
    return 0


def _info(args):
    from .io import describe_run
    print(describe_run(args.file))
    return 0


def _plot(args):
    from .io import load_result
    res = load_result(args.file)
    output = args.output or str(Path(args.file).with_suffix(".png"))
    kwargs = {}
    if args.population:
        kwargs["pops"] = args.population
    if args.neuron is not None:
        kwargs["neuron"] = args.neuron
    if args.bin is not None:
        kwargs["bin_ms"] = args.bin
    print(f"figure: {_save_figure(res, output, **kwargs)}")
    return 0


def _sweep(args):
    from .sweeps import parse_grid_args, parse_seeds, plot_summary, sweep
    grid = parse_grid_args(args.grid)
    seeds = parse_seeds(args.seeds) if args.seeds is not None else None
    workers = f"{args.workers} workers" if args.workers else "one worker per core"
    where = args.scheduler or f"a local cluster ({workers})"
    print(f"sweeping {args.config} on {where} -> {args.output}")
    out = sweep(args.config, grid, seeds, output=args.output, client=args.scheduler,
                workers=args.workers, retry_failed=not args.no_retry, progress=not args.quiet,
                merge_s=args.merge_every)
    print(f"{out.total} runs: {len(out.ran)} done now ({len(out.failed)} failed), "
          f"{len(out.skipped)} already in the file; {out.wall_s:.1f} s")
    print(f"sweep file: {out.path}\nsummary:    {out.csv}")
    if args.plot:
        x = args.x or (next(iter(grid)) if grid else None)
        if x is None:
            print("eventsg sweep: no figure: give --x (there is no grid key)", file=sys.stderr)
        else:
            plot_summary(out.path, x=x, y=args.y, output=args.plot)
            print(f"figure:     {args.plot}")
    return 3 if out.failed else 0


def build_parser():
    parser = argparse.ArgumentParser(prog="eventsg", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the built-in experiment; write an HDF5 run file and "
                                       "a PNG figure")
    demo.add_argument("-o", "--output", default="eventsg-demo",
                      help="directory for demo.h5 and demo.png (default: ./eventsg-demo)")
    demo.add_argument("--duration", type=float, default=500.0, help="simulated time, ms")
    demo.add_argument("--neurons", type=int, default=1000, help="gamma neurons per layer")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)

    run = sub.add_parser("run", help="run a TOML config; stream the spikes to an HDF5 run file")
    run.add_argument("config", help="the TOML config file")
    run.add_argument("-o", "--output", help="run file to write (default: [output] path of the "
                                            "config, else CONFIG.h5 here)")
    run.add_argument("--duration", type=float, help="override the config's duration, ms")
    run.add_argument("--plot", metavar="FIG.png", help="also save the overview figure")
    run.add_argument("--threads", type=int, help="run the event engine on this many threads "
                     "(overrides the config's run.threads)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_run)

    train = sub.add_parser("train", help="train a network online as the config's [train] "
                                         "section says; prints per-epoch loss and accuracy")
    train.add_argument("config", help="the TOML config file (with a [train] section)")
    train.add_argument("--epochs", type=int, help="override the config's epochs")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)

    info = sub.add_parser("info", help="describe a run file or SONATA spike file")
    info.add_argument("file")
    info.set_defaults(func=_info)

    plot = sub.add_parser("plot", help="raster, population rate and a neuron's state of a run file")
    plot.add_argument("file")
    plot.add_argument("-o", "--output", help="figure file (default: FILE with .png)")
    plot.add_argument("-p", "--population", action="append",
                      help="population to show (repeat; default: all gamma populations)")
    plot.add_argument("--neuron", type=int, help="neuron whose state is traced")
    plot.add_argument("--bin", type=float, help="population-rate bin, ms")
    plot.set_defaults(func=_plot)

    sweep = sub.add_parser("sweep", help="run a TOML config over a grid of values and seeds on "
                                         "dask.distributed; one HDF5 file, resumable")
    sweep.add_argument("config", help="the TOML config file")
    sweep.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                       help="values of a config key path (repeat for a product), e.g. "
                            "theta=0.01,0.02 or population.hidden.tau=[1,2],[2,4]")
    sweep.add_argument("--seeds", metavar="START:STOP[:STEP] | S1,S2,...",
                       help="network seeds, one run each (STOP excluded), e.g. 0:10")
    sweep.add_argument("-o", "--output", default="sweep.h5",
                       help="sweep file (default sweep.h5); the summary goes beside it as .csv")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on this dask scheduler (default: a local cluster)")
    sweep.add_argument("--workers", type=int, help="local cluster: worker processes "
                                                   "(default one per core)")
    sweep.add_argument("--no-retry", action="store_true",
                       help="do not redo runs that failed before (finished runs are never redone)")
    sweep.add_argument("--merge-every", type=float, default=5.0, metavar="SECONDS",
                       help="least seconds between merges of finished runs into the file")
    sweep.add_argument("--plot", metavar="FIG.png", help="also save a summary measure against "
                                                         "a grid key")
    sweep.add_argument("--x", help="grid key on the figure's x axis (default: the first)")
    sweep.add_argument("--y", default="rate_hz", help="summary measure plotted (default rate_hz)")
    sweep.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_sweep)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        with deferred_interrupts():
            return args.func(args)
    except (EventsgError, KeyError, FileNotFoundError, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"eventsg {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
