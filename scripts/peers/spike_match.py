"""Match the spikes of an approximate (fixed-step) run to those of the exact run.

Spike lists are arrays ``t`` (ms), ``i`` (neuron id), ``a`` (signed amplitude),
in emission order; ids must be distinct across populations (use
``concat_populations``).

* ``spike_kinds``: per spike "up" (a > 0), "floor" (a < 0 and the transmitted
  signal r, the running sum of a, is 0 afterwards) or "down".
* ``merge_floor_splits``: near the floor a fixed-step engine may send a down spike
  and, a moment later, a floor spike of amplitude O(dt), where the exact engine
  sends one floor spike (docs/model.md section 4); such a pair becomes one floor
  spike at the later time with the summed amplitude.
* ``match``: mutual-nearest matching per neuron and amplitude sign, within a
  window; returns the median |t_approx - t_exact| and the matched fractions.
"""
from dataclasses import dataclass

import numpy as np

UP, DOWN, FLOOR = 1, -1, 0


def concat_populations(parts):
    """One spike list (t, i, a) from per-population lists [(t, i, a, n)], ids offset by n."""
    ts, ids, amps, off = [], [], [], 0
    for t, i, a, n in parts:
        ts.append(np.asarray(t, float))
        ids.append(np.asarray(i, np.int64) + off)
        amps.append(np.asarray(a, float))
        off += int(n)
    t = np.concatenate(ts) if ts else np.empty(0)
    order = np.argsort(t, kind="stable")
    return (t[order], np.concatenate(ids)[order] if ids else np.empty(0, np.int64),
            np.concatenate(amps)[order] if amps else np.empty(0))


def spike_kinds(i, a, r_tol=1e-9):
    """UP / DOWN / FLOOR per spike (r tracked per neuron as the running sum of a)."""
    r = {}
    kinds = np.empty(len(a), np.int8)
    for k, (ii, aa) in enumerate(zip(i.tolist(), a.tolist())):
        rr = r.get(ii, 0.0) + aa
        if aa > 0:
            kinds[k] = UP
        elif abs(rr) <= r_tol:
            kinds[k] = FLOOR
            rr = 0.0
        else:
            kinds[k] = DOWN
        r[ii] = rr
    return kinds


def merge_floor_splits(t, i, a, small, gap):
    """Merge (down at t1, floor at t2 <= t1 + gap with |a| <= small) of one neuron.

    Returns ``(t, i, a, n_merges)``; the merged spike is a floor spike at t2
    carrying the summed amplitude.
    """
    kinds = spike_kinds(i, a)
    keep = np.ones(len(t), bool)
    a = np.array(a, float)
    last = {}
    merges = 0
    for k, (tt, ii, aa, kind) in enumerate(zip(t.tolist(), i.tolist(), a.tolist(), kinds)):
        j = last.get(ii)
        if (kind == FLOOR and j is not None and kinds[j] == DOWN and abs(aa) <= small
                and tt - t[j] <= gap):
            keep[j] = False
            a[k] += a[j]
            merges += 1
        last[ii] = k
    return np.asarray(t)[keep], np.asarray(i)[keep], a[keep], merges


def _nearest(src_key, dst_key):
    pos = np.searchsorted(dst_key, src_key)
    lo = np.clip(pos - 1, 0, dst_key.size - 1)
    hi = np.clip(pos, 0, dst_key.size - 1)
    return lo, hi


@dataclass
class MatchResult:
    median_error_ms: float      # median |t_approx - t_exact| of the matched pairs (nan if none)
    p90_error_ms: float
    mean_error_ms: float
    matched: int
    n_exact: int
    n_approx: int
    merges: int                 # floor splits merged in the approximate run

    @property
    def matched_of_exact(self):
        return self.matched / self.n_exact if self.n_exact else float("nan")

    @property
    def matched_of_approx(self):
        return self.matched / self.n_approx if self.n_approx else float("nan")


def match_errors(exact, approx, window):
    """|dt| of the mutual-nearest pairs (same neuron, same sign, at most ``window`` ms apart)."""
    te, ie, ae = exact
    ta, ia, aa = approx
    if len(te) == 0 or len(ta) == 0:
        return np.empty(0)
    ge = 2 * np.asarray(ie, np.int64) + (np.asarray(ae) > 0)
    ga = 2 * np.asarray(ia, np.int64) + (np.asarray(aa) > 0)
    span = 2.0 * (max(np.max(te), np.max(ta)) + window + 1.0)
    # sort each side by (group, t); a combined key only picks neighbours,
    # distances are taken on the original times
    oe = np.lexsort((te, ge))
    oa = np.lexsort((ta, ga))
    te, ge = np.asarray(te)[oe], ge[oe]
    ta, ga = np.asarray(ta)[oa], ga[oa]
    ke, ka = ge * span + te, ga * span + ta

    def nearest(t_src, g_src, k_src, t_dst, g_dst, k_dst):
        lo, hi = _nearest(k_src, k_dst)
        d_lo = np.where(g_dst[lo] == g_src, np.abs(t_dst[lo] - t_src), np.inf)
        d_hi = np.where(g_dst[hi] == g_src, np.abs(t_dst[hi] - t_src), np.inf)
        idx = np.where(d_lo <= d_hi, lo, hi)
        return idx, np.minimum(d_lo, d_hi)

    to_a, dist = nearest(te, ge, ke, ta, ga, ka)
    to_e, _ = nearest(ta, ga, ka, te, ge, ke)
    mutual = (to_e[to_a] == np.arange(te.size)) & (dist <= window)
    return dist[mutual]


def match(exact, approx, window, merge_small=None, merge_gap=5.0):
    """MatchResult of an approximate run against the exact one.

    exact, approx: (t, i, a) arrays. merge_small: largest |a| of a floor spike
    that may be merged into the down spike before it (typically theta / 2), in
    both lists; None disables merging.
    """
    merges = 0
    if merge_small is not None:
        *exact, _ = merge_floor_splits(*exact, merge_small, merge_gap)
        *approx, merges = merge_floor_splits(*approx, merge_small, merge_gap)
    err = match_errors(tuple(exact), tuple(approx), window)
    nan = float("nan")
    return MatchResult(float(np.median(err)) if err.size else nan,
                       float(np.percentile(err, 90)) if err.size else nan,
                       float(np.mean(err)) if err.size else nan,
                       int(err.size), len(exact[0]), len(approx[0]), merges)
