"""Business rules for runs: building a simulation spec, submitting, cancelling, retrying, deleting,
the baseline of a model, and how a run and its task look to a client.

A run document is saved before its task is enqueued, and the task only receives the run id.
"""
from __future__ import annotations

import datetime as dt
import logging

from qflow.monitor import release_stale_runs
from tucluster import states
from tucluster.errors import Conflict, Invalid, Unavailable, require
from tucluster.services import models as model_service
from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import logs as log_store
from tucluster.store import models as model_store
from tucluster.store import results as result_store
from tucluster.store import runs as run_store
from tucluster.store import workers as worker_store

log = logging.getLogger(__name__)
CELERY_STATES = {states.QUEUED: "PENDING", states.RUNNING: "STARTED", states.PAUSED: "STARTED",
                 states.SUCCEEDED: "SUCCESS", states.FAILED: "FAILURE", states.CANCELLED: "REVOKED"}


def choose_engine(engines: dict, entry_point: str, engine: str | None) -> str:
    """The engine that runs ``entry_point``: the one named, or the first configured that takes it.

    ``engines`` is the worker's own view (``qflow.engines.load_all``), so both sides agree on what an
    engine accepts."""
    if engine is None:
        engine = next((name for name, spec in engines.items() if spec.accepts(entry_point)), None)
        if engine is None:
            raise Invalid(f"no configured engine runs {entry_point!r}; engines: {', '.join(engines) or 'none'}",
                          errors={"engine": ["no engine for this entry point"]})
    if engine not in engines:
        raise Invalid(f"unknown engine {engine!r}; configured engines: {', '.join(sorted(engines)) or 'none'}",
                      errors={"engine": [f"unknown engine {engine!r}"]})
    if not engines[engine].accepts(entry_point):
        patterns = ", ".join(engines[engine].entry_points)
        raise Invalid(f"engine {engine!r} runs entry points matching {patterns}, not {entry_point!r}",
                      errors={"entryPoint": [f"not an entry point of engine {engine!r}"]})
    return engine


def simulation_spec(database: Database, engines: dict, body: dict) -> dict:
    """The spec of a simulation run from a loaded ``SimulationCreate`` body; Invalid when it cannot run."""
    model = model_service.get_model(database, body["model"])
    entry_point = body["entryPoint"]
    if entry_point not in model["entryPoints"]:
        raise Invalid(f"model {model['name']!r} has no entry point {entry_point!r}; it has "
                      f"{', '.join(model['entryPoints'])}", errors={"entryPoint": ["unknown entry point"]})
    engine = choose_engine(engines, entry_point, body.get("engine"))
    report = model_service.report_for(model, entry_point)
    if report and not report["valid"]:
        raise Invalid(f"{entry_point} cannot run: {len(report['missing'])} missing file(s), "
                      f"{len(report['errors'])} error(s); see the validation report",
                      errors={"entryPoint": ["model validation failed"], "validation": [report]})
    return {"kind": "simulation", "model": model["name"], "archiveId": model["archiveId"],
            "entryPoint": entry_point, "engine": engine,
            "overrides": {str(k): str(v) for k, v in (body.get("overrides") or {}).items()},
            "isBaseline": False}


def submit(database: Database, dispatcher, spec: dict) -> dict:
    """Save the run, then enqueue it; a run the broker refused is failed, never left queued."""
    run = run_store.insert(database, run_store.new(spec))
    try:
        dispatcher.enqueue(run)
    except Exception as exc:  # kombu raises transport-specific errors; the run must not stay queued
        log.error("could not enqueue run %s: %s", run["_id"], exc)
        run_store.transition(database, run["_id"], states.QUEUED,
                             {"state": states.FAILED, "finished": utcnow(), "error": f"could not enqueue: {exc}"})
        raise Unavailable("the task broker is unreachable; the run was not queued") from exc
    log.info("run %s queued (%s, task %s)", run["_id"], spec["kind"], run["taskId"])
    return run


def get_run(database: Database, run_id: str) -> dict:
    return require(run_store.get(database, run_id), f"no run with id {run_id!r}")


def get_task(database: Database, task_id: str) -> dict:
    return require(run_store.by_task(database, task_id), f"no task with id {task_id!r}")


def observed(database: Database, settings: Settings, dispatcher, run: dict) -> dict:
    """The run as a client should see it: a held run whose worker stopped beating is queued again
    here too (or failed after its last attempt), so a run is never shown running after every worker
    is gone."""
    beat = run.get("heartbeat")
    if run["state"] in states.HELD and beat is not None:
        stale_before = utcnow() - dt.timedelta(seconds=settings.stale_after_seconds)
        if beat < stale_before and release_stale_runs(database, settings, dispatcher.enqueue, run["_id"]):
            return get_run(database, run["_id"])
    return run


def waiting(database: Database, settings: Settings, dispatcher, run: dict) -> dict:
    """Why a queued run has not started: ``{reason, position, workers}``, position 1 being next."""
    queue = dispatcher.queue_of(run)
    serving = [w for w in worker_store.alive(database, settings.stale_after_seconds) if queue in (w.get("queues") or [])]
    ahead = run_store.queued_ahead(database, run)
    if not serving:
        hint = (f"tucluster worker --engines {run['engine']}" if run["kind"] == "simulation"
                else "tucluster worker --serve " + ("online" if run.get("online") else "batch"))
        reason = f"no live worker serves its queue {queue}; start one with: {hint}"
    else:
        slots = sum(w.get("concurrency") or 0 for w in serving)
        busy = sum(w.get("active") or 0 for w in serving)
        reason = (f"{ahead} run(s) ahead of it; {busy} of the {slots} slot(s) of the {len(serving)} worker(s) "
                  f"serving {queue} are busy")
    return {"reason": reason, "position": ahead + 1, "workers": len(serving)}


def search(database: Database, query: dict) -> dict:
    """A page of runs from a loaded ``RunQuery``."""
    filters = {key: query[key] for key in ("state", "kind", "model", "engine", "dataset")}
    return run_store.search(database, filters=filters, created_after=query["created_after"],
                            created_before=query["created_before"], sort=query["sort"],
                            limit=query["limit"], cursor=query["cursor"])


def cancel(database: Database, run_id: str) -> dict:
    """A queued run is cancelled at once (it never starts); a held one is asked to stop."""
    run = get_run(database, run_id)
    if run_store.transition(database, run_id, states.QUEUED,
                            {"state": states.CANCELLED, "finished": utcnow(), "error": "cancelled before it started"}):
        return get_run(database, run_id)
    if run_store.transition(database, run_id, states.HELD, {"cancelRequested": True}):
        return get_run(database, run_id)
    raise Conflict(f"run {run_id} is {run['state']}; only queued, running or paused runs can be cancelled")


def retry(database: Database, dispatcher, engines: dict, run_id: str, changes: dict) -> dict:
    """The same spec again as a new run, with new overrides (simulation) or parameters (clustering)."""
    run = get_run(database, run_id)
    if run["state"] in states.ACTIVE:
        raise Conflict(f"run {run_id} is {run['state']}; retry it once it has ended")
    if run["kind"] == "simulation":
        body = {"model": run["model"], "entryPoint": run["entryPoint"], "engine": run["engine"],
                "overrides": dict(run.get("overrides") or {}, **(changes.get("overrides") or {}))}
        spec = simulation_spec(database, engines, body)
    else:
        from tucluster.services import clustering  # scikit-learn and SciPy: only when clustering

        spec = clustering.retry_spec(run, changes)
    spec["retryOf"] = run_id
    return submit(database, dispatcher, spec)


def delete(database: Database, run_id: str) -> None:
    run = get_run(database, run_id)
    if run["state"] in states.ACTIVE:
        raise Conflict(f"run {run_id} is {run['state']}; cancel it before deleting it")
    result_store.delete(database, [result["fileId"] for result in run.get("results") or []])
    log_store.delete_for_run(database, run_id)
    run_store.delete(database, run_id)
    if run.get("isBaseline"):
        model_store.set_baseline(database, run["model"], run["entryPoint"], None)


def set_baseline(database: Database, run_id: str, is_baseline: bool) -> dict:
    """One baseline per model and entry point: marking a run unmarks the one before."""
    run = get_run(database, run_id)
    if run["kind"] != "simulation":
        raise Invalid("only simulation runs can be baselines", errors={"isBaseline": ["not a simulation run"]})
    if is_baseline and run["state"] != states.SUCCEEDED:
        raise Conflict(f"run {run_id} is {run['state']}; only a succeeded run can be the baseline")
    if is_baseline:
        run_store.clear_baseline(database, run["model"], run["entryPoint"])
    run_store.update(database, run_id, {"isBaseline": is_baseline})
    baselines = model_service.get_model(database, run["model"]).get("baselines") or {}
    current = baselines.get(run["entryPoint"])
    if is_baseline or current == run_id:
        model_store.set_baseline(database, run["model"], run["entryPoint"], run_id if is_baseline else None)
    return get_run(database, run_id)


def task_view(run: dict) -> dict:
    """``/tasks/{id}``: the run's state in Celery's words, answered from the run document."""
    view = {"id": run["taskId"], "state": CELERY_STATES[run["state"]], "runState": run["state"],
            "runId": run["_id"], "progress": run.get("progress", 0.0)}
    if run["state"] == states.SUCCEEDED:
        view["result"] = {"results": len(run.get("results") or []), "figures": run.get("figures")}
    if run["state"] in (states.FAILED, states.CANCELLED):
        view["error"] = run.get("error")
    return view
