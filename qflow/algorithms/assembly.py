"""Stable cluster identities across successive clustering results.

An online run publishes a new set of centres at every frame; their order
means nothing, so ``Assembly.coalesce`` maps them onto the clusters known
from the previous frames with optimal transport (POT's exact ``ot.emd``;
masses = cluster counts, cost = squared euclidean distance between centres):

* when the two sets have the same size, the plan is read as a one-to-one
  matching (Hungarian algorithm, so two centres never share a label) that
  maximises, over the matched pairs, the transported mass as a share of the
  smaller of the two cluster masses: with counts varying between frames a big
  cluster spills some mass onto its neighbours, and the raw mass would then
  favour it over the right partner;
* when sizes differ, the farthest centres of the larger set (distance to the
  nearest centre of the other set) are set aside before OT: extra current
  centres *appear* with new labels, extra known clusters *disappear* — they
  keep their label, last centre and a count of 0, and may be matched again
  later (*reappear*).

Known clusters that disappeared earlier still take part in the matching with
their last non-zero count as mass, so a cluster coming back near its old place recovers its label.
"""
import logging

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment

log = logging.getLogger(__name__)


class Assembly:
    def __init__(self):
        #: label -> (last centre, count at the last frame; 0 once disappeared)
        self.known = {}
        self.appeared = []
        self.disappeared = []
        self.reappeared = []
        self._next = 0
        self._mass = {}  # label -> last non-zero count, the OT mass of a vanished cluster

    def _new_label(self):
        label, self._next = self._next, self._next + 1
        return label

    def coalesce(self, centers, counts=None):
        """Labels (list of int, one per row of ``centers``) stable across calls."""
        centers = np.asarray(centers, dtype=float)
        k = len(centers)
        flat = centers.reshape(k, -1)
        counts = np.ones(k) if counts is None else np.asarray(counts, dtype=float)
        if len(counts) != k:
            raise ValueError(f"{len(counts)} counts for {k} centres")
        self.appeared, self.disappeared, self.reappeared = [], [], []
        known_labels = list(self.known)
        labels = [None] * k
        if known_labels and k:
            old = np.array([np.ravel(self.known[lb][0]) for lb in known_labels])
            if old.shape[1] != flat.shape[1]:
                raise ValueError(f"centres of dimension {flat.shape[1]}, known ones of {old.shape[1]}")
            old_mass = np.array([max(self._mass.get(lb, 1), 1) for lb in known_labels], dtype=float)
            cost = ot.dist(flat, old)  # squared euclidean
            cur_idx, old_idx = np.arange(k), np.arange(len(old))
            if k > len(old):
                cur_idx = np.sort(np.argsort(cost.min(axis=1))[:len(old)])
            elif k < len(old):
                old_idx = np.sort(np.argsort(cost.min(axis=0))[:k])
            sub = cost[np.ix_(cur_idx, old_idx)]
            a = np.maximum(counts[cur_idx], 1e-12)
            b = old_mass[old_idx]
            a, b = a / a.sum(), b / b.sum()
            scaled = sub / max(sub.max(), 1e-300)
            plan = ot.emd(a, b, scaled)
            # counts differ from frame to frame, so a big cluster also spills
            # mass onto its neighbours: score a pair by the share of the
            # smaller of the two masses it exchanges, cheaper pairing on ties
            share = plan / np.minimum(a[:, None], b[None, :])
            rows, cols = linear_sum_assignment(-(share - 1e-6 * scaled))
            for r, c in zip(rows, cols):
                labels[cur_idx[r]] = known_labels[old_idx[c]]
        matched = set(lb for lb in labels if lb is not None)
        for i in range(k):
            if labels[i] is None:
                labels[i] = self._new_label()
                self.appeared.append(labels[i])
            elif self.known[labels[i]][1] == 0:
                self.reappeared.append(labels[i])
        for lb in known_labels:
            if lb not in matched and self.known[lb][1] > 0:
                self.disappeared.append(lb)
                self.known[lb] = (self.known[lb][0], 0)
        for i, lb in enumerate(labels):
            self.known[lb] = (centers[i].copy(), int(counts[i]))
            if counts[i] > 0:
                self._mass[lb] = int(counts[i])
        if self.appeared or self.disappeared:
            log.debug("assembly: appeared %s, disappeared %s", self.appeared, self.disappeared)
        return labels

    def state(self):
        return {"next": self._next,
                "known": [[lb, c.tolist(), n, self._mass.get(lb, 0)] for lb, (c, n) in self.known.items()]}

    @classmethod
    def from_state(cls, state):
        asm = cls()
        asm._next = int(state["next"])
        for lb, c, n, mass in state["known"]:
            asm.known[int(lb)] = (np.asarray(c, dtype=float), int(n))
            asm._mass[int(lb)] = int(mass)
        return asm
