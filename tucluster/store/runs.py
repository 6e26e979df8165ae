"""The ``runs`` collection: one document per run, the only record of its state.

Result files are in the ``results`` bucket (``store.results``).

State changes are conditional updates (``{"_id": id, "state": expected}``): atomic, and fast on
the embedded server, where find_one_and_update is slow on large collections.
"""
from __future__ import annotations

import datetime as dt
import uuid

import pymongo
from bson import ObjectId

from tucluster import states
from tucluster.store import Database, date_range, page, utcnow


def ensure_indexes(database: Database) -> None:
    runs = database.db.runs
    runs.create_index("taskId", unique=True)
    runs.create_index([("created", pymongo.DESCENDING)])
    runs.create_index([("state", pymongo.ASCENDING), ("heartbeat", pymongo.ASCENDING)])
    runs.create_index([("state", pymongo.ASCENDING), ("queuedAt", pymongo.ASCENDING)])
    runs.create_index([("model", pymongo.ASCENDING), ("entryPoint", pymongo.ASCENDING)])


def new(spec: dict) -> dict:
    now = utcnow()
    return dict(spec, _id=str(ObjectId()), taskId=str(uuid.uuid4()), state=states.QUEUED, progress=0.0,
                created=now, updated=now, queuedAt=now, started=None, finished=None, worker=None, error=None,
                attempts=0, enqueues=1, results=[])


def insert(database: Database, doc: dict) -> dict:
    database.db.runs.insert_one(doc)
    return doc


def get(database: Database, run_id: str, projection=None) -> dict | None:
    return database.db.runs.find_one({"_id": run_id}, projection)


def by_task(database: Database, task_id: str) -> dict | None:
    return database.db.runs.find_one({"taskId": task_id})


def transition(database: Database, run_id: str, expected, changes: dict, worker: str | None = None) -> bool:
    """Set ``changes`` only if the run is in one of the ``expected`` states (and, given ``worker``, still
    held by it: a worker that lost a run to another attempt changes nothing); True when it was."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    query = {"_id": run_id, "state": {"$in": expected}}
    if worker is not None:
        query["worker"] = worker
    result = database.db.runs.update_one(query, {"$set": dict(changes, updated=utcnow())})
    return result.modified_count == 1


def update(database: Database, run_id: str, changes: dict, unset: tuple = ()) -> None:
    operation = {"$set": dict(changes, updated=utcnow())}
    if unset:
        operation["$unset"] = {name: "" for name in unset}
    database.db.runs.update_one({"_id": run_id}, operation)


def claim(database: Database, run_id: str, changes: dict) -> bool:
    """queued -> running for this attempt (``attempts`` counts them)."""
    result = database.db.runs.update_one(
        {"_id": run_id, "state": states.QUEUED},
        {"$set": dict(changes, state=states.RUNNING, updated=utcnow()), "$inc": {"attempts": 1}},
    )
    return result.modified_count == 1


def take_over(database: Database, run_id: str, stale_before: dt.datetime, max_attempts: int, changes: dict) -> bool:
    """Claim a running run whose worker stopped beating (a redelivered task after a crash), while it
    has attempts left."""
    result = database.db.runs.update_one(
        {"_id": run_id, "state": states.RUNNING, "heartbeat": {"$lt": stale_before},
         "attempts": {"$lt": max_attempts}},
        {"$set": dict(changes, updated=utcnow()), "$inc": {"attempts": 1}},
    )
    return result.modified_count == 1


def _back_in_queue(now: dt.datetime) -> dict:
    """A held run waiting in its queue again, held by no worker."""
    return {"state": states.QUEUED, "queuedAt": now, "updated": now, "worker": None, "heartbeat": None}


def release_stale(database: Database, stale_before: dt.datetime, max_attempts: int,
                  run_id: str | None = None) -> tuple[list[dict], int]:
    """Runs held by a worker silent since ``stale_before`` (or only ``run_id``): back to ``queued`` while
    they have attempts left, ``failed`` after the last one. Returns (the released runs, to enqueue
    again; how many failed). Each change is conditional, so two reapers never release a run twice."""
    query = {"state": {"$in": list(states.HELD)}, "heartbeat": {"$lt": stale_before}}
    if run_id is not None:
        query["_id"] = run_id
    released, failed = [], 0
    for run in list(database.db.runs.find(query, {"results": 0})):
        now = utcnow()
        still_stale = {"_id": run["_id"], "state": run["state"], "heartbeat": run["heartbeat"]}
        if run.get("cancelRequested") or run.get("stopRequested"):
            changes = {"state": states.CANCELLED, "finished": now, "updated": now,
                       "error": f"cancelled: its worker {run.get('worker')} was lost before it stopped"}
            failed += database.db.runs.update_one(still_stale, {"$set": changes}).modified_count
            continue
        if run.get("attempts", 0) >= max_attempts:
            error = (f"worker lost: no heartbeat from {run.get('worker')} during attempt {run.get('attempts', 0)} "
                     f"of {max_attempts}; not tried again")
            changes = {"state": states.FAILED, "finished": now, "updated": now, "error": error}
            failed += database.db.runs.update_one(still_stale, {"$set": changes}).modified_count
            continue
        changes = dict(_back_in_queue(now), lostWorker=run.get("worker"))
        if database.db.runs.update_one(still_stale, {"$set": changes}).modified_count:
            released.append(dict(run, **changes))
    return released, failed


def release(database: Database, run_id: str, worker: str, expected) -> bool:
    """A run ``worker`` holds back to ``queued``, its attempt not counted (the worker is stopping)."""
    expected = [expected] if isinstance(expected, str) else list(expected)
    result = database.db.runs.update_one(
        {"_id": run_id, "worker": worker, "state": {"$in": expected}},
        {"$set": _back_in_queue(utcnow()), "$unset": {"releaseRequested": ""}, "$inc": {"attempts": -1}})
    return result.modified_count == 1


def request_release(database: Database, worker: str) -> int:
    """Ask every run ``worker`` holds to go back to its queue (the worker is shutting down)."""
    return database.db.runs.update_many({"worker": worker, "state": {"$in": list(states.HELD)}},
                                        {"$set": {"releaseRequested": True}}).modified_count


def requeue_lost(database: Database, queued_before: dt.datetime, run_ids: list[str] | None = None) -> list[dict]:
    """Queued runs waiting since before ``queued_before`` (their message is presumed gone): their
    waiting time starts again and ``enqueues`` counts them. Returns the runs to enqueue again."""
    query = {"state": states.QUEUED, "queuedAt": {"$lt": queued_before}}
    if run_ids is not None:
        query["_id"] = {"$in": list(run_ids)}
    requeued = []
    for run in list(database.db.runs.find(query, {"results": 0})):
        now = utcnow()
        changed = database.db.runs.update_one({"_id": run["_id"], "state": states.QUEUED, "queuedAt": run["queuedAt"]},
                                              {"$set": {"queuedAt": now, "updated": now}, "$inc": {"enqueues": 1}})
        if changed.modified_count:
            requeued.append(dict(run, queuedAt=now, enqueues=run.get("enqueues", 1) + 1))
    return requeued


def waiting_since(database: Database, queued_before: dt.datetime) -> list[dict]:
    """Queued runs waiting since before ``queued_before``: ``{_id, kind, engine}``."""
    return list(database.db.runs.find({"state": states.QUEUED, "queuedAt": {"$lt": queued_before}},
                                      {"kind": 1, "engine": 1}))


def fail(database: Database, run_id: str, expected, error: str) -> bool:
    now = utcnow()
    return transition(database, run_id, expected, {"state": states.FAILED, "finished": now, "error": error})


def clear_baseline(database: Database, model: str, entry_point: str) -> None:
    database.db.runs.update_many({"model": model, "entryPoint": entry_point, "isBaseline": True},
                                 {"$set": {"isBaseline": False}})


def count_active(database: Database, **match) -> int:
    """Runs queued, running or paused among those matching ``match`` (e.g. ``model=``, ``dataset=``)."""
    return database.db.runs.count_documents(dict(match, state={"$in": list(states.ACTIVE)}))


def held_by(database: Database, run_ids: list[str], stale_after_seconds: float) -> list[tuple[str, str]]:
    """(run id, worker) of those of ``run_ids`` a live worker (heartbeat within ``stale_after_seconds``) holds."""
    since = utcnow() - dt.timedelta(seconds=stale_after_seconds)
    found = database.db.runs.find({"_id": {"$in": list(run_ids)}, "state": {"$in": list(states.HELD)},
                                   "heartbeat": {"$gte": since}}, {"worker": 1})
    return [(doc["_id"], doc.get("worker")) for doc in found]


def queued_ahead(database: Database, run: dict) -> int:
    """Queued runs of the same queue (engine, or batch / online clustering) submitted before ``run``."""
    query = {"state": states.QUEUED, "created": {"$lt": run["created"]}, "kind": run["kind"]}
    if run["kind"] == "simulation":
        query["engine"] = run.get("engine")
    else:
        query["online"] = bool(run.get("online"))
    return database.db.runs.count_documents(query)


def count_held(database: Database, worker: str) -> int:
    """Runs that ``worker`` is running or holding paused."""
    return database.db.runs.count_documents({"worker": worker, "state": {"$in": list(states.HELD)}})


def rename_model(database: Database, old: str, new_name: str) -> None:
    database.db.runs.update_many({"model": old}, {"$set": {"model": new_name}})


def delete(database: Database, run_id: str) -> bool:
    return database.db.runs.delete_one({"_id": run_id}).deleted_count == 1


def search(database: Database, *, filters: dict, created_after=None, created_before=None,
           sort=("created", -1), limit=50, cursor=None) -> dict:
    query = {key: value for key, value in filters.items() if value is not None}
    query.update(date_range("created", created_after, created_before))
    projection = {"results": 0}
    return page(database.db.runs, query, [sort, ("_id", sort[1])], limit, cursor, projection)
