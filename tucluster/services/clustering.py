"""Business rules of clustering runs: the spec, the online lifecycle, pushes, copies.

Parameters of a run's ``algorithm`` are of two kinds: the algorithm's own and the run-control ones
(``qflow.algorithms.control``), which the worker's loop applies. Both are checked here with the
worker's own code, imported on first use: it loads scikit-learn, SciPy and POT, which an API
process that never sees a clustering request should not carry.
"""
from __future__ import annotations

import numpy as np

from tucluster import states
from tucluster.errors import Conflict, Invalid, require
from tucluster.store import Database, utcnow
from tucluster.store import datasets as dataset_store
from tucluster.store import pushes as push_store
from tucluster.store import runs as run_store

SPEC_KEYS = ("dataset", "variables", "identifier", "online", "seed", "source")


def _new_spec(source: dict, algorithm: dict) -> dict:
    """A clustering run's spec: ``SPEC_KEYS`` of ``source``, ``algorithm``, and nothing computed yet."""
    return dict({key: source.get(key) for key in SPEC_KEYS}, kind="clustering", algorithm=algorithm,
                phase="Created", figures={}, centroids=None, controlSeq=0)


def check_algorithm(algorithm: dict, seed) -> None:
    from qflow.algorithms import build, split

    try:
        name, params, _ = split(algorithm)
        build(name, params, seed)
    except ValueError as exc:
        raise Invalid(str(exc), errors={"algorithm": [str(exc)]}) from exc


def _check_dataset(database: Database, body: dict) -> None:
    dataset = require(dataset_store.get(database, body["dataset"]), f"no dataset named {body['dataset']!r}")
    columns = {column["name"]: column for column in dataset["columns"]}
    for name in body["variables"] + ([body["identifier"]] if body.get("identifier") else []):
        if name not in columns:
            raise Invalid(f"dataset {body['dataset']!r} has no column {name!r}",
                          errors={"variables": [f"unknown column {name!r}"]})
    series = body["algorithm"].get("space") == "dtw"
    if series and (len(body["variables"]) != 1 or not columns[body["variables"][0]].get("is_set")):
        raise Invalid("the dtw space clusters series: name one list (is_set) column of numbers",
                      errors={"variables": ["dtw needs exactly one is_set column"]})
    for name in body["variables"]:
        column = columns[name]
        if column["type"] not in ("int", "double", "bool"):
            raise Invalid(f"column {name!r} is {column['type']}: clustering takes numeric columns",
                          errors={"variables": [f"{name!r} is not numeric"]})
        if column.get("is_set") and not series:
            raise Invalid(f"column {name!r} holds lists: cluster it with space 'dtw'",
                          errors={"variables": [f"{name!r} is a list column"]})


def clustering_spec(database: Database, body: dict) -> dict:
    """The spec of a clustering run from a loaded ``ClusteringCreate`` body; Invalid when it cannot run."""
    check_algorithm(body["algorithm"], body["seed"])
    if body["dataset"]:
        _check_dataset(database, body)
    return _new_spec(body, body["algorithm"])


def retry_spec(run: dict, changes: dict) -> dict:
    algorithm = dict(run["algorithm"], **(changes.get("algorithm") or {}))
    check_algorithm(algorithm, run.get("seed"))
    return _new_spec(run, algorithm)


def clustering_run(database: Database, run_id: str) -> dict:
    run = require(run_store.get(database, run_id), f"no run with id {run_id!r}")
    if run["kind"] != "clustering":
        raise Invalid(f"run {run_id} is a {run['kind']} run; this action is for clustering runs",
                      errors={"kind": ["not a clustering run"]})
    return run


def _move(database: Database, run_id: str, expected, changes: dict, action: str) -> dict:
    run = clustering_run(database, run_id)
    if not run_store.transition(database, run_id, expected, changes):
        allowed = " or ".join([expected] if isinstance(expected, str) else expected)
        raise Conflict(f"cannot {action} run {run_id}: it is {run['state']} (needs {allowed})")
    return run_store.get(database, run_id)


def pause(database: Database, run_id: str) -> dict:
    # pausedAt: the worker takes the pushes stored before it, then idles.
    return _move(database, run_id, states.RUNNING, {"state": states.PAUSED, "phase": "Idle", "pausedAt": utcnow()},
                 "pause")


def play(database: Database, run_id: str) -> dict:
    return _move(database, run_id, states.PAUSED, {"state": states.RUNNING}, "play")


def stop(database: Database, run_id: str) -> dict:
    return _move(database, run_id, states.HELD, {"stopRequested": True, "stopRequestedAt": utcnow()}, "stop")


def reconfigure(database: Database, run_id: str, changes: dict) -> dict:
    run = clustering_run(database, run_id)
    if "name" in changes and changes["name"] != run["algorithm"]["name"]:
        raise Invalid("the algorithm of a run cannot change; copy the run instead",
                      errors={"algorithm": ["name cannot change"]})
    algorithm = dict(run["algorithm"], **changes)
    check_algorithm(algorithm, run.get("seed"))
    if not run_store.transition(database, run_id, states.ACTIVE,
                                {"algorithm": algorithm, "controlSeq": run.get("controlSeq", 0) + 1}):
        raise Conflict(f"run {run_id} is {run['state']}; only an active run can be reconfigured")
    return run_store.get(database, run_id)


def points_from_rows(rows, variables: list[str]) -> np.ndarray:
    """Rows as objects (by variable name) or lists (in variable order) -> float matrix (n, d)."""
    if isinstance(rows, dict) and "rows" in rows:
        rows = rows["rows"]
    if not isinstance(rows, list) or not rows:
        raise Invalid("push a non-empty list of rows (objects or lists)", errors={"rows": ["empty or not a list"]})
    matrix = []
    for index, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            missing = [name for name in variables if name not in row]
            if missing:
                raise Invalid(f"row {index} lacks {', '.join(missing)}", errors={"rows": [f"row {index}: missing {missing}"]})
            row = [row[name] for name in variables]
        if not isinstance(row, list) or len(row) != len(variables):
            raise Invalid(f"row {index} needs {len(variables)} values ({', '.join(variables)})",
                          errors={"rows": [f"row {index}: wrong length"]})
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in row):
            raise Invalid(f"row {index} has a non-numeric value", errors={"rows": [f"row {index}: not numeric"]})
        matrix.append(row)
    return np.asarray(matrix, dtype=np.float64)


def push(database: Database, run_id: str, rows) -> dict:
    run = clustering_run(database, run_id)
    if not run.get("online"):
        raise Conflict(f"run {run_id} is a batch run; only online runs take pushed data")
    if run["state"] not in states.ACTIVE:
        raise Conflict(f"run {run_id} is {run['state']}; push to a queued, running or paused run")
    variables = run.get("variables") or run.get("columns")
    if not variables:
        raise Conflict(f"run {run_id} does not know its columns yet; push once it has read its source")
    points = points_from_rows(rows, variables)
    return {"pushed": len(points), "seq": push_store.add(database, run_id, points)}


def copy_spec(run: dict) -> dict:
    """A new run from this one's spec, starting from its current centroids where the algorithm can."""
    spec = retry_spec(run, {})
    centers = [c["center"] for c in ((run.get("centroids") or {}).get("centers") or []) if c.get("count", 1) > 0]
    name = run["algorithm"]["name"]
    if centers and name in ("kmeans", "minibatch"):
        spec["algorithm"] = dict(spec["algorithm"], init="given", centers=centers, k=len(centers))
    elif centers and name == "mcmc":
        spec["algorithm"] = dict(spec["algorithm"], initK=len(centers))
    spec["copyOf"] = run["_id"]
    return spec
