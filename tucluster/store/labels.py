"""The ``labels`` collection: a clustering run's stable label per data row, in chunks."""
from __future__ import annotations

import pymongo

from tucluster.store import Database

CHUNK = 10_000


def ensure_indexes(database: Database) -> None:
    database.db.labels.create_index([("run", pymongo.ASCENDING), ("start", pymongo.ASCENDING)], unique=True)


def replace(database: Database, run_id: str, labels: list[int], ids: list | None = None) -> None:
    database.db.labels.delete_many({"run": run_id})
    docs = []
    for start in range(0, len(labels), CHUNK):
        doc = {"run": run_id, "start": start, "labels": labels[start:start + CHUNK]}
        if ids is not None:
            doc["ids"] = ids[start:start + CHUNK]
        docs.append(doc)
    if docs:
        database.db.labels.insert_many(docs)


def read(database: Database, run_id: str, offset: int, limit: int) -> tuple[list[dict], int]:
    """Rows ``[{row, id, label}]`` from ``offset`` and the total number of labelled rows."""
    first = offset - offset % CHUNK
    rows = []
    for doc in database.db.labels.find({"run": run_id, "start": {"$gte": first, "$lt": offset + limit}}).sort("start", 1):
        for index, label in enumerate(doc["labels"]):
            row = doc["start"] + index
            if offset <= row < offset + limit:
                rows.append({"row": row, "id": doc["ids"][index] if "ids" in doc else row, "label": label})
    last = database.db.labels.find_one({"run": run_id}, sort=[("start", -1)])
    total = last["start"] + len(last["labels"]) if last else 0
    return rows, total


def delete_for_run(database: Database, run_id: str) -> None:
    database.db.labels.delete_many({"run": run_id})
