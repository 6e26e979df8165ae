"""Online clustering runs fed by pushes: lifecycle, controls, reconfigure, copy, stop."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tests.e2e.clustering_support import blobs, finish, get, matched_error, push, submit_online, wait_run

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def online(client):
    created = []

    def start(algorithm, **extra):
        run_id = submit_online(client, algorithm, **extra)
        created.append(run_id)
        wait_run(client, run_id, lambda r: r["state"] == "running", message="the run to start")
        return run_id
    yield start
    for run_id in created:
        finish(client, run_id)


def test_pushed_points_are_clustered_and_labels_stay_put(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs(seed=1))
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300, message="frames")
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json
    assert centers["columns"] == ["x", "y"] and len(centers["centers"]) == 3
    assert matched_error([c["center"] for c in centers["centers"]]) < 0.5
    assert sum(c["count"] for c in centers["centers"]) == 300
    before = {c["label"]: c["center"] for c in centers["centers"]}
    push(client, run_id, blobs(seed=2) + 0.2)  # the same clusters drift a little
    wait_run(client, run_id, lambda r: r["figures"]["pushedData"] == 600, message="second push")
    after = {c["label"]: c["center"] for c in client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]}
    assert set(after) == set(before)
    for label in before:
        assert np.linalg.norm(np.subtract(after[label], before[label])) < 1.0


def test_pause_idles_and_play_resumes(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
    assert client.simulate_post(f"/runs/{run_id}/pause").json["state"] == "paused"
    wait_run(client, run_id, lambda r: r["phase"] == "Idle", message="phase Idle")
    iterations = get(client, run_id)["figures"]["iterations"]
    push(client, run_id, blobs(seed=3))
    time.sleep(1.0)  # a paused run must not take the push: nothing to poll for, so wait a fixed time
    assert get(client, run_id)["figures"]["iterations"] == iterations
    assert client.simulate_post(f"/runs/{run_id}/play").json["state"] == "running"
    wait_run(client, run_id, lambda r: r["figures"]["pushedData"] == 600, message="push taken after play")


def test_illegal_transitions_are_409(client, online):
    run_id = online({"name": "kmeans", "k": 2})
    assert client.simulate_post(f"/runs/{run_id}/play").status_code == 409
    client.simulate_post(f"/runs/{run_id}/cancel")
    wait_run(client, run_id, lambda r: r["state"] == "cancelled")
    for action in ("pause", "play", "stop", "push"):
        response = client.simulate_post(f"/runs/{run_id}/{action}", json=[[1, 2]])
        assert response.status_code == 409, action
    assert client.simulate_patch(f"/runs/{run_id}", json={"algorithm": {"k": 3}}).status_code == 409


def test_stop_keeps_centroids_and_labels(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
    assert client.simulate_post(f"/runs/{run_id}/stop").status_code == 200
    run = wait_run(client, run_id, lambda r: r["state"] == "succeeded", message="stop to finish the run")
    assert run["phase"] == "Finished"
    labels = client.simulate_get(f"/runs/{run_id}/labels", params={"limit": 300}).json
    assert labels["total"] == 300 and len({row["label"] for row in labels["labels"]}) == 3
    # points of one blob share one label
    assert len({row["label"] for row in labels["labels"][:100]}) == 1


def test_points_pushed_right_before_a_pause_are_in_the_result_while_paused(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs())
    assert client.simulate_post(f"/runs/{run_id}/pause").json["state"] == "paused"
    run = wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300,
                   message="the points pushed before the pause to be taken")
    assert run["state"] == "paused"
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 300 and matched_error([c["center"] for c in centers]) < 0.5


def test_a_stop_right_after_a_push_ends_with_centroids_of_those_points(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs())
    assert client.simulate_post(f"/runs/{run_id}/stop").status_code == 200
    run = wait_run(client, run_id, lambda r: r["state"] in ("succeeded", "failed", "cancelled"),
                   message="the stop to end the run")
    assert run["state"] == "succeeded" and run["figures"]["pushedData"] == 300
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 300
    assert client.simulate_get(f"/runs/{run_id}/labels", params={"limit": 1}).json["total"] == 300


def test_an_online_run_on_a_dataset_clusters_it_before_any_push(client, online):
    from tests.e2e.test_batch_clustering import upload_dataset

    name = upload_dataset(client, blobs(seed=4))
    run_id = online({"name": "kmeans", "k": 3}, dataset=name)
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("iterations", 0) >= 1,
             message="the dataset to be clustered without a push")
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 300 and matched_error([c["center"] for c in centers]) < 0.5


def test_reconfigure_applies_at_the_next_iteration(client, online):
    run_id = online({"name": "kmeans", "k": 3, "iterPerData": 1})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
    response = client.simulate_patch(f"/runs/{run_id}", json={"algorithm": {"k": 2}})
    assert response.status_code == 200 and response.json["algorithm"]["k"] == 2
    push(client, run_id, blobs(seed=5))
    wait_run(client, run_id, lambda r: r["figures"]["pushedData"] == 600)
    live = [c for c in client.simulate_get(f"/runs/{run_id}/centroids").json["centers"] if c["count"] > 0]
    assert len(live) == 2
    assert client.simulate_patch(f"/runs/{run_id}", json={"algorithm": {"k": -1}}).status_code == 422
    assert client.simulate_patch(f"/runs/{run_id}", json={"algorithm": {"name": "mcmc"}}).status_code == 422


def test_iter_per_data_bounds_iterations_per_arrival(client, online):
    run_id = online({"name": "kmeans", "k": 3, "iterPerData": 3, "tol": 0})
    push(client, run_id, blobs())
    run = wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("iterations") == 3, message="3 iterations")
    time.sleep(1.0)  # no new data: no more iterations may happen
    assert get(client, run_id)["figures"]["iterations"] == 3 and run["phase"] in ("Running", "Idle")


def test_iter_freq_limits_iterations_per_second(client, online):
    run_id = online({"name": "kmeans", "k": 3, "iterPerData": 0, "iterFreq": 4, "tol": 0})
    push(client, run_id, blobs())
    first = wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("iterations", 0) >= 1)
    time.sleep(2.0)
    later = get(client, run_id)
    rate = (later["figures"]["iterations"] - first["figures"]["iterations"]) / (
        later["figures"]["duration"] - first["figures"]["duration"])
    assert 2 <= rate <= 5, rate


def test_frame_size_keeps_the_last_points(client, online):
    run_id = online({"name": "kmeans", "k": 3, "frameSize": 120})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 120
    # the window holds the last blob only, around (0, 10)
    big = max(centers, key=lambda c: c["count"])
    assert np.linalg.norm(np.subtract(big["center"], [0, 10])) < 1.0


def test_data_per_iter_samples_the_window_for_mcmc(client, online):
    run_id = online({"name": "mcmc", "initK": 3, "dataPerIter": 50, "iterPerData": 2})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("iterations", 0) >= 2)
    centers = client.simulate_get(f"/runs/{run_id}/centroids").json["centers"]
    assert sum(c["count"] for c in centers) == 50


def test_timeout_finishes_an_idle_run(client, online):
    run_id = online({"name": "kmeans", "k": 3, "timeout": 1})
    push(client, run_id, blobs())
    run = wait_run(client, run_id, lambda r: r["state"] != "running", 15, "the timeout")
    assert run["state"] == "succeeded" and run["figures"]["pushedData"] == 300


def test_copy_starts_from_the_current_centroids(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    push(client, run_id, blobs())
    wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
    response = client.simulate_post(f"/runs/{run_id}/copy")
    assert response.status_code == 202
    copy_id = response.json["id"]
    try:
        copy = get(client, copy_id)
        assert copy["algorithm"]["init"] == "given" and len(copy["algorithm"]["centers"]) == 3
        assert matched_error(copy["algorithm"]["centers"]) < 0.5
    finally:
        finish(client, copy_id)


def test_bad_pushes_and_specs_are_refused(client, online):
    run_id = online({"name": "kmeans", "k": 3})
    assert client.simulate_post(f"/runs/{run_id}/push", json=[[1, 2, 3]]).status_code == 422
    assert client.simulate_post(f"/runs/{run_id}/push", json=[{"x": 1}]).status_code == 422
    assert client.simulate_post(f"/runs/{run_id}/push", json=[["a", 1]]).status_code == 422
    assert client.simulate_post(f"/runs/{run_id}/push", json=[]).status_code == 422
    ndjson = client.simulate_post(f"/runs/{run_id}/push", body='{"x": 1, "y": 2}\n{"x": 3, "y": 4}\n',
                                  headers={"Content-Type": "application/x-ndjson"})
    assert ndjson.status_code == 202 and ndjson.json["pushed"] == 2
    bad = {"kind": "clustering", "online": True, "variables": ["x"]}
    assert client.simulate_post("/runs", json=dict(bad, algorithm={"name": "nope"})).status_code == 422
    assert client.simulate_post("/runs", json=dict(bad, algorithm={"name": "kmeans", "k": "three"})).status_code == 422
    assert client.simulate_post("/runs", json=dict(bad, algorithm={"name": "kmeans", "iterFreq": -1})).status_code == 422
    assert client.simulate_post("/runs", json={"kind": "clustering", "algorithm": {"name": "kmeans"}}).status_code == 422


def test_actions_on_a_simulation_run_are_422(client):
    assert client.simulate_post("/runs/unknown/pause").status_code == 404
