"""One-pass streaming clustering after distclus.

Each ``iterate(data, new_from)`` consumes only the rows ``data[new_from:]``,
in order, each exactly once:

* the first point founds the first cluster;
* every other point x is compared with its nearest centre at distance
  ``dist``; its *relative distance* is ``dist / maxDistance``, where
  ``maxDistance`` is the largest distance at which a point has joined or
  founded a cluster so far;
* once ``outAfter`` points have been seen, a point with a relative distance
  above ``outRatio`` is an *outlier*: it founds a singleton cluster but
  leaves ``maxDistance`` alone, so one wild point does not blunt the
  detection of the next;
* otherwise a threshold is drawn from a normal law N(``mu``, ``sigma``): a
  relative distance above it founds a new cluster, below it the point joins
  its nearest cluster, whose centre moves to the running mean (the space's
  weighted centroid of the centre and the point) and whose count grows by one.

So ``mu`` is the typical fraction of the largest distance seen beyond
which a point starts a cluster of its own and ``sigma`` blurs that border.

``bufferSize``: the first ``bufferSize`` points (or as many as the first
non-empty call brings; a run never stalls waiting for them) initialise the
distance scale: ``maxDistance`` starts at the median distance between
consecutive buffered points (a typical distance between two points of the
stream) instead of at the first distance met, which would make the start
depend on one pair of points.  They are then processed like every other
point.

Figures: ``maxDistance``, ``outliers``, ``k``, ``loss`` (sum of squared
join distances).
"""
import logging

import numpy as np

from .base import SPACE_PARAMS, Algorithm, positive

log = logging.getLogger(__name__)


class Streaming(Algorithm):
    name = "streaming"
    SCHEMA = {
        "mu": {"type": "float", "default": 0.5, "help": "mean of the relative-distance threshold"},
        "sigma": {"type": "float", "default": 0.1, "help": "standard deviation of the threshold"},
        "outRatio": {"type": "float", "default": 2.0,
                     "help": "relative distance beyond which a point is an outlier"},
        "outAfter": {"type": "int", "default": 5, "help": "points seen before outlier detection starts"},
        "bufferSize": {"type": "int", "default": 100,
                       "help": "points buffered to initialise the distance scale"},
        **SPACE_PARAMS,
    }

    def _check(self, p):
        positive(p, "mu", "outRatio", "bufferSize")
        positive(p, "sigma", "outAfter", strict=False)
        return p

    def __init__(self, params=None, seed=None):
        super().__init__(params, seed)
        self.figures.update({"maxDistance": 0.0, "outliers": 0, "k": 0, "loss": 0.0})
        self.seen = 0

    def _iterate(self, X, new_from):
        new = X[max(0, new_from):]
        if self.seen == 0:
            if len(new) == 0:
                return
            self._init_scale(new[:self.params["bufferSize"]])
        for x in new:
            self._process(x)

    def _init_scale(self, buffer):
        steps = self.space.pair_dist(buffer[1:], buffer[:-1]) if len(buffer) > 1 else np.zeros(0)
        self.figures["maxDistance"] = float(np.median(steps)) if len(steps) else 0.0

    def _process(self, x):
        p, fig = self.params, self.figures
        if len(self.centers) == 0:
            self._found(x)
            self.seen += 1
            return
        dists = self.space.dist(x[None], self.centers)[0]
        label = int(np.argmin(dists))
        dist = float(dists[label])
        if fig["maxDistance"] <= 0:
            fig["maxDistance"] = dist
        relative = dist / fig["maxDistance"] if fig["maxDistance"] > 0 else 0.0
        if self.seen >= p["outAfter"] and relative > p["outRatio"]:
            self._found(x)
            fig["outliers"] += 1
        elif self.rng.normal(p["mu"], p["sigma"]) < relative:
            self._found(x)
            fig["maxDistance"] = max(fig["maxDistance"], dist)
        else:
            n = self.counts[label]
            self.centers[label] = self.space.centroid(np.stack([self.centers[label], x]), [n, 1])
            self.counts[label] = n + 1
            fig["maxDistance"] = max(fig["maxDistance"], dist)
            fig["loss"] += dist * dist
        self.seen += 1

    def _found(self, x):
        x = np.asarray(x, dtype=float)
        if self.space.name == "cosinus":
            x = self.space.centroid(x[None])
        self.centers = x[None].copy() if len(self.centers) == 0 else np.concatenate([self.centers, x[None]])
        self.counts = np.append(self.counts, 1).astype(np.int64)
        self.figures["k"] = len(self.centers)

    def _extra_state(self):
        return {"seen": self.seen}

    def _load_extra(self, extra):
        self.seen = int(extra.get("seen", 0))
