"""Spike data sets in the Heidelberg spiking data set layout (SHD, SSC).

Layout (Cramer et al. 2020, one HDF5 file per partition), N samples::

    /spikes/times    vlen float (N,)  spike times of each sample, in SECONDS
                                      (float16 in the published files)
    /spikes/units    vlen uint (N,)   channel of each spike (uint16 published), in [0, 700)
    /labels          int (N,)         class of each sample
    /extra/keys      bytes (C,)       class names (optional)
    /extra/speaker   int (N,)         speaker of each sample (optional; also other extras)

Both SHD and SSC have 700 channels. eventsg adds an attribute ``n_channels``
on ``/spikes`` when it writes a file (other readers ignore it). Samples are read
one at a time: reading sample k reads only element k of the two ragged datasets.
eventsg times are in ms, so times are multiplied by 1000 when read.
"""
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..errors import SpecError
from ..model import SpikeSource
from .atomic import atomic_path
from .netfile import as_text

SHD_CHANNELS = 700
REQUIRED = ("spikes/times", "spikes/units", "labels")
TIME_DTYPES = ("float16", "float32", "float64")


def _h5py():
    import h5py
    return h5py


class SHDSample(NamedTuple):
    """One sample: spike times_ms (float64, sorted, ms), units (int64 channels), label (int)."""
    times_ms: np.ndarray
    units: np.ndarray
    label: int

    def __len__(self):
        return self.times_ms.shape[0]


class SHDDataset:
    """A SHD/SSC file opened for reading, sample by sample (``with`` closes it).

    path: the HDF5 file. n_channels: channels of the data set (default: the file's
    ``n_channels`` attribute if eventsg wrote it, else 700 as for SHD and SSC).
    Samples are indexed 0 ... len - 1; ``ds[k]`` is ``ds.sample(k)``.
    """

    def __init__(self, path, n_channels=None):
        self.path = str(path)
        self._file = None
        self._file = _h5py().File(self.path, "r")
        try:
            self._check_layout()
            if n_channels is None:
                n_channels = int(self._file["spikes"].attrs.get("n_channels", SHD_CHANNELS))
            if (isinstance(n_channels, bool) or not isinstance(n_channels, numbers.Integral)
                    or n_channels < 1):
                raise SpecError(f"SHDDataset({self.path}): n_channels = {n_channels!r} is not "
                                f"allowed; n_channels must be an integer >= 1")
        except BaseException:
            self.close()
            raise
        self.n_channels = int(n_channels)
        self._labels = None

    def _check_layout(self):
        f = self._file
        h5py = _h5py()
        for key in REQUIRED:
            if key not in f or not isinstance(f[key], h5py.Dataset):
                raise SpecError(f"SHDDataset({self.path}): the file has no dataset {key!r}; a "
                                f"SHD/SSC file must have {', '.join(map(repr, REQUIRED))}")
            if f[key].ndim != 1:
                raise SpecError(f"SHDDataset({self.path}): {key!r} has shape {f[key].shape}; it "
                                f"must be 1-D (one entry per sample)")
        for key in ("spikes/times", "spikes/units"):
            base = h5py.check_vlen_dtype(f[key].dtype)
            if base is None or base.kind not in "iuf":
                raise SpecError(f"SHDDataset({self.path}): {key!r} has dtype {f[key].dtype}; it "
                                f"must be a ragged (vlen) numeric dataset, one array per sample")
        sizes = {key: f[key].shape[0] for key in REQUIRED}
        if len(set(sizes.values())) != 1:
            shown = ", ".join(f"{k}: {v}" for k, v in sizes.items())
            raise SpecError(f"SHDDataset({self.path}): datasets have different numbers of "
                            f"samples ({shown}); they must have one entry per sample")
        if f["labels"].dtype.kind not in "iu":
            raise SpecError(f"SHDDataset({self.path}): 'labels' has dtype {f['labels'].dtype}; "
                            f"it must be integer")
        self._n = sizes["labels"]

    # -- file handling ------------------------------------------------------------
    def close(self):
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _f(self):
        if self._file is None:
            raise ValueError(f"SHDDataset({self.path}) is closed")
        return self._file

    def __repr__(self):
        state = "closed" if self._file is None else f"{self._n} samples"
        return f"SHDDataset({self.path!r}, {state}, n_channels={self.n_channels})"

    # -- whole-file metadata (small) ------------------------------------------------
    def __len__(self):
        return self._n

    @property
    def labels(self):
        """Label of every sample, int64 (N,), read-only."""
        if self._labels is None:
            labels = np.asarray(self._f()["labels"][()], dtype=np.int64)
            labels.flags.writeable = False
            self._labels = labels
        return self._labels

    @property
    def class_names(self):
        """Class names from ``extra/keys`` (list of str), or None if the file has none."""
        f = self._f()
        if "extra/keys" not in f:
            return None
        return [as_text(k) for k in np.asarray(f["extra/keys"][()]).reshape(-1)]

    def extra(self, name):
        """The array ``extra/<name>`` (e.g. "speaker"), or None if the file has none."""
        f = self._f()
        key = f"extra/{name}"
        return np.asarray(f[key][()]) if key in f else None

    def indices(self, label):
        """Indices of the samples of one class: ``label`` is an int or a class name."""
        if isinstance(label, str):
            names = self.class_names
            if names is None or label not in names:
                raise SpecError(f"SHDDataset({self.path}): label = {label!r} is not allowed; "
                                f"label must be a class name in {names}")
            label = names.index(label)
        return np.flatnonzero(self.labels == label)

    # -- one sample -------------------------------------------------------------------
    def _index(self, k):
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"SHDDataset({self.path}): sample index must be an integer, "
                            f"not {k!r}")
        if not 0 <= k < self._n:
            raise IndexError(f"SHDDataset({self.path}): sample index {k} out of range; it must "
                             f"be in [0, {self._n})")
        return int(k)

    def _times_ms(self, k):
        t = np.asarray(self._f()["spikes/times"][k], dtype=np.float64) * 1000.0
        if t.size and not (np.all(np.isfinite(t)) and t.min() >= 0):
            bad = t[~(np.isfinite(t) & (t >= 0))][0] / 1000.0
            raise SpecError(f"SHDDataset({self.path}): sample {k} has a spike time {bad!r} s; "
                            f"times must be finite and >= 0")
        return t

    def sample(self, k):
        """SHDSample(times_ms, units, label) of sample k; reads only that sample."""
        k = self._index(k)
        f = self._f()
        t = self._times_ms(k)
        u = np.asarray(f["spikes/units"][k])
        if u.shape != t.shape:
            raise SpecError(f"SHDDataset({self.path}): sample {k} has {t.size} spike times but "
                            f"{u.size} units; they must have one unit per time")
        if u.size and u.dtype.kind == "f" and np.any(u != np.round(u)):
            raise SpecError(f"SHDDataset({self.path}): sample {k} has non-integer units; units "
                            f"must be integer channel ids")
        u = u.astype(np.int64)
        if u.size and (u.min() < 0 or u.max() >= self.n_channels):
            bad = u[(u < 0) | (u >= self.n_channels)][0]
            raise SpecError(f"SHDDataset({self.path}): sample {k} has unit {bad}; units must be "
                            f"in [0, {self.n_channels}) (n_channels = {self.n_channels})")
        order = np.argsort(t, kind="stable")
        label = int(f["labels"][k]) if self._labels is None else int(self._labels[k])
        return SHDSample(t[order], u[order], label)

    __getitem__ = sample

    def __iter__(self):
        for k in range(self._n):
            yield self.sample(k)

    def duration_ms(self, k):
        """Time of the last spike of sample k, ms (0.0 if it has none); reads only its times."""
        t = self._times_ms(self._index(k))
        return float(t.max()) if t.size else 0.0

    def training_samples(self, duration_ms):
        """The samples as a lazy sequence of ``eventsg.datasets.Sample`` of ``duration_ms`` ms,
        for ``eventsg.training.fit`` (each access reads one sample)."""
        return TrainingSamples(self, duration_ms)

    def source(self, k, coding="pulse", name=None, t_offset=0.0):
        """Sample k as a SpikeSource of n_channels channels, its times shifted by t_offset ms."""
        if (isinstance(t_offset, bool) or not isinstance(t_offset, numbers.Real)
                or not np.isfinite(t_offset) or t_offset < 0):
            raise SpecError(f"SHDDataset({self.path}): t_offset = {t_offset!r} is not allowed; "
                            f"t_offset must be a finite number of ms >= 0")
        s = self.sample(k)
        return SpikeSource(n=self.n_channels, times=s.times_ms + float(t_offset), ids=s.units,
                           coding=coding, name=name)


class TrainingSamples(Sequence):
    """SHD samples as ``eventsg.datasets.Sample`` for training, read one at a time.

    Every sample lasts ``duration_ms``; its spikes after that are dropped.
    """

    def __init__(self, dataset, duration_ms):
        if (isinstance(duration_ms, bool) or not isinstance(duration_ms, numbers.Real)
                or not np.isfinite(duration_ms) or duration_ms <= 0):
            raise SpecError(f"SHDDataset({dataset.path}): duration_ms = {duration_ms!r} is not "
                            "allowed; duration_ms must be a finite number of ms > 0")
        self.dataset = dataset
        self.duration_ms = float(duration_ms)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, k):
        from ..datasets import Sample
        s = self.dataset.sample(k)
        keep = s.times_ms <= self.duration_ms
        return Sample.make(s.times_ms[keep], s.units[keep], self.dataset.n_channels,
                           self.duration_ms, label=s.label)


def _ragged(values, dtype):
    out = np.empty(len(values), dtype=object)
    for k, v in enumerate(values):
        out[k] = np.asarray(v, dtype=dtype).reshape(-1)
    return out


def write_shd(path, times_s, units, labels, n_channels=SHD_CHANNELS, keys=None, extra=None,
              time_dtype="float64"):
    """Write samples to ``path`` in the SHD/SSC layout, atomically. Returns the path.

    times_s: one array of spike times per sample, in SECONDS (finite, >= 0).
    units: one array of channel ids per sample, in [0, n_channels). labels: one
    int >= 0 per sample (< len(keys) if keys are given). keys: class names.
    extra: {name: array with one entry per sample}, written as ``extra/<name>``
    (e.g. "speaker"). time_dtype: "float64" (default, exact) or "float32" /
    "float16" (as in the published files, which round times to float16).
    """
    h5py = _h5py()
    owner = "write_shd"
    if isinstance(n_channels, bool) or not isinstance(n_channels, numbers.Integral) \
            or n_channels < 1:
        raise SpecError(f"{owner}: n_channels = {n_channels!r} is not allowed; n_channels "
                        f"must be an integer >= 1")
    if str(np.dtype(time_dtype)) not in TIME_DTYPES:
        raise SpecError(f"{owner}: time_dtype = {time_dtype!r} is not allowed; time_dtype must "
                        f"be one of {', '.join(TIME_DTYPES)}")
    n = len(times_s)
    labels = np.asarray(labels)
    if len(units) != n or labels.shape != (n,):
        raise SpecError(f"{owner}: times_s has {n} samples, units {len(units)} and labels shape "
                        f"{labels.shape}; they must have one entry per sample")
    if n and (labels.dtype.kind not in "iu" or labels.min() < 0):
        raise SpecError(f"{owner}: labels = {labels!r} is not allowed; labels must be "
                        f"integers >= 0")
    if keys is not None:
        keys = [str(k) for k in keys]
        if n and labels.max() >= len(keys):
            raise SpecError(f"{owner}: label {labels.max()} is not allowed with {len(keys)} "
                            f"keys; labels must be in [0, {len(keys)})")
    times = _ragged(times_s, np.float64)
    ids = _ragged(units, np.float64)
    for k in range(n):
        t, u = times[k], ids[k]
        if t.shape != u.shape:
            raise SpecError(f"{owner}: sample {k} has {t.size} times but {u.size} units; they "
                            f"must have one unit per time")
        t_file = t.astype(time_dtype)
        bad = ~(np.isfinite(t_file) & (t >= 0))
        if np.any(bad):
            raise SpecError(f"{owner}: sample {k} has a time {t[bad][0]!r} s; times_s must be "
                            f"finite and >= 0 (and fit in {np.dtype(time_dtype)})")
        if u.size and (np.any(u != np.round(u)) or u.min() < 0 or u.max() >= n_channels):
            raise SpecError(f"{owner}: sample {k} has units outside the integers in [0, "
                            f"{n_channels}); units must be channel ids (n_channels = "
                            f"{n_channels})")
        times[k] = t_file
    unit_dtype = np.uint16 if n_channels <= 1 << 16 else np.uint32
    ids = _ragged(ids, unit_dtype)
    extra = dict(extra or {})
    for name, values in extra.items():
        if np.shape(values)[:1] != (n,):
            raise SpecError(f"{owner}: extra[{name!r}] has shape {np.shape(values)}; it must "
                            f"have one entry per sample ({n})")
    label_dtype = np.uint16 if not n or labels.max() < 1 << 16 else np.int64
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            spikes = f.create_group("spikes")
            spikes.attrs["n_channels"] = int(n_channels)
            spikes.create_dataset("times", shape=(n,), dtype=h5py.vlen_dtype(np.dtype(time_dtype)),
                                  data=times)
            spikes.create_dataset("units", shape=(n,), dtype=h5py.vlen_dtype(unit_dtype),
                                  data=ids)
            f.create_dataset("labels", data=labels.astype(label_dtype))
            group = f.create_group("extra")
            if keys is not None:
                group.create_dataset("keys", data=np.array([k.encode("utf-8") for k in keys],
                                                           dtype=bytes))
            for name, values in extra.items():
                group.create_dataset(name, data=np.asarray(values))
    return path
