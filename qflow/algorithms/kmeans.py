"""K-means (Lloyd) and mini-batch k-means, one iteration per ``iterate``.

In the euclidean space a Lloyd iteration runs scikit-learn's compiled
chunked kernel (``lloyd_iter_chunked_dense``: BLAS distances per block of
rows, assignment and centre sums fused in one OpenMP pass), the fastest path
measured (benchmarks/clustering.py); if that private kernel is missing the
numpy path (threaded blocks of ``X @ C.T``) takes over.  Other spaces use
their own ``assign``/``update``.

``tol`` follows scikit-learn: the run has converged when the sum of squared
centre shifts is at most ``tol`` times the mean per-feature variance of the
data.  ``loss`` is the sum of squared distances of the points to their
centre after the iteration (for euclid read off the cluster sums, no extra
pass over the data).
"""
import logging

import numpy as np

from .base import SPACE_PARAMS, Algorithm, positive
from .spaces import normalise

log = logging.getLogger(__name__)

try:  # private but stable since scikit-learn 0.23
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense
except ImportError:  # pragma: no cover
    lloyd_iter_chunked_dense = None
    log.warning("scikit-learn k-means kernel unavailable, using the numpy path")

try:
    from threadpoolctl import ThreadpoolController
    _BLAS = ThreadpoolController()
except ImportError:  # pragma: no cover
    _BLAS = None

INITS = ("kmeans++", "random", "given")


def blas_single_thread():
    """The compiled kernel already runs one thread per block: a threaded BLAS
    inside would oversubscribe the cores."""
    if _BLAS is None:
        import contextlib
        return contextlib.nullcontext()
    return _BLAS.limit(limits=1, user_api="blas")


def kmeans_pp(X, k, space, rng):
    """k-means++ seeding (D^2 sampling)."""
    if space.name == "euclid":
        from sklearn.cluster import kmeans_plusplus
        centers, _ = kmeans_plusplus(X, k, random_state=int(rng.integers(2 ** 31 - 1)))
        return centers
    centers = [X[rng.integers(len(X))]]
    closest = space.dist(X, np.asarray(centers))[:, 0] ** 2
    for _ in range(1, k):
        total = closest.sum()
        idx = rng.choice(len(X), p=closest / total) if total > 0 else rng.integers(len(X))
        centers.append(X[idx])
        closest = np.minimum(closest, space.dist(X, X[idx][None])[:, 0] ** 2)
    return np.array(centers)


def init_centers(X, k, how, space, rng, given=None):
    if len(X) == 0:
        raise ValueError("cannot initialise centres on empty data")
    if how == "given":
        centers = np.asarray(given, dtype=float)
        if centers.shape[1:] != X.shape[1:]:
            raise ValueError(f"parameter 'centers' has shape {centers.shape}, data rows have shape {X.shape[1:]}")
        return centers.copy()
    k = min(k, len(X))
    if how == "random":
        return X[rng.choice(len(X), size=k, replace=False)].copy()
    return kmeans_pp(X, k, space, rng)


def lloyd_step(X, centers, space, n_threads):
    """One Lloyd iteration: (new centres, counts, labels)."""
    if space.name == "euclid" and lloyd_iter_chunked_dense is not None and X.ndim == 2:
        k = len(centers)
        old = np.ascontiguousarray(centers, dtype=np.float64)
        new = np.empty_like(old)
        weight = np.empty(k)
        labels = np.empty(len(X), dtype=np.int32)
        shift = np.empty(k)
        with blas_single_thread():
            lloyd_iter_chunked_dense(X, _ones(len(X)), old, new, weight, labels, shift, n_threads)
        # the kernel moves empty clusters onto far points: counts follow it
        return new, np.rint(weight).astype(np.int64), labels
    labels, _ = space.assign(X, centers, n_threads)
    new, counts = space.update(X, labels, centers)
    return new, counts, labels


_ONES = np.ones(0)


def _ones(n):
    global _ONES
    if len(_ONES) < n:
        _ONES = np.ones(n)
    return _ONES[:n]


def data_stats(X):
    """(mean row, sum of squared distances to it) of a data window."""
    flat = X.reshape(len(X), -1)
    mean = flat.mean(axis=0)
    return mean, float(np.sum((flat - mean) ** 2))


def partition_sq_loss(mean, sq_total, centers, counts):
    """Sum of squared distances of the points to the mean of their cluster,
    read off the cluster sizes and means without another pass over the data:
    sum ||x - mu||^2 - sum_j n_j ||c_j - mu||^2."""
    offset = centers.reshape(len(centers), -1) - mean
    return max(sq_total - float(counts @ np.einsum("ij,ij->i", offset, offset)), 0.0)


class KMeans(Algorithm):
    name = "kmeans"
    SCHEMA = {
        "k": {"type": "int", "default": 8, "help": "number of clusters"},
        "init": {"type": "str", "default": "kmeans++", "help": "kmeans++ | random | given"},
        "centers": {"type": "array", "default": None, "help": "initial centres (init=given), shape (k, d)"},
        "iter": {"type": "int", "default": 100, "help": "maximum iterations of a batch run"},
        "tol": {"type": "float", "default": 1e-4,
                "help": "convergence: squared centre shift relative to the data variance"},
        "dataPerIter": {"type": "int", "default": 0,
                        "help": "mini-batch size per iteration (0 = full batch Lloyd)"},
        **SPACE_PARAMS,
    }

    def _check(self, p):
        positive(p, "k", "iter")
        positive(p, "tol", "dataPerIter", strict=False)
        if p["init"] not in INITS:
            raise ValueError(f"parameter 'init' must be one of {', '.join(INITS)}, got {p['init']!r}")
        if p["init"] == "given" and p["centers"] is None:
            raise ValueError("parameter 'centers' is required when init='given'")
        if p["init"] == "given":
            p["k"] = len(p["centers"])
        return p

    def __init__(self, params=None, seed=None):
        super().__init__(params, seed)
        self._var_key = None
        self._mb_counts = None

    def _stats(self, X):
        key = (id(X), X.shape)
        if key != self._var_key:
            self._mean, self._sq_total = data_stats(X)
            self._var_key = key
        return self._mean, self._sq_total

    def _tolerance(self, X):
        # scikit-learn's tol: relative to the mean per-feature variance
        return self.params["tol"] * self._stats(X)[1] / X[0].size / len(X)

    def _iterate(self, X, new_from):
        p = self.params
        if len(self.centers) == 0 or self.centers.shape[1:] != X.shape[1:]:
            self.centers = init_centers(X, p["k"], p["init"], self.space, self.rng, p["centers"])
            self._mb_counts = np.zeros(len(self.centers))
        elif len(self.centers) != p["k"] and p["init"] != "given":
            self._resize(X, p["k"])
        if p["dataPerIter"]:
            self._minibatch(X, p["dataPerIter"])
            return
        new, self.counts, labels = lloyd_step(X, self.centers, self.space, self.n_threads)
        shift = float(np.sum((new - self.centers) ** 2))
        self.centers = new
        self.converged = shift <= self._tolerance(X)
        if self.space.name == "euclid":
            self.figures["loss"] = partition_sq_loss(*self._stats(X), new, self.counts)
        else:
            self.figures["loss"] = float(np.sum(self.space.pair_dist(X, new[labels]) ** 2))
        self.figures["shift"] = shift

    def _resize(self, X, k):
        """k changed by reconfigure: drop the smallest clusters or add
        k-means++ draws, keeping the other centres."""
        if k < len(self.centers):
            keep = np.sort(np.argsort(-self.counts)[:k]) if len(self.counts) == len(self.centers) \
                else np.arange(k)
            self.centers = self.centers[keep]
        else:
            centers = list(self.centers)
            closest = self.space.assign(X, self.centers, self.n_threads)[1] ** 2
            for _ in range(k - len(self.centers)):
                total = closest.sum()
                idx = self.rng.choice(len(X), p=closest / total) if total > 0 else self.rng.integers(len(X))
                centers.append(X[idx])
                closest = np.minimum(closest, self.space.pair_dist(X, np.broadcast_to(X[idx], X.shape)) ** 2)
            self.centers = np.array(centers)
        self._mb_counts = np.zeros(len(self.centers))
        self.counts = np.zeros(len(self.centers), dtype=np.int64)

    def _minibatch(self, X, size):
        """Sculley's mini-batch step: every centre moves towards the mean of
        its batch points with a rate 1 / (points it has absorbed so far)."""
        if self._mb_counts is None or len(self._mb_counts) != len(self.centers):
            self._mb_counts = np.zeros(len(self.centers))
        idx = self.rng.choice(len(X), size=min(size, len(X)), replace=False)
        batch = X[idx]
        labels, dists = self.space.assign(batch, self.centers, self.n_threads)
        means, counts = self.space.update(batch, labels, self.centers)
        self._mb_counts += counts
        rate = np.divide(counts, self._mb_counts, out=np.zeros(len(counts)), where=self._mb_counts > 0)
        rate = rate.reshape((-1,) + (1,) * (self.centers.ndim - 1))
        new = self.centers + rate * (means - self.centers)
        if self.space.name == "cosinus":
            new = normalise(new)  # cosine centres live on the unit sphere
        shift = float(np.sum((new - self.centers) ** 2))
        self.centers, self.counts = new, counts
        self.converged = shift <= self._tolerance(X) * (size / len(X))
        self.figures["loss"] = float(np.sum(dists ** 2)) * len(X) / len(batch)
        self.figures["shift"] = shift

    def _extra_state(self):
        return {"mbCounts": self._mb_counts}

    def _load_extra(self, extra):
        if extra.get("mbCounts") is not None:
            self._mb_counts = np.asarray(extra["mbCounts"], dtype=float)


class MiniBatchKMeans(KMeans):
    name = "minibatch"
    SCHEMA = {**KMeans.SCHEMA,
              "dataPerIter": {**KMeans.SCHEMA["dataPerIter"], "default": 256}}
