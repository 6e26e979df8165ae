"""Execute one simulation run on this worker: claim, prepare, supervise the engine, publish."""
from __future__ import annotations

import logging
import shlex
import time

from qflow import engines, process, workspace
from qflow.lifecycle import TRANSIENT, RunLog, claim, must_release, not_taken, patiently, release
from tucluster import states
from tucluster.settings import Settings
from tucluster.store import Database, utcnow
from tucluster.store import logs as log_store
from tucluster.store import runs as run_store

log = logging.getLogger(__name__)


def execute(database: Database, settings: Settings, engine_registry: dict, run_id: str, worker: str) -> str | None:
    run = claim(database, settings, run_id, worker)
    if run is None:
        return not_taken(database, settings, run_id, worker)
    run_log = RunLog(database, settings, run_id)
    run_log.note(f"run {run_id} started on {worker} (attempt {run.get('attempts', 1)})")
    space = None
    try:
        engine = engine_registry.get(run["engine"])
        if engine is None:
            raise engines.EngineError(f"this worker has no engine {run['engine']!r}")
        run_log.note(f"preparing the model {run['model']!r} ({run['entryPoint']})")
        space = patiently(lambda: workspace.prepare(database, run, settings.scratch_dir), settings,
                          f"copying the model of run {run_id}")
        argv = engine.argv(space.control_file, space.root)
        run_log.note(f"engine {engine.name}: {shlex.join(argv)}")
        outcome = _supervise(database, settings, worker, engine, argv, space, run, run_log)
        if outcome.stopped and must_release(patiently(lambda: run_store.get(database, run_id, {"releaseRequested": 1}),
                                                      settings, f"reading run {run_id}")):
            return release(database, settings, run_id, worker, run_log, states.RUNNING)
        if engine.postprocess:
            from qflow.engines import postprocess

            postprocess.run(engine.postprocess, space, run_log)
        results = [patiently(lambda: workspace.upload_result(database, run_id, path, absolute), settings,
                             f"storing {path} of run {run_id}") for path, absolute in space.written()]
        run_log.note(f"{len(results)} result file(s) stored")
        return _finish(database, settings, worker, run_id, outcome, results, run_log)
    except Exception as exc:
        log.exception("run %s failed on the worker", run_id)
        run_log.note(f"error: {exc}")
        run_log.flush(settings)
        failed = {"state": states.FAILED, "finished": utcnow(), "error": f"{type(exc).__name__}: {exc}"}
        patiently(lambda: run_store.transition(database, run_id, states.RUNNING, failed, worker), settings,
                  f"failing run {run_id}")
        return states.FAILED
    finally:
        if space is not None and not settings.keep_scratch:
            workspace.discard(space)


def _supervise(database, settings, worker, engine, argv, space, run, run_log) -> process.Outcome:
    run_id = run["_id"]
    state = {"progress": 0.0, "beat": time.monotonic(), "saved": 0.0}

    def on_output(lines: list[str]) -> None:
        if lines:
            run_log.write("".join(lines))
            for line in lines:
                value = engine.progress(line)
                if value is not None:
                    state["progress"] = value
        now = time.monotonic()
        if state["progress"] != state["saved"] or now - state["beat"] >= settings.heartbeat_seconds:
            try:
                run_store.transition(database, run_id, states.RUNNING,
                                     {"progress": state["progress"], "heartbeat": utcnow()}, worker)
            except TRANSIENT as exc:  # the engine goes on; the next tick tries again
                log.warning("heartbeat of run %s not stored: %s", run_id, exc)
                return
            state["saved"], state["beat"] = state["progress"], now

    def should_stop() -> bool:
        try:
            current = run_store.get(database, run_id, {"state": 1, "cancelRequested": 1, "worker": 1,
                                                       "releaseRequested": 1})
        except TRANSIENT:
            return False  # a database that does not answer cancels nothing
        # Gone, ended, cancelled, given to another attempt while this worker looked dead, or released: stop.
        return (current is None or current["state"] != states.RUNNING or current.get("worker") != worker
                or bool(current.get("cancelRequested")) or must_release(current))

    env = workspace.environment(space, run, dict(engine.environment))
    return process.supervise(argv, cwd=space.model_dir, env=env, on_output=on_output, should_stop=should_stop,
                             grace=settings.kill_grace_seconds)


def _finish(database, settings, worker, run_id, outcome: process.Outcome, results: list[dict],
            run_log: RunLog) -> str:
    now = utcnow()
    common = {"finished": now, "results": results, "exitCode": outcome.returncode}
    if outcome.stopped:
        run_log.note("cancelled: the engine's process group was terminated")
        state, extra = states.CANCELLED, {"error": "cancelled while running"}
    elif outcome.returncode == 0:
        run_log.note("engine finished (exit code 0)")
        state, extra = states.SUCCEEDED, {"progress": 1.0}
    else:
        run_log.note(f"engine failed with exit code {outcome.returncode}")
        run_log.flush(settings)
        tail = patiently(lambda: log_store.tail(database, run_id, settings.error_tail_lines), settings,
                         f"reading the log of {run_id}")
        state, extra = states.FAILED, {"error": f"engine exited with code {outcome.returncode}\n{tail}"}
    run_log.flush(settings)
    patiently(lambda: run_store.transition(database, run_id, states.RUNNING, dict(common, state=state, **extra),
                                           worker), settings, f"ending run {run_id}")
    return state
