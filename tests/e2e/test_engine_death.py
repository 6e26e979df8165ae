"""An engine never outlives its worker: whichever worker process is killed, with SIGKILL, the
engine's whole process group (under ``qflow.guard``) is gone within seconds."""
from __future__ import annotations

import os
import signal

import pytest
from falcon import testing

from tests.conftest import WorkerProcess, engine_processes, run_in_flight, worker_name
from tests.support import simple_model, upload_model, wait_for, wait_state


@pytest.fixture(scope="module")
def client(app):
    return testing.TestClient(app)


@pytest.fixture(scope="module")
def model(client):
    return upload_model(client, simple_model(), "death")


def long_run(client, model, settings, config_file, session_dir, database, role: str):
    return run_in_flight(client, model, settings, config_file, session_dir, database, role, 120)


def assert_engine_gone(run_id: str) -> None:
    wait_for(lambda: not [p for p in engine_processes(run_id) if p.is_running() and p.status() != "zombie"],
             10, message=f"the engine of run {run_id} to die with its worker")


def test_killing_the_task_process_kills_its_engine(client, model, settings, config_file, session_dir, database):
    worker, run_id = long_run(client, model, settings, config_file, session_dir, database, "pool-killed")
    try:
        guard = next(p for p in engine_processes(run_id) if "qflow.guard" in " ".join(p.cmdline()))
        task_process = guard.parent()
        assert task_process.pid != worker.process.pid  # a pool process of the worker, not its main process
        task_process.send_signal(signal.SIGKILL)
        assert_engine_gone(run_id)
    finally:
        client.simulate_post(f"/runs/{run_id}/cancel")  # no later worker of the engine takes it up again
        worker.stop()


def test_killing_the_worker_main_process_kills_its_engine(client, model, settings, config_file, session_dir,
                                                          database):
    worker, run_id = long_run(client, model, settings, config_file, session_dir, database, "main-killed")
    try:
        os.kill(worker.process.pid, signal.SIGKILL)  # the main process alone: its pool must not linger
        worker.process.wait()
        assert_engine_gone(run_id)
    finally:
        client.simulate_post(f"/runs/{run_id}/cancel")
        worker.stop()
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_next_worker_on_the_host_removes_a_dead_runs_work_copy(client, model, settings, config_file,
                                                                   session_dir, database):
    worker, run_id = long_run(client, model, settings, config_file, session_dir, database, "copy-left")
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
    assert (worker.scratch / run_id).is_dir()
    wait_state(client, run_id, "queued", timeout=settings.stale_after_seconds + 30)  # another attempt waits
    assert client.simulate_post(f"/runs/{run_id}/cancel").json["state"] == "cancelled"
    successor = WorkerProcess(settings, config_file, worker.scratch, worker_name(settings, "copy-left-2"),
                              engines="remote", concurrency=1).wait_ready(database)
    try:
        wait_for(lambda: not (worker.scratch / run_id).exists(), 30, message="the successor to sweep the copy")
    finally:
        successor.stop()
