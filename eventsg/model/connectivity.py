"""Weight generators for projections: (n_pre, n_post) matrices, deterministic per seed.

Each generator returns a scipy.sparse CSR matrix (sparse patterns) or a dense
float64 array; zeros are "no synapse". Random ones draw from
``numpy.random.default_rng(seed)``, so a seed gives the same matrix bit for bit.
``GENERATORS`` maps a config's ``weights.kind`` to its generator.
"""
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import SpecError
from .validation import check_count, check_scalar, fail

_PROJECTION_TAG = 0x70726F6A    # keeps projection seeds apart from population seeds


def projection_seed(network_seed, index):
    """The seed derived for projection ``index`` from the network seed (cf. Network.population_seed)."""
    seq = np.random.SeedSequence([int(network_seed), _PROJECTION_TAG, int(index)])
    return int(seq.generate_state(1)[0])


def random_sparse(n_pre, n_post, *, mean, std=0.0, density=None, fan_out=None, seed=0):
    """Sparse normal(mean, std) weights, CSR.

    density: each (i, j) is a synapse with this probability (in (0, 1]); or
    fan_out: each row reaches exactly this many distinct targets (used by
    ``eventsg.examples``). Give one.
    """
    owner = "random_sparse"
    mean = check_scalar(owner, "mean", mean)
    std = check_scalar(owner, "std", std, nonnegative=True)
    rng = np.random.default_rng(check_count(owner, "seed", seed, low=0))
    if (density is None) == (fan_out is None):
        fail(owner, "density", density, "given, or fan_out given, but not both")
    if fan_out is not None:
        k = min(check_count(owner, "fan_out", fan_out), n_post)
        if n_post <= 4096:
            cols = np.argsort(rng.random((n_pre, n_post)), axis=1)[:, :k]
        else:
            cols = np.stack([rng.choice(n_post, k, replace=False) for _ in range(n_pre)]) \
                if n_pre else np.empty((0, k), np.int64)
        rows = np.repeat(np.arange(n_pre), k)
        data = rng.normal(mean, std, n_pre * k)
        return sp.csr_matrix((data, (rows, cols.reshape(-1))), shape=(n_pre, n_post))
    density = check_scalar(owner, "density", density, positive=True)
    if density > 1:
        fail(owner, "density", density, "in (0, 1]")
    counts = rng.binomial(n_post, density, size=n_pre)
    cols = [np.sort(rng.choice(n_post, c, replace=False)) for c in counts]
    indices = np.concatenate(cols) if cols else np.empty(0, np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = rng.normal(mean, std, indices.size)
    return sp.csr_matrix((data, indices, indptr), shape=(n_pre, n_post))


def dense_normal(n_pre, n_post, *, mean, std=0.0, seed=0):
    """Dense normal(mean, std) weights: every pair is connected."""
    mean = check_scalar("dense_normal", "mean", mean)
    std = check_scalar("dense_normal", "std", std, nonnegative=True)
    rng = np.random.default_rng(check_count("dense_normal", "seed", seed, low=0))
    return rng.normal(mean, std, (n_pre, n_post))


def uniform(n_pre, n_post, *, low, high, density=1.0, seed=0):
    """Weights uniform in [low, high); with density < 1 a Bernoulli(density) pattern, CSR."""
    low = check_scalar("uniform", "low", low)
    high = check_scalar("uniform", "high", high)
    if high < low:
        fail("uniform", "high", high, f">= low = {low}")
    density = check_scalar("uniform", "density", density, positive=True)
    if density > 1:
        fail("uniform", "density", density, "in (0, 1]")
    rng = np.random.default_rng(check_count("uniform", "seed", seed, low=0))
    if density == 1.0:
        return rng.uniform(low, high, (n_pre, n_post))
    mask = rng.random((n_pre, n_post)) < density
    rows, cols = np.nonzero(mask)
    data = rng.uniform(low, high, rows.size)
    return sp.csr_matrix((data, (rows, cols)), shape=(n_pre, n_post))


def one_to_one(n_pre, n_post, *, value=1.0):
    """``value`` on the diagonal (i -> i), CSR; needs n_pre == n_post."""
    value = check_scalar("one_to_one", "value", value)
    if n_pre != n_post:
        fail("one_to_one", "n_post", n_post, f"equal to n_pre = {n_pre} (one target per source)")
    return sp.identity(n_pre, dtype=np.float64, format="csr") * value


def all_to_all(n_pre, n_post, *, value):
    """The same ``value`` for every pair, dense."""
    return np.full((n_pre, n_post), check_scalar("all_to_all", "value", value))


def from_file(n_pre, n_post, *, file):
    """Weights from ``.npy`` (dense array) or ``.npz`` (scipy.sparse.save_npz, or one array).

    The shape must be (n_pre, n_post).
    """
    W = load_weights(file)
    if W.shape != (n_pre, n_post):
        fail("file", "file", f"{Path(file).name} with shape {W.shape}",
             f"a matrix of shape ({n_pre}, {n_post}) (n_pre, n_post)")
    return W


def load_weights(path):
    """A dense array (.npy, or .npz holding one array / an array ``weights``) or CSR (.npz sparse)."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if "format" in keys and "shape" in keys:        # scipy.sparse.save_npz
                return sp.load_npz(path).tocsr()
            if "weights" in keys:
                return z["weights"]
            if len(keys) == 1:
                return z[keys[0]]
    except (OSError, ValueError) as err:
        raise SpecError(f"weights file {path.name} could not be read: {err}") from None
    raise SpecError(f"weights file {path.name} holds arrays {keys}; it must hold one array, an "
                    "array named 'weights', or a scipy.sparse matrix saved with save_npz")


GENERATORS = {
    "random_sparse": random_sparse,
    "dense_normal": dense_normal,
    "uniform": uniform,
    "one_to_one": one_to_one,
    "all_to_all": all_to_all,
    "file": from_file,
}

RANDOM_KINDS = ("random_sparse", "dense_normal", "uniform")


def make_weights(kind, n_pre, n_post, **params):
    """The (n_pre, n_post) weights of generator ``kind`` (a key of GENERATORS)."""
    if kind not in GENERATORS:
        fail("weights", "kind", kind, "one of " + ", ".join(map(repr, GENERATORS)))
    return GENERATORS[kind](n_pre, n_post, **params)
