"""Helpers for clustering run tests: seeded blobs, submitting, waiting, cleaning up."""
from __future__ import annotations

import numpy as np

from tests.support import wait_for

TRUE_CENTERS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def blobs(n_per: int = 100, seed: int = 1, centers=TRUE_CENTERS, spread: float = 0.5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([c + rng.normal(0, spread, size=(n_per, len(c))) for c in centers])


def submit_online(client, algorithm: dict, variables=("x", "y"), **extra) -> str:
    body = {"kind": "clustering", "online": True, "variables": list(variables), "algorithm": algorithm,
            "seed": 7, **extra}
    response = client.simulate_post("/runs", json=body)
    assert response.status_code == 202, response.text
    return response.json["id"]


def get(client, run_id) -> dict:
    return client.simulate_get(f"/runs/{run_id}").json


def wait_run(client, run_id, predicate, timeout=30, message="run condition"):
    return wait_for(lambda: (lambda run: run if predicate(run) else None)(get(client, run_id)), timeout,
                    message=message)


def push(client, run_id, points) -> dict:
    response = client.simulate_post(f"/runs/{run_id}/push", json=np.asarray(points).tolist())
    assert response.status_code == 202, response.text
    return response.json


def matched_error(found, truth=TRUE_CENTERS) -> float:
    """Largest distance from each true centre to its nearest found centre."""
    found = np.asarray(found, dtype=float)
    return float(max(np.min(np.linalg.norm(found - t, axis=1)) for t in truth))


def finish(client, run_id) -> None:
    """Leave no run holding a worker slot."""
    if get(client, run_id)["state"] in ("queued", "running", "paused"):
        client.simulate_post(f"/runs/{run_id}/cancel")
        wait_run(client, run_id, lambda r: r["state"] in ("cancelled", "succeeded", "failed"), 15,
                 "the run to end")
