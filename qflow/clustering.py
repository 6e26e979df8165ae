"""Execute a clustering run: load its data, iterate, publish centroid frames with stable labels.

Between two iterations an online run reads its controls (pause, play, stop, cancel,
reconfigure: at most every CONTROL_PERIOD seconds), takes pushed points and pulls its source.
Control parameters (``qflow.algorithms.control.CONTROL``):

- ``iterPerData``: each arrival of new points grants that many iterations; 0 iterates
  continuously. Batch runs iterate until convergence or ``iter``.
- ``iterFreq``: at most that many iterations per second (0: no limit).
- ``frameSize``: the window keeps the last ``frameSize`` points (0: all).
- ``timeout``: an online run finishes after that many seconds without new points (0: never).
- ``dataPerIter``: for an algorithm without its own, one iteration sees a random sample of that
  many points of the window (streaming: consumes at most that many new points).
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np

from qflow.algorithms import ALGORITHMS, Assembly, build, split
from qflow.feeds import Pushes, Source, Window
from qflow.lifecycle import RELEASED, RunLog, claim, must_release, not_taken, patiently, release
from tucluster import states
from tucluster.store import Database, utcnow
from tucluster.store import datasets as dataset_store
from tucluster.store import frames as frame_store
from tucluster.store import labels as label_store
from tucluster.store import runs as run_store

log = logging.getLogger(__name__)
CONTROL_PERIOD = 0.2
PUBLISH_PERIOD = 0.25


def _clean(value):
    """JSON-able figures: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


class ClusteringRun:
    def __init__(self, database: Database, settings, run: dict, run_log: RunLog):
        self.database, self.settings, self.run, self.run_log = database, settings, run, run_log
        self.run_id, self.worker = run["_id"], run["worker"]
        self.name, params, self.control = split(run["algorithm"])
        self.algo = build(self.name, params, run.get("seed"))
        self.assembly = Assembly()
        self.window = Window()
        self.columns = list(run.get("variables") or [])
        self.pushes = Pushes(database, self.run_id) if run.get("online") else None
        source = run.get("source")
        self.source = Source(source["url"], source["interval"], run.get("variables"), run_log) if source else None
        self.rng = np.random.default_rng(run.get("seed"))
        self.control_seq = run.get("controlSeq", 0)
        self.frame, self.pushed, self.last_data = 0, 0, None
        self.started = time.monotonic()
        self.run_started = utcnow()
        self.phase = None

    # -- data ---------------------------------------------------------------
    def load(self) -> None:
        self.set_phase("Initializing")
        if self.run.get("dataset"):
            if self.algo.params.get("space") == "dtw":
                points = dataset_store.series_matrix(self.database, self.run["dataset"], self.columns[0])
            else:
                points = dataset_store.numeric_matrix(self.database, self.run["dataset"], self.columns)
            self.window.extend(points)
            self.run_log.note(f"loaded {len(points)} rows of {self.run['dataset']} ({', '.join(self.columns)})")
        self.set_phase("Ready")

    def take_new_points(self, now: float, pushes_read: bool, until=None) -> int:
        """Pushed points (all peeked, or those stored by ``until``) and, without ``until``, the source's."""
        batches = self.pushes.take(until) if self.pushes and pushes_read else []
        batches += self.source.poll(now) if self.source and until is None else []
        if self.source and self.source.columns and not self.columns:
            self.columns = self.source.columns
            self._save({"columns": self.columns})
        arrived = 0
        for batch in batches:
            self.window.extend(batch)
            arrived += len(batch)
        if arrived:
            self.pushed += arrived
            self.last_data = utcnow()
            self.window.trim(self.control["frameSize"])
        return arrived

    # -- iterations -----------------------------------------------------------
    def iterate(self) -> None:
        data, new_from = self.window.points, self.window.consumed
        sample = self.control["dataPerIter"] if "dataPerIter" not in ALGORITHMS[self.name] else 0
        if self.name == "streaming":
            stop = len(data) if not sample else min(len(data), new_from + sample)
            data = data[:stop]
        elif sample and sample < len(data):
            data, new_from = data[self.rng.choice(len(data), sample, replace=False)], 0
        self.algo.iterate(data, new_from)
        self.window.consumed = len(data) if self.name == "streaming" else len(self.window)

    def drain(self, now: float, until) -> None:
        """Before a pause or a stop takes effect: the points pushed until then are iterated on and
        published, so every push acknowledged before it is in the result."""
        if self.take_new_points(now, True, until):
            for _ in range(self.control["iterPerData"] or 1):
                self.iterate()
            self.publish()

    def batch_done(self) -> bool:
        if self.name == "streaming":
            return self.window.consumed >= len(self.window)
        return self.algo.converged or self.algo.figures["iterations"] >= self.algo.params.get("iter", 1)

    # -- publishing -----------------------------------------------------------
    def _save(self, changes: dict) -> None:
        """Changes to the run while this worker holds it (not once another attempt took it)."""
        run_store.transition(self.database, self.run_id, states.HELD, changes, self.worker)

    def set_phase(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            self._save({"phase": phase, "heartbeat": utcnow()})

    def figures(self) -> dict:
        figures = dict(self.algo.figures, pushedData=self.pushed,
                       lastDataTime=self.last_data.isoformat() if self.last_data else None,
                       duration=round(time.monotonic() - self.started, 3))
        return _clean(figures)

    def publish(self) -> None:
        centers, counts = self.algo.centers, self.algo.counts
        labels = self.assembly.coalesce(centers, counts)
        self.labels = labels
        listed = [{"label": int(label), "center": _clean(centers[i].tolist()), "count": int(counts[i])}
                  for i, label in enumerate(labels)]
        listed += [{"label": int(label), "center": _clean(np.asarray(center).tolist()), "count": 0}
                   for label, (center, count) in self.assembly.known.items() if count == 0 and label not in labels]
        self.frame += 1
        snapshot = {"columns": self.columns, "centers": sorted(listed, key=lambda c: c["label"]),
                    "iteration": int(self.algo.figures["iterations"]), "time": utcnow()}
        frame_store.add(self.database, self.run_id, dict(snapshot, frame=self.frame,
                                                         appeared=self.assembly.appeared,
                                                         disappeared=self.assembly.disappeared))
        progress = 0.0
        if not self.run.get("online") and self.name != "streaming":
            progress = min(1.0, self.algo.figures["iterations"] / max(self.algo.params.get("iter", 1), 1))
        self._save({"centroids": snapshot, "figures": self.figures(),
                                                      "progress": progress, "frame": self.frame,
                                                      "heartbeat": utcnow()})

    def store_labels(self) -> None:
        if len(self.algo.centers) == 0 or not len(self.window):
            return
        index = self.algo.predict(self.window.points)
        stable = np.asarray(self.labels)[index].tolist()
        ids = None
        if self.run.get("identifier") and self.run.get("dataset") and not self.pushed:
            ids = dataset_store.column_values(self.database, self.run["dataset"], self.run["identifier"])
        label_store.replace(self.database, self.run_id, stable, ids)

    # -- the loop -------------------------------------------------------------
    def read_controls(self) -> dict:
        current = run_store.get(self.database, self.run_id, {"state": 1, "cancelRequested": 1, "stopRequested": 1,
                                                             "algorithm": 1, "controlSeq": 1, "worker": 1,
                                                             "releaseRequested": 1, "pausedAt": 1,
                                                             "stopRequestedAt": 1})
        if current and current.get("worker") != self.worker:
            self.run_log.note("another attempt holds this run now: stopping")
            return {"state": "gone"}
        if current and current.get("controlSeq", 0) != self.control_seq:
            self.control_seq = current["controlSeq"]
            _, params, self.control = split(current["algorithm"])
            self.algo.reconfigure(params)
            self.run_log.note(f"reconfigured: {current['algorithm']}")
        self._save({"heartbeat": utcnow()})
        return current or {"state": "gone"}

    def loop(self) -> str:
        online = bool(self.run.get("online"))
        # An online run on a dataset clusters it at once, as if it had just arrived.
        first = (self.control["iterPerData"] or math.inf) if online and len(self.window) else 0
        budget, next_control, last_publish, last_iteration = (first if online else 1), 0.0, 0.0, 0.0
        controls = {"state": states.RUNNING}
        while True:
            now = time.monotonic()
            pushes_read = now >= next_control and self.pushes is not None
            if now >= next_control:
                if pushes_read:
                    self.pushes.peek()  # before the state: see Pushes
                controls, next_control = self.read_controls(), now + CONTROL_PERIOD
                if must_release(controls) and controls["state"] in states.HELD:
                    return RELEASED
                if controls.get("cancelRequested") or controls["state"] not in states.HELD:
                    return states.CANCELLED
                if controls.get("stopRequested"):
                    if pushes_read:
                        self.drain(now, controls.get("stopRequestedAt"))
                    return states.SUCCEEDED
                if controls["state"] == states.PAUSED and pushes_read:
                    self.drain(now, controls.get("pausedAt"))
            if controls["state"] == states.PAUSED:
                self.set_phase("Idle")
                time.sleep(0.05)
                continue
            if online:
                arrived = self.take_new_points(now, pushes_read)
                if arrived:
                    budget = self.control["iterPerData"] or math.inf
                elif self.control["iterPerData"] == 0 and len(self.window):
                    budget = math.inf
                idle_since = self.last_data or self.run_started
                if self.control["timeout"] and (utcnow() - idle_since).total_seconds() > self.control["timeout"]:
                    self.run_log.note(f"no new data for {self.control['timeout']} s: finishing")
                    return states.SUCCEEDED
            frequency = self.control["iterFreq"]
            if budget > 0 and len(self.window) and (not frequency or now - last_iteration >= 1.0 / frequency):
                self.set_phase("Running")
                self.iterate()
                last_iteration = now
                if online:
                    budget -= 1
                if now - last_publish >= PUBLISH_PERIOD or (online and budget <= 0):
                    self.publish()
                    last_publish = now
                if not online and self.batch_done():
                    return states.SUCCEEDED
            else:
                if online and self.algo.figures["iterations"]:
                    self.set_phase("Idle")
                time.sleep(0.02)


def execute(database: Database, settings, run_id: str, worker: str) -> str | None:
    run = claim(database, settings, run_id, worker)
    if run is None:
        return not_taken(database, settings, run_id, worker)
    run_log = RunLog(database, settings, run_id)
    run_log.note(f"clustering run {run_id} started on {worker}: {run['algorithm']}")
    try:
        job = ClusteringRun(database, settings, run, run_log)
        job.load()
        outcome = job.loop()
        if outcome == RELEASED:
            return release(database, settings, run_id, worker, run_log, states.HELD)
        if outcome == states.SUCCEEDED and not job.algo.figures["iterations"] and len(job.window):
            job.iterate()  # stopped before its first iteration: its result still covers its data
        if job.algo.figures["iterations"]:
            job.publish()
            job.store_labels()
        changes = {"finished": utcnow(), "phase": "Finished", "figures": job.figures()}
        if outcome == states.SUCCEEDED:
            changes["progress"] = 1.0
        else:
            changes["error"] = "cancelled while running"
        patiently(lambda: run_store.transition(database, run_id, states.HELD, dict(changes, state=outcome), worker),
                  settings, f"ending run {run_id}")
        run_log.note(f"run {outcome} after {job.algo.figures['iterations']} iteration(s)")
        return outcome
    except Exception as exc:
        log.exception("clustering run %s failed", run_id)
        run_log.note(f"error: {exc}")
        failed = {"state": states.FAILED, "finished": utcnow(), "phase": "Finished",
                  "error": f"{type(exc).__name__}: {exc}"}
        patiently(lambda: run_store.transition(database, run_id, states.HELD, failed, worker), settings,
                  f"failing run {run_id}")
        return states.FAILED
