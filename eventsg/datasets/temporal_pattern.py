"""Precise temporal pattern detection: a frozen spatio-temporal spike pattern hidden in noise.

After Masquelier, Guyonneau & Thorpe (2008), "Spike timing dependent plasticity
finds the start of repeating patterns in continuous spike trains", PLoS ONE 3(1).
Every channel fires Poisson background spikes at ``rate_hz``. A pattern of
``pattern_ms`` is drawn once from the seed: on each of its channels (a fraction
``pattern_fraction`` of all) either a Poisson number of spikes at ``rate_hz``
(``spikes_per_channel=None``, the classic setting: the pattern has the statistics of
the background) or exactly ``spikes_per_channel`` spikes, at uniform times in
[0, pattern_ms). Each sample holds ``occurrences`` copies at random onsets,
separated by at least ``min_gap_ms`` (end to next onset).

background="replace" (default, as Masquelier et al.): in each occurrence window
the pattern channels' background spikes are removed and the pattern is pasted in
their place, so with ``spikes_per_channel=None`` the mean rate stays ``rate_hz``
(in expectation over patterns) and the pattern cannot be found by rate alone;
channels outside the pattern keep their background. background="keep": the
pattern is added on top of the background (rate rises during occurrences).

Each sample's target is 1 on [end, end + target_ms] after every occurrence's end
and 0 elsewhere (a step signal for MSE training); ``Sample.meta`` holds the
``onsets`` and ``ends`` (ms) for scoring with ``detection_scores``.
"""
import numbers
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..model.validation import check_choice, check_count, check_scalar, fail
from .base import Sample, SpikeDataset, check_seed

BACKGROUNDS = ("replace", "keep")


def _check_occurrences(owner, occurrences):
    """(lo, hi) from an int >= 0 or a pair of ints 0 <= lo <= hi."""
    if isinstance(occurrences, numbers.Integral) and not isinstance(occurrences, bool):
        lo = hi = check_count(owner, "occurrences", occurrences, low=0)
    elif (isinstance(occurrences, (tuple, list)) and len(occurrences) == 2
          and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in occurrences)
          and 0 <= occurrences[0] <= occurrences[1]):
        lo, hi = int(occurrences[0]), int(occurrences[1])
    else:
        fail(owner, "occurrences", occurrences, "an integer >= 0 or a pair (lo, hi) of integers, 0 <= lo <= hi")
    return lo, hi


def _draw_pattern(rng, n_channels, rate_hz, pattern_ms, spikes_per_channel, pattern_fraction):
    """(times in [0, pattern_ms), ids, channels) of the frozen pattern, sorted by time."""
    n_in = max(1, round(pattern_fraction * n_channels))
    channels = np.sort(rng.choice(n_channels, size=n_in, replace=False))
    if spikes_per_channel is None:
        counts = rng.poisson(rate_hz * pattern_ms * 1e-3, size=n_in)
    else:
        counts = np.full(n_in, spikes_per_channel)
    ids = np.repeat(channels, counts)
    times = rng.random(ids.size) * pattern_ms
    order = np.argsort(times, kind="stable")
    return times[order], ids[order].astype(np.int64), channels


def _step_target(ends, target_ms, duration_ms):
    """(t, values): 0, then 1 on [end, end + target_ms] for each end (steps as repeated times)."""
    t, v = [0.0], [0.0]
    for e in ends:
        t += [e, e, e + target_ms, e + target_ms]
        v += [0.0, 1.0, 1.0, 0.0]
    t.append(duration_ms)
    v.append(0.0)
    return np.array(t), np.array(v)


def _draw_sample(rng, p, pattern):
    """One Sample of duration p["duration_ms"] (see module doc)."""
    lo, hi = p["occurrences"]
    m = int(rng.integers(lo, hi + 1))
    P, gap, T = p["pattern_ms"], p["min_gap_ms"], p["duration_ms"]
    free = T - m * P - max(m - 1, 0) * gap - p["target_ms"]
    onsets = np.sort(rng.random(m)) * free + np.arange(m) * (P + gap)   # uniform over valid layouts
    n = p["n_channels"]
    counts = rng.poisson(p["rate_hz"] * T * 1e-3, size=n)
    ids = np.repeat(np.arange(n, dtype=np.int64), counts)
    times = rng.random(ids.size) * T
    p_times, p_ids, p_channels = pattern
    if p["background"] == "replace" and m:
        in_pattern = np.zeros(n, dtype=bool)
        in_pattern[p_channels] = True
        k = np.searchsorted(onsets, times, side="right") - 1         # last onset <= t
        inside = (k >= 0) & (times < onsets[np.maximum(k, 0)] + P) & in_pattern[ids]
        times, ids = times[~inside], ids[~inside]
    shifted = []
    for on in onsets:
        jit = rng.normal(0.0, p["jitter_ms"], p_times.size) if p["jitter_ms"] > 0 else 0.0
        shifted.append(np.clip(p_times + jit, 0.0, P) + on)
    times = np.concatenate([times] + shifted)
    ids = np.concatenate([ids] + [p_ids] * m)
    ends = onsets + P
    return Sample.make(times, ids, n, T, label=int(m > 0),
                       target=_step_target(ends, p["target_ms"], T),
                       meta={"onsets": onsets, "ends": ends})


def temporal_pattern(n_channels=100, rate_hz=5.0, pattern_ms=50.0, spikes_per_channel=None,
                     pattern_fraction=1.0, duration_ms=1000.0, occurrences=2, min_gap_ms=50.0,
                     background="replace", jitter_ms=0.0, target_ms=10.0, n_train=100,
                     n_test=50, seed=0):
    """(train, test) SpikeDatasets of Poisson noise with a hidden frozen pattern.

    n_channels: inputs. rate_hz (>= 0): background rate of every channel.
    pattern_ms (> 0): pattern length. spikes_per_channel: None (Poisson count at
    rate_hz, the classic setting) or an int >= 1 per pattern channel.
    pattern_fraction in (0, 1]: share of channels in the pattern. duration_ms:
    sample length. occurrences: per sample, an int or a pair (lo, hi) drawn
    uniformly per sample. min_gap_ms (>= 0): least time from an occurrence's end to
    the next onset. background: "replace" or "keep" (module doc). jitter_ms (>= 0):
    Gaussian jitter of each pasted pattern spike (clipped to the window).
    target_ms (> 0, <= pattern_ms + min_gap_ms): length of the target pulse after
    each end; every pulse ends inside the sample. Label: 1 if the sample holds the
    pattern, else 0. seed: int >= 0; the pattern depends only on the seed and the
    pattern parameters; train and test come from separate streams. train.meta
    holds pattern_times, pattern_ids (relative to the onset), pattern_channels.
    """
    owner = "temporal_pattern"
    p = dict(n_channels=check_count(owner, "n_channels", n_channels),
             rate_hz=check_scalar(owner, "rate_hz", rate_hz, nonnegative=True),
             pattern_ms=check_scalar(owner, "pattern_ms", pattern_ms, positive=True),
             duration_ms=check_scalar(owner, "duration_ms", duration_ms, positive=True),
             occurrences=_check_occurrences(owner, occurrences),
             min_gap_ms=check_scalar(owner, "min_gap_ms", min_gap_ms, nonnegative=True),
             background=check_choice(owner, "background", background, BACKGROUNDS),
             jitter_ms=check_scalar(owner, "jitter_ms", jitter_ms, nonnegative=True),
             target_ms=check_scalar(owner, "target_ms", target_ms, positive=True))
    if spikes_per_channel is not None:
        spikes_per_channel = check_count(owner, "spikes_per_channel", spikes_per_channel)
    pattern_fraction = check_scalar(owner, "pattern_fraction", pattern_fraction, positive=True)
    if pattern_fraction > 1:
        fail(owner, "pattern_fraction", pattern_fraction, "in (0, 1]")
    if p["target_ms"] > p["pattern_ms"] + p["min_gap_ms"]:
        fail(owner, "target_ms", target_ms, f"<= pattern_ms + min_gap_ms = {p['pattern_ms'] + p['min_gap_ms']}"
             " (target pulses must not overlap)")
    hi = p["occurrences"][1]
    need = hi * p["pattern_ms"] + max(hi - 1, 0) * p["min_gap_ms"] + p["target_ms"]
    if need > p["duration_ms"]:
        fail(owner, "duration_ms", duration_ms, f">= {need} to hold {hi} occurrences with their gaps"
             " and the last target pulse")
    n_train = check_count(owner, "n_train", n_train, low=0)
    n_test = check_count(owner, "n_test", n_test, low=0)
    seed = check_seed(owner, seed)

    pat_seq, train_seq, test_seq = np.random.SeedSequence(seed).spawn(3)
    pattern = _draw_pattern(np.random.default_rng(pat_seq), p["n_channels"], p["rate_hz"],
                            p["pattern_ms"], spikes_per_channel, pattern_fraction)
    meta = dict(p, pattern_times=pattern[0], pattern_ids=pattern[1], pattern_channels=pattern[2],
                spikes_per_channel=spikes_per_channel, pattern_fraction=pattern_fraction, seed=seed)
    out = []
    for n, seq, part in ((n_train, train_seq, "train"), (n_test, test_seq, "test")):
        rng = np.random.default_rng(seq)
        samples = [_draw_sample(rng, p, pattern) for _ in range(n)]
        out.append(SpikeDataset(samples, p["n_channels"], 2, ("noise", "pattern"),
                                f"temporal_pattern-{part}", meta))
    return tuple(out)


class DetectionScores(NamedTuple):
    """Detection quality. precision = matched / detected (1 if nothing detected);
    recall = matched / true (1 if nothing true); f1 = harmonic mean (0 if both 0);
    median_abs_error_ms over matched pairs (NaN if none); errors_ms: detected - true
    per matched pair; matches: (n_matched, 2) indices (true, detected) into the inputs."""
    precision: float
    recall: float
    f1: float
    median_abs_error_ms: float
    n_true: int
    n_detected: int
    n_matched: int
    errors_ms: np.ndarray
    matches: np.ndarray


def _times(name, value):
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        fail("detection_scores", name, value, "a 1-D array of finite times in ms")
    return arr


def detection_scores(detected_times, true_times, tolerance_ms):
    """Precision, recall, F1 and timing error of detections against true event times.

    detected_times, true_times: 1-D arrays (ms, any order), e.g. detections vs the
    samples' ``meta["ends"]`` (or onsets). A detection matches a true event if
    |detected - true| <= tolerance_ms (>= 0). Matching is one-to-one and optimal:
    the largest number of matched pairs, and among those the least total |error|
    (Hungarian algorithm, scipy.optimize.linear_sum_assignment).
    """
    det = _times("detected_times", detected_times)
    true = _times("true_times", true_times)
    tol = check_scalar("detection_scores", "tolerance_ms", tolerance_ms, nonnegative=True)
    pairs = np.zeros((0, 2), dtype=np.int64)
    if det.size and true.size:
        err = np.abs(det[None, :] - true[:, None])
        ok = err <= tol
        if ok.any():
            rows = np.flatnonzero(ok.any(axis=1))                    # only events with a candidate
            cols = np.flatnonzero(ok.any(axis=0))
            sub_ok = ok[np.ix_(rows, cols)]
            scaled = err[np.ix_(rows, cols)] / tol if tol > 0 else np.zeros(sub_ok.shape)
            big = min(rows.size, cols.size) + 2.0                     # one more match beats any error sum
            cost = np.where(sub_ok, scaled - big, 0.0)
            r, c = linear_sum_assignment(cost)
            keep = sub_ok[r, c]
            pairs = np.stack([rows[r[keep]], cols[c[keep]]], axis=1).astype(np.int64)
            pairs = pairs[np.argsort(true[pairs[:, 0]], kind="stable")]
    n_m = len(pairs)
    errors = det[pairs[:, 1]] - true[pairs[:, 0]]
    precision = n_m / det.size if det.size else 1.0
    recall = n_m / true.size if true.size else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    med = float(np.median(np.abs(errors))) if n_m else float("nan")
    return DetectionScores(float(precision), float(recall), float(f1), med, int(true.size),
                           int(det.size), n_m, errors, pairs)
