"""Map pictures and JSON grids of a finished swe2d run, over HTTP."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.e2e.test_swe2d_runs import EXAMPLE, run_dambreak
from tests.support import folder_zip, upload_model, wait_state
from tucluster.formats import grids

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def run_id(app):
    from falcon import testing

    client = testing.TestClient(app)
    name = upload_model(client, folder_zip(EXAMPLE), "maps")
    run = wait_state(client, run_dambreak(client, name)["id"], ("succeeded", "failed"), timeout=120)
    assert run["state"] == "succeeded", run["error"]
    return run["id"]


def picture(response) -> Image.Image:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_depth_map_is_a_colourful_png(client, run_id):
    image = picture(client.simulate_get(f"/runs/{run_id}/maps/d.png", params={"time": "0.01"}))
    assert image.format == "PNG" and 300 <= image.width <= 2000 and 150 <= image.height <= 2000
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16)) > 50


def test_time_with_leading_zeros_gives_the_same_picture(client, run_id):
    short = client.simulate_get(f"/runs/{run_id}/maps/d.png", params={"time": "0.01"})
    padded = client.simulate_get(f"/runs/{run_id}/maps/d.png", params={"time": "000.01"})
    assert short.content == padded.content


def test_maximum_map(client, run_id):
    image = picture(client.simulate_get(f"/runs/{run_id}/maps/V.png", params={"time": "max"}))
    assert len(image.convert("RGB").getcolors(maxcolors=1 << 16)) > 50


def test_width_scales_the_picture(client, run_id):
    small = picture(client.simulate_get(f"/runs/{run_id}/maps/h.png", params={"width": "200"}))
    large = picture(client.simulate_get(f"/runs/{run_id}/maps/h.png", params={"width": "1000"}))
    assert large.width - small.width == 800


def test_map_index_lists_types_and_times(client, run_id):
    body = client.simulate_get(f"/runs/{run_id}/maps").json
    assert [(m["name"], m["type"]) for m in body["maps"]] == [("dambreak", "d"), ("dambreak", "h"), ("dambreak", "V")]
    assert body["maps"][0]["times"] == [0.0, 0.01, 0.02, 0.03, 0.04, 0.05] and body["maps"][0]["max"]


def test_unknown_type_is_404_listing_the_types(client, run_id):
    response = client.simulate_get(f"/runs/{run_id}/maps/q.png")
    assert response.status_code == 404
    assert "d of dambreak (0.00, 0.01" in response.json["description"]


def test_unknown_time_is_404_listing_the_times(client, run_id):
    response = client.simulate_get(f"/runs/{run_id}/maps/d.png", params={"time": "7.5"})
    assert response.status_code == 404 and "0.05, max" in response.json["description"]


def test_bad_time_is_422(client, run_id):
    assert client.simulate_get(f"/runs/{run_id}/maps/d.png", params={"time": "noon"}).status_code == 422


def test_grid_json_matches_the_asc_file(client, run_id, tmp_path):
    path = "grids/dambreak_d_000.02.asc"
    body = client.simulate_get(f"/runs/{run_id}/results/{path}", params={"format": "json"}).json
    local = tmp_path / "grid.asc"
    local.write_bytes(client.simulate_get(f"/runs/{run_id}/results/{path}").content)
    array, header = grids.read_asc(local)
    valid = array[~grids.nodata_mask(array, header)]
    assert body["header"]["ncols"] == header["ncols"] == len(body["values"][0])
    assert body["mean"] == pytest.approx(float(valid.mean())) and body["max"] == pytest.approx(float(valid.max()))
    values = np.array([[np.nan if v is None else v for v in row] for row in body["values"]])
    assert np.nanmean(values) == pytest.approx(body["mean"])


def test_grid_json_stride_down_samples(client, run_id):
    body = client.simulate_get(f"/runs/{run_id}/results/grids/dambreak_d_max.asc",
                               params={"format": "json", "stride": "4"}).json
    assert len(body["values"]) == 10 and len(body["values"][0]) == 25 and body["stride"] == 4


def test_grid_json_of_another_file_is_422(client, run_id):
    response = client.simulate_get(f"/runs/{run_id}/results/log/dambreak.tlf", params={"format": "json"})
    assert response.status_code == 422
