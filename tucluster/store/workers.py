"""The ``workers`` collection: one heartbeat document per worker process."""
from __future__ import annotations

import datetime as dt

from tucluster.store import Database, utcnow


def ensure_indexes(database: Database) -> None:
    database.db.workers.create_index("seen")


def beat(database: Database, name: str, info: dict) -> None:
    database.db.workers.update_one({"_id": name}, {"$set": dict(info, seen=utcnow())}, upsert=True)


def alive(database: Database, within_seconds: float) -> list[dict]:
    since = utcnow() - dt.timedelta(seconds=within_seconds)
    return list(database.db.workers.find({"seen": {"$gte": since}}).sort("_id", 1))


def count_foreign(database: Database, name: str) -> None:
    """One more message this worker rejected because its database does not hold the run."""
    database.db.workers.update_one({"_id": name}, {"$inc": {"foreignMessages": 1}}, upsert=True)


def remove(database: Database, name: str) -> None:
    database.db.workers.delete_one({"_id": name})
