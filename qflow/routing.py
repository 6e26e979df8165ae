"""Where a run's task goes: its task name and queue, named once for the API and the workers.

A task is sent by name with the run id as its only argument and the task id the run document holds.
Queue names start with the deployment's identity (``bound``), so deployments sharing a broker keep
apart; an explicit ``queue_prefix`` setting replaces it.
"""
from __future__ import annotations

from qflow.engines import queue_name
from tucluster.store import deployment

TASK_NAMES = {"simulation": "qflow.run_simulation", "clustering": "qflow.run_clustering"}
# Online clustering runs hold a worker slot until stopped: their own queue, so they never starve
# batch work (`tucluster up` serves it with a worker of its own).
BATCH_CLUSTERING, ONLINE_CLUSTERING = "clustering", "clustering.online"


def bound(settings, database):
    """``settings`` with the queue prefix of the deployment ``database`` belongs to, unless one is set."""
    if settings.queue_prefix:
        return settings
    return settings.replace(queue_prefix=f"tc-{deployment.identity(database)}.")


def run_queue(settings, run: dict) -> str:
    if run["kind"] == "simulation":
        return queue_name(settings, run["engine"])
    return settings.queue(ONLINE_CLUSTERING if run.get("online") else BATCH_CLUSTERING)


def worker_queues(settings, serve: str = "all") -> list[str]:
    """The queues a worker consumes: ``batch`` (its engines and batch clustering), ``online`` (online
    clustering runs) or ``all``."""
    batch = [queue_name(settings, engine) for engine in settings.engines] + [settings.queue(BATCH_CLUSTERING)]
    online = [settings.queue(ONLINE_CLUSTERING)]
    return {"batch": batch, "online": online, "all": batch + online}[serve]


def send(celery_app, settings, run: dict) -> None:
    celery_app.send_task(TASK_NAMES[run["kind"]], args=[run["_id"]], task_id=run["taskId"],
                         queue=run_queue(settings, run))


def ready_messages(celery_app, queue: str) -> int:
    """Messages waiting in ``queue`` (not those a worker holds); 0 for a queue never declared."""
    with celery_app.connection_for_write() as connection:
        channel = connection.channel()
        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except connection.channel_errors:  # no such queue
            return 0
        finally:
            try:
                channel.close()
            except Exception:  # a channel closed by the broker after a 404 cannot be closed again
                pass
