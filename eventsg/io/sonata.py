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


def create_spike_root(h5file):
    """Create ``/spikes`` with the SONATA magic and version attributes."""
    root = h5file.create_group("spikes")
    root.attrs.create("magic", SONATA_MAGIC, dtype=np.uint32)
    root.attrs.create("version", np.array(SONATA_VERSION, dtype=np.uint32))
    return root


class SpikeAppender:
    """One population's spike group, grown chunk by chunk (for streaming during a run).

    ``append(t, i, a)`` adds spikes (ms, local ids, amplitudes); ``finish(sorting)``
    writes the sorting enum: pass "by_time" only if the appended times never
    decrease (``is_time_sorted`` tracks that).
    """

    def __init__(self, root, name, compression=None, chunk=CHUNK):
        self.group = root.create_group(name)
        opts = dict(shape=(0,), maxshape=(None,), chunks=(chunk,), compression=compression)
        self.timestamps = self.group.create_dataset("timestamps", dtype=np.float64, **opts)
        self.timestamps.attrs["units"] = "ms"
        self.node_ids = self.group.create_dataset("node_ids", dtype=np.uint64, **opts)
        self.amplitudes = self.group.create_dataset("amplitudes", dtype=np.float64, **opts)
        self.count = 0
        self.last_time = -np.inf
        self.is_time_sorted = True

    def append(self, t, i, a):
        m = len(t)
        if m == 0:
            return
        if t[0] < self.last_time or np.any(np.diff(t) < 0):
            self.is_time_sorted = False
        self.last_time = t[-1]
        for dataset, values, dtype in ((self.timestamps, t, np.float64),
                                       (self.node_ids, i, np.uint64),
                                       (self.amplitudes, a, np.float64)):
            dataset.resize((self.count + m,))
            dataset[self.count:] = np.asarray(values, dtype=dtype)
        self.count += m

    def finish(self, sorting):
        self.group.attrs.create("sorting", SORTING[sorting], dtype=sorting_dtype())


def check_sorting(sorting, owner="write_spikes"):
    if sorting not in SORTING:
        raise SpecError(f"{owner}: sorting = {sorting!r} is not allowed; sorting must be one "
                        f"of {', '.join(map(repr, SORTING))}")


def write_spike_groups(h5file, result, names, sorting="by_time", compression=None):
    """Write the spikes of ``result`` for populations ``names`` into an open h5py file."""
    root = create_spike_root(h5file)
    for name in names:
        spikes = result.spikes(name)
        order = _order(spikes, sorting)
        group = SpikeAppender(root, name, compression, chunk=min(CHUNK, max(len(spikes), 1)))
        group.append(spikes.t[order], spikes.i[order], spikes.a[order])
        group.finish(sorting)


def write_spikes(path, result, populations=None, sorting="by_time", compression=None):
    """Write the spikes of ``result`` (a SimulationResult) to ``path``, atomically.

    populations: names of gamma populations (default: all). sorting: "by_time",
    "by_id" or "none" (emission order). compression: an h5py filter name or None.
    The file replaces ``path`` only once it is complete. Returns the path.
    """
    check_sorting(sorting)
    names = result.populations if populations is None else list(populations)
    with atomic_path(path) as tmp:
        with _h5py().File(tmp, "w") as f:
            write_spike_groups(f, result, names, sorting, compression)
    return path


def spike_populations(path):
    """Names of the populations in a SONATA spike file."""
    with _h5py().File(path, "r") as f:
        return sorted(f["spikes"].keys()) if "spikes" in f else []


def read_spikes(path, population, t_start=None, t_stop=None, node_ids=None):
    """Spikes(t, i, a) of one population, optionally in [t_start, t_stop] ms and for node_ids.

    node_ids: None, a ``range`` (or (start, stop) pair: ids start <= i < stop) or an
    array of ids. The file is read only where the answer can be: a file sorted by
    time is searched for the window (binary search on the chunked timestamps), a
    file sorted by id for the id range; the rest is read block by block, so memory
    follows the answer, not the file. ``a`` is NaN where the file has no amplitudes
    (files written by other tools).
    """
    ids_lo, ids_hi, id_set = _id_selection(node_ids)
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        if "spikes" not in f or population not in f["spikes"]:
            have = sorted(f["spikes"].keys()) if "spikes" in f else []
            raise KeyError(f"{path}: no spike population {population!r} (populations: {have})")
        group = f["spikes"][population]
        ts, ns = group["timestamps"], group["node_ids"]
        amps = group["amplitudes"] if "amplitudes" in group else None
        sorting = int(group.attrs.get("sorting", 0))
        lo, hi = 0, ts.shape[0]
        if sorting == SORTING["by_time"] and hi:
            if t_start is not None:
                lo = _search(ts, t_start, "left")
            if t_stop is not None:
                hi = _search(ts, t_stop, "right")
        elif sorting == SORTING["by_id"] and hi and ids_lo is not None:
            lo = _search(ns, ids_lo, "left")
            hi = _search(ns, ids_hi - 1, "right") if ids_hi > ids_lo else lo
        parts = []
        block = max(CHUNK, ts.chunks[0] if ts.chunks else CHUNK)
        for s in range(lo, hi, block):
            e = min(hi, s + block)
            t = ts[s:e]
            i = ns[s:e].astype(np.int64)
            a = amps[s:e] if amps is not None else np.full(t.shape, np.nan)
            keep = np.ones(t.shape, bool)
            if t_start is not None:
                keep &= t >= t_start
            if t_stop is not None:
                keep &= t <= t_stop
            if ids_lo is not None:
                keep &= (i >= ids_lo) & (i < ids_hi)
            if id_set is not None:
                keep &= np.isin(i, id_set)
            parts.append((t[keep], i[keep], a[keep]))
    if not parts:
        return Spikes(np.empty(0), np.empty(0, np.int64), np.empty(0))
    return Spikes(*(np.concatenate([p[k] for p in parts]) for k in range(3)))


def _id_selection(node_ids):
    """(lo, hi, None) for a contiguous range, (None, None, ids) for a set, or all None."""
    if node_ids is None:
        return None, None, None
    if isinstance(node_ids, range) and node_ids.step == 1:
        return node_ids.start, max(node_ids.start, node_ids.stop), None
    if isinstance(node_ids, tuple) and len(node_ids) == 2 and all(
            isinstance(v, (int, np.integer)) for v in node_ids):
        return int(node_ids[0]), max(int(node_ids[0]), int(node_ids[1])), None
    ids = np.asarray(node_ids)
    if ids.dtype.kind not in "iu":
        raise SpecError(f"read_spikes: node_ids = {node_ids!r} is not allowed; node_ids must be a "
                        "range, a (start, stop) pair or an array of integer ids")
    return None, None, ids


def count_spikes(path, population):
    """Number of spikes of one population in a SONATA spike file (reads no spikes)."""
    with _h5py().File(path, "r") as f:
        return int(f["spikes"][population]["timestamps"].shape[0])


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
