"""Randman: classes of smooth random manifolds coded by the timing of one spike per channel.

After Zenke & Vogels (2021), "The remarkable robustness of surrogate gradient
learning for instilling complex function in spiking neural networks", Neural
Computation 33(4). Each class is a random smooth map from [0, 1]^dim_manifold into
[0, 1]^n_channels. Embedding coordinate c is a product over manifold dimensions d of
a random sinusoid series

    f_cd(x) = sum_{k=1..n_basis} a_cdk k**-alpha sin(2 pi (k u_cdk x + phi_cdk)),

with a, u, phi uniform in [0, 1) (no constant term, as the original package without
its bias option), rescaled to [0, 1] over the whole manifold. A sample is a uniform
random point x of one class's manifold; channel c fires once, at
t_offset_ms + value_c(x) * duration_ms (continuous, no time bins). Spike counts are
the same for every sample, so only relative timing carries the class.
"""
import numpy as np

from ..model.validation import check_count, check_scalar, fail
from .base import Sample, SpikeDataset, check_seed

_PREC = 1e-3          # the original's precision: keep terms with k**-alpha >= _PREC
_MAX_BASIS = 1000


def default_n_basis(alpha):
    """The original package's series length: terms whose weight k**-alpha is >= 1e-3."""
    return int(min(np.floor(_PREC ** (-1.0 / alpha) + 1e-9), _MAX_BASIS))


class RandomManifold:
    """A smooth random map [0, 1]^dim_manifold -> [0, 1]^n_channels (see module doc).

    rng: a numpy Generator that draws the parameters. Attributes: amplitude,
    frequency (k * u), phase, each (n_channels, dim_manifold, n_basis); weight
    (n_basis,) = k**-alpha; lo, hi (n_channels,): range of the raw product over
    the manifold, used to rescale to [0, 1].
    """

    def __init__(self, n_channels, dim_manifold, alpha, n_basis, rng):
        self.n_channels, self.dim_manifold, self.n_basis = n_channels, dim_manifold, n_basis
        self.alpha = float(alpha)
        shape = (n_channels, dim_manifold, n_basis)
        k = np.arange(1, n_basis + 1, dtype=np.float64)
        self.amplitude = rng.random(shape)
        self.frequency = rng.random(shape) * k
        self.phase = rng.random(shape)
        self.weight = k ** -self.alpha
        self.lo, self.hi = self._range()

    def factors(self, x):
        """The 1-D series f_cd(x[:, d]), shape (m, n_channels, dim_manifold)."""
        x = np.asarray(x, dtype=np.float64)
        return self._series(np.broadcast_to(x[:, None, :], (x.shape[0], self.n_channels, self.dim_manifold)))

    def _series(self, xcd, vectorised=False):
        """f_cd at points xcd of shape (m, n_channels, dim_manifold) (one point per c, d).

        Term by term by default, so a point's value does not depend on the batch it
        is in; ``vectorised`` sums all terms at once (for small m).
        """
        coef = self.amplitude * self.weight                     # (C, D, K)
        if vectorised:
            arg = self.frequency * xcd[..., None] + self.phase
            return np.sum(coef * np.sin(2.0 * np.pi * arg), axis=-1)
        out = np.zeros(xcd.shape)
        for j in range(self.n_basis):
            out += coef[:, :, j] * np.sin(2.0 * np.pi * (self.frequency[:, :, j] * xcd + self.phase[:, :, j]))
        return out

    def raw(self, x):
        """Unscaled coordinates prod_d f_cd(x_d), shape (m, n_channels)."""
        return np.prod(self.factors(x), axis=2)

    def __call__(self, x):
        """Coordinates in [0, 1] of the points x (shape (m, dim_manifold)), shape (m, n_channels)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim_manifold:
            fail("RandomManifold", "x", f"array of shape {x.shape}", f"of shape (m, {self.dim_manifold})")
        scaled = (self.raw(x) - self.lo) / (self.hi - self.lo)
        return np.clip(scaled, 0.0, 1.0)

    def _range(self):
        """(lo, hi) of the product over [0, 1]^D from each factor's extremes.

        Each factor's min and max come from a 2049-point grid, refined by golden-
        section search around the best grid point (relative error ~1e-9 unless a
        missed peak hides between grid points; values are clipped to [0, 1]). The
        factors depend on separate coordinates, so the product's extremes are at
        corners of the box of factor ranges.
        """
        grid = np.linspace(0.0, 1.0, 2049)
        f = self.factors(np.repeat(grid[:, None], self.dim_manifold, axis=1))   # (g, C, D)
        h = grid[1]
        f_lo = -self._refine(grid[f.argmin(axis=0)], h, -1.0)
        f_hi = self._refine(grid[f.argmax(axis=0)], h, 1.0)
        lo, hi = f_lo[:, 0], f_hi[:, 0]
        for d in range(1, self.dim_manifold):
            corners = np.stack([lo * f_lo[:, d], lo * f_hi[:, d], hi * f_lo[:, d], hi * f_hi[:, d]])
            lo, hi = corners.min(axis=0), corners.max(axis=0)
        return lo, np.maximum(hi, lo + 1e-300)

    def _refine(self, x0, h, sign):
        """max of sign * f_cd near x0 (C, D) by golden-section search on [x0 - h, x0 + h]."""
        value = lambda x: sign * self._series(x[None], vectorised=True)[0]
        a, b = np.clip(x0 - h, 0.0, 1.0), np.clip(x0 + h, 0.0, 1.0)
        r = (np.sqrt(5.0) - 1.0) / 2.0
        c, d = b - r * (b - a), a + r * (b - a)
        fc, fd = value(c), value(d)
        for _ in range(48):
            left = fc >= fd                                      # the maximum is in [a, d]
            a, b = np.where(left, a, c), np.where(left, d, b)
            c_new, d_new = b - r * (b - a), a + r * (b - a)
            c, d = np.where(left, c_new, d), np.where(left, c, d_new)
            f_new = value(np.where(left, c, d))
            fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        return np.maximum(np.maximum(fc, fd), value(x0))


def _draw_split(manifolds, n, n_classes, rng, duration_ms, t_offset_ms, name, meta):
    """n samples, classes as balanced as possible, in random order."""
    counts = np.full(n_classes, n // n_classes) + (np.arange(n_classes) < n % n_classes)
    labels = rng.permutation(np.repeat(np.arange(n_classes), counts))
    coords = rng.random((n, manifolds[0].dim_manifold))
    values = np.empty((n, manifolds[0].n_channels))
    for k, man in enumerate(manifolds):
        sel = labels == k
        values[sel] = man(coords[sel])
    n_channels = values.shape[1]
    ids = np.arange(n_channels)
    samples = [Sample.make(t_offset_ms + values[i] * duration_ms, ids, n_channels,
                           t_offset_ms + duration_ms, label=int(labels[i]),
                           meta={"coords": coords[i]})
               for i in range(n)]
    return SpikeDataset(samples, n_channels, n_classes, name=name, meta=meta)


def randman(n_classes=10, n_channels=20, n_train=1000, n_test=500, dim_manifold=1, alpha=2.0,
            n_basis=None, duration_ms=50.0, t_offset_ms=0.0, seed=0):
    """(train, test) Randman SpikeDatasets: one spike per channel per sample.

    n_classes: manifolds (classes). n_channels: embedding dimension = input
    channels. n_train, n_test: samples in each split (total; classes balanced,
    order random). dim_manifold: intrinsic dimension. alpha (> 0): spectral
    fall-off, larger is smoother. n_basis: terms per series; None keeps the terms
    with k**-alpha >= 1e-3 as the original package (31 for alpha = 2; 1000 for
    alpha <= 1, which takes about 2 s per class to set up).
    duration_ms (> 0): spread of spike times; t_offset_ms (>= 0): time of value 0.
    Spikes lie in [t_offset_ms, t_offset_ms + duration_ms] = the sample's length.
    seed: int >= 0; the class manifolds depend only on the seed (and shapes), train
    and test are drawn from separate streams. Each Sample.meta["coords"] holds the
    manifold point; train.meta["manifolds"] holds the RandomManifold objects.
    """
    owner = "randman"
    n_classes = check_count(owner, "n_classes", n_classes)
    n_channels = check_count(owner, "n_channels", n_channels)
    n_train = check_count(owner, "n_train", n_train, low=0)
    n_test = check_count(owner, "n_test", n_test, low=0)
    dim_manifold = check_count(owner, "dim_manifold", dim_manifold)
    alpha = check_scalar(owner, "alpha", alpha, positive=True)
    if n_basis is None:
        n_basis = default_n_basis(alpha)
    n_basis = check_count(owner, "n_basis", n_basis, high=_MAX_BASIS)
    duration_ms = check_scalar(owner, "duration_ms", duration_ms, positive=True)
    t_offset_ms = check_scalar(owner, "t_offset_ms", t_offset_ms, nonnegative=True)
    seed = check_seed(owner, seed)

    man_seq, train_seq, test_seq = np.random.SeedSequence(seed).spawn(3)
    manifolds = [RandomManifold(n_channels, dim_manifold, alpha, n_basis, np.random.default_rng(s))
                 for s in man_seq.spawn(n_classes)]
    meta = {"manifolds": manifolds, "alpha": alpha, "n_basis": n_basis, "dim_manifold": dim_manifold,
            "duration_ms": duration_ms, "t_offset_ms": t_offset_ms, "seed": seed}
    train, test = (_draw_split(manifolds, n, n_classes, np.random.default_rng(seq), duration_ms,
                               t_offset_ms, f"randman-{part}", meta)
                   for n, seq, part in ((n_train, train_seq, "train"), (n_test, test_seq, "test")))
    return train, test


def spike_time_matrix(dataset):
    """(len, n_channels) first-spike time of each channel in each sample (NaN if silent)."""
    out = np.full((len(dataset), dataset.n_channels), np.nan)
    for i, s in enumerate(dataset):
        first = np.unique(s.ids, return_index=True)
        out[i, first[0]] = s.times[first[1]]
    return out
