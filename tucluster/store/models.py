"""The ``models`` collection: one document per model (its files, entry points, validation, baselines).

The zip itself is in the ``archives`` bucket (``store.archives``).
"""
from __future__ import annotations

import re

import pymongo
import pymongo.errors
from bson import ObjectId

from tucluster.errors import Conflict
from tucluster.store import Database, date_range, page, utcnow
# Mongo field names cannot hold dots; entry points (file names) are stored with this stand-in.
DOT = "\uff0e"


def ensure_indexes(database: Database) -> None:
    database.db.models.create_index("name", unique=True)
    database.db.models.create_index([("created", pymongo.DESCENDING)])


def _taken(name: str) -> Conflict:
    return Conflict(f"a model named {name!r} already exists")


def _decoded(doc: dict | None) -> dict | None:
    """The document as callers see it: baseline keys are entry points again."""
    if doc is not None and "baselines" in doc:
        doc["baselines"] = {key.replace(DOT, "."): value for key, value in (doc["baselines"] or {}).items()}
    return doc


def insert(database: Database, doc: dict) -> dict:
    """Insert a model document; Conflict on a taken name."""
    doc = dict(doc, _id=str(ObjectId()), created=utcnow(), updated=utcnow())
    try:
        database.db.models.insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        raise _taken(doc["name"]) from None
    return doc


def get(database: Database, name: str) -> dict | None:
    return _decoded(database.db.models.find_one({"name": name}))


def exists(database: Database, name: str) -> bool:
    return database.db.models.count_documents({"name": name}, limit=1) > 0


def update(database: Database, name: str, changes: dict) -> dict | None:
    """Apply ``changes``; Conflict when a rename takes a name in use."""
    try:
        return _decoded(database.db.models.find_one_and_update(
            {"name": name},
            {"$set": dict(changes, updated=utcnow())},
            return_document=pymongo.ReturnDocument.AFTER,
        ))
    except pymongo.errors.DuplicateKeyError:
        raise _taken(changes.get("name", name)) from None


def set_baseline(database: Database, name: str, entry_point: str, run_id: str | None) -> None:
    key = "baselines." + entry_point.replace(".", DOT)
    change = {"$set": {key: run_id}} if run_id else {"$unset": {key: ""}}
    database.db.models.update_one({"name": name}, change)


def delete(database: Database, name: str) -> bool:
    return database.db.models.delete_one({"name": name}).deleted_count == 1


def search(database: Database, *, q=None, created_after=None, created_before=None,
           sort=("created", -1), limit=50, cursor=None) -> dict:
    query = date_range("created", created_after, created_before)
    if q:
        pattern = re.compile(re.escape(q), re.IGNORECASE)
        query["$or"] = [{"name": pattern}, {"description": pattern}]
    found = page(database.db.models, query, [sort, ("_id", sort[1])], limit, cursor, {"files": 0})
    found["items"] = [_decoded(doc) for doc in found["items"]]
    return found
