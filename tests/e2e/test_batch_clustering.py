"""Batch clustering runs on stored datasets: same queue, worker and polling path as simulations."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

from tests.e2e.clustering_support import blobs, matched_error, wait_run

pytestmark = pytest.mark.usefixtures("worker")


def upload_dataset(client, points: np.ndarray) -> str:
    name = f"blobs_{uuid.uuid4().hex[:8]}"
    lines = ["id,x,y"] + [f"p{i},{x:.6f},{y:.6f}" for i, (x, y) in enumerate(points)]
    response = client.simulate_post("/datasets", params={"name": name}, body="\n".join(lines) + "\n",
                                    headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    return name


@pytest.fixture(scope="module")
def dataset(app):
    from falcon import testing

    return upload_dataset(testing.TestClient(app), blobs(n_per=200, seed=11))


def submit_batch(client, dataset, algorithm, **extra):
    body = {"kind": "clustering", "dataset": dataset, "variables": ["x", "y"], "identifier": "id",
            "algorithm": algorithm, "seed": 3, **extra}
    response = client.simulate_post("/runs", json=body)
    assert response.status_code == 202, response.text
    return response.json


def finished(client, run_id):
    return wait_run(client, run_id, lambda r: r["state"] in ("succeeded", "failed", "cancelled"), 60,
                    "the batch run to end")


def test_kmeans_batch_run_finds_the_blobs(client, dataset):
    accepted = submit_batch(client, dataset, {"name": "kmeans", "k": 3})
    run = finished(client, accepted["id"])
    assert run["state"] == "succeeded", run.get("error")
    assert run["phase"] == "Finished" and run["progress"] == 1.0
    centers = client.simulate_get(f"/runs/{run['id']}/centroids").json["centers"]
    assert matched_error([c["center"] for c in centers]) < 0.2
    assert sorted(c["count"] for c in centers) == [200, 200, 200]
    figures = run["figures"]
    assert figures["iterations"] >= 1 and figures["duration"] >= 0 and "loss" in figures
    task = client.simulate_get(f"/tasks/{accepted['taskId']}").json
    assert task["state"] == "SUCCESS" and task["runId"] == run["id"]


def test_labels_follow_rows_with_identifiers(client, dataset):
    run = finished(client, submit_batch(client, dataset, {"name": "kmeans", "k": 3})["id"])
    page = client.simulate_get(f"/runs/{run['id']}/labels", params={"offset": 190, "limit": 20}).json
    assert page["total"] == 600 and page["next"] == 210
    assert [row["id"] for row in page["labels"]] == [f"p{i}" for i in range(190, 210)]
    first_blob = {row["label"] for row in page["labels"][:10]}
    second_blob = {row["label"] for row in page["labels"][10:]}
    assert len(first_blob) == 1 and len(second_blob) == 1 and first_blob != second_blob


def test_mcmc_finds_the_number_of_clusters(client, dataset):
    run = finished(client, submit_batch(client, dataset, {"name": "mcmc", "initK": 2, "maxK": 8, "iter": 60})["id"])
    assert run["state"] == "succeeded", run.get("error")
    live = [c for c in client.simulate_get(f"/runs/{run['id']}/centroids").json["centers"] if c["count"] > 0]
    assert len(live) == 3 and matched_error([c["center"] for c in live]) < 0.5
    assert run["figures"]["acceptations"] >= 1


def test_streaming_batch_run_consumes_every_row_once(client, dataset):
    run = finished(client, submit_batch(client, dataset, {"name": "streaming", "mu": 0.5, "sigma": 0.05})["id"])
    assert run["state"] == "succeeded", run.get("error")
    centers = client.simulate_get(f"/runs/{run['id']}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 600 and len(centers) >= 3


def test_history_frames_keep_labels(client, dataset):
    run = finished(client, submit_batch(client, dataset, {"name": "kmeans", "k": 3, "init": "random", "tol": 0,
                                                          "iter": 20, "iterFreq": 20})["id"])
    frames = client.simulate_get(f"/runs/{run['id']}/centroids/history").json["frames"]
    assert len(frames) >= 2
    assert all({c["label"] for c in f["centers"]} == {0, 1, 2} for f in frames)
    assert frames[0]["appeared"] == [0, 1, 2] and all(f["appeared"] == [] for f in frames[1:])


def test_retry_with_new_parameters(client, dataset):
    first = finished(client, submit_batch(client, dataset, {"name": "kmeans", "k": 3})["id"])
    response = client.simulate_post(f"/runs/{first['id']}/retry", json={"algorithm": {"k": 2}})
    assert response.status_code == 202
    second = finished(client, response.json["id"])
    assert second["algorithm"]["k"] == 2 and second["retryOf"] == first["id"]
    assert len(client.simulate_get(f"/runs/{second['id']}/centroids").json["centers"]) == 2


def test_bad_clustering_specs(client, dataset):
    base = {"kind": "clustering", "dataset": dataset, "variables": ["x", "y"], "algorithm": {"name": "kmeans"}}
    assert client.simulate_post("/runs", json=dict(base, dataset="nope_missing")).status_code == 404
    assert client.simulate_post("/runs", json=dict(base, variables=["x", "zz"])).status_code == 422
    assert client.simulate_post("/runs", json=dict(base, variables=["id"])).status_code == 422
    assert client.simulate_post("/runs", json=dict(base, variables=None)).status_code == 422
    assert client.simulate_post("/runs", json=dict(base, source={"url": "http://x/p"})).status_code == 422


def test_dataset_in_use_cannot_be_deleted(client):
    name = upload_dataset(client, blobs(n_per=50, seed=2))
    body = {"kind": "clustering", "dataset": name, "variables": ["x", "y"], "online": True,
            "algorithm": {"name": "kmeans", "k": 3}}
    run_id = client.simulate_post("/runs", json=body).json["id"]
    try:
        assert client.simulate_delete(f"/datasets/{name}").status_code == 409
    finally:
        client.simulate_post(f"/runs/{run_id}/cancel")
        wait_run(client, run_id, lambda r: r["state"] == "cancelled")
    assert client.simulate_delete(f"/datasets/{name}").status_code == 204


def test_cosine_space_clusters_by_direction(client):
    rng = np.random.default_rng(5)
    angles = np.concatenate([rng.normal(0.3, 0.05, 100), rng.normal(2.0, 0.05, 100)])
    radii = rng.uniform(1, 20, 200)
    name = upload_dataset(client, np.c_[radii * np.cos(angles), radii * np.sin(angles)])
    run = finished(client, submit_batch(client, name, {"name": "kmeans", "k": 2, "space": "cosinus"})["id"])
    counts = sorted(c["count"] for c in client.simulate_get(f"/runs/{run['id']}/centroids").json["centers"])
    assert counts == [100, 100]


def test_dtw_space_clusters_series_by_shape(client):
    t = np.linspace(0, 2 * np.pi, 24)
    rng = np.random.default_rng(9)
    rows = [{"id": f"sine{i}", "curve": (np.sin(t + rng.normal(0, 0.3)) + rng.normal(0, 0.05, t.size)).round(4).tolist()}
            for i in range(10)]
    rows += [{"id": f"step{i}", "curve": (np.sign(np.sin(t + rng.normal(0, 0.3))) * 2).round(4).tolist()}
             for i in range(10)]
    name = f"curves_{uuid.uuid4().hex[:8]}"
    body = {"name": name, "columns": [{"name": "id", "type": "text"},
                                      {"name": "curve", "type": "double", "is_set": True}], "rows": rows}
    assert client.simulate_post("/datasets", json=body).status_code == 201
    spec = {"kind": "clustering", "dataset": name, "variables": ["curve"], "identifier": "id", "seed": 2,
            "algorithm": {"name": "kmeans", "k": 2, "space": "dtw", "window": 3, "init": "given",
                          "centers": [rows[0]["curve"], rows[10]["curve"]]}}
    response = client.simulate_post("/runs", json=spec)
    assert response.status_code == 202, response.text
    run = finished(client, response.json["id"])
    assert run["state"] == "succeeded", run.get("error")
    labels = client.simulate_get(f"/runs/{run['id']}/labels").json["labels"]
    by_kind = {kind: {row["label"] for row in labels if row["id"].startswith(kind)} for kind in ("sine", "step")}
    assert len(by_kind["sine"]) == 1 and len(by_kind["step"]) == 1 and by_kind["sine"] != by_kind["step"]
    vector = dict(spec, algorithm={"name": "kmeans", "k": 2})
    assert client.simulate_post("/runs", json=vector).status_code == 422
