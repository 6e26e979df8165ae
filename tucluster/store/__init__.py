"""MongoDB access: one lazily created client per process, one module per collection and per
GridFS bucket (``archives`` for model zips, ``results`` for run outputs).

Store functions take and return plain dicts and raise plain domain errors (``tucluster.errors``).
Connection failures surface as ``pymongo.errors.ConnectionFailure``; ``tucluster.http`` maps them
to 503 in one place. Indexes are created in one place, ``Database.ensure_indexes``.
"""
from __future__ import annotations

import datetime as dt
import os
import threading

import gridfs
import pymongo

from tucluster.paging import decode_cursor, encode_cursor
from tucluster.settings import Settings


def utcnow() -> dt.datetime:
    # Mongo keeps milliseconds; truncating here keeps in-memory and stored values equal.
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class Database:
    """Owns the MongoClient of this process; the client is created on first use, never at import."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._client: pymongo.MongoClient | None = None
        self._pid = None
        self._lock = threading.Lock()

    @property
    def client(self) -> pymongo.MongoClient:
        # A client must not cross a fork (gunicorn and Celery prefork workers): make a new one per pid.
        if self._client is None or self._pid != os.getpid():
            with self._lock:
                if self._client is None or self._pid != os.getpid():
                    timeout = self.settings.mongo_timeout_ms
                    self._client = pymongo.MongoClient(
                        self.settings.effective_mongo_uri,
                        serverSelectionTimeoutMS=timeout,
                        connectTimeoutMS=timeout,
                        tz_aware=True,
                        connect=False,
                    )
                    self._pid = os.getpid()
        return self._client

    @property
    def db(self):
        return self.client[self.settings.database]

    def bucket(self, name: str) -> gridfs.GridFSBucket:
        return gridfs.GridFSBucket(self.db, bucket_name=name)

    def ping(self) -> None:
        self.client.admin.command("ping")

    def ensure_indexes(self) -> None:
        from tucluster.store import datasets, frames, labels, logs, models, pushes, runs, workers

        for module in (models, runs, logs, workers, pushes, frames, labels, datasets):
            module.ensure_indexes(self)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def page(collection, query: dict, sort: list, limit: int, cursor: str | None, projection=None) -> dict:
    """One page of a query: ``{"items", "next", "total"}`` with an opaque offset cursor."""
    offset = decode_cursor(cursor)
    found = collection.find(query, projection).sort(sort).skip(offset).limit(limit)
    items = list(found)
    total = collection.count_documents(query)
    following = offset + len(items)
    return {"items": items, "next": encode_cursor(following) if following < total else None, "total": total}


def date_range(field: str, after: dt.datetime | None, before: dt.datetime | None) -> dict:
    condition = {}
    if after is not None:
        condition["$gte"] = after
    if before is not None:
        condition["$lt"] = before
    return {field: condition} if condition else {}
