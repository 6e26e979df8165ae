"""Thin Celery tasks: each takes a run id and hands over to plain functions."""
from __future__ import annotations

import logging

from celery import signals
from celery.exceptions import Reject

from qflow import clustering, engines, lifecycle, monitor, simulation
from qflow.app import app
from tucluster.store import runs as run_store

log = logging.getLogger(__name__)
_monitor: monitor.Monitor | None = None


def _requeued_unless_owned(execute):
    """The message is acknowledged once the run document says who owns the run. It goes back to its
    queue when the database stayed away for the whole patience, or when the worker handed the run
    back because it is stopping: the run is never left queued with no message."""
    try:
        outcome = execute()
    except lifecycle.TRANSIENT as exc:
        log.error("database unreachable, message requeued: %s", exc)
        raise Reject(str(exc), requeue=True) from exc
    if outcome == lifecycle.RELEASED:
        raise Reject("worker stopping: run released", requeue=True)  # for another worker
    if outcome == lifecycle.FOREIGN:
        raise Reject("the run is not in this deployment's database", requeue=False)
    return outcome


@app.task(name="qflow.run_simulation", bind=True)
def run_simulation(self, run_id: str) -> str | None:
    return _requeued_unless_owned(lambda: simulation.execute(
        self.app.database, self.app.settings, self.app.engines, run_id, self.request.hostname))


@app.task(name="qflow.run_clustering", bind=True)
def run_clustering(self, run_id: str) -> str | None:
    return _requeued_unless_owned(lambda: clustering.execute(
        self.app.database, self.app.settings, run_id, self.request.hostname))


@signals.worker_shutting_down.connect
def _ask_runs_to_release(sender, **_):
    # A warm shutdown (SIGTERM to the worker's main process, as `tucluster up` sends) would wait for
    # every run to finish: its runs are handed back to their queue instead. A pool process killed
    # outright (SIGTERM to the whole process group) takes its engine with it, and its runs are
    # queued again once their heartbeat is stale.
    try:
        asked = run_store.request_release(app.database, sender)
    except Exception as exc:  # the database may be away: the runs are then given back when found stale
        log.warning("could not ask the runs of %s to go back to their queue: %s", sender, exc)
        return
    if asked:
        log.warning("worker %s stopping: %d run(s) go back to their queue", sender, asked)


@signals.worker_ready.connect
def _start_monitor(sender, **_):
    global _monitor
    celery_app = sender.app
    queues = sorted(celery_app.amqp.queues.consume_from or celery_app.amqp.queues)
    prefix = celery_app.settings.queue(engines.QUEUE_PREFIX)
    info = {"queues": queues, "engines": sorted(q[len(prefix):] for q in queues if q.startswith(prefix)),
            "concurrency": sender.controller.concurrency}
    # The monitor's first beat also sweeps the work copies earlier workers of this host left behind.
    _monitor = monitor.Monitor(celery_app.database, celery_app.settings, sender.hostname, info, celery_app)
    _monitor.start()
    log.info("worker %s ready on queues %s", sender.hostname, ", ".join(queues))


@signals.worker_shutdown.connect
def _stop_monitor(**_):
    if _monitor is not None:
        _monitor.stop()
