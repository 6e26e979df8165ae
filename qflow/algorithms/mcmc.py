"""MCMC clustering after distclus: the number of clusters is sampled too.

Each ``iterate`` is one Metropolis-Hastings step:

1. propose k' from the current k with probabilities ``probaK`` = (k-1, k,
   k+1), clipped to [1, min(maxK, n)]; a birth adds a k-means++ draw (D^2
   sampling on a random subsample of at most 1024 points, so a birth costs
   no extra pass over the data), a death removes a uniformly chosen centre;
2. perturb every centre with a multivariate Student-t with ``nu`` degrees
   of freedom and scale ``lambda * spread``, where
   ``lambda = amp * sqrt((dim + 3) / n)`` and ``spread`` is the data's
   per-feature standard deviation (so ``amp`` is unit-free);
3. run one k-means step from the perturbed centres;
4. accept with probability ``min(1, rho)``,
   ``log rho = -(lambda / b) * (L' - L) / s - (dim + 1) / 2 * log(n) * (k' - k)``:
   a Gibbs posterior at temperature ``b`` over the loss
   ``L = sum_i dist(x_i, c_label(i)) ** norm`` of the proposal's partition
   (labels of step 3, centres after it), normalised by ``s``, the mean
   ``dist ** norm`` of the points to their global mean (so the energy is
   unit-free), and a BIC-like prior charging ``(dim + 1) / 2 * log n`` per
   centre.  distclus charges ``dim * log(2b)``, which let the chain wander
   over spurious extra centres on blobs.  The energy grows like
   ``sqrt(n)`` and the penalty like ``log n``: raise ``b`` (or lower
   ``amp``) on very large data sets to keep k small.

The loss is the k-means energy of the proposal's own partition, as in the
k-means step it comes from; in the euclidean space with ``norm = 2`` it is
read off the cluster sums (``sum ||x - mu||^2 - sum_j n_j ||c_j - mu||^2``),
so a step costs one fused pass over the data.

The energy of the current state is measured on the data it is compared
with: when rows changed since the last call (``new_from < len(data)`` and
not the same array) it is re-evaluated with one more k-means step, so a
caller iterating on unchanged data should pass ``new_from=len(data)``.

All randomness comes from one seeded generator; the fused kernel is run on
at most two threads, whose partial sums add up in either order to the same
bits, so a seeded run replays bit-for-bit.
"""
import logging

import numpy as np

from .base import SPACE_PARAMS, Algorithm, positive
from .kmeans import data_stats, init_centers, lloyd_iter_chunked_dense, lloyd_step, partition_sq_loss

log = logging.getLogger(__name__)

_BIRTH_SAMPLE = 1024


class MCMC(Algorithm):
    name = "mcmc"
    SCHEMA = {
        "initK": {"type": "int", "default": 8, "help": "number of clusters at the start"},
        "maxK": {"type": "int", "default": 16, "help": "largest number of clusters"},
        "amp": {"type": "float", "default": 1.0, "help": "amplitude of lambda = amp*sqrt((dim+3)/n)"},
        "b": {"type": "float", "default": 1.0, "help": "temperature of the Gibbs posterior"},
        "norm": {"type": "float", "default": 2.0, "help": "exponent of the distance in the loss"},
        "nu": {"type": "float", "default": 3.0, "help": "degrees of freedom of the Student-t perturbation"},
        "probaK": {"type": "array", "default": [1.0, 8.0, 1.0],
                   "help": "relative probabilities to propose k-1, k, k+1"},
        "iter": {"type": "int", "default": 100, "help": "number of steps of a batch run"},
        "init": {"type": "str", "default": "kmeans++", "help": "initial centres: kmeans++ | random"},
        **SPACE_PARAMS,
    }

    def _check(self, p):
        positive(p, "initK", "maxK", "amp", "b", "norm", "nu", "iter")
        if p["initK"] > p["maxK"]:
            raise ValueError(f"parameter 'initK' ({p['initK']}) must not exceed 'maxK' ({p['maxK']})")
        proba = np.asarray(p["probaK"], dtype=float)
        if proba.shape != (3,) or np.any(proba < 0) or proba.sum() <= 0:
            raise ValueError(f"parameter 'probaK' must be 3 non-negative weights (k-1, k, k+1), got {p['probaK']}")
        if p["init"] not in ("kmeans++", "random"):
            raise ValueError(f"parameter 'init' must be kmeans++ or random, got {p['init']!r}")
        return p

    def __init__(self, params=None, seed=None):
        super().__init__(params, seed)
        self.figures.update({"acceptations": 0, "lambda": None, "rho": None, "k": 0})
        self._loss = None
        self._n = None
        self._data_key = None

    def _apply_params(self):
        super()._apply_params()
        self.n_threads = min(self.n_threads, 2)
        # a new norm changes the energy of the current state
        self._data_key, self._loss = None, None

    # -- data statistics ----------------------------------------------------
    def _fast(self, X):
        return self.space.name == "euclid" and X.ndim == 2 and lloyd_iter_chunked_dense is not None

    def _prepare(self, X):
        self._mean, self._sq_total = data_stats(X)
        self._dim = self._mean.size
        if self.space.name == "euclid":  # same figure as perturb_scale, without another pass
            self._spread = float(np.sqrt(self._sq_total / X.size)) or 1.0
        else:
            self._spread = self.space.perturb_scale(X)
        centre = self._mean.reshape(X.shape[1:])
        if self._fast(X) and self.params["norm"] == 2:
            total = self._sq_total
        else:
            total = float(np.sum(self.space.pair_dist(X, np.broadcast_to(centre, X.shape)) ** self.params["norm"]))
        self._scale = total / len(X) if total > 0 else 1.0

    def _step(self, X, centers):
        """One k-means step: (centres, counts, loss of that partition)."""
        norm = self.params["norm"]
        new, counts, labels = lloyd_step(X, centers, self.space, self.n_threads)
        if self._fast(X) and norm == 2:
            return new, counts, partition_sq_loss(self._mean, self._sq_total, new, counts)
        return new, counts, float(np.sum(self.space.pair_dist(X, new[labels]) ** norm))

    # -- one Metropolis-Hastings step ---------------------------------------
    def _iterate(self, X, new_from):
        p = self.params
        key = (id(X), X.shape)
        if len(self.centers) == 0 or self.centers.shape[1:] != X.shape[1:]:
            k = min(p["initK"], len(X))
            self.centers = init_centers(X, k, p["init"], self.space, self.rng)
            self._loss = None
        if key != self._data_key:
            self._prepare(X)
            # the caller vouches that no row changed (new_from == n): the
            # energy of the current state still holds, e.g. after a resume
            same = new_from >= len(X) and self._loss is not None and self._n == len(X)
            if not same:
                self.centers, self.counts, self._loss = self._step(X, self.centers)
            self._data_key, self._n = key, len(X)
        n, dim = len(X), self._dim
        lam = p["amp"] * np.sqrt((dim + 3) / n)
        proposal = self._perturb(self._resize(X, self._next_k(n)), lam)
        new, counts, loss = self._step(X, proposal)
        k_old, k_new = len(self.centers), len(new)
        log_rho = (-(lam / p["b"]) * (loss - self._loss) / self._scale
                   - self._penalty(n) * (k_new - k_old))
        rho = float(np.exp(min(log_rho, 0.0)))
        if self.rng.random() < rho:
            self.centers, self.counts, self._loss = new, counts, loss
            self.figures["acceptations"] += 1
        self.figures.update({"lambda": float(lam), "rho": rho, "k": len(self.centers), "loss": self._loss})

    def _penalty(self, n):
        # a centre costs what BIC charges for its coordinates and its size
        return 0.5 * (self._dim + 1) * np.log(max(n, 2))

    def _next_k(self, n):
        proba = np.asarray(self.params["probaK"], dtype=float)
        k = len(self.centers) + int(self.rng.choice(3, p=proba / proba.sum())) - 1
        return int(np.clip(k, 1, min(self.params["maxK"], n)))

    def _resize(self, X, k):
        centers = self.centers
        if k > len(centers):
            sub = X[self.rng.integers(len(X), size=min(len(X), _BIRTH_SAMPLE))]
            weight = self.space.assign(sub, centers)[1] ** 2
            total = weight.sum()
            pick = self.rng.choice(len(sub), p=weight / total) if total > 0 else self.rng.integers(len(sub))
            return np.concatenate([centers, sub[pick][None]])
        if k < len(centers):
            return np.delete(centers, self.rng.integers(len(centers)), axis=0)
        return centers

    def _perturb(self, centers, lam):
        nu = self.params["nu"]
        normal = self.rng.standard_normal(centers.shape)
        # Student-t: a gaussian divided by sqrt(chi2 / nu), one draw per centre
        g = np.sqrt(nu / self.rng.chisquare(nu, size=len(centers)))
        g = g.reshape((-1,) + (1,) * (centers.ndim - 1))
        return centers + normal * g * (lam * self._spread)

    # -- snapshots -----------------------------------------------------------
    def _extra_state(self):
        return {"loss": self._loss, "n": self._n}

    def _load_extra(self, extra):
        self._loss, self._n = extra.get("loss"), extra.get("n")
