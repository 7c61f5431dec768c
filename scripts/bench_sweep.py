"""A 20-run sweep on 2 dask workers against a serial loop of the same runs.

    python scripts/bench_sweep.py [--workers 2] [--duration 200]

The serial loop calls, in this process, the very function each worker calls for
a run (build the network, run it, compute the summary). The sweep is timed end
to end (a new LocalCluster, then every run written to the sweep file) and on a
cluster already running. Prints wall times, the speed-up, the core count, the
seconds each worker's first run spent loading the Numba kernels, and the time
spent merging runs into the file. Config: scripts/configs/demo.toml (500
Poisson inputs -> 1000 -> 1000 gamma neurons), 10 thresholds x 2 seeds.
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import eventsg as esg
from eventsg.io import load_config
from eventsg.sweeps import read_summary
from eventsg.sweeps.grid import expand
from eventsg.sweeps.task import run_task

CONFIG = Path(__file__).resolve().parent / "configs" / "demo.toml"
GRID = {"theta": [0.03, 0.035, 0.04, 0.045, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]}
SEEDS = [0, 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=200.0, help="ms per run")
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    text = CONFIG.read_text().replace("duration = 200.0", f"duration = {args.duration}")
    text = text.replace("stop = 200.0", f"stop = {args.duration}")
    config = load_config(text)
    runs = expand(text, GRID, SEEDS, CONFIG.parent)
    print(f"{len(runs)} runs of {CONFIG.name} ({args.duration:g} ms each); "
          f"{os.cpu_count()} cores; {args.workers} workers")

    run_task(text, runs[0], CONFIG.parent)          # kernels loaded before the clock starts
    t0 = time.perf_counter()
    serial = [run_task(text, run, CONFIG.parent) for run in runs]
    serial_s = time.perf_counter() - t0
    assert all(r["status"] == "ok" for r in serial)
    per_run = statistics.mean(r["wall_s"] for r in serial)
    print(f"serial loop:                     {serial_s:7.2f} s ({per_run:.2f} s a run)")

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cold = esg.sweep(config, GRID, SEEDS, output=Path(tmp) / "a.h5",
                         workers=args.workers, progress=False)
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            start_s = time.perf_counter() - t0
            warm = esg.sweep(config, GRID, SEEDS, output=Path(tmp) / "b.h5", client=client,
                             progress=False)
        size = (Path(tmp) / "b.h5").stat().st_size
        on_workers = statistics.median(r["wall_s"] for r in read_summary(Path(tmp) / "b.h5"))
    print(f"sweep, new LocalCluster:         {cold_s:7.2f} s -> speed-up {serial_s / cold_s:.2f}x")
    print(f"sweep, cluster running ({start_s:.1f} s to start): {warm.wall_s:7.2f} s -> speed-up "
          f"{serial_s / warm.wall_s:.2f}x")
    first = sorted(cold.jit_s, reverse=True)[:args.workers]
    print(f"kernel load on each worker's first run: {', '.join(f'{s:.2f}' for s in first)} s "
          f"(later runs: median {statistics.median(cold.jit_s):.3f} s)")
    print(f"median run: {statistics.median(r['wall_s'] for r in serial):.2f} s serial, "
          f"{on_workers:.2f} s on a worker (more means the cores were shared with other work)")
    print(f"merging into the sweep file: {warm.merge_s:.2f} s in total; file {size / 1e6:.1f} MB")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
