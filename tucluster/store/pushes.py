"""The ``pushes`` collection: points pushed into an online clustering run, in arrival order."""
from __future__ import annotations

import io

import numpy as np
import pymongo
from bson import Binary

from tucluster.store import Database, utcnow


def ensure_indexes(database: Database) -> None:
    database.db.pushes.create_index([("run", pymongo.ASCENDING), ("seq", pymongo.ASCENDING)], unique=True)


def _pack(points: np.ndarray) -> Binary:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(points, dtype=np.float64), allow_pickle=False)
    return Binary(buffer.getvalue())


def add(database: Database, run_id: str, points: np.ndarray) -> int:
    """Store a batch; returns its sequence number. Retries on a concurrent push taking the number."""
    while True:
        last = database.db.pushes.find_one({"run": run_id}, {"seq": 1}, sort=[("seq", -1)])
        seq = (last["seq"] + 1) if last else 1
        try:
            database.db.pushes.insert_one({"run": run_id, "seq": seq, "count": len(points),
                                           "data": _pack(points), "at": utcnow()})
            return seq
        except pymongo.errors.DuplicateKeyError:
            continue


def since(database: Database, run_id: str, after_seq: int) -> list[tuple[int, object, np.ndarray]]:
    """``(seq, stored at, points)`` of the batches pushed after ``after_seq``, in order."""
    found = database.db.pushes.find({"run": run_id, "seq": {"$gt": after_seq}}).sort("seq", 1)
    return [(doc["seq"], doc["at"], np.load(io.BytesIO(doc["data"]), allow_pickle=False)) for doc in found]


def delete_for_run(database: Database, run_id: str) -> None:
    database.db.pushes.delete_many({"run": run_id})
