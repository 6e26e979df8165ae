"""The ``models`` collection and the ``archives`` GridFS bucket holding each model's zip."""
from __future__ import annotations

import re

import pymongo
from bson import ObjectId

from tucluster.store import Database, date_range, page, utcnow

BUCKET = "archives"
# Mongo field names cannot hold dots; entry points (file names) are stored with this stand-in.
DOT = "\uff0e"


def ensure_indexes(database: Database) -> None:
    database.db.models.create_index("name", unique=True)
    database.db.models.create_index([("created", pymongo.DESCENDING)])


def insert(database: Database, doc: dict) -> dict:
    """Insert a model document; raises pymongo.errors.DuplicateKeyError on a taken name."""
    doc = dict(doc, _id=str(ObjectId()), created=utcnow(), updated=utcnow())
    database.db.models.insert_one(doc)
    return doc


def get(database: Database, name: str) -> dict | None:
    return database.db.models.find_one({"name": name})


def exists(database: Database, name: str) -> bool:
    return database.db.models.count_documents({"name": name}, limit=1) > 0


def update(database: Database, name: str, changes: dict) -> dict | None:
    return database.db.models.find_one_and_update(
        {"name": name},
        {"$set": dict(changes, updated=utcnow())},
        return_document=pymongo.ReturnDocument.AFTER,
    )


def set_baseline(database: Database, name: str, entry_point: str, run_id: str | None) -> None:
    key = "baselines." + entry_point.replace(".", DOT)
    change = {"$set": {key: run_id}} if run_id else {"$unset": {key: ""}}
    database.db.models.update_one({"name": name}, change)


def baselines(doc: dict) -> dict:
    """Baseline run ids by entry point (dots are escaped in the stored keys)."""
    return {key.replace(DOT, "."): value for key, value in (doc.get("baselines") or {}).items()}


def delete(database: Database, name: str) -> bool:
    return database.db.models.delete_one({"name": name}).deleted_count == 1


def search(database: Database, *, q=None, created_after=None, created_before=None,
           sort=("created", -1), limit=50, cursor=None) -> dict:
    query = date_range("created", created_after, created_before)
    if q:
        pattern = re.compile(re.escape(q), re.IGNORECASE)
        query["$or"] = [{"name": pattern}, {"description": pattern}]
    projection = {"files": 0}
    return page(database.db.models, query, [sort, ("_id", sort[1])], limit, cursor, projection)
