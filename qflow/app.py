"""The Celery application, configured from the same Settings as the API.

``app`` exists at import (the ``celery -A qflow.app`` convention needs it) but reads no
configuration and opens no connection until it is first used or ``configure`` is called.
"""
from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from qflow import engines, routing
from tucluster import settings as settings_module
from tucluster.settings import Settings
from tucluster.store import Database


def celery_config(settings: Settings) -> dict:
    # One direct exchange, each queue bound by its own name: a message reaches exactly one queue.
    exchange = Exchange(settings.queue("tucluster"), type="direct")
    names = routing.worker_queues(settings) + [settings.queue("default")]
    queues = [Queue(name, exchange, routing_key=name) for name in names]
    return {
        "broker_url": settings.effective_broker_url,
        "broker_connection_timeout": 3,
        "broker_connection_retry_on_startup": True,
        "broker_heartbeat": 30,
        "task_default_queue": settings.queue("default"),
        "task_default_exchange": exchange.name,
        "task_default_routing_key": settings.queue("default"),
        "task_queues": queues,
        "task_create_missing_queues": True,
        # Run state lives in MongoDB; Celery results are not needed.
        "task_ignore_result": True,
        # A worker that dies mid-run must not lose the message silently: redeliver, and let the
        # run document decide (a live run is not taken twice).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_publish_retry": True,
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                      "interval_max": 1},
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "broker_transport_options": _transport_options(settings),
    }


def _transport_options(settings: Settings) -> dict:
    url = settings.effective_broker_url
    if url.startswith("filesystem://"):
        import os

        spool = os.path.join(settings.data_dir, "broker")
        for sub in ("out", "processed"):
            os.makedirs(os.path.join(spool, sub), exist_ok=True)
        return {"data_folder_in": os.path.join(spool, "out"), "data_folder_out": os.path.join(spool, "out"),
                "data_folder_processed": os.path.join(spool, "processed")}
    return {"max_retries": 2}


class QflowCelery(Celery):
    settings: Settings | None = None
    _database: Database | None = None
    _engines: dict | None = None

    def on_configure(self):
        # Called lazily by Celery the first time configuration is read.
        if self.settings is None:
            configure(self, settings_module.load())

    @property
    def database(self) -> Database:
        if self._database is None:
            self.loader  # noqa: B018  (forces on_configure when used outside a worker)
            self._database = Database(self.settings)
        return self._database

    @property
    def engines(self) -> dict:
        """The engines this worker serves, built once from its settings."""
        if self._engines is None:
            self.loader  # noqa: B018  (as for database)
            self._engines = engines.load_all(self.settings.engines)
        return self._engines


def configure(celery_app: QflowCelery, settings: Settings) -> QflowCelery:
    celery_app.settings = settings
    celery_app._database = None
    celery_app._engines = None
    celery_app.conf.update(celery_config(settings))
    return celery_app


def make_celery(settings: Settings) -> QflowCelery:
    """A fresh, configured app (clients such as the API, and tests)."""
    return configure(QflowCelery("qflow", set_as_current=False), settings)


app = QflowCelery("qflow", include=["qflow.tasks"])
