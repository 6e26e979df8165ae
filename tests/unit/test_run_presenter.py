"""The fast run presenter answers exactly what the documented RunSchema does."""
import datetime as dt

from tucluster.schemas.runs import RunSchema, dump_run

NOW = dt.datetime(2026, 11, 23, 9, 30, 1, 123000, tzinfo=dt.timezone.utc)


def test_simulation_run_matches_the_schema():
    doc = {"_id": "r1", "taskId": "t1", "kind": "simulation", "state": "failed", "progress": 0.25,
           "model": "m", "entryPoint": "run.tcf", "engine": "swe2d", "overrides": {"End Time": "1"},
           "isBaseline": False, "created": NOW, "updated": NOW, "started": NOW, "finished": None,
           "worker": "w@h", "attempts": 1, "exitCode": 3, "error": "boom", "archiveId": object(),
           "results": [{"path": "a", "size": 1, "fileId": object()}], "heartbeat": NOW}
    assert dump_run(doc) == RunSchema().dump(doc)


def test_clustering_run_matches_the_schema():
    doc = {"_id": "r2", "taskId": "t2", "kind": "clustering", "state": "running", "progress": 0.0,
           "created": NOW, "updated": NOW, "started": None, "dataset": "d", "variables": ["x", "y"],
           "identifier": None, "algorithm": {"name": "kmeans", "k": 3}, "online": True, "seed": 4,
           "source": None, "phase": "Running", "figures": {"iterations": 3}, "centroids": {"centers": []}}
    assert dump_run(doc) == RunSchema().dump(doc)
