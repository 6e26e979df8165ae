"""Where an online clustering run's points come from: pushes through the API and a flow source."""
from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import requests

from tucluster.store import Database, utcnow
from tucluster.store import pushes as push_store

log = logging.getLogger(__name__)


class Window:
    """The points an algorithm sees: everything, or the last ``frame_size`` (a ring buffer)."""

    def __init__(self, points: np.ndarray | None = None):
        self.points = points
        self.consumed = 0  # rows already handed to the algorithm as new

    def __len__(self) -> int:
        return 0 if self.points is None else len(self.points)

    def extend(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        self.points = batch if self.points is None else np.concatenate([self.points, batch])

    def trim(self, frame_size: int) -> None:
        if frame_size and len(self) > frame_size:
            dropped = len(self) - frame_size
            self.points = self.points[dropped:]
            self.consumed = max(0, self.consumed - dropped)


class Pushes:
    """Pushed batches, read in two steps: ``peek`` before the run's state is read, ``take`` after.

    A push stored after a pause was answered is then always seen with the paused state, so a
    paused run never takes it; it is taken after play. A pause or a stop first takes the pushes
    stored before it (``take(until=...)``), so every push acknowledged before it is in the result.
    """

    def __init__(self, database: Database, run_id: str):
        self.database, self.run_id, self.seq = database, run_id, 0
        self._peeked: list = []

    def peek(self) -> None:
        self._peeked = push_store.since(self.database, self.run_id, self.seq)

    def take(self, until=None) -> list[np.ndarray]:
        """The peeked batches in order; with ``until``, only those stored by then."""
        taken = []
        for seq, at, points in self._peeked:
            if until is not None and at > until:
                break
            taken.append(points)
            self.seq = max(self.seq, seq)
        self._peeked = self._peeked[len(taken):]
        return taken


class Source:
    """Pulls ``GET url?start=&stop=`` -> ``{ts, points, columns}`` every ``interval`` seconds."""

    def __init__(self, url: str, interval: float, variables: list[str] | None, run_log):
        self.url, self.interval, self.variables, self.run_log = url, interval, variables, run_log
        self.last_stop = utcnow()
        self.next_pull = 0.0
        self.columns: list[str] | None = None
        self.failures = 0

    def poll(self, now: float) -> list[np.ndarray]:
        if now < self.next_pull:
            return []
        self.next_pull = now + self.interval
        stop = utcnow()
        params = {"start": _iso(self.last_stop), "stop": _iso(stop)}
        try:
            response = requests.get(self.url, params=params, timeout=max(self.interval * 4, 5))
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            self.failures += 1
            if self.failures in (1, 10, 100):
                self.run_log.note(f"source {self.url} failed ({self.failures}x): {exc}")
            return []
        self.failures = 0
        self.last_stop = stop
        return [self._select(body)] if body.get("points") else []

    def _select(self, body: dict) -> np.ndarray:
        points = np.asarray(body["points"], dtype=np.float64)
        columns = list(body.get("columns") or [f"x{i}" for i in range(points.shape[1])])
        if self.columns is None:
            self.columns = self.variables or columns
            missing = [name for name in self.columns if name not in columns]
            if missing:
                raise ValueError(f"the source has no column(s) {', '.join(missing)}; it has {', '.join(columns)}")
        return points[:, [columns.index(name) for name in self.columns]]


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
