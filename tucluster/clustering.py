"""Business rules of clustering runs: the spec, the online lifecycle, pushes, copies.

Parameters of a run's ``algorithm`` are of two kinds: the algorithm's own (validated by
``qflow.algorithms``) and the run-control ones below, which the worker's loop applies.
"""
from __future__ import annotations

import numpy as np

from tucluster.errors import Conflict, Invalid, NotFound
from tucluster.store import Database
from tucluster.store import pushes as push_store
from tucluster.store import runs as run_store

CONTROL = {
    "iterPerData": {"type": "int", "default": 1, "help": "online: iterations run each time new data arrives "
                    "(0: iterate continuously, data or not, within iterFreq)"},
    "iterFreq": {"type": "float", "default": 0.0, "help": "most iterations per second (0: no limit)"},
    "frameSize": {"type": "int", "default": 0, "help": "online: keep only the last frameSize points (0: all)"},
    "timeout": {"type": "float", "default": 0.0, "help": "online: finish after this many seconds without "
                "new data (0: run until stopped)"},
    "dataPerIter": {"type": "int", "default": 0, "help": "points one iteration works on: a random sample of the "
                    "window (mcmc), the mini-batch (kmeans), new points consumed (streaming); 0: all"},
}


def split(algorithm: dict) -> tuple[str, dict, dict]:
    """(name, algorithm parameters, control parameters); ValueError on bad control values."""
    from qflow.algorithms import ALGORITHMS  # heavy (scikit-learn, SciPy, POT): only when clustering

    params = dict(algorithm)
    name = params.pop("name")
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(sorted(ALGORITHMS))}")
    control = {key: spec["default"] for key, spec in CONTROL.items()}
    for key in CONTROL:
        if key in params and key not in ALGORITHMS[name]:
            value = params.pop(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"parameter {key!r} must be a number >= 0, got {value!r}")
            control[key] = int(value) if CONTROL[key]["type"] == "int" else float(value)
    return name, params, control


def check_algorithm(algorithm: dict, seed) -> None:
    from qflow.algorithms import build

    try:
        name, params, _ = split(algorithm)
        build(name, params, seed)
    except ValueError as exc:
        raise Invalid(str(exc), errors={"algorithm": [str(exc)]}) from exc


def _check_dataset(database: Database, body: dict) -> None:
    from tucluster.store import datasets as dataset_store

    dataset = dataset_store.get(database, body["dataset"])
    if dataset is None:
        raise NotFound(f"no dataset named {body['dataset']!r}")
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


def spec_from_body(database: Database, body) -> dict:
    from tucluster.resources.base import load
    from tucluster.schemas.clustering import ClusteringCreateSchema

    body = load(ClusteringCreateSchema(), body)
    check_algorithm(body["algorithm"], body["seed"])
    if body["dataset"]:
        _check_dataset(database, body)
    return {"kind": "clustering", "dataset": body["dataset"], "variables": body["variables"],
            "identifier": body["identifier"], "algorithm": body["algorithm"], "online": body["online"],
            "seed": body["seed"], "source": body["source"], "phase": "Created", "figures": {},
            "centroids": None, "controlSeq": 0}


def retry_spec(run: dict, changes: dict) -> dict:
    algorithm = dict(run["algorithm"], **(changes.get("algorithm") or {}))
    check_algorithm(algorithm, run.get("seed"))
    keys = ("dataset", "variables", "identifier", "online", "seed", "source")
    return dict({key: run.get(key) for key in keys}, kind="clustering", algorithm=algorithm, phase="Created",
                figures={}, centroids=None, controlSeq=0)


def clustering_run(database: Database, run_id: str) -> dict:
    run = run_store.get(database, run_id)
    if run is None:
        raise NotFound(f"no run with id {run_id!r}")
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
    return _move(database, run_id, "running", {"state": "paused", "phase": "Idle"}, "pause")


def play(database: Database, run_id: str) -> dict:
    return _move(database, run_id, "paused", {"state": "running"}, "play")


def stop(database: Database, run_id: str) -> dict:
    return _move(database, run_id, ("running", "paused"), {"stopRequested": True}, "stop")


def reconfigure(database: Database, run_id: str, changes: dict) -> dict:
    run = clustering_run(database, run_id)
    if "name" in changes and changes["name"] != run["algorithm"]["name"]:
        raise Invalid("the algorithm of a run cannot change; copy the run instead",
                      errors={"algorithm": ["name cannot change"]})
    algorithm = dict(run["algorithm"], **changes)
    check_algorithm(algorithm, run.get("seed"))
    if not run_store.transition(database, run_id, run_store.ACTIVE,
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
    if run["state"] not in run_store.ACTIVE:
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
