"""Projections: weights and delays from one population to a gamma population."""
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .validation import fail


def _as_csr(owner, name, value, shape):
    """A float64 CSR copy of a dense array or scipy.sparse matrix of ``shape``."""
    if sp.issparse(value):
        mat = sp.csr_matrix(value, dtype=np.float64, copy=True)
    else:
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            fail(owner, name, value, f"a numeric array or scipy.sparse matrix of shape {shape}")
        if arr.shape != shape:
            fail(owner, name, f"array of shape {arr.shape}", f"of shape {shape} (n_pre, n_post)")
        mat = sp.csr_matrix(arr)
    if mat.shape != shape:
        fail(owner, name, f"matrix of shape {mat.shape}", f"of shape {shape} (n_pre, n_post)")
    mat.sum_duplicates()
    mat.sort_indices()
    if not np.all(np.isfinite(mat.data)):
        fail(owner, name, mat.data[~np.isfinite(mat.data)][0], "finite everywhere (no NaN or inf)")
    return mat


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses pre -> post with weights W[i, j] and delays (ms).

    weights: dense (n_pre, n_post) array (zeros are no synapse) or scipy.sparse
    matrix. delay: scalar >= 0 ms for the whole projection, or per synapse: an
    array of the same shape (dense) or a sparse matrix with the weights' pattern.
    """
    pre: object
    post: object
    weights: object
    delay: object = 0.0

    def __post_init__(self):
        owner = f"Projection({getattr(self.pre, 'name', '?')} -> {getattr(self.post, 'name', '?')})"
        if getattr(self.post, "kind", None) != "gamma":
            fail(owner, "post", type(self.post).__name__, "a GammaPopulation")
        shape = (self.pre.n, self.post.n)
        W = _as_csr(owner, "weights", self.weights, shape)
        W.eliminate_zeros()
        object.__setattr__(self, "weights", W)
        if np.ndim(self.delay) == 0 and not sp.issparse(self.delay):
            d = float(self.delay) if isinstance(self.delay, (int, float, np.number)) else None
            if d is None or not np.isfinite(d) or d < 0:
                fail(owner, "delay", self.delay, "a finite number >= 0 (ms)")
            object.__setattr__(self, "delay", d)
            return
        if sp.issparse(self.delay):
            vals = _values_on_pattern(owner, _as_csr(owner, "delay", self.delay, shape), W)
        else:
            dense = np.array(self.delay, dtype=np.float64)
            if dense.shape != shape:
                fail(owner, "delay", f"array of shape {dense.shape}", f"a scalar or of shape {shape}")
            rows, cols = W.nonzero()
            vals = dense[rows, cols]
        if vals.size and (not np.all(np.isfinite(vals)) or vals.min() < 0):
            bad = vals[~(np.isfinite(vals) & (vals >= 0))][0]
            fail(owner, "delay", bad, "finite and >= 0 ms for every synapse")
        delay = W.copy()
        delay.data = np.ascontiguousarray(vals, dtype=np.float64)
        object.__setattr__(self, "delay", delay)

    @property
    def per_synapse_delay(self):
        return not isinstance(self.delay, float)

    @property
    def n_synapses(self):
        return self.weights.nnz


def _values_on_pattern(owner, D, W):
    """D's stored values (explicit zeros included) at every synapse of W."""
    n_post = W.shape[1]
    d = D.tocoo()
    d_keys = d.row.astype(np.int64) * n_post + d.col
    order = np.argsort(d_keys)
    d_keys, d_vals = d_keys[order], d.data[order]
    w = W.tocoo()
    w_keys = w.row.astype(np.int64) * n_post + w.col
    pos = np.searchsorted(d_keys, w_keys)
    found = (pos < d_keys.size) & (d_keys[np.minimum(pos, d_keys.size - 1)] == w_keys) \
        if d_keys.size else np.zeros(w_keys.size, bool)
    if not np.all(found):
        miss = int(np.flatnonzero(~found)[0])
        fail(owner, "delay", f"no entry at synapse ({w.row[miss]}, {w.col[miss]})",
             "given for every synapse of the weights (same sparsity pattern)")
    # W is canonical CSR, so its COO order is row-major like W.data
    return d_vals[pos]
