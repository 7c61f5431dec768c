"""Spike rasters in the SONATA spike-report layout.

Layout (SONATA developer guide, "Spike file"), one group per gamma population::

    /spikes                       attrs: magic = 0x0A7A (uint32), version = [0, 1]
    /spikes/<population>          attrs: sorting = enum {none: 0, by_id: 1, by_time: 2}
        timestamps  float64 (n,)  attrs: units = "ms"
        node_ids    uint64 (n,)
        amplitudes  float64 (n,)  signed sigma-delta amplitude (ignored by SONATA readers)

The sorting attribute is written as the HDF5 enum the specification defines
(libsonata rejects a string). Datasets are chunked, so a time window of a large
file is read without loading the rest. They are not compressed by default: the
libsonata wheels have no deflate filter and cannot read gzip datasets
(``compression="gzip"`` is there for readers that can).
"""
import numpy as np

from ..errors import SpecError
from ..results import Spikes
from .atomic import atomic_path

SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
SORTING = {"none": 0, "by_id": 1, "by_time": 2}
CHUNK = 1 << 16


def _h5py():
    import h5py
    return h5py


def sorting_dtype():
    """The SONATA sorting enum as an h5py dtype (int8 base, like libsonata's)."""
    return _h5py().enum_dtype(SORTING, basetype="i1")


def _order(spikes, sorting):
    if sorting == "by_time":
        return np.lexsort((spikes.i, spikes.t))
    if sorting == "by_id":
        return np.lexsort((spikes.t, spikes.i))
    return np.arange(len(spikes))


def write_spikes(path, result, populations=None, sorting="by_time", compression=None):
    """Write the spikes of ``result`` (a SimulationResult) to ``path``, atomically.

    populations: names of gamma populations (default: all). sorting: "by_time",
    "by_id" or "none" (emission order). compression: an h5py filter name or None. The file replaces ``path`` only once it is
    complete. Returns the path.
    """
    if sorting not in SORTING:
        raise SpecError(f"write_spikes: sorting = {sorting!r} is not allowed; sorting must be one "
                        f"of {', '.join(map(repr, SORTING))}")
    names = result.populations if populations is None else list(populations)
    h5py = _h5py()
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            root = f.create_group("spikes")
            root.attrs.create("magic", SONATA_MAGIC, dtype=np.uint32)
            root.attrs.create("version", np.array(SONATA_VERSION, dtype=np.uint32))
            for name in names:
                spikes = result.spikes(name)
                order = _order(spikes, sorting)
                group = root.create_group(name)
                group.attrs.create("sorting", SORTING[sorting], dtype=sorting_dtype())
                opts = dict(chunks=(min(CHUNK, max(len(spikes), 1)),), compression=compression,
                            maxshape=(None,))
                ts = group.create_dataset("timestamps", data=spikes.t[order].astype(np.float64),
                                          **opts)
                ts.attrs["units"] = "ms"
                group.create_dataset("node_ids", data=spikes.i[order].astype(np.uint64), **opts)
                group.create_dataset("amplitudes", data=spikes.a[order].astype(np.float64), **opts)
    return path


def spike_populations(path):
    """Names of the populations in a SONATA spike file."""
    with _h5py().File(path, "r") as f:
        return sorted(f["spikes"].keys()) if "spikes" in f else []


def read_spikes(path, population, t_start=None, t_stop=None, node_ids=None):
    """Spikes(t, i, a) of one population, optionally in [t_start, t_stop] ms and for node_ids.

    A file sorted by time is read only over the requested window (binary search on
    the chunked timestamps). ``a`` is NaN where the file has no amplitudes (files
    written by other tools).
    """
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        if "spikes" not in f or population not in f["spikes"]:
            have = sorted(f["spikes"].keys()) if "spikes" in f else []
            raise KeyError(f"{path}: no spike population {population!r} (populations: {have})")
        group = f["spikes"][population]
        ts = group["timestamps"]
        sorting = int(group.attrs.get("sorting", 0))
        lo, hi = 0, ts.shape[0]
        if sorting == SORTING["by_time"] and ts.shape[0]:
            if t_start is not None:
                lo = _search(ts, t_start, "left")
            if t_stop is not None:
                hi = _search(ts, t_stop, "right")
        t = ts[lo:hi]
        i = group["node_ids"][lo:hi].astype(np.int64)
        a = group["amplitudes"][lo:hi] if "amplitudes" in group else np.full(t.shape, np.nan)
    keep = np.ones(t.shape, bool)
    if t_start is not None:
        keep &= t >= t_start
    if t_stop is not None:
        keep &= t <= t_stop
    if node_ids is not None:
        keep &= np.isin(i, np.asarray(node_ids))
    return Spikes(t[keep], i[keep], a[keep])


def _search(dataset, value, side):
    """np.searchsorted on a sorted 1-D dataset, reading one chunk per probe."""
    lo, hi = 0, dataset.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        x = dataset[mid]
        if x < value or (side == "right" and x == value):
            lo = mid + 1
        else:
            hi = mid
    return lo
