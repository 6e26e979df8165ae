"""Handing runs to the workers: a task sent by name over the broker, carrying only the run id.

The API never imports the task code; ``qflow.engines.queue_name`` is the one source of queue names.
"""
from __future__ import annotations

from qflow.engines import queue_name
from tucluster.settings import Settings

TASK_NAMES = {"simulation": "qflow.run_simulation", "clustering": "qflow.run_clustering"}


def run_queue(settings: Settings, run: dict) -> str:
    if run["kind"] == "simulation":
        return queue_name(settings, run["engine"])
    return settings.queue("clustering")


class Dispatcher:
    def __init__(self, settings: Settings, celery_app=None):
        self.settings = settings
        self._celery = celery_app

    @property
    def celery(self):
        if self._celery is None:
            from qflow.app import make_celery

            self._celery = make_celery(self.settings)
        return self._celery

    def enqueue(self, run: dict) -> None:
        self.celery.send_task(TASK_NAMES[run["kind"]], args=[run["_id"]], task_id=run["taskId"],
                              queue=run_queue(self.settings, run))

    def broker_ok(self) -> bool:
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
            return True
        except Exception:  # any transport error means "not reachable" for a health report
            return False
