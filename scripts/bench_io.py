"""Write throughput of run files: spikes streamed to HDF5 during a run.

Runs one network twice in the same process: spikes kept in memory (the peer) and
spikes streamed to a run file. Prints the time spent inside the spike writer, the
write throughput in spikes per second, the whole-run slowdown streaming costs, and
the peak Python heap of both runs (tracemalloc: numpy arrays included).

    python scripts/bench_io.py                 # a few million spikes (~1 min)
    python scripts/bench_io.py --duration 500  # quicker
"""
import argparse
import os
import tempfile
import time
import tracemalloc

from eventsg.examples import two_layer_network
from eventsg.io import runfile


class TimedStream(runfile.SpikeStream):
    """The run file's spike sink, with the seconds spent writing counted."""
    seconds = 0.0
    spikes = 0

    def write(self, t, neuron, amplitude):
        t0 = time.perf_counter()
        super().write(t, neuron, amplitude)
        TimedStream.seconds += time.perf_counter() - t0
        TimedStream.spikes += len(t)


def build(args):
    net, _ = two_layer_network(n_inputs=args.inputs, n_hidden=args.neurons, n_out=args.neurons,
                               fan_out=args.fan_out, w_in=args.w_in, w_hid=args.w_hid,
                               seed=args.seed)
    return net


def measured(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, wall, peak


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=4000.0, help="simulated time, ms")
    p.add_argument("--neurons", type=int, default=2000, help="gamma neurons per layer")
    p.add_argument("--inputs", type=int, default=500)
    p.add_argument("--fan-out", type=int, default=10)
    p.add_argument("--w-in", type=float, default=0.4)
    p.add_argument("--w-hid", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--dir", default=None, help="where to write the file (default: a temp dir)")
    args = p.parse_args()

    build(args).run(10.0)                                     # compile / load kernels first
    memory, wall_mem, peak_mem = measured(lambda: build(args).run(args.duration))
    directory = args.dir or tempfile.mkdtemp()
    path = os.path.join(directory, "bench_io.h5")
    original = runfile.SpikeStream
    runfile.SpikeStream = TimedStream
    try:
        streamed, wall_file, peak_file = measured(
            lambda: runfile.run_to_file(build(args), path, args.duration))
    finally:
        runfile.SpikeStream = original
    spikes = memory.stats.spikes
    assert TimedStream.spikes == spikes == streamed.stats.spikes
    size = os.path.getsize(path)
    print(f"network: {args.inputs} Poisson inputs, 2 x {args.neurons} gamma neurons, "
          f"{args.duration:g} ms; {spikes} spikes")
    print(f"in memory (peer):  run {wall_mem:7.2f} s   peak heap {peak_mem / 2**20:8.1f} MiB")
    print(f"streamed to HDF5:  run {wall_file:7.2f} s   peak heap {peak_file / 2**20:8.1f} MiB   "
          f"file {size / 2**20:.1f} MiB")
    print(f"writer time {TimedStream.seconds:.3f} s: {spikes / TimedStream.seconds / 1e6:.2f} M "
          f"spikes/s written; whole run {wall_file / wall_mem:.2f}x the in-memory run; "
          f"heap {peak_file / peak_mem:.2f}x")
    if args.dir is None:
        os.remove(path)
        os.rmdir(directory)


if __name__ == "__main__":
    main()
