"""The ``frames`` collection: successive centroid frames of a clustering run, with stable labels."""
from __future__ import annotations

import pymongo

from tucluster.store import Database


def ensure_indexes(database: Database) -> None:
    database.db.frames.create_index([("run", pymongo.ASCENDING), ("frame", pymongo.ASCENDING)], unique=True)


def add(database: Database, run_id: str, frame: dict) -> None:
    database.db.frames.insert_one(dict(frame, run=run_id))


def since(database: Database, run_id: str, after: int, limit: int) -> list[dict]:
    found = database.db.frames.find({"run": run_id, "frame": {"$gt": after}}, {"_id": 0, "run": 0})
    return list(found.sort("frame", 1).limit(limit))


def delete_for_run(database: Database, run_id: str) -> None:
    database.db.frames.delete_many({"run": run_id})
