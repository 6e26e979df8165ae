"""The ``logs`` collection: a run's output as appended chunks addressed by character offset."""
from __future__ import annotations

import pymongo

from tucluster.store import Database, utcnow

MAX_READ_CHARS = 1_000_000


def ensure_indexes(database: Database) -> None:
    database.db.logs.create_index([("run", pymongo.ASCENDING), ("start", pymongo.ASCENDING)], unique=True)


def append(database: Database, run_id: str, start: int, text: str) -> int:
    """Store ``text`` at character offset ``start``; returns the offset after it.

    The writer (one worker per run) tracks the offset itself, so appends need no read.
    """
    if text:
        database.db.logs.insert_one({"run": run_id, "start": start, "end": start + len(text),
                                     "text": text, "at": utcnow()})
    return start + len(text)


def length(database: Database, run_id: str) -> int:
    last = database.db.logs.find_one({"run": run_id}, sort=[("start", pymongo.DESCENDING)])
    return last["end"] if last else 0


def read(database: Database, run_id: str, offset: int = 0, limit: int = MAX_READ_CHARS) -> tuple[str, int]:
    """Text from ``offset`` (at most ``limit`` characters) and the offset to ask for next."""
    parts, position = [], offset
    for chunk in database.db.logs.find({"run": run_id, "end": {"$gt": offset}}).sort("start", 1):
        text = chunk["text"][max(0, position - chunk["start"]):]
        room = limit - (position - offset)
        parts.append(text[:room])
        position += min(len(text), room)
        if position - offset >= limit:
            break
    return "".join(parts), position


def tail(database: Database, run_id: str, lines: int) -> str:
    chunks = list(database.db.logs.find({"run": run_id}).sort("start", -1).limit(lines))
    text = "".join(chunk["text"] for chunk in reversed(chunks))
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


def delete_for_run(database: Database, run_id: str) -> None:
    database.db.logs.delete_many({"run": run_id})
