"""A data-flow simulator: moving gaussian blobs, some appearing and vanishing, for online runs.

``GET /points?start=ISO&stop=ISO`` -> ``{ts, points, columns}``: the points emitted between the
two instants. The flow is a pure function of time and seed, so two pulls of the same window
give the same points, and a run fed by it is reproducible offline.
"""
from __future__ import annotations

import datetime as dt
import math

import falcon
import numpy as np

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
MAX_WINDOW_SECONDS = 3600


class Flow:
    def __init__(self, seed: int = 0, rate: float = 50.0, blobs: int = 4, dim: int = 3,
                 spread: float = 0.4, period: float = 120.0):
        self.seed, self.rate, self.dim, self.spread, self.period = seed, rate, dim, spread, period
        rng = np.random.default_rng(seed)
        self.origins = rng.uniform(-8, 8, size=(blobs, dim))
        self.velocity = rng.uniform(-1, 1, size=(blobs, dim)) * 6 / period
        # Each blob lives for part of every period: clusters appear and vanish.
        self.phase = rng.uniform(0, 1, size=blobs)
        self.alive = np.where(np.arange(blobs) < 2, 1.0, rng.uniform(0.4, 0.8, size=blobs))
        self.columns = [f"x{i}" for i in range(dim)]

    def centers(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """Blob centres at a time, and which blobs are active then."""
        cycle = (seconds / self.period + self.phase) % 1.0
        active = cycle < self.alive
        swing = np.sin(2 * math.pi * seconds / self.period)
        return self.origins + self.velocity * self.period * swing / (2 * math.pi), active

    def points(self, start: dt.datetime, stop: dt.datetime) -> dict:
        first = math.ceil((start - EPOCH).total_seconds() * self.rate)
        last = math.ceil((stop - EPOCH).total_seconds() * self.rate)
        ticks = np.arange(first, last)
        points, stamps = [], []
        for tick in ticks:
            seconds = tick / self.rate
            centers, active = self.centers(seconds)
            rng = np.random.default_rng([self.seed, int(tick)])
            choices = np.flatnonzero(active)
            blob = choices[rng.integers(len(choices))]
            points.append(centers[blob] + rng.normal(0, self.spread, self.dim))
            stamps.append((EPOCH + dt.timedelta(seconds=seconds)).isoformat())
        return {"ts": stamps, "points": np.round(np.asarray(points).reshape(-1, self.dim), 6).tolist(),
                "columns": self.columns}


def _instant(req: falcon.Request, name: str) -> dt.datetime:
    value = req.get_param(name, required=True)
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise falcon.HTTPBadRequest(title="Bad instant", description=f"{name} is not an ISO 8601 time: {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


class Points:
    def __init__(self, flow: Flow):
        self.flow = flow

    def on_get(self, req, resp):
        start, stop = _instant(req, "start"), _instant(req, "stop")
        if stop < start or (stop - start).total_seconds() > MAX_WINDOW_SECONDS:
            raise falcon.HTTPBadRequest(title="Bad window",
                                        description=f"stop must follow start, within {MAX_WINDOW_SECONDS} s")
        resp.media = self.flow.points(start, stop)


def create_app(flow: Flow | None = None) -> falcon.App:
    app = falcon.App()
    app.add_route("/points", Points(flow or Flow()))
    return app
