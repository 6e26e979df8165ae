"""The ``deployment`` collection: the identity of the deployment a database belongs to, made once.

Queue names carry it (``qflow.routing.bound``), so two deployments sharing a broker never consume
each other's runs.
"""
from __future__ import annotations

import uuid

import pymongo.errors

from tucluster.store import Database, utcnow

IDENTITY = "identity"


def identity(database: Database) -> str:
    """This database's deployment id, created on first use (the first of two racing creators wins)."""
    found = database.db.deployment.find_one({"_id": IDENTITY})
    if found is None:
        try:
            database.db.deployment.insert_one({"_id": IDENTITY, "id": uuid.uuid4().hex[:12], "created": utcnow()})
        except pymongo.errors.DuplicateKeyError:
            pass
        found = database.db.deployment.find_one({"_id": IDENTITY})
    return found["id"]
