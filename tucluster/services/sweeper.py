"""Sweeping what interrupted work leaves behind, after a grace period: spool files and GridFS chunks
of uploads cut off mid-body, and result files no run lists. The API process sweeps at start and
every ``sweep_interval_seconds`` (workers sweep their own scratch, ``qflow.workspace.sweep``)."""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time

from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import archives as archive_store
from tucluster.store import results as result_store
from tucluster.store import uploads

log = logging.getLogger(__name__)


def spool_dir(settings: Settings) -> str:
    return os.path.join(settings.data_dir, "uploads")


def sweep_spool(directory: str, grace_seconds: float) -> int:
    """Spool files not written to for ``grace_seconds`` (an upload still arriving keeps writing)."""
    if not os.path.isdir(directory):
        return 0
    removed, before = 0, time.time() - grace_seconds
    for entry in os.scandir(directory):
        if entry.is_file() and entry.name.startswith("upload-") and entry.stat().st_mtime < before:
            os.unlink(entry.path)
            removed += 1
    return removed


def sweep(database: Database, settings: Settings, grace_seconds: float | None = None) -> dict:
    """One sweep; what was removed, by kind."""
    grace = settings.sweep_grace_seconds if grace_seconds is None else grace_seconds
    before = utcnow() - dt.timedelta(seconds=grace)
    removed = {"spoolFiles": sweep_spool(spool_dir(settings), grace), "uploadChunks": 0, "resultFiles": 0}
    for bucket in (archive_store.BUCKET, result_store.BUCKET):
        for file_id in uploads.abandoned(database, bucket, before):
            uploads.discard(database, bucket, file_id)
            removed["uploadChunks"] += 1
    unreferenced = result_store.unreferenced(database, before)
    result_store.delete(database, unreferenced)
    removed["resultFiles"] = len(unreferenced)
    if any(removed.values()):
        log.warning("swept what interrupted work left: %s", removed)
    return removed


def start(database: Database, settings: Settings) -> threading.Thread:
    """Sweep now and every ``sweep_interval_seconds`` on a daemon thread."""
    def loop():
        while True:
            try:
                sweep(database, settings)
            except Exception as exc:  # the database may be away: sweep again at the next interval
                log.warning("sweep failed: %s", exc)
            time.sleep(settings.sweep_interval_seconds)

    thread = threading.Thread(target=loop, name="tucluster-sweeper", daemon=True)
    thread.start()
    return thread
