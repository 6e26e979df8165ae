"""Simulation runs end to end: API -> RabbitMQ -> Celery worker subprocess -> MongoDB."""
from __future__ import annotations

import io
import time
import uuid
import zipfile

import pytest

from tests.support import TCF, TGC, make_zip, simple_model, submit_simulation, upload_model, wait_for, wait_state
from tucluster.services import runs as jobs
from tucluster.services.dispatch import Dispatcher
from tucluster.store import runs as run_store

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def model(app):
    from falcon import testing

    return upload_model(testing.TestClient(app), simple_model(), "fake")


def submit(client, model, engine="fake", **overrides):
    """A run of the fake engine; keyword overrides spell spaces as underscores (Fake_Steps)."""
    return submit_simulation(client, model, "run.tcf", engine,
                             {key.replace("_", " "): value for key, value in overrides.items()})


def test_run_end_to_end(client, model, worker):
    accepted = submit(client, model, End_Time="0.25")
    assert accepted["state"] == "queued"
    run = wait_state(client, accepted["id"], ("succeeded", "failed"))
    assert run["state"] == "succeeded", run["error"]
    assert run["progress"] == 1.0 and run["worker"] == worker.name and run["exitCode"] == 0
    assert run["started"] and run["finished"]
    files = {f["path"]: f["size"] for f in client.simulate_get(f"/runs/{run['id']}/results").json["files"]}
    assert "result.txt" in files and "log/fake.log" in files
    result = client.simulate_get(f"/runs/{run['id']}/results/result.txt")
    assert result.text == "run.tcf 0.25\n"  # the override reached the engine
    archive = zipfile.ZipFile(io.BytesIO(client.simulate_get(f"/runs/{run['id']}/results.zip").content))
    assert sorted(archive.namelist()) == sorted(files)
    assert archive.read("result.txt") == b"run.tcf 0.25\n"


def test_task_endpoint_follows_the_run(client, model):
    accepted = submit(client, model)
    task = client.simulate_get(f"/tasks/{accepted['taskId']}").json
    assert task["runId"] == accepted["id"] and task["state"] in ("PENDING", "STARTED", "SUCCESS")
    wait_state(client, accepted["id"], "succeeded")
    task = client.simulate_get(f"/tasks/{accepted['taskId']}").json
    assert task["state"] == "SUCCESS" and task["progress"] == 1.0


def test_logs_arrive_while_running(client, model):
    accepted = submit(client, model, Fake_Steps="6", Fake_Sleep="6")

    def partial_log():
        body = client.simulate_get(f"/runs/{accepted['id']}/logs").json
        return body if "step 1 of 6" in body["text"] else None
    body = wait_for(partial_log, 30, message="the first engine line in the log")
    run = client.simulate_get(f"/runs/{accepted['id']}").json
    assert run["state"] == "running" and not body["complete"]
    assert 0 < run["progress"] < 1
    wait_state(client, accepted["id"], "succeeded")
    rest = client.simulate_get(f"/runs/{accepted['id']}/logs", params={"offset": body["nextOffset"]}).json
    assert "step 6 of 6" in rest["text"] and rest["complete"]
    plain = client.simulate_get(f"/runs/{accepted['id']}/logs", headers={"Accept": "text/plain"})
    assert plain.headers["content-type"].startswith("text/plain") and "step 6 of 6" in plain.text


def test_failing_engine_fails_the_run_with_exit_code_and_log_tail(client, model):
    accepted = submit(client, model, Fake_Exit_Code="3")
    run = wait_state(client, accepted["id"], ("succeeded", "failed"))
    assert run["state"] == "failed" and run["exitCode"] == 3
    assert "exited with code 3" in run["error"] and "failing on purpose" in run["error"]
    task = client.simulate_get(f"/tasks/{accepted['taskId']}").json
    assert task["state"] == "FAILURE" and "code 3" in task["error"]


def test_cancel_running_run_terminates_the_process_group(client, model):
    accepted = submit(client, model, Fake_Steps="100", Fake_Sleep="100", Fake_Ignore_Term="ON")
    wait_state(client, accepted["id"], "running")
    response = client.simulate_post(f"/runs/{accepted['id']}/cancel")
    assert response.status_code == 202
    started = time.monotonic()
    run = wait_state(client, accepted["id"], ("cancelled", "failed", "succeeded"), timeout=10)
    assert run["state"] == "cancelled"
    assert time.monotonic() - started < 5  # SIGTERM ignored: SIGKILL after the grace period
    assert client.simulate_post(f"/runs/{accepted['id']}/cancel").status_code == 409


class HeldDispatcher(Dispatcher):
    """Saves runs but holds their messages back, so a run is still queued when it is cancelled."""

    def enqueue(self, run):
        self.held = run


def test_cancel_queued_run_never_starts(client, model, settings, database):
    held = HeldDispatcher(settings)
    spec = {"kind": "simulation", "model": model, "entryPoint": "run.tcf", "engine": "fake", "overrides": {},
            "archiveId": database.db.models.find_one({"name": model})["archiveId"]}
    run = jobs.submit(database, held, spec)
    assert client.simulate_post(f"/runs/{run['_id']}/cancel").json["state"] == "cancelled"
    Dispatcher(settings).enqueue(held.held)  # the message reaches the worker after the cancel
    later = submit(client, model)  # same queue, enqueued after it: once it ran, the held one was seen
    wait_state(client, later["id"], "succeeded")
    final = run_store.get(database, run["_id"])
    assert final["state"] == "cancelled" and final["started"] is None
    assert database.db.logs.count_documents({"run": run["_id"]}) == 0


def test_a_queued_run_says_why_it_waits_and_where(client, model):
    # No worker of this session serves the "remote" engine outside the tests that start one.
    first, second = (submit(client, model, engine="remote") for _ in range(2))
    try:
        waiting = client.simulate_get(f"/runs/{second['id']}").json["waiting"]
        assert "no live worker serves its queue" in waiting["reason"] and "--engines remote" in waiting["reason"]
        assert waiting["position"] == 2 and waiting["workers"] == 0
        assert client.simulate_get(f"/runs/{first['id']}").json["waiting"]["position"] == 1
    finally:
        for run in (first, second):
            client.simulate_post(f"/runs/{run['id']}/cancel")
    assert "waiting" not in client.simulate_get(f"/runs/{first['id']}").json


def test_retry_runs_again_with_new_overrides(client, model):
    first = submit(client, model, End_Time="0.25")
    wait_state(client, first["id"], "succeeded")
    response = client.simulate_post(f"/runs/{first['id']}/retry", json={"overrides": {"End Time": "0.75"}})
    assert response.status_code == 202
    second = wait_state(client, response.json["id"], "succeeded")
    assert second["retryOf"] == first["id"] and second["overrides"]["End Time"] == "0.75"
    assert client.simulate_get(f"/runs/{second['id']}/results/result.txt").text == "run.tcf 0.75\n"


def test_baseline_is_unique_per_model_and_entry_point(client, model):
    first, second = submit(client, model), submit(client, model)
    wait_state(client, first["id"], "succeeded")
    wait_state(client, second["id"], "succeeded")
    assert client.simulate_patch(f"/runs/{first['id']}", json={"isBaseline": True}).json["isBaseline"]
    assert client.simulate_patch(f"/runs/{second['id']}", json={"isBaseline": True}).json["isBaseline"]
    assert client.simulate_get(f"/runs/{first['id']}").json["isBaseline"] is False
    assert client.simulate_get(f"/models/{model}").json["baselines"] == {"run.tcf": second["id"]}


def test_delete_run_removes_results_and_refuses_active_runs(client, model, database):
    active = submit(client, model, Fake_Steps="20", Fake_Sleep="20")
    wait_state(client, active["id"], "running")
    assert client.simulate_delete(f"/runs/{active['id']}").status_code == 409
    assert client.simulate_delete(f"/models/{model}").status_code == 409
    client.simulate_post(f"/runs/{active['id']}/cancel")
    wait_state(client, active["id"], "cancelled")
    done = submit(client, model)
    wait_state(client, done["id"], "succeeded")
    file_ids = [r["fileId"] for r in database.db.runs.find_one({"_id": done["id"]})["results"]]
    assert client.simulate_delete(f"/runs/{done['id']}").status_code == 204
    assert client.simulate_get(f"/runs/{done['id']}").status_code == 404
    assert database.db["results.files"].count_documents({"_id": {"$in": file_ids}}) == 0
    assert database.db.logs.count_documents({"run": done["id"]}) == 0


def test_list_runs_filters(client, model):
    run = submit(client, model)
    wait_state(client, run["id"], "succeeded")
    listed = client.simulate_get("/runs", params={"model": model, "state": "succeeded", "engine": "fake"}).json
    assert run["id"] in [item["id"] for item in listed["items"]]
    assert all(item["model"] == model and item["state"] == "succeeded" for item in listed["items"])
    assert client.simulate_get("/runs", params={"state": "bogus"}).status_code == 422
    assert client.simulate_get("/runs", params={"engine": "nope"}).json["total"] == 0


def test_unknown_ids_are_404(client):
    assert client.simulate_get("/runs/nope").status_code == 404
    assert client.simulate_get(f"/tasks/{uuid.uuid4()}").status_code == 404
    for suffix in ("logs", "results", "results.zip", "results/x.txt"):
        assert client.simulate_get(f"/runs/nope/{suffix}").status_code == 404, suffix
    assert client.simulate_post("/runs/nope/cancel").status_code == 404


class TestRefusedSubmissions:
    def test_executable_in_body_is_refused(self, client, model):
        response = client.simulate_post("/runs", json={"modelName": model, "controlFile": "run.tcf",
                                                       "tuflowExe": "C:/tuflow.exe"})
        assert response.status_code == 422 and "tuflowExe" in response.json["errors"]

    def test_legacy_body_is_accepted(self, client, model):
        response = client.simulate_post("/runs", json={"modelName": model, "controlFile": "run.tcf",
                                                       "engine": "fake"})
        assert response.status_code == 202, response.text

    def test_unknown_engine(self, client, model):
        response = client.simulate_post("/runs", json={"model": model, "entryPoint": "run.tcf", "engine": "tuflow"})
        assert response.status_code == 422 and "unknown engine" in response.json["description"]

    def test_unknown_entry_point(self, client, model):
        response = client.simulate_post("/runs", json={"model": model, "entryPoint": "other.tcf"})
        assert response.status_code == 422

    def test_unknown_model(self, client):
        assert client.simulate_post("/runs", json={"model": "nope", "entryPoint": "run.tcf"}).status_code == 404

    def test_model_with_missing_files(self, client):
        body = make_zip({"run.tcf": TCF + "BC Control File == bc.tbc\n", "model/grid.tgc": TGC})
        name = upload_model(client, body, "holes")
        response = client.simulate_post("/runs", json={"model": name, "entryPoint": "run.tcf", "engine": "fake"})
        assert response.status_code == 422
        assert response.json["errors"]["validation"][0]["missing"][0]["path"] == "bc.tbc"

    def test_malformed_json(self, client):
        response = client.simulate_post("/runs", body=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
