"""What every run kind does on a worker: claim the run atomically, write its log, and wait out a
database that stalls instead of losing the run."""
from __future__ import annotations

import datetime as dt
import logging
import time

import pymongo.errors

from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import logs as log_store
from tucluster.store import runs as run_store
from tucluster.store import workers as worker_store

log = logging.getLogger(__name__)
RELEASED = "released"
FOREIGN = "foreign"
# What a stalled, restarting or unreachable database raises: worth waiting out.
TRANSIENT = (pymongo.errors.ConnectionFailure,)


def patiently(call, settings: Settings, what: str):
    """``call()``, retried with back-off while the database is unreachable, for up to
    ``settings.db_patience_seconds``; then the error is raised."""
    deadline = time.monotonic() + settings.db_patience_seconds
    delay = 0.25
    while True:
        try:
            return call()
        except TRANSIENT as exc:
            if time.monotonic() + delay > deadline:
                raise
            log.warning("database unavailable while %s (%s); retrying in %.1f s", what, exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class RunLog:
    """Appends a run's output to the logs collection as it comes, tracking the offset locally.

    Text that cannot be stored while the database is away is kept and stored with the next write."""

    def __init__(self, database: Database, settings: Settings, run_id: str):
        self.database, self.run_id = database, run_id
        self.offset = patiently(lambda: log_store.length(database, run_id), settings, f"reading the log of {run_id}")
        self.pending = ""

    def write(self, text: str) -> None:
        self.pending += text
        try:
            self._flush()
        except TRANSIENT as exc:
            log.warning("log of run %s kept in memory (%d characters): %s", self.run_id, len(self.pending), exc)

    def _flush(self) -> None:
        try:
            self.offset = log_store.append(self.database, self.run_id, self.offset, self.pending)
        except pymongo.errors.DuplicateKeyError:
            # An earlier write landed although its answer was lost: store only what follows it.
            stored = log_store.length(self.database, self.run_id)
            self.pending, self.offset = self.pending[stored - self.offset:], stored
            self.offset = log_store.append(self.database, self.run_id, self.offset, self.pending)
        self.pending = ""

    def flush(self, settings: Settings) -> None:
        """Store what is still kept, waiting for the database if need be."""
        if self.pending:
            patiently(self._flush, settings, f"writing the log of {self.run_id}")

    def note(self, message: str) -> None:
        """A line from the platform itself, marked so it is not mistaken for engine output."""
        log.info("run %s: %s", self.run_id, message)
        self.write(f"[tucluster] {message}\n")


def claim(database: Database, settings: Settings, run_id: str, worker: str) -> dict | None:
    """queued -> running atomically; or take over a running run whose worker died. The database is
    waited for: a message is acknowledged only once the run document says who owns the run."""
    return patiently(lambda: _claim(database, settings, run_id, worker), settings, f"claiming run {run_id}")


def _claim(database: Database, settings: Settings, run_id: str, worker: str) -> dict | None:
    now = utcnow()
    changes = {"started": now, "heartbeat": now, "worker": worker}
    if run_store.claim(database, run_id, changes):
        return run_store.get(database, run_id)
    stale_before = now - dt.timedelta(seconds=settings.stale_after_seconds)
    if run_store.take_over(database, run_id, stale_before, settings.max_attempts, changes):
        return run_store.get(database, run_id)
    return None


def must_release(current: dict | None) -> bool:
    """This run's worker is stopping (``qflow.tasks``): hand the run back."""
    return bool(current and current.get("releaseRequested"))


def release(database: Database, settings: Settings, run_id: str, worker: str, run_log: RunLog, expected) -> str:
    """Put a run this worker holds back in its queue, the attempt not counted; the task requeues its
    message (``qflow.tasks``)."""
    run_log.note(f"worker {worker} is stopping: the run goes back to its queue")
    run_log.flush(settings)
    patiently(lambda: run_store.release(database, run_id, worker, expected), settings, f"releasing run {run_id}")
    return RELEASED


def not_taken(database: Database, settings: Settings, run_id: str, worker: str) -> str | None:
    """Why a message's run was not claimed, logged: it is held elsewhere or ended (the message is done
    with), or the database does not hold it at all (FOREIGN: a message of another deployment sharing
    these queues, rejected loudly and counted on the worker)."""
    current = patiently(lambda: run_store.get(database, run_id, {"state": 1, "worker": 1}), settings,
                        f"reading run {run_id}")
    if current is not None:
        log.info("run %s not taken: it is %s (worker %s)", run_id, current["state"], current.get("worker"))
        return None
    log.warning("message for run %s, which this deployment's database does not hold: rejected (do two "
                "deployments share the queue prefix %r?)", run_id, settings.queue_prefix)
    patiently(lambda: worker_store.count_foreign(database, worker), settings, "counting a foreign message")
    return FOREIGN
