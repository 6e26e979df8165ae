"""The dambreak example through the whole platform with the built-in swe2d engine:
upload -> RabbitMQ -> worker subprocess -> engine -> results in GridFS."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import folder_zip, submit_simulation, upload_model, wait_for, wait_state

pytestmark = pytest.mark.usefixtures("worker")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dambreak"


@pytest.fixture(scope="module")
def dambreak(app):
    from falcon import testing

    return upload_model(testing.TestClient(app), folder_zip(EXAMPLE), "dambreak")


def run_dambreak(client, model, **overrides) -> dict:
    return submit_simulation(client, model, "dambreak.tcf", "swe2d", overrides)


@pytest.fixture(scope="module")
def finished(app, dambreak):
    from falcon import testing

    client = testing.TestClient(app)
    run = wait_state(client, run_dambreak(client, dambreak)["id"], ("succeeded", "failed", "cancelled"), timeout=120)
    files = {f["path"]: f["size"] for f in client.simulate_get(f"/runs/{run['id']}/results").json["files"]}
    return run, files


def map_times(files: dict, kind: str = "d") -> list[str]:
    prefix = f"grids/dambreak_{kind}_"
    return sorted(path[len(prefix):-4] for path in files if path.startswith(prefix) and "max" not in path)


def test_dambreak_succeeds_with_full_progress(finished):
    run, _ = finished
    assert run["state"] == "succeeded", run["error"]
    assert run["progress"] == 1.0 and run["exitCode"] == 0


def test_dambreak_results_hold_maps_maxima_log_and_check_files(finished):
    _, files = finished
    for kind in ("d", "h", "V"):
        assert f"grids/dambreak_{kind}_000.01.asc" in files and f"grids/dambreak_{kind}_max.asc" in files
    assert map_times(files) == ["000.00", "000.01", "000.02", "000.03", "000.04", "000.05"]
    assert "log/dambreak.tlf" in files
    assert any(path.startswith("check/") for path in files)
    assert all(size > 0 for size in files.values())


def test_progress_is_reported_while_running(client, dambreak):
    accepted = run_dambreak(client, dambreak, **{"End Time": "0.5"})  # ~10x the example: tens of seconds

    def partway():
        run = client.simulate_get(f"/runs/{accepted['id']}").json
        assert run["state"] in ("queued", "running"), run
        return run if 0 < run["progress"] < 1 else None
    run = wait_for(partway, 60, interval=0.2, message="progress strictly between 0 and 1")
    assert run["state"] == "running"
    client.simulate_post(f"/runs/{accepted['id']}/cancel")
    wait_state(client, accepted["id"], ("cancelled", "failed", "succeeded"), timeout=30)


def test_cancelling_a_running_dambreak_ends_it_within_five_seconds(client, dambreak):
    accepted = run_dambreak(client, dambreak, **{"End Time": "0.5"})
    wait_for(lambda: client.simulate_get(f"/runs/{accepted['id']}").json["progress"] > 0, 60,
             message="the engine to report progress")
    assert client.simulate_post(f"/runs/{accepted['id']}/cancel").status_code == 202
    started = time.monotonic()
    run = wait_state(client, accepted["id"], ("cancelled", "failed", "succeeded"), timeout=10)
    assert run["state"] == "cancelled"
    assert time.monotonic() - started < 5


def test_rerun_with_shorter_end_time_gives_fewer_map_times(client, finished):
    first, files = finished
    response = client.simulate_post(f"/runs/{first['id']}/retry", json={"overrides": {"End Time": "0.02"}})
    assert response.status_code == 202, response.text
    second = wait_state(client, response.json["id"], ("succeeded", "failed"), timeout=120)
    assert second["state"] == "succeeded", second["error"]
    shorter = {f["path"]: f["size"] for f in client.simulate_get(f"/runs/{second['id']}/results").json["files"]}
    assert map_times(shorter) == ["000.00", "000.01", "000.02"]
    assert len(map_times(shorter)) < len(map_times(files))
