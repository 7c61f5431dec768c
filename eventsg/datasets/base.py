"""Sample container shared by every data set: one spike sample, and a sequence of them.

A data set is a list of ``Sample``s plus its channel count and class names, so a
training loop (or a reader of files in the SHD layout) sees the same interface
whatever made the spikes. Times are in ms.
"""
import numbers
from typing import NamedTuple

import numpy as np

from ..model.sources import SpikeSource
from ..model.validation import check_count, check_scalar, fail


def _frozen(arr):
    arr = np.ascontiguousarray(arr)
    arr.flags.writeable = False
    return arr


class Sample(NamedTuple):
    """One sample: spike events, an optional label and an optional target signal.

    times: event times in ms (float64, sorted). ids: channel of each event (int64,
    in [0, n_channels)). n_channels: channels of the input. duration_ms: length of
    the sample in ms (>= the last event). amplitudes: float64 per event, or None
    (all 1). label: class index, or -1 for none. target: None or ``(t_ms, values)``,
    a piecewise-linear signal (t non-decreasing; a repeated time is a step), values
    of shape (len(t),) or (len(t), k). meta: None or a dict of extra facts (e.g.
    manifold coordinates, pattern onsets). Build checked samples with ``Sample.make``.
    """
    times: np.ndarray
    ids: np.ndarray
    n_channels: int
    duration_ms: float
    amplitudes: np.ndarray | None = None
    label: int = -1
    target: tuple | None = None
    meta: dict | None = None

    @classmethod
    def make(cls, times, ids, n_channels, duration_ms, amplitudes=None, label=-1,
             target=None, meta=None):
        """A checked Sample: events sorted stably by time, arrays read-only."""
        owner = "Sample"
        n_channels = check_count(owner, "n_channels", n_channels)
        duration_ms = check_scalar(owner, "duration_ms", duration_ms, nonnegative=True)
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        ids = np.asarray(ids)
        if ids.shape != times.shape:
            fail(owner, "ids", f"array of shape {ids.shape}", f"of shape {times.shape} (one per event)")
        if times.size:
            if not np.all(np.isfinite(times)) or times.min() < 0 or times.max() > duration_ms:
                bad = times[~np.isfinite(times) | (times < 0) | (times > duration_ms)][0]
                fail(owner, "times", bad, f"finite and in [0, duration_ms = {duration_ms}] ms")
            if not np.issubdtype(ids.dtype, np.integer):
                fail(owner, "ids", ids, "integers")
            if ids.min() < 0 or ids.max() >= n_channels:
                bad = ids[(ids < 0) | (ids >= n_channels)][0]
                fail(owner, "ids", bad, f"in [0, {n_channels}) (n_channels = {n_channels})")
        order = np.argsort(times, kind="stable")
        if amplitudes is not None:
            amplitudes = np.asarray(amplitudes, dtype=np.float64)
            if amplitudes.shape != times.shape or not np.all(np.isfinite(amplitudes)):
                fail(owner, "amplitudes", amplitudes, f"None or finite, of shape {times.shape}")
            amplitudes = _frozen(amplitudes[order])
        if isinstance(label, bool) or not isinstance(label, numbers.Integral) or label < -1:
            fail(owner, "label", label, "an integer >= -1 (-1: no label)")
        if target is not None:
            target = _check_target(target)
        if meta is not None and not isinstance(meta, dict):
            fail(owner, "meta", meta, "None or a dict")
        return cls(_frozen(times[order]), _frozen(ids.astype(np.int64)[order]), n_channels,
                   duration_ms, amplitudes, int(label), target, meta)

    @property
    def n_events(self):
        return int(self.times.size)

    def source(self, name=None, coding="pulse"):
        """This sample's events as an ``eventsg.SpikeSource`` (coding "pulse" or "delta")."""
        return SpikeSource(n=self.n_channels, times=self.times, ids=self.ids,
                           amplitudes=self.amplitudes, coding=coding, name=name)


def _check_target(target):
    owner = "Sample"
    if not isinstance(target, tuple) or len(target) != 2:
        fail(owner, "target", target, "None or a tuple (t_ms, values)")
    t = np.asarray(target[0], dtype=np.float64)
    values = np.asarray(target[1], dtype=np.float64)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        fail(owner, "target", t, "(t_ms, values) with t a finite, non-decreasing 1-D array")
    if values.shape[:1] != t.shape or values.ndim > 2 or not np.all(np.isfinite(values)):
        fail(owner, "target", f"values of shape {values.shape}",
             f"(t_ms, values) with finite values of shape ({t.size},) or ({t.size}, k)")
    return (_frozen(t), _frozen(values))


class SpikeDataset:
    """An immutable sequence of ``Sample``s of one input layout.

    samples: the samples (all with ``n_channels`` channels). n_classes: number of
    classes (labels in [-1, n_classes)); class_names: one string per class (default
    "0", "1", ...). name: a short description. meta: a dict of facts about the
    generator (e.g. the embedded pattern). Indexing with an int gives a Sample;
    with a slice or an index array, a SpikeDataset.
    """

    def __init__(self, samples, n_channels, n_classes=0, class_names=None, name="", meta=None):
        owner = f"SpikeDataset({name})"
        self.n_channels = check_count(owner, "n_channels", n_channels)
        self.n_classes = check_count(owner, "n_classes", n_classes, low=0)
        if class_names is None:
            class_names = tuple(str(k) for k in range(self.n_classes))
        class_names = tuple(class_names)
        if len(class_names) != self.n_classes or not all(isinstance(c, str) for c in class_names):
            fail(owner, "class_names", class_names, f"{self.n_classes} strings (one per class)")
        self.class_names = class_names
        self.name = str(name)
        self.meta = dict(meta or {})
        samples = tuple(samples)
        for k, s in enumerate(samples):
            if not isinstance(s, Sample):
                fail(owner, f"samples[{k}]", type(s).__name__, "a Sample")
            if s.n_channels != self.n_channels:
                fail(owner, f"samples[{k}].n_channels", s.n_channels, f"{self.n_channels} (the data set's)")
            if not -1 <= s.label < self.n_classes:
                fail(owner, f"samples[{k}].label", s.label, f"in [-1, {self.n_classes})")
        self._samples = samples

    def __len__(self):
        return len(self._samples)

    def __iter__(self):
        return iter(self._samples)

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral) and not isinstance(key, bool):
            return self._samples[key]
        if isinstance(key, slice):
            return self._subset(self._samples[key])
        idx = np.asarray(key)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            fail(f"SpikeDataset({self.name})", "index", key, "an int, a slice or a 1-D integer array")
        return self._subset([self._samples[i] for i in idx])

    def __repr__(self):
        return (f"SpikeDataset({self.name!r}: {len(self)} samples, {self.n_channels} channels, "
                f"{self.n_classes} classes)")

    @property
    def labels(self):
        """Labels of all samples (int64; -1 where unlabelled)."""
        return np.array([s.label for s in self._samples], dtype=np.int64)

    def _subset(self, samples):
        return SpikeDataset(samples, self.n_channels, self.n_classes, self.class_names,
                            self.name, self.meta)

    def shuffled(self, seed):
        """The samples in a random order fixed by ``seed``."""
        rng = np.random.default_rng(seed)
        return self[rng.permutation(len(self))]

    def split(self, fraction, seed):
        """(first, second): a random ``fraction`` of the samples and the rest.

        fraction in [0, 1]; the first part has round(fraction * len) samples. Each
        part keeps the original order of its samples. Not stratified by class.
        """
        fraction = check_scalar(f"SpikeDataset({self.name})", "fraction", fraction, nonnegative=True)
        if fraction > 1:
            fail(f"SpikeDataset({self.name})", "fraction", fraction, "in [0, 1]")
        perm = np.random.default_rng(seed).permutation(len(self))
        k = round(fraction * len(self))
        return self[np.sort(perm[:k])], self[np.sort(perm[k:])]


def check_seed(owner, seed):
    """A seed for numpy's SeedSequence: an integer >= 0."""
    return check_count(owner, "seed", seed, low=0)


__all__ = ["Sample", "SpikeDataset", "check_seed"]
