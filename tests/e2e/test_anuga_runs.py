"""The ANUGA dam-break example through the whole platform: a .py script run by the ``anuga``
engine on a worker subprocess, its .sww converted to the same map grids swe2d writes."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import WorkerProcess, worker_name
from tests.support import folder_zip, make_zip, submit_simulation, upload_model, wait_state

try:
    import anuga  # noqa: F401
except ImportError as exc:  # pip install "tucluster[anuga]" (the test extra includes it)
    pytest.skip(f"ANUGA is not importable: {exc}", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("worker", "anuga_worker")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "anuga_dambreak"


@pytest.fixture(scope="module")
def anuga_worker(settings, config_file, session_dir, database):
    """A node with ANUGA installed, serving only the anuga engine's queue (the main worker has none)."""
    process = WorkerProcess(settings, config_file, session_dir / "scratch-anuga", worker_name(settings, "anuga"),
                            engines="anuga").wait_ready(database)
    yield process
    process.stop()


def run_script(client, model: str, entry_point: str = "dambreak.py") -> dict:
    return submit_simulation(client, model, entry_point, "anuga")


@pytest.fixture(scope="module")
def finished(app):
    from falcon import testing

    client = testing.TestClient(app)
    accepted = run_script(client, upload_model(client, folder_zip(EXAMPLE), "anuga"))
    run = wait_state(client, accepted["id"], ("succeeded", "failed", "cancelled"), timeout=180)
    files = {f["path"]: f["size"] for f in client.simulate_get(f"/runs/{run['id']}/results").json["files"]}
    return run, files


def test_anuga_script_run_succeeds_with_full_progress(finished):
    run, _ = finished
    assert run["state"] == "succeeded", run["error"]
    assert run["progress"] == 1.0 and run["exitCode"] == 0


def test_anuga_run_keeps_its_sww_file(finished):
    _, files = finished
    assert files.get("dambreak.sww", 0) > 0


def test_sww_is_converted_to_map_grids(finished):
    _, files = finished
    for kind in ("d", "h", "V"):
        times = sorted(p for p in files if p.startswith(f"grids/dambreak_{kind}_") and "max" not in p)
        assert times == [f"grids/dambreak_{kind}_000.0{i}.asc" for i in range(6)]
        assert f"grids/dambreak_{kind}_max.asc" in files


def test_log_shows_progress_lines_and_the_conversion(client, finished):
    run, _ = finished
    text = client.simulate_get(f"/runs/{run['id']}/logs").json["text"]
    assert "TuCluster progress: 90.0000 of 180.0000 s" in text and "Time = 180.0000 (sec)" in text
    assert "21 grid(s) written from 1 .sww file(s)" in text


def test_depth_map_of_an_anuga_run(client, finished):
    run, _ = finished
    response = client.simulate_get(f"/runs/{run['id']}/maps/d.png", params={"time": "max"})
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16)) > 50


def test_overrides_reach_the_script(client, finished):
    run, _ = finished
    response = client.simulate_post(f"/runs/{run['id']}/retry", json={"overrides": {"finaltime": 36, "yieldstep": 36}})
    assert response.status_code == 202, response.text
    second = wait_state(client, response.json["id"], ("succeeded", "failed"), timeout=180)
    assert second["state"] == "succeeded", second["error"]
    maps = client.simulate_get(f"/runs/{second['id']}/maps").json["maps"]
    assert maps[0]["type"] == "d" and maps[0]["times"] == [0.0, 0.01]


def test_failing_script_fails_the_run_with_its_traceback(client, app):
    model = upload_model(client, make_zip({"broken.py": "import anuga\nraise RuntimeError('no mesh here')\n"}),
                         "anuga")
    accepted = run_script(client, model, "broken.py")
    run = wait_state(client, accepted["id"], ("succeeded", "failed"), timeout=60)
    assert run["state"] == "failed" and run["exitCode"] == 1
    assert "RuntimeError: no mesh here" in run["error"]
