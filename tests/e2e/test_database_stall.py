"""A database that stalls loses nothing: with its server stopped (SIGSTOP) while runs are queued and
running, every run ends succeeded once it answers again. The test has a database server, an API and
a worker of its own, so the stall touches no other test."""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from falcon import testing

from tests.conftest import WorkerProcess, worker_name
from tests.support import simple_model, submit_simulation, upload_model, wait_for
from tucluster.app import create_app
from tucluster.cli import embedded
from tucluster.store import Database

RUNS = 20
STALL_SECONDS = 30


@pytest.fixture(scope="module")
def stalling(settings, session_dir, config_file):
    process, uri = embedded.start_secantus(str(session_dir / "db-stall"), log_path=str(session_dir / "db-stall.log"))
    tag = uuid.uuid4().hex[:8]
    own = settings.replace(mongo_uri=uri, database=f"stall_{tag}", queue_prefix=f"stall-{tag}.",
                           stale_after_seconds=120.0, db_patience_seconds=240.0)
    database = Database(own)
    database.ensure_indexes()
    worker = WorkerProcess(own, config_file, session_dir / "scratch-stall", worker_name(own, "stall"),
                           engines="fake", concurrency=2).wait_ready(database)
    try:
        yield own, database, process, worker
    finally:
        os.kill(process.pid, signal.SIGCONT)
        worker.stop()
        embedded.stop(process)


def test_every_run_succeeds_after_a_database_stall(stalling):
    own, database, server, worker = stalling
    client = testing.TestClient(create_app(own, store=database))
    model = upload_model(client, simple_model(), "stall")
    ids = [submit_simulation(client, model, "run.tcf", "fake", {"Fake Sleep": "1.5", "Fake Steps": "3"})["id"]
           for _ in range(RUNS)]
    wait_for(lambda: database.db.runs.count_documents({"state": "running"}) >= 1, 60, message="a run to start")
    os.kill(server.pid, signal.SIGSTOP)
    try:
        time.sleep(STALL_SECONDS)  # the fault itself lasts this long; nothing waits on the machine's speed
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert worker.process.poll() is None, worker.log_path.read_text()[-3000:]

    def all_ended():
        found = list(database.db.runs.find({"_id": {"$in": ids}}, {"state": 1, "error": 1}))
        return found if all(run["state"] in ("succeeded", "failed", "cancelled") for run in found) else None

    runs = wait_for(all_ended, 300, interval=1, message="every run to end after the stall")
    assert [run for run in runs if run["state"] != "succeeded"] == []
    for run_id in ids:
        log = client.simulate_get(f"/runs/{run_id}/logs").json
        assert "step 3 of 3" in log["text"] and log["complete"]
