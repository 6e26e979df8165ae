"""Business rules for runs: submit, cancel, retry, delete, baseline; and the dispatcher to Celery.

A run document is saved before its task is enqueued, and the task only receives the run id.
"""
from __future__ import annotations

import datetime as dt
import logging

from qflow import engines
from tucluster import catalog
from tucluster.errors import Conflict, Invalid, NotFound, Unavailable
from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import logs as log_store
from tucluster.store import models as model_store
from tucluster.store import runs as run_store

log = logging.getLogger(__name__)
TASK_NAMES = {"simulation": "qflow.run_simulation", "clustering": "qflow.run_clustering"}
CELERY_STATES = {"queued": "PENDING", "running": "STARTED", "paused": "STARTED",
                 "succeeded": "SUCCESS", "failed": "FAILURE", "cancelled": "REVOKED"}


def run_queue(settings: Settings, run: dict) -> str:
    if run["kind"] == "simulation":
        return engines.queue_name(settings, run["engine"])
    return settings.queue("clustering")


class Dispatcher:
    """Sends tasks by name over the broker; the API never imports the task code."""

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


def choose_engine(settings: Settings, entry_point: str, engine: str | None) -> str:
    # The worker's own view of the engines, so both sides agree on what an engine accepts.
    configured = engines.load_all(settings.engines)
    if engine is None:
        engine = next((name for name, spec in configured.items() if spec.accepts(entry_point)), None)
        if engine is None:
            raise Invalid(f"no configured engine runs {entry_point!r}; engines: {', '.join(configured) or 'none'}",
                          errors={"engine": ["no engine for this entry point"]})
    if engine not in configured:
        raise Invalid(f"unknown engine {engine!r}; configured engines: {', '.join(sorted(configured)) or 'none'}",
                      errors={"engine": [f"unknown engine {engine!r}"]})
    if not configured[engine].accepts(entry_point):
        patterns = ", ".join(configured[engine].entry_points)
        raise Invalid(f"engine {engine!r} runs entry points matching {patterns}, not {entry_point!r}",
                      errors={"entryPoint": [f"not an entry point of engine {engine!r}"]})
    return engine


def simulation_spec(database: Database, settings: Settings, body: dict) -> dict:
    model = catalog.get_model(database, body["model"])
    entry_point = body["entryPoint"]
    if entry_point not in model["entryPoints"]:
        raise Invalid(f"model {model['name']!r} has no entry point {entry_point!r}; it has "
                      f"{', '.join(model['entryPoints'])}", errors={"entryPoint": ["unknown entry point"]})
    engine = choose_engine(settings, entry_point, body.get("engine"))
    report = catalog.report_for(model, entry_point)
    if report and not report["valid"]:
        raise Invalid(f"{entry_point} cannot run: {len(report['missing'])} missing file(s), "
                      f"{len(report['errors'])} error(s); see the validation report",
                      errors={"entryPoint": ["model validation failed"], "validation": [report]})
    return {"kind": "simulation", "model": model["name"], "archiveId": model["archiveId"],
            "entryPoint": entry_point, "engine": engine,
            "overrides": {str(k): str(v) for k, v in (body.get("overrides") or {}).items()},
            "isBaseline": False}


def submit(database: Database, dispatcher: Dispatcher, spec: dict) -> dict:
    run = run_store.insert(database, run_store.new(spec))
    try:
        dispatcher.enqueue(run)
    except Exception as exc:  # kombu raises transport-specific errors; the run must not stay queued
        log.error("could not enqueue run %s: %s", run["_id"], exc)
        run_store.transition(database, run["_id"], "queued",
                             {"state": "failed", "finished": utcnow(), "error": f"could not enqueue: {exc}"})
        raise Unavailable("the task broker is unreachable; the run was not queued") from exc
    log.info("run %s queued (%s, task %s)", run["_id"], spec["kind"], run["taskId"])
    return run


def get_run(database: Database, run_id: str) -> dict:
    run = run_store.get(database, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
    return run


def get_task(database: Database, task_id: str) -> dict:
    run = run_store.by_task(database, task_id)
    if run is None:
        raise NotFound(f"no task with id {task_id!r}")
    return run


def observed(database: Database, settings: Settings, run: dict) -> dict:
    """The run as a client should see it: an active run whose worker stopped beating is failed
    here too, so a run is never shown running after every worker is gone."""
    beat = run.get("heartbeat")
    if run["state"] in ("running", "paused") and beat is not None:
        stale_before = utcnow() - dt.timedelta(seconds=settings.stale_after_seconds)
        if beat < stale_before and run_store.fail_stale(database, stale_before, run["_id"]):
            return get_run(database, run["_id"])
    return run


def cancel(database: Database, run_id: str) -> dict:
    run = get_run(database, run_id)
    now = utcnow()
    if run_store.transition(database, run_id, "queued", {"state": "cancelled", "finished": now,
                                                          "error": "cancelled before it started"}):
        return get_run(database, run_id)
    if run_store.transition(database, run_id, ("running", "paused"), {"cancelRequested": True}):
        return get_run(database, run_id)
    raise Conflict(f"run {run_id} is {run['state']}; only queued, running or paused runs can be cancelled")


def retry(database: Database, dispatcher: Dispatcher, settings: Settings, run_id: str, changes: dict) -> dict:
    run = get_run(database, run_id)
    if run["state"] in run_store.ACTIVE:
        raise Conflict(f"run {run_id} is {run['state']}; retry it once it has ended")
    if run["kind"] == "simulation":
        body = {"model": run["model"], "entryPoint": run["entryPoint"], "engine": run["engine"],
                "overrides": dict(run.get("overrides") or {}, **(changes.get("overrides") or {}))}
        spec = simulation_spec(database, settings, body)
    else:
        from tucluster import clustering

        spec = clustering.retry_spec(run, changes)
    spec["retryOf"] = run_id
    return submit(database, dispatcher, spec)


def delete(database: Database, run_id: str) -> None:
    run = get_run(database, run_id)
    if run["state"] in run_store.ACTIVE:
        raise Conflict(f"run {run_id} is {run['state']}; cancel it before deleting it")
    bucket = database.bucket(run_store.BUCKET)
    for result in run.get("results") or []:
        bucket.delete(result["fileId"])
    log_store.delete_for_run(database, run_id)
    run_store.delete(database, run_id)
    if run.get("isBaseline"):
        model_store.set_baseline(database, run["model"], run["entryPoint"], None)


def set_baseline(database: Database, run_id: str, is_baseline: bool) -> dict:
    run = get_run(database, run_id)
    if run["kind"] != "simulation":
        raise Invalid("only simulation runs can be baselines", errors={"isBaseline": ["not a simulation run"]})
    if is_baseline and run["state"] != "succeeded":
        raise Conflict(f"run {run_id} is {run['state']}; only a succeeded run can be the baseline")
    if is_baseline:
        run_store.clear_baseline(database, run["model"], run["entryPoint"])
    run_store.update(database, run_id, {"isBaseline": is_baseline})
    current = model_store.baselines(catalog.get_model(database, run["model"])).get(run["entryPoint"])
    if is_baseline or current == run_id:
        model_store.set_baseline(database, run["model"], run["entryPoint"], run_id if is_baseline else None)
    return get_run(database, run_id)


def task_view(run: dict) -> dict:
    view = {"id": run["taskId"], "state": CELERY_STATES[run["state"]], "runState": run["state"],
            "runId": run["_id"], "progress": run.get("progress", 0.0)}
    if run["state"] == "succeeded":
        view["result"] = {"results": len(run.get("results") or []), "figures": run.get("figures")}
    if run["state"] in ("failed", "cancelled"):
        view["error"] = run.get("error")
    return view
