"""Metric spaces the clustering algorithms work in.

Each space offers ``dist(X, C) -> (n, k)``, ``centroid(points, weights)``,
the row-wise ``pair_dist(X, Y)``, the nearest-centre ``assign(X, C)`` and
the Lloyd update ``update(X, labels, old_centers)``.

* ``euclid``: euclidean distance, centres are (weighted) means.
* ``cosinus``: cosine distance ``1 - cos(x, c)``; centres are the normalised
  mean of the normalised points (spherical k-means), so only directions
  matter.  A zero vector is at distance 1 from everything.
* ``dtw``: dynamic time warping between series of equal length, data
  ``(n, L)`` or ``(n, L, d)``; the per-point cost is the ``innerSpace``
  distance and the DTW distance is the sum of costs along the optimal path,
  restricted to ``|i - j| <= window`` when a Sakoe-Chiba ``window`` is given.
  Centres are DBA barycentres (DTW Barycenter Averaging, Petitjean et al.
  2011) started from the pointwise mean: a pointwise mean of out-of-phase
  series flattens them, DBA keeps the shape.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np

log = logging.getLogger(__name__)

_CHUNK = 1 << 14  # rows per assignment block: keeps the (chunk, k) block in cache
_DBA_ITER = 5


def _chunks(n, n_threads):
    size = _CHUNK if n_threads <= 1 else max(1024, min(_CHUNK, -(-n // n_threads)))
    return [(s, min(n, s + size)) for s in range(0, n, size)]


class Space:
    name = "base"

    def dist(self, X, C):
        raise NotImplementedError

    def pair_dist(self, X, Y):
        return np.array([self.dist(x[None], y[None])[0, 0] for x, y in zip(X, Y)])

    def centroid(self, points, weights=None):
        raise NotImplementedError

    def _assign_block(self, X, C):
        D = self.dist(X, C)
        labels = np.argmin(D, axis=1)
        return labels, D[np.arange(len(X)), labels]

    def assign(self, X, C, n_threads=1):
        """Nearest centre of every row: (labels, distances)."""
        n = len(X)
        labels = np.empty(n, dtype=np.intp)
        dists = np.empty(n)
        blocks = _chunks(n, n_threads)

        def run(block):
            s, e = block
            labels[s:e], dists[s:e] = self._assign_block(X[s:e], C)

        if n_threads > 1 and len(blocks) > 1:
            # numpy releases the GIL in BLAS and reductions
            with ThreadPoolExecutor(n_threads) as pool:
                list(pool.map(run, blocks))
        else:
            for block in blocks:
                run(block)
        return labels, dists

    def update(self, X, labels, old, weights=None):
        """Centre of every cluster (old centre kept when a cluster is empty)
        and the cluster sizes."""
        k = len(old)
        counts = np.bincount(labels, minlength=k)
        new = np.array(old, dtype=float, copy=True)
        for j in np.flatnonzero(counts):
            mask = labels == j
            new[j] = self.centroid(X[mask], None if weights is None else weights[mask])
        return new, counts

    def perturb_scale(self, X):
        """Typical spread of the data, used to size random perturbations."""
        return float(np.sqrt(np.mean(np.var(X, axis=0)))) or 1.0


class Euclid(Space):
    name = "euclid"

    def dist(self, X, C):
        return np.sqrt(self.sqdist(X, C))

    @staticmethod
    def sqdist(X, C):
        X = np.atleast_2d(X)
        C = np.atleast_2d(C)
        D = X @ C.T
        D *= -2.0
        D += np.einsum("ij,ij->i", X, X)[:, None]
        D += np.einsum("ij,ij->i", C, C)[None, :]
        np.maximum(D, 0.0, out=D)
        return D

    def pair_dist(self, X, Y):
        diff = X - Y
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def _assign_block(self, X, C):
        # the row norm of X does not change the argmin: add it only to the winners
        D = X @ C.T
        D *= -2.0
        D += np.einsum("ij,ij->i", C, C)[None, :]
        labels = np.argmin(D, axis=1)
        best = D[np.arange(len(X)), labels] + np.einsum("ij,ij->i", X, X)
        return labels, np.sqrt(np.maximum(best, 0.0))

    def centroid(self, points, weights=None):
        return np.average(points, axis=0, weights=weights)

    def update(self, X, labels, old, weights=None):
        k, d = old.shape
        counts = np.bincount(labels, minlength=k)
        mass = counts.astype(float) if weights is None else np.bincount(labels, weights, minlength=k)
        sums = np.empty((k, d))
        for c in range(d):
            w = X[:, c] if weights is None else X[:, c] * weights
            sums[:, c] = np.bincount(labels, w, minlength=k)
        new = np.array(old, dtype=float, copy=True)
        full = mass > 0
        new[full] = sums[full] / mass[full, None]
        return new, counts


def normalise(X):
    X = np.atleast_2d(np.asarray(X, dtype=float))
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


class Cosinus(Space):
    name = "cosinus"

    def dist(self, X, C):
        return np.clip(1.0 - normalise(X) @ normalise(C).T, 0.0, 2.0)

    def pair_dist(self, X, Y):
        return np.clip(1.0 - np.einsum("ij,ij->i", normalise(X), normalise(Y)), 0.0, 2.0)

    def centroid(self, points, weights=None):
        mean = np.average(normalise(points), axis=0, weights=weights)
        return normalise(mean[None])[0]

    def update(self, X, labels, old, weights=None):
        new, counts = Euclid().update(normalise(X), labels, old, weights)
        full = counts > 0
        new[full] = normalise(new[full])
        return new, counts


class DTW(Space):
    name = "dtw"

    def __init__(self, window=None, inner="euclid"):
        self.window = window
        self.inner = inner

    @staticmethod
    def _series(X):
        X = np.asarray(X, dtype=float)
        return X[..., None] if X.ndim == 2 else X

    def _cost(self, A, B):
        """Inner distances of paired series: A (p, L, d), B (p, M, d) -> (p, L, M)."""
        if self.inner == "cosinus":
            an = A / np.maximum(np.linalg.norm(A, axis=2, keepdims=True), 1e-300)
            bn = B / np.maximum(np.linalg.norm(B, axis=2, keepdims=True), 1e-300)
            return np.clip(1.0 - np.einsum("pid,pjd->pij", an, bn), 0.0, 2.0)
        diff = A[:, :, None, :] - B[:, None, :, :]
        return np.sqrt(np.einsum("pijd,pijd->pij", diff, diff))

    def _band(self, L, M):
        w = self.window
        if w is None:
            return [(0, M)] * L
        # widen the band when lengths differ so that the end cell is reachable
        w = max(w, abs(L - M))
        return [(max(0, i - w), min(M, i + w + 1)) for i in range(L)]

    def _accumulate(self, cost):
        """Cumulated DTW cost matrices of a batch of pairs: (p, L, M)."""
        p, L, M = cost.shape
        acc = np.full((p, L + 1, M + 1), np.inf)
        acc[:, 0, 0] = 0.0
        for i, (lo, hi) in enumerate(self._band(L, M)):
            row, prev = acc[:, i + 1], acc[:, i]
            # diagonal and vertical moves come from the previous row in one shot
            best = np.minimum(prev[:, lo:hi], prev[:, lo + 1:hi + 1])
            c = cost[:, i]
            for j in range(lo, hi):
                row[:, j + 1] = c[:, j] + np.minimum(best[:, j - lo], row[:, j])
        return acc

    def dist(self, X, C):
        X, C = self._series(X), self._series(C)
        n, k = len(X), len(C)
        out = np.empty((n, k))
        per = max(1, (1 << 22) // max(1, X.shape[1] * C.shape[1] * X.shape[2]))
        for s in range(0, n, per):
            xs = X[s:s + per]
            a = np.repeat(xs, k, axis=0)
            b = np.tile(C, (len(xs), 1, 1))
            out[s:s + len(xs)] = self._accumulate(self._cost(a, b))[:, -1, -1].reshape(len(xs), k)
        return out

    def pair_dist(self, X, Y):
        X, Y = self._series(X), self._series(Y)
        return self._accumulate(self._cost(X, Y))[:, -1, -1]

    def _paths(self, acc):
        """Optimal warping path of each pair, backtracked from the end cell."""
        paths = []
        for a in acc:
            i, j = a.shape[0] - 1, a.shape[1] - 1
            path = [(i - 1, j - 1)]
            while i > 1 or j > 1:
                moves = ((a[i - 1, j - 1], i - 1, j - 1), (a[i - 1, j], i - 1, j), (a[i, j - 1], i, j - 1))
                _, i, j = min(moves, key=lambda m: m[0])
                path.append((i - 1, j - 1))
            paths.append(np.array(path[::-1]))
        return paths

    def centroid(self, points, weights=None):
        S = self._series(points)
        w = np.ones(len(S)) if weights is None else np.asarray(weights, dtype=float)
        centre = np.average(S, axis=0, weights=w)
        for _ in range(_DBA_ITER):
            ref = np.broadcast_to(centre, S.shape)
            acc = self._accumulate(self._cost(S, ref))
            sums = np.zeros_like(centre)
            mass = np.zeros(len(centre))
            for s, wi, path in zip(S, w, self._paths(acc)):
                np.add.at(sums, path[:, 1], wi * s[path[:, 0]])
                np.add.at(mass, path[:, 1], wi)
            new = sums / np.maximum(mass, 1e-300)[:, None]
            if np.allclose(new, centre):
                centre = new
                break
            centre = new
        return centre if np.ndim(points) == 3 else centre[:, 0]

    def perturb_scale(self, X):
        return float(np.std(X)) or 1.0


SPACES = {"euclid": Euclid, "cosinus": Cosinus, "dtw": DTW}


def make_space(name, window=None, inner="euclid"):
    if name not in SPACES:
        raise ValueError(f"unknown space {name!r}; accepted: {', '.join(sorted(SPACES))}")
    return DTW(window, inner) if name == "dtw" else SPACES[name]()
