"""The ``datasets`` collection: one schema document per dataset, the commit point of its data.

A dataset's data lives in ``dataset_chunks`` (see ``store.dataset_chunks``). The dataset document
lists its live chunks and is the commit point: a write first adds chunk documents nothing refers to,
then switches the dataset document with an update conditional on its version, then removes chunks no
longer referred to. A write that fails or loses a race removes what it wrote, so readers never see
half an upload. Documents are returned as stored; ``services.datasets`` decides what a caller sees.
"""
from __future__ import annotations

import logging
import re
import uuid

import numpy as np
import pymongo
import pymongo.errors
from bson import ObjectId

from tucluster.errors import Conflict, Invalid, NotFound
from tucluster.formats import table_stats
from tucluster.formats import tables
from tucluster.store import Database, date_range, page, utcnow
from tucluster.store.dataset_chunks import (decode_numbers, decode_values, discard_chunks, drop_chunk, locate,
                                            new_chunks, read_chunk, write_column)

log = logging.getLogger(__name__)
# Rows per chunk; an append rewrites a last chunk shorter than this together with its rows.
CHUNK_ROWS = 65536


def ensure_indexes(database: Database) -> None:
    database.db.datasets.create_index("name", unique=True)
    database.db.datasets.create_index([("created", pymongo.DESCENDING)])
    database.db.dataset_chunks.create_index([("dataset", 1), ("column", 1), ("chunk", 1)], unique=True)


class _Stale(Exception):
    """The dataset document changed between our read and our commit."""


# -- reads -------------------------------------------------------------------------------------

def get(database: Database, name: str) -> dict | None:
    return database.db.datasets.find_one({"name": name})


def _raw(database: Database, name: str) -> dict:
    doc = get(database, name)
    if doc is None:
        raise NotFound(f"no dataset named {name!r}")
    return doc


def exists(database: Database, name: str) -> bool:
    return database.db.datasets.count_documents({"name": name}, limit=1) > 0


def row_count(database: Database, name: str) -> int:
    return _raw(database, name)["rows"]


def search(database: Database, *, q=None, created_after=None, created_before=None, sort=("created", -1),
           limit=50, cursor=None) -> dict:
    query = date_range("created", created_after, created_before)
    if q:
        # $regex, not a compiled pattern: the embedded server treats a BSON regex on the uniquely
        # indexed name as an equality lookup and finds nothing.
        query["name"] = {"$regex": re.escape(q), "$options": "i"}
    return page(database.db.datasets, query, [sort, ("_id", sort[1])], limit, cursor, {"chunks": 0})


def _column(doc: dict, name: str) -> dict:
    for column in doc["columns"]:
        if column["name"] == name:
            return column
    raise Invalid(f"dataset {doc['name']!r} has no column {name!r}", errors={name: ["no such column"]})


def _range(doc: dict, start: int, stop: int | None) -> tuple[int, int]:
    stop = doc["rows"] if stop is None else min(stop, doc["rows"])
    start = max(0, min(start, stop))
    return start, stop


def _fetch(database: Database, name: str, columns: list[str] | None, start: int, stop: int | None, check=None):
    """(doc, columns, start, stop, pieces), read again if a concurrent append moved a chunk meanwhile."""
    for _ in range(5):
        doc = _raw(database, name)
        wanted = [_column(doc, c) for c in columns] if columns is not None else doc["columns"]
        for column in wanted:
            if check:
                check(column)
        low, high = _range(doc, start, stop)
        pieces = locate(database, doc, wanted, low, high)
        if pieces is not None:
            return doc, wanted, low, high, pieces
    raise Conflict(f"dataset {name!r} kept changing while it was read; try again")


def _numeric_only(column: dict) -> None:
    if not tables.is_numeric(column):
        kind = f"list of {column['type']}" if column["is_set"] else column["type"]
        raise Invalid(f"column {column['name']!r} is {kind}, not numeric (int, double or bool)",
                      errors={column["name"]: ["not a numeric column"]})


def numeric_matrix(database: Database, name: str, columns: list[str], start: int = 0,
                   stop: int | None = None) -> np.ndarray:
    """Rows [start, stop) of numeric columns as a float64 (n, d) matrix; nulls are NaN."""
    _, wanted, start, stop, pieces = _fetch(database, name, list(columns), start, stop, _numeric_only)
    out = np.empty((stop - start, len(wanted)), dtype=np.float64)
    index = {column["key"]: j for j, column in enumerate(wanted)}
    for column, chunk, part, offset in pieces:
        values = decode_numbers(chunk, part)
        out[offset:offset + values.size, index[column["key"]]] = values
    return out


def column_values(database: Database, name: str, column: str, start: int = 0, stop: int | None = None) -> list:
    """Rows [start, stop) of one column as Python values (None for nulls)."""
    _, wanted, _, _, pieces = _fetch(database, name, [column], start, stop)
    return decode_values(pieces)


def _numeric_list(column: dict) -> None:
    if not column["is_set"] or column["type"] not in tables.NUMERIC:
        raise Invalid(f"column {column['name']!r} is not a list of numbers",
                      errors={column["name"]: ["not a numeric list column"]})


def series_matrix(database: Database, name: str, column: str, start: int = 0,
                  stop: int | None = None) -> np.ndarray:
    """An is_set column of equal-length numeric lists as a float64 (n, L) matrix."""
    _, wanted, start, _, pieces = _fetch(database, name, [column], start, stop, _numeric_list)
    rows = decode_values(pieces)
    width = len(rows[0]) if rows and rows[0] is not None else 0
    for index, row in enumerate(rows):
        if row is None or len(row) != width:
            found = "null" if row is None else f"{len(row)} values"
            raise Invalid(f"column {column!r}: row {start + index} holds {found} where row {start} holds {width}",
                          errors={column: ["lists of different lengths"]})
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def read_rows(database: Database, name: str, offset: int = 0, limit: int = 100,
              columns: list[str] | None = None) -> dict:
    """A page of rows, JSON-ready: ``{columns, rows: [[...]], offset, next, total}``."""
    doc, wanted, start, stop, pieces = _fetch(database, name, columns or None, offset, offset + limit)
    values = [[_json(v) for v in decode_values([p for p in pieces if p[0] is c])] for c in wanted]
    return {"columns": [c["name"] for c in wanted], "rows": [list(row) for row in zip(*values)],
            "offset": start, "next": stop if stop < doc["rows"] else None, "total": doc["rows"]}


def _json(value):
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- writes ------------------------------------------------------------------------------------

def _size(chunks: list[dict]) -> int:
    return sum(sum(entry["bytes"].values()) for entry in chunks)


def _table_stats(table: tables.Table) -> dict:
    return {c["name"]: table_stats.stats(c, table.data[c["name"]], table.masks.get(c["name"])) for c in table.columns}


def _schema(doc: dict) -> list[dict]:
    return [{k: c[k] for k in ("name", "type", "is_set")} for c in doc["columns"]]


def create(database: Database, name: str, table: tables.Table) -> dict:
    """Store a table as a new dataset; Conflict if the name is taken. All or nothing."""
    if exists(database, name):
        raise Conflict(f"a dataset named {name!r} already exists")
    dataset_id = str(ObjectId())
    columns = [dict(c, key=uuid.uuid4().hex[:12]) for c in table.columns]
    stats = _table_stats(table)
    token, chunks = new_chunks(database, dataset_id, columns, table, 0, CHUNK_ROWS)
    now = utcnow()
    doc = {"_id": dataset_id, "name": name, "columns": columns, "rows": table.rows, "chunks": chunks,
           "size": _size(chunks), "stats": stats, "version": 1, "created": now, "updated": now}
    try:
        database.db.datasets.insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        discard_chunks(database, dataset_id, token)
        raise Conflict(f"a dataset named {name!r} already exists") from None
    except BaseException:
        if not _committed(database, dataset_id, 1):
            discard_chunks(database, dataset_id, token)
        raise
    log.info("dataset %s stored: %d rows, %d columns, %d bytes", name, table.rows, len(columns), doc["size"])
    return doc


def _committed(database: Database, dataset_id: str, version: int) -> bool:
    """After an error on the commit itself: did it land? When unknown, say yes and keep the chunks."""
    try:
        return database.db.datasets.count_documents({"_id": dataset_id, "version": version}) > 0
    except pymongo.errors.PyMongoError:
        return True


def _commit(database: Database, doc: dict, changes: dict, token: str | None = None) -> dict:
    """Switch the dataset document if nobody changed it since ``doc`` was read; else _Stale."""
    changes = dict(changes, version=doc["version"] + 1, updated=utcnow())
    if "chunks" in changes:
        changes["size"] = _size(changes["chunks"])
    try:
        result = database.db.datasets.update_one({"_id": doc["_id"], "version": doc["version"]}, {"$set": changes})
    except BaseException:
        if token and not _committed(database, doc["_id"], changes["version"]):
            discard_chunks(database, doc["_id"], token)
        raise
    if result.matched_count == 0:
        if token:
            discard_chunks(database, doc["_id"], token)
        raise _Stale()
    return dict(doc, **changes)


def append_table(database: Database, name: str, table: tables.Table) -> int:
    """Add the rows of ``table`` (with the dataset's columns); returns the new row count. All or nothing."""
    for _ in range(5):
        doc = _raw(database, name)
        if _schema(doc) != table.columns:
            raise Conflict(f"the columns of {name!r} changed while rows were being added; send them again")
        if table.rows == 0:
            return doc["rows"]
        try:
            return _append_once(database, doc, table)
        except _Stale:
            continue  # another writer committed first: redo on top of its version
    raise Conflict(f"dataset {name!r} kept changing during the append; try again")


def _append_once(database: Database, doc: dict, table: tables.Table) -> int:
    chunks, merged, first_row, tail = list(doc["chunks"]), table, doc["rows"], None
    # Small appends (online pushes) would leave many tiny chunks: rewrite a short tail with them.
    if chunks and chunks[-1]["n"] < CHUNK_ROWS:
        tail = chunks.pop()
        head = read_chunk(database, doc, tail, _schema(doc))
        if head is None:
            raise _Stale()
        merged, first_row = tables.concat(head, table), tail["start"]
    token, added = new_chunks(database, doc["_id"], doc["columns"], merged, first_row, CHUNK_ROWS)
    new = _table_stats(table)
    stats = {c["name"]: table_stats.merge_stats(c, doc["stats"][c["name"]], new[c["name"]]) for c in table.columns}
    total = doc["rows"] + table.rows
    _commit(database, doc, {"chunks": chunks + added, "rows": total, "stats": stats}, token)
    if tail:
        drop_chunk(database, doc, tail["id"])
    return total


def add_column(database: Database, name: str, column: dict, default=None) -> dict:
    """A new column holding ``default`` in every row; Conflict if the name is taken."""
    column = {"name": column["name"], "type": column["type"], "is_set": bool(column.get("is_set")),
              "key": uuid.uuid4().hex[:12]}
    doc = _raw(database, name)
    if any(c["name"] == column["name"] for c in doc["columns"]):
        raise Conflict(f"dataset {name!r} already has a column {column['name']!r}")
    filler = tables.filled(column, default, doc["rows"])
    token, chunks = write_column(database, doc, column, filler)
    stats = dict(doc["stats"], **{column["name"]: table_stats.stats(column, filler.data[column["name"]],
                                                                      filler.masks.get(column["name"]))})
    try:
        doc = _commit(database, doc, {"columns": doc["columns"] + [column], "chunks": chunks, "stats": stats}, token)
    except _Stale:
        raise Conflict(f"dataset {name!r} changed while the column was added; try again") from None
    return doc


def remove_column(database: Database, name: str, column_name: str) -> dict:
    doc = _raw(database, name)
    column = next((c for c in doc["columns"] if c["name"] == column_name), None)
    if column is None:
        raise NotFound(f"dataset {name!r} has no column {column_name!r}")
    if len(doc["columns"]) == 1:
        raise Conflict(f"{column_name!r} is the last column of {name!r}: delete the dataset instead")
    chunks = [dict(e, bytes={k: v for k, v in e["bytes"].items() if k != column["key"]}) for e in doc["chunks"]]
    changes = {"columns": [c for c in doc["columns"] if c is not column], "chunks": chunks,
               "stats": {k: v for k, v in doc["stats"].items() if k != column_name}}
    try:
        doc = _commit(database, doc, changes)
    except _Stale:
        raise Conflict(f"dataset {name!r} changed while the column was removed; try again") from None
    database.db.dataset_chunks.delete_many({"dataset": doc["_id"], "column": column["key"]})
    return doc


def delete(database: Database, name: str) -> None:
    """Remove a dataset and its chunks."""
    doc = _raw(database, name)
    database.db.datasets.delete_one({"_id": doc["_id"]})
    database.db.dataset_chunks.delete_many({"dataset": doc["_id"]})
    log.info("dataset %s deleted", name)
