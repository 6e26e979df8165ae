"""Thin Celery tasks: each takes a run id and hands over to plain functions."""
from __future__ import annotations

import logging

from celery import signals
from celery.exceptions import Reject

from qflow import clustering, engines, monitor, simulation, workspace
from qflow.app import app
from qflow.lifecycle import TRANSIENT

log = logging.getLogger(__name__)
_monitor: monitor.Monitor | None = None


def _requeued_if_the_database_is_away(execute):
    """A run the database stayed away from for the whole patience goes back to its queue: its message
    is requeued, not acknowledged, so the run is never left queued with no message."""
    try:
        return execute()
    except TRANSIENT as exc:
        log.error("database unreachable, message requeued: %s", exc)
        raise Reject(str(exc), requeue=True) from exc


@app.task(name="qflow.run_simulation", bind=True)
def run_simulation(self, run_id: str) -> str | None:
    return _requeued_if_the_database_is_away(lambda: simulation.execute(
        self.app.database, self.app.settings, self.app.engines, run_id, self.request.hostname))


@app.task(name="qflow.run_clustering", bind=True)
def run_clustering(self, run_id: str) -> str | None:
    return _requeued_if_the_database_is_away(lambda: clustering.execute(
        self.app.database, self.app.settings, run_id, self.request.hostname))


@signals.worker_ready.connect
def _start_monitor(sender, **_):
    global _monitor
    celery_app = sender.app
    queues = sorted(celery_app.amqp.queues.consume_from or celery_app.amqp.queues)
    prefix = celery_app.settings.queue(engines.QUEUE_PREFIX)
    info = {"queues": queues, "engines": sorted(q[len(prefix):] for q in queues if q.startswith(prefix)),
            "concurrency": sender.controller.concurrency}
    settings = celery_app.settings
    try:
        removed = workspace.sweep(celery_app.database, settings.scratch_dir, settings.stale_after_seconds)
    except Exception as exc:  # the database may be away at start: the copies are swept at the next start
        log.warning("could not sweep %s: %s", settings.scratch_dir, exc)
        removed = []
    if removed:
        log.warning("removed %d work copies left by runs no live worker holds: %s", len(removed), ", ".join(removed))
    _monitor = monitor.Monitor(celery_app.database, settings, sender.hostname, info, celery_app)
    _monitor.start()
    log.info("worker %s ready on queues %s", sender.hostname, ", ".join(queues))


@signals.worker_shutdown.connect
def _stop_monitor(**_):
    if _monitor is not None:
        _monitor.stop()
