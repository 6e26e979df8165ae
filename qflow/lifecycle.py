"""What every run kind does on a worker: claim the run atomically and write its log."""
from __future__ import annotations

import datetime as dt
import logging

from tucluster import states
from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import logs as log_store
from tucluster.store import runs as run_store

log = logging.getLogger(__name__)


class RunLog:
    """Appends a run's output to the logs collection as it comes, tracking the offset locally."""

    def __init__(self, database: Database, run_id: str):
        self.database, self.run_id = database, run_id
        self.offset = log_store.length(database, run_id)

    def write(self, text: str) -> None:
        self.offset = log_store.append(self.database, self.run_id, self.offset, text)

    def note(self, message: str) -> None:
        """A line from the platform itself, marked so it is not mistaken for engine output."""
        log.info("run %s: %s", self.run_id, message)
        self.write(f"[tucluster] {message}\n")


def claim(database: Database, settings: Settings, run_id: str, worker: str) -> dict | None:
    """queued -> running atomically; or take over a running run whose worker died."""
    now = utcnow()
    changes = {"state": states.RUNNING, "started": now, "heartbeat": now, "worker": worker}
    if run_store.transition(database, run_id, states.QUEUED, dict(changes, attempts=1)):
        return run_store.get(database, run_id)
    stale_before = now - dt.timedelta(seconds=settings.stale_after_seconds)
    if run_store.take_over(database, run_id, stale_before, changes):
        return run_store.get(database, run_id)
    return None
