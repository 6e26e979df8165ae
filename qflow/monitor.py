"""Worker heartbeats (``/workers``) and the reapers: runs whose worker died go back to their queue (or
fail after ``max_attempts``), and queued runs whose message is gone are enqueued again."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from collections import defaultdict

from qflow import routing, workspace
from tucluster import states
from tucluster.store import Database, utcnow
from tucluster.store import runs as run_store
from tucluster.store import workers as worker_store

log = logging.getLogger(__name__)


def release_stale_runs(database: Database, settings, enqueue, run_id: str | None = None) -> int:
    """Runs held by a worker silent for ``stale_after_seconds``: queued again and enqueued while they
    have attempts left, failed after the last. Returns how many changed. The API calls this too when
    it answers for such a run, so no run stays running after every worker is gone."""
    stale_before = utcnow() - dt.timedelta(seconds=settings.stale_after_seconds)
    released, failed = run_store.release_stale(database, stale_before, settings.max_attempts, run_id)
    for run in released:
        log.warning("run %s: worker %s stopped beating during attempt %d; queued again", run["_id"],
                    run.get("lostWorker"), run.get("attempts", 0))
        try:
            enqueue(run)
        except Exception as exc:  # queued without a message: the lost-message reaper sends it later
            log.warning("run %s queued again but not enqueued: %s", run["_id"], exc)
    if failed:
        log.warning("failed %d run(s) whose worker stopped beating on their last attempt", failed)
    return len(released) + failed


class Monitor:
    def __init__(self, database: Database, settings, name: str, info: dict, celery_app):
        self.database, self.settings, self.name, self.info = database, settings, name, info
        self.celery = celery_app
        self.next_sweep = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tucluster-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            worker_store.remove(self.database, self.name)
        except Exception as exc:  # shutting down: the database may already be gone
            log.warning("could not remove the heartbeat of %s: %s", self.name, exc)

    def enqueue(self, run: dict) -> None:
        routing.send(self.celery, self.settings, run)

    def beat_once(self) -> None:
        # Sweep before the first beat: once a worker shows in /workers, what it inherited is gone.
        if time.monotonic() >= self.next_sweep:
            self.next_sweep = time.monotonic() + self.settings.sweep_interval_seconds
            removed = workspace.sweep(self.database, self.settings.scratch_dir, self.settings.stale_after_seconds)
            if removed:
                log.warning("removed %d work copies of runs this host no longer holds: %s", len(removed),
                            ", ".join(removed))
        active = run_store.count_held(self.database, self.name)
        worker_store.beat(self.database, self.name, dict(self.info, active=active, pid=os.getpid(),
                                                         host=socket.gethostname()))
        release_stale_runs(self.database, self.settings, self.enqueue)
        self.requeue_lost_messages()

    def requeue_lost_messages(self) -> None:
        """Queued runs waiting longer than ``requeue_after_seconds`` in a queue with no message ready:
        their message is gone (a worker took it and died before the claim, or it was consumed by a
        worker of another deployment), so they are enqueued again, and failed after ``max_attempts``.

        With late acknowledgement and a prefetch of one per slot, a worker holds only the messages it
        is executing (their runs are no longer queued), so a queued run's message is ready or gone."""
        queued_before = utcnow() - dt.timedelta(seconds=self.settings.requeue_after_seconds)
        by_queue = defaultdict(list)
        for run in run_store.waiting_since(self.database, queued_before):
            try:
                by_queue[routing.run_queue(self.settings, run)].append(run["_id"])
            except KeyError as exc:  # a run document no queue fits must not stop the reaper for the others
                log.warning("queued run %s names no %s: not enqueued again", run["_id"], exc)
        for queue, run_ids in by_queue.items():
            if routing.ready_messages(self.celery, queue):
                continue
            for run in run_store.requeue_lost(self.database, queued_before, run_ids):
                if run["enqueues"] > self.settings.max_attempts:
                    error = (f"its message was lost {run['enqueues'] - 1} times while it was queued; "
                             "not enqueued again")
                    run_store.fail(self.database, run["_id"], states.QUEUED, error)
                    log.warning("run %s failed: %s", run["_id"], error)
                    continue
                log.warning("run %s queued since %s with no message in %s: enqueued again", run["_id"],
                            run["queuedAt"], queue)
                self.enqueue(run)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception as exc:  # the database may be briefly away; try again next beat
                log.warning("heartbeat failed: %s", exc)
            self._stop.wait(self.settings.heartbeat_seconds)
