"""Parameter sweeps and trial ensembles on dask.distributed.

``eventsg.sweep(config, grid={...}, seeds=[...], client=None, output="sweep.h5")``
runs every combination of the grid's values and the seeds, on a LocalCluster of
this machine (the default) or an existing cluster (a ``distributed.Client`` or a
scheduler address, e.g. one started by dask-jobqueue on SLURM). Each finished run
is written to one HDF5 file as it arrives (``store`` explains the layout and why a
kill never corrupts it); running the same sweep again does only the runs not done.

    import eventsg as esg
    out = esg.sweep("net.toml", grid={"theta": [0.01, 0.02, 0.05]}, seeds=range(10))
    from eventsg.sweeps import plot_summary, read_summary
    rows = read_summary(out.path)                      # one dict per run
    plot_summary(out.path, x="theta", y="rate_hz", output="rate.png")

Workers load the Numba kernels from the disk cache (the package's ``__pycache__``,
or ``NUMBA_CACHE_DIR``, which LocalCluster workers inherit): a worker's first run
spends about a second loading them (``jit_s`` in the summary), later runs none.

``eventsg.sweep`` is ``eventsg.sweeps.sweep``, imported on first call.
Importing this package imports neither h5py nor dask nor matplotlib; they load on first use.
"""
import importlib

_HOMES = {"sweep": "runner", "SweepOutcome": "runner", "plot_summary": "plot",
          "read_summary": "store", "read_run": "store", "expand": "grid", "configure": "grid",
          "parse_grid_arg": "grid", "parse_grid_args": "grid", "parse_seeds": "grid", "Run": "grid"}

__all__ = list(_HOMES)


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
