"""Handing runs to the workers: a task sent by name over the broker, carrying only the run id.

The API never imports the task code; ``qflow.routing`` names every task and queue.
"""
from __future__ import annotations

from qflow import routing
from tucluster.settings import Settings


class Dispatcher:
    """Sends runs' tasks; the queue names carry the deployment identity, read from the database on first
    use (``qflow.routing.bound``)."""

    def __init__(self, settings: Settings, database=None, celery_app=None):
        self.settings, self.database = settings, database
        self._celery = celery_app

    @property
    def celery(self):
        if self._celery is None:
            from qflow.app import make_celery

            if not self.settings.queue_prefix:
                self.settings = routing.bound(self.settings, self.database)
            self._celery = make_celery(self.settings)
        return self._celery

    def enqueue(self, run: dict) -> None:
        routing.send(self.celery, self.settings, run)

    def queue_of(self, run: dict) -> str:
        self.celery  # noqa: B018  (binds the queue names to the deployment)
        return routing.run_queue(self.settings, run)

    def broker_ok(self) -> bool:
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
            return True
        except Exception:  # any transport error means "not reachable" for a health report
            return False
