"""Worker heartbeats (``/workers``) and the reaper that fails runs whose worker died."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading

from tucluster.store import Database, utcnow
from tucluster.store import runs as run_store
from tucluster.store import workers as worker_store

log = logging.getLogger(__name__)


class Monitor:
    def __init__(self, database: Database, settings, name: str, info: dict):
        self.database, self.settings, self.name, self.info = database, settings, name, info
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

    def beat_once(self) -> None:
        active = run_store.count_held(self.database, self.name)
        worker_store.beat(self.database, self.name, dict(self.info, active=active, pid=os.getpid(),
                                                         host=socket.gethostname()))
        stale_before = utcnow() - dt.timedelta(seconds=self.settings.stale_after_seconds)
        reaped = run_store.fail_stale(self.database, stale_before)
        if reaped:
            log.warning("failed %d run(s) whose worker stopped beating", reaped)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception as exc:  # the database may be briefly away; try again next beat
                log.warning("heartbeat failed: %s", exc)
            self._stop.wait(self.settings.heartbeat_seconds)
