"""Request bodies and paging parameters at the door: JSON within its limits and well formed, chunked
bodies read whole, offsets and cursors that overflow refused."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.conftest import api_process
from tests.support import simple_model
from tucluster.paging import MAX_OFFSET, encode_cursor


def post_json(client, path: str, body: bytes):
    return client.simulate_post(path, body=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("body, message", [
    (b'{"kind": "simulation", "model": "m", "entryPoint": "run.tcf", "overrides": {"End Time": NaN}}', "NaN"),
    (b'{"kind": "clustering", "algorithm": {"name": "kmeans", "k": Infinity}}', "Infinity"),
    (b"[" * 100_000 + b"]" * 100_000, "levels deep"),
    (b'{"a": ' * 70 + b"1" + b"}" * 70, "levels deep"),
    (b'{"model": "\xff\xfe"}', "not UTF-8"),
    (b'{"model": ', "not valid JSON"),
])
def test_malformed_json_is_400_naming_the_problem(client, body, message):
    response = post_json(client, "/runs", body)
    assert response.status_code == 400 and message in response.json["description"], response.text


def test_a_json_body_over_the_limit_is_413(client, settings):
    description = "x" * (settings.max_json_bytes + 1)
    response = client.simulate_patch("/models/anything", json={"description": description})
    assert response.status_code == 413 and str(settings.max_json_bytes) in response.json["description"]


@pytest.mark.parametrize("path, params", [
    ("/models", {"cursor": encode_cursor(MAX_OFFSET + 1)}),
    ("/runs", {"cursor": encode_cursor(2**70)}),
    ("/datasets", {"cursor": encode_cursor(2**64)}),
])
def test_a_cursor_past_any_list_is_422(client, path, params):
    response = client.simulate_get(path, params=params)
    assert response.status_code == 422 and "cursor" in response.json["errors"]


def test_an_offset_that_overflows_is_422(client, database):
    from tucluster.store import runs as run_store

    run = run_store.insert(database, run_store.new({"kind": "simulation"}))
    response = client.simulate_get(f"/runs/{run['_id']}/logs", params={"offset": str(10**30)})
    assert response.status_code == 422 and "offset" in response.json["errors"]


@pytest.fixture(scope="module")
def api_url(settings, config_file, tmp_path_factory):
    """The API under gunicorn (`tucluster api`), which decodes chunked bodies."""
    with api_process(settings, config_file, tmp_path_factory.mktemp("bodies")) as (port, _):
        yield f"http://127.0.0.1:{port}"


def chunked(data: bytes, size: int = 1000):
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def test_chunked_bodies_are_read_whole(api_url):
    name = f"chunked-{uuid.uuid4().hex[:6]}"
    model = requests.post(f"{api_url}/models", params={"name": name}, data=chunked(simple_model()),
                          headers={"Content-Type": "application/zip"}, timeout=30)
    assert model.status_code == 201, model.text
    assert model.json()["entryPoints"] == ["run.tcf"]
    dataset = requests.post(f"{api_url}/datasets", params={"name": name.replace("-", "_")},
                            data=chunked(b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(500)), 64),
                            headers={"Content-Type": "text/csv"}, timeout=30)
    assert dataset.status_code == 201 and dataset.json()["rows"] == 500, dataset.text
    patched = requests.patch(f"{api_url}/models/{name}", data=chunked(json.dumps({"description": "streamed"}).encode(), 5),
                             headers={"Content-Type": "application/json"}, timeout=30)
    assert patched.status_code == 200 and patched.json()["description"] == "streamed", patched.text

