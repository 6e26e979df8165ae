"""Workers elsewhere, services down, workers that die."""
from __future__ import annotations

import datetime
import os
import signal
import uuid

import pytest
from falcon import testing

from tests.conftest import WorkerProcess, engine_processes, run_in_flight, worker_name
from tests.e2e.test_runs import submit
from tests.support import simple_model, upload_model, wait_for, wait_state
from tucluster.app import create_app
from tucluster.store import Database


@pytest.fixture(scope="module")
def model(client):
    return upload_model(client, simple_model(), "res")


@pytest.fixture(scope="module")
def client(app):
    return testing.TestClient(app)


def test_second_worker_with_its_own_scratch_takes_its_engine_runs(client, model, settings, config_file,
                                                                  session_dir, database, worker):
    # The "remote" engine is served only by this worker: it shares nothing with the main worker
    # but MongoDB and the broker (its own scratch and data directories).
    remote = WorkerProcess(settings, config_file, session_dir / "scratch-remote", worker_name(settings, "remote"),
                           engines="remote").wait_ready(database)
    try:
        accepted = submit(client, model, engine="remote", End_Time="0.5")
        run = wait_state(client, accepted["id"], ("succeeded", "failed"))
        assert run["state"] == "succeeded" and run["worker"] == remote.name
        assert client.simulate_get(f"/runs/{run['id']}/results/result.txt").text == "run.tcf 0.5\n"
        workers = {w["name"]: w for w in client.simulate_get("/workers").json}
        assert workers[remote.name]["engines"] == ["remote"]
        assert workers[worker.name]["engines"] == ["fake", "swe2d"]
    finally:
        remote.stop()
    assert not (session_dir / "scratch-main" / accepted["id"]).exists()


def ended_on_a_new_worker(client, settings, config_file, session_dir, database, run_id: str, role: str):
    """Start a worker of the "remote" engine and wait for ``run_id`` to end: (the run, the worker)."""
    heir = WorkerProcess(settings, config_file, session_dir / f"scratch-{role}", worker_name(settings, role),
                         engines="remote", concurrency=1).wait_ready(database)
    try:
        return wait_state(client, run_id, ("succeeded", "failed"), timeout=60), heir
    finally:
        heir.stop()


def test_a_run_whose_worker_is_killed_runs_again_on_another_worker(client, model, settings, config_file,
                                                                   session_dir, database):
    doomed, run_id = run_in_flight(client, model, settings, config_file, session_dir, database, "doomed", 8)
    os.killpg(doomed.process.pid, signal.SIGKILL)  # the whole worker host goes away
    doomed.process.wait()
    # The main worker's monitor sees the silent worker and queues the run again for another one.
    wait_state(client, run_id, "queued", timeout=settings.stale_after_seconds + 30)
    run, heir = ended_on_a_new_worker(client, settings, config_file, session_dir, database, run_id, "heir")
    assert run["state"] == "succeeded" and run["worker"] == heir.name and run["attempts"] == 2
    log = client.simulate_get(f"/runs/{run['id']}/logs").json["text"]
    assert f"started on {doomed.name} (attempt 1)" in log and f"started on {heir.name} (attempt 2)" in log


def test_a_run_whose_worker_died_on_its_last_attempt_is_failed(client, model, settings, config_file, session_dir,
                                                                database):
    doomed, run_id = run_in_flight(client, model, settings, config_file, session_dir, database, "last", 60)
    database.db.runs.update_one({"_id": run_id}, {"$set": {"attempts": settings.max_attempts}})
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait()
    run = wait_state(client, run_id, ("failed", "queued"), timeout=settings.stale_after_seconds + 30)
    assert run["state"] == "failed" and "worker lost" in run["error"] and f"of {settings.max_attempts}" in run["error"]


def test_a_queued_run_whose_message_was_lost_is_enqueued_again(client, model, settings, database, worker):
    from tests.e2e.test_runs import HeldDispatcher
    from tucluster.services import runs as run_service

    spec = {"kind": "simulation", "model": model, "entryPoint": "run.tcf", "engine": "fake", "overrides": {},
            "archiveId": database.db.models.find_one({"name": model})["archiveId"]}
    # A queued run no queue fits (no engine) is stepped over, not a stop for the reaper.
    from tucluster.store import runs as run_store
    run_store.insert(database, run_store.new({"kind": "simulation", "model": model}))
    lost = run_service.submit(database, HeldDispatcher(settings), spec)  # saved, its message never sent
    run = wait_state(client, lost["_id"], ("succeeded", "failed"), timeout=settings.requeue_after_seconds + 60)
    assert run["state"] == "succeeded" and run["attempts"] == 1
    assert database.db.runs.find_one({"_id": lost["_id"]})["enqueues"] == 2


def test_mongo_down_is_503_with_retry_after(settings):
    closed = settings.replace(mongo_uri="mongodb://127.0.0.1:1/", mongo_timeout_ms=300)
    down = testing.TestClient(create_app(closed, store=Database(closed)))
    for path in ("/models", "/runs", "/runs/abc", "/tasks/abc"):
        response = down.simulate_get(path)
        assert response.status_code == 503, path
        assert response.headers["retry-after"]
        assert response.json["title"] == "Service unavailable"
    health = down.simulate_get("/health")
    assert health.status_code == 503 and health.json["mongo"]["ok"] is False


def test_broker_down_is_503_and_the_run_is_not_left_queued(settings, database, model):
    closed = settings.replace(broker_url="amqp://guest:guest@127.0.0.1:1//")
    down = testing.TestClient(create_app(closed, store=database))
    response = down.simulate_post("/runs", json={"model": model, "entryPoint": "run.tcf", "engine": "fake"})
    assert response.status_code == 503 and response.headers["retry-after"]
    latest = database.db.runs.find_one({"model": model}, sort=[("created", -1)])
    assert latest["state"] == "failed" and "could not enqueue" in latest["error"]


def test_health_reports_services_and_workers(client, worker):
    body = client.simulate_get("/health").json
    assert body["status"] == "ok" and body["mongo"]["ok"] and body["broker"]["ok"]
    assert worker.name in [w["name"] for w in body["workers"]]
    assert "swe2d" in body["engines"]


def test_ping(client):
    assert client.simulate_get("/ping").json == {"pong": True}


def test_a_run_whose_worker_is_gone_is_failed_when_read_after_its_last_attempt(client, database, settings):
    from tucluster.store import runs as run_store
    from tucluster.store import utcnow

    run = run_store.new({"kind": "simulation", "model": "ghost", "entryPoint": "run.tcf", "engine": "fake"})
    long_ago = utcnow() - datetime.timedelta(seconds=settings.stale_after_seconds * 10)
    run_store.insert(database, dict(run, state="running", heartbeat=long_ago, started=long_ago,
                                    attempts=settings.max_attempts))
    body = client.simulate_get(f"/runs/{run['_id']}").json
    assert body["state"] == "failed" and "worker lost" in body["error"]
    task = client.simulate_get(f"/tasks/{run['taskId']}").json
    assert task["state"] == "FAILURE"


def test_a_run_whose_worker_is_gone_is_queued_again_when_read(client, database, settings):
    from tucluster.store import runs as run_store
    from tucluster.store import utcnow

    run = run_store.new({"kind": "simulation", "model": "ghost", "entryPoint": "run.tcf", "engine": "nowhere"})
    long_ago = utcnow() - datetime.timedelta(seconds=settings.stale_after_seconds * 10)
    run_store.insert(database, dict(run, state="running", heartbeat=long_ago, started=long_ago, attempts=1,
                                    worker="gone@host"))
    task = client.simulate_get(f"/tasks/{run['taskId']}").json
    assert task["state"] == "PENDING" and task["runState"] == "queued"
    assert database.db.runs.find_one({"_id": run["_id"]})["lostWorker"] == "gone@host"


def test_a_worker_stopped_with_sigterm_hands_its_run_to_another(client, model, settings, config_file, session_dir,
                                                                database):
    leaving, run_id = run_in_flight(client, model, settings, config_file, session_dir, database, "leaving", 10)
    leaving.process.send_signal(signal.SIGTERM)  # the main process, as `tucluster up` and KillMode=mixed do
    leaving.process.wait(timeout=30)
    assert client.simulate_get(f"/runs/{run_id}").json["state"] == "queued"
    run, heir = ended_on_a_new_worker(client, settings, config_file, session_dir, database, run_id, "taker")
    assert run["state"] == "succeeded" and run["worker"] == heir.name and run["attempts"] == 1
    log = client.simulate_get(f"/runs/{run['id']}/logs").json["text"]
    assert f"worker {leaving.name} is stopping: the run goes back to its queue" in log


def test_a_run_whose_task_process_is_killed_succeeds_on_its_next_attempt(client, model, settings, config_file,
                                                                         session_dir, database):
    node, run_id = run_in_flight(client, model, settings, config_file, session_dir, database, "pool", 8)
    try:
        guard = next(p for p in engine_processes(run_id) if "qflow.guard" in " ".join(p.cmdline()))
        guard.parent().kill()  # the pool process running the task; the worker starts another
        run = wait_state(client, run_id, ("succeeded", "failed"), timeout=settings.stale_after_seconds + 60)
    finally:
        node.stop()
    assert run["state"] == "succeeded" and run["attempts"] == 2 and run["worker"] == node.name


def test_a_message_for_a_run_the_database_does_not_hold_is_rejected_and_counted(client, settings, worker):
    from tucluster.services.dispatch import Dispatcher

    before = {w["name"]: w["foreignMessages"] for w in client.simulate_get("/workers").json}[worker.name]
    # As a deployment sharing this queue prefix would send it: a run id this database never issued.
    Dispatcher(settings).enqueue({"_id": "f" * 24, "taskId": str(uuid.uuid4()), "kind": "simulation", "engine": "fake"})

    def counted():
        workers = {w["name"]: w for w in client.simulate_get("/workers").json}
        return workers[worker.name]["foreignMessages"] > before
    wait_for(counted, 30, message="the worker to count the foreign message")
    assert "which this deployment's database does not hold: rejected" in worker.log_path.read_text()
