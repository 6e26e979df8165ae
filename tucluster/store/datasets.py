"""The ``datasets`` collection (one schema document per dataset) and ``dataset_chunks`` (its data).

Rows are cut into chunks of up to ``CHUNK_ROWS`` rows (fewer where long text would overflow a BSON
document); each chunk of each column is one document keyed by (dataset id, column key, chunk id).
Numeric columns hold raw little-endian numpy bytes, so a million doubles load in a few reads; the
others hold BSON lists. The dataset document lists its live chunks and is the commit point: a write
first adds chunk documents nothing refers to, then switches the dataset document with an update
conditional on its version, then removes chunks no longer referred to. A write that fails or loses
a race removes what it wrote, so readers never see half an upload.
"""
from __future__ import annotations

import logging
import re
import uuid

import bson
import numpy as np
import pymongo
import pymongo.errors
from bson import Binary, ObjectId

from tucluster import datasets as tables
from tucluster.errors import Conflict, Invalid, NotFound
from tucluster.store import Database, date_range, page, utcnow

log = logging.getLogger(__name__)
CHUNK_ROWS = 65536
CHUNK_BYTES = 8 * 1024**2      # budget of a list chunk; BSON documents stop at 16 MiB
MAX_CELL_BYTES = 15 * 1024**2
FEW_CHUNKS = 8
ACTIVE_RUN_STATES = ("queued", "running", "paused")
PUBLIC = ("name", "rows", "size", "created", "updated")


def ensure_indexes(database: Database) -> None:
    database.db.datasets.create_index("name", unique=True)
    database.db.datasets.create_index([("created", pymongo.DESCENDING)])
    database.db.dataset_chunks.create_index([("dataset", 1), ("column", 1), ("chunk", 1)], unique=True)


class _Stale(Exception):
    """The dataset document changed between our read and our commit."""


# -- public reads ------------------------------------------------------------------------------

def _public(doc: dict) -> dict:
    shown = {key: doc[key] for key in PUBLIC}
    shown["columns"] = [{k: c[k] for k in ("name", "type", "is_set")} for c in doc["columns"]]
    shown["stats"] = {name: tables.public_stats(state) for name, state in doc["stats"].items()}
    return shown


def _raw(database: Database, name: str) -> dict:
    doc = database.db.datasets.find_one({"name": name})
    if doc is None:
        raise NotFound(f"no dataset named {name!r}")
    return doc


def get(database: Database, name: str) -> dict | None:
    doc = database.db.datasets.find_one({"name": name})
    return _public(doc) if doc else None


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
    found = page(database.db.datasets, query, [sort, ("_id", sort[1])], limit, cursor, {"chunks": 0})
    found["items"] = [_public(doc) for doc in found["items"]]
    return found


def _column(doc: dict, name: str) -> dict:
    for column in doc["columns"]:
        if column["name"] == name:
            return column
    raise Invalid(f"dataset {doc['name']!r} has no column {name!r}", errors={name: ["no such column"]})


def _range(doc: dict, start: int, stop: int | None) -> tuple[int, int]:
    stop = doc["rows"] if stop is None else min(stop, doc["rows"])
    start = max(0, min(start, stop))
    return start, stop


def _pieces(database: Database, doc: dict, columns: list[dict], start: int, stop: int) -> list | None:
    """(column, chunk document, slice of the chunk, offset in the output) covering rows [start, stop);
    None when a chunk is gone (an append replaced it after ``doc`` was read)."""
    entries = {e["id"]: e for e in doc["chunks"] if e["start"] < stop and e["start"] + e["n"] > start}
    if not entries:
        return []
    by_key = {c["key"]: c for c in columns}
    found = []
    for chunk in _chunk_docs(database, doc, list(by_key), entries):
        entry = entries[chunk["chunk"]]
        low, high = max(start, entry["start"]), min(stop, entry["start"] + entry["n"])
        found.append((by_key[chunk["column"]], chunk, slice(low - entry["start"], high - entry["start"]),
                      low - start))
    return found if len(found) == len(entries) * len(by_key) else None


def _chunk_docs(database: Database, doc: dict, keys: list[str], entries: dict):
    # Measured on the embedded server: only full-key equality uses the index; a $in on the chunk id
    # scans the collection. So fetch a few chunks one by one, and many by column, dropping the
    # chunks that are not live (a replaced tail, or leftovers of a failed write).
    fields = {"_id": 0, "dataset": 0, "write": 0}
    if len(entries) <= FEW_CHUNKS and len(entries) < len(doc["chunks"]):
        for key in keys:
            for chunk_id in entries:
                yield from database.db.dataset_chunks.find({"dataset": doc["_id"], "column": key, "chunk": chunk_id},
                                                           fields)
        return
    for chunk in database.db.dataset_chunks.find({"dataset": doc["_id"], "column": {"$in": keys}}, fields):
        if chunk["chunk"] in entries:
            yield chunk


def _fetch(database: Database, name: str, columns: list[str] | None, start: int, stop: int | None, check=None):
    """(doc, columns, start, stop, pieces), read again if a concurrent append moved a chunk meanwhile."""
    for _ in range(5):
        doc = _raw(database, name)
        wanted = [_column(doc, c) for c in columns] if columns is not None else doc["columns"]
        for column in wanted:
            if check:
                check(column)
        low, high = _range(doc, start, stop)
        pieces = _pieces(database, doc, wanted, low, high)
        if pieces is not None:
            return doc, wanted, low, high, pieces
    raise Conflict(f"dataset {name!r} kept changing while it was read; try again")


def _nulls(chunk: dict, part: slice) -> np.ndarray | None:
    if "mask" not in chunk:
        return None
    return np.unpackbits(np.frombuffer(chunk["mask"], np.uint8), count=chunk["n"]).astype(bool)[part]


def _numbers(chunk: dict, part: slice) -> np.ndarray:
    # asarray does not copy float64 chunks; a copy is made only to convert or to write NaNs.
    values = np.asarray(np.frombuffer(chunk["data"], dtype=chunk["dtype"])[part], dtype=np.float64)
    nulls = _nulls(chunk, part)
    if nulls is not None:
        values = values.copy()
        values[nulls] = np.nan
    return values


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
        values = _numbers(chunk, part)
        out[offset:offset + values.size, index[column["key"]]] = values
    return out


def _values(column: dict, pieces: list) -> list:
    ordered = []
    for _, chunk, part, offset in pieces:
        if "data" in chunk:
            # Native dtype, not float64: int64 identifiers above 2**53 must come back exact.
            values = np.frombuffer(chunk["data"], dtype=chunk["dtype"])[part].tolist()
            nulls = _nulls(chunk, part)
            if nulls is not None:
                values = [None if null else v for v, null in zip(values, nulls.tolist())]
            ordered.append((offset, [None if v != v else v for v in values]))
        else:
            ordered.append((offset, chunk["values"][part]))
    return [value for _, values in sorted(ordered, key=lambda p: p[0]) for value in values]


def column_values(database: Database, name: str, column: str, start: int = 0, stop: int | None = None) -> list:
    """Rows [start, stop) of one column as Python values (None for nulls)."""
    _, wanted, _, _, pieces = _fetch(database, name, [column], start, stop)
    return _values(wanted[0], pieces)


def _numeric_list(column: dict) -> None:
    if not column["is_set"] or column["type"] not in tables.NUMERIC:
        raise Invalid(f"column {column['name']!r} is not a list of numbers",
                      errors={column["name"]: ["not a numeric list column"]})


def series_matrix(database: Database, name: str, column: str, start: int = 0,
                  stop: int | None = None) -> np.ndarray:
    """An is_set column of equal-length numeric lists as a float64 (n, L) matrix."""
    _, wanted, start, _, pieces = _fetch(database, name, [column], start, stop, _numeric_list)
    rows = _values(wanted[0], pieces)
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
    values = [[_json(v) for v in _values(c, [p for p in pieces if p[0] is c])] for c in wanted]
    return {"columns": [c["name"] for c in wanted], "rows": [list(row) for row in zip(*values)],
            "offset": start, "next": stop if stop < doc["rows"] else None, "total": doc["rows"]}


def _json(value):
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


# -- writes ------------------------------------------------------------------------------------

def _cell_bytes(value) -> int:
    if isinstance(value, str):
        return len(value.encode()) + 16
    if isinstance(value, list):
        return 16 + sum(_cell_bytes(v) for v in value) if value and isinstance(value[0], str) else 16 + 16 * len(value)
    return 16


def _bounds(table: tables.Table) -> list[tuple[int, int]]:
    """Chunk boundaries: CHUNK_ROWS rows, fewer where list columns would pass CHUNK_BYTES."""
    sums = [np.cumsum([_cell_bytes(v) for v in table.data[c["name"]]])
            for c in table.columns if not tables.is_numeric(c)]
    bounds, start = [], 0
    while start < table.rows:
        stop = min(start + CHUNK_ROWS, table.rows)
        for total in sums:
            base = int(total[start - 1]) if start else 0
            if total[start] - base > MAX_CELL_BYTES:
                raise Invalid(f"row {start + 1} holds more than 15 MiB", errors={"rows": ["row too large"]})
            stop = min(stop, max(start + 1, int(np.searchsorted(total, base + CHUNK_BYTES, side="right"))))
        bounds.append((start, stop))
        start = stop
    return bounds


def _encode(dataset_id: str, column: dict, chunk_id: str, token: str, table: tables.Table,
            start: int, stop: int) -> dict:
    name = column["name"]
    doc = {"dataset": dataset_id, "column": column["key"], "chunk": chunk_id, "write": token, "n": stop - start}
    if tables.is_numeric(column):
        dtype = np.dtype(tables.DTYPES[column["type"]]).newbyteorder("<")
        values = np.ascontiguousarray(table.data[name][start:stop], dtype=dtype)
        doc.update(dtype=values.dtype.str, data=Binary(values.tobytes()))
        mask = table.masks.get(name)
        if mask is not None and mask[start:stop].any():
            doc["mask"] = Binary(np.packbits(mask[start:stop]).tobytes())
    else:
        doc["values"] = list(table.data[name][start:stop])
    return doc


def _write(database: Database, dataset_id: str, columns: list[dict], table: tables.Table,
           extents: list[tuple], token: str) -> dict:
    """Insert chunk documents for (chunk id, start, stop) extents of ``table``; bytes by chunk and column."""
    sizes = {}
    try:
        for chunk_id, start, stop in extents:
            docs = [_encode(dataset_id, column, chunk_id, token, table, start, stop) for column in columns]
            sizes[chunk_id] = {doc["column"]: len(bson.encode(doc)) for doc in docs}
            database.db.dataset_chunks.insert_many(docs)
    except BaseException:
        _discard(database, dataset_id, token)
        raise
    return sizes


def _discard(database: Database, dataset_id: str, token: str) -> None:
    try:
        database.db.dataset_chunks.delete_many({"dataset": dataset_id, "write": token})
    except pymongo.errors.PyMongoError:
        # Unreferenced chunks are invisible to readers: leaving them costs space, not correctness.
        log.exception("could not remove the chunks of failed write %s of dataset %s", token, dataset_id)


def _new_chunks(database: Database, doc_id: str, columns: list[dict], table: tables.Table, first_row: int):
    token = uuid.uuid4().hex
    extents = [(f"{token[:12]}-{i}", start, stop) for i, (start, stop) in enumerate(_bounds(table))]
    sizes = _write(database, doc_id, columns, table, extents, token)
    return token, [{"id": cid, "start": first_row + start, "n": stop - start, "bytes": sizes[cid]}
                   for cid, start, stop in extents]


def _size(chunks: list[dict]) -> int:
    return sum(sum(entry["bytes"].values()) for entry in chunks)


def _table_stats(table: tables.Table) -> dict:
    return {c["name"]: tables.stats(c, table.data[c["name"]], table.masks.get(c["name"])) for c in table.columns}


def _schema(doc: dict) -> list[dict]:
    return [{k: c[k] for k in ("name", "type", "is_set")} for c in doc["columns"]]


def create(database: Database, name: str, table: tables.Table) -> dict:
    """Store a parsed table as a new dataset; Conflict if the name is taken. All or nothing."""
    tables.check_name(name)
    if exists(database, name):
        raise Conflict(f"a dataset named {name!r} already exists")
    dataset_id = str(ObjectId())
    columns = [dict(c, key=uuid.uuid4().hex[:12]) for c in table.columns]
    stats = _table_stats(table)
    token, chunks = _new_chunks(database, dataset_id, columns, table, 0)
    now = utcnow()
    doc = {"_id": dataset_id, "name": name, "columns": columns, "rows": table.rows, "chunks": chunks,
           "size": _size(chunks), "stats": stats, "version": 1, "created": now, "updated": now}
    try:
        database.db.datasets.insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        _discard(database, dataset_id, token)
        raise Conflict(f"a dataset named {name!r} already exists") from None
    except BaseException:
        if not _committed(database, dataset_id, 1):
            _discard(database, dataset_id, token)
        raise
    log.info("dataset %s stored: %d rows, %d columns, %d bytes", name, table.rows, len(columns), doc["size"])
    return _public(doc)


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
            _discard(database, doc["_id"], token)
        raise
    if result.matched_count == 0:
        if token:
            _discard(database, doc["_id"], token)
        raise _Stale()
    return dict(doc, **changes)


def _read_chunk(database: Database, doc: dict, entry: dict) -> tables.Table:
    """Every column of one chunk as a table (the tail an append rewrites together with its rows)."""
    pieces = _pieces(database, doc, doc["columns"], entry["start"], entry["start"] + entry["n"])
    if pieces is None:
        raise _Stale()
    table = tables.Table(_schema(doc), rows=entry["n"])
    for column, chunk, part, _ in pieces:
        if "data" in chunk:
            table.data[column["name"]] = np.frombuffer(chunk["data"], dtype=chunk["dtype"])[part].copy()
            if "mask" in chunk:
                table.masks[column["name"]] = _nulls(chunk, part)
        else:
            table.data[column["name"]] = chunk["values"][part]
    return table


def append(database: Database, name: str, rows: list) -> int:
    """Add rows (objects, or lists in column order); returns the new row count. All or nothing."""
    return append_table(database, name, tables.from_rows(_schema(_raw(database, name)), rows))


def append_table(database: Database, name: str, table: tables.Table) -> int:
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
        merged, first_row = tables.concat(_read_chunk(database, doc, tail), table), tail["start"]
    token, added = _new_chunks(database, doc["_id"], doc["columns"], merged, first_row)
    new = _table_stats(table)
    stats = {c["name"]: tables.merge_stats(c, doc["stats"][c["name"]], new[c["name"]]) for c in table.columns}
    total = doc["rows"] + table.rows
    _commit(database, doc, {"chunks": chunks + added, "rows": total, "stats": stats}, token)
    if tail:
        # One full-key delete per column: the embedded server scans the collection otherwise.
        for column in doc["columns"]:
            database.db.dataset_chunks.delete_one({"dataset": doc["_id"], "column": column["key"], "chunk": tail["id"]})
    return total


def add_column(database: Database, name: str, column: dict, default=None) -> dict:
    """A new column holding ``default`` in every row; Conflict if the name is taken."""
    column = {"name": tables.check_name(column["name"], "column"), "type": column["type"],
              "is_set": bool(column.get("is_set")), "key": uuid.uuid4().hex[:12]}
    doc = _raw(database, name)
    if any(c["name"] == column["name"] for c in doc["columns"]):
        raise Conflict(f"dataset {name!r} already has a column {column['name']!r}")
    filler = tables.filled(column, default, doc["rows"])
    longest = max((e["n"] for e in doc["chunks"]), default=0)
    if not tables.is_numeric(column) and longest and _cell_bytes(filler.data[column["name"]][0]) * longest > MAX_CELL_BYTES:
        limit = MAX_CELL_BYTES // longest
        raise Invalid(f"the default is too large to repeat in chunks of {longest} rows: keep it under {limit} bytes",
                      errors={"default": ["too large"]})
    token = uuid.uuid4().hex
    extents = [(e["id"], e["start"], e["start"] + e["n"]) for e in doc["chunks"]]
    sizes = _write(database, doc["_id"], [column], filler, extents, token)
    chunks = [dict(e, bytes=dict(e["bytes"], **sizes[e["id"]])) for e in doc["chunks"]]
    stats = dict(doc["stats"], **{column["name"]: tables.stats(column, filler.data[column["name"]],
                                                               filler.masks.get(column["name"]))})
    try:
        doc = _commit(database, doc, {"columns": doc["columns"] + [column], "chunks": chunks, "stats": stats}, token)
    except _Stale:
        raise Conflict(f"dataset {name!r} changed while the column was added; try again") from None
    return _public(doc)


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
    return _public(doc)


def delete(database: Database, name: str) -> None:
    """Remove a dataset and its chunks; Conflict while a clustering run that is not finished uses it."""
    doc = _raw(database, name)
    active = database.db.runs.count_documents({"dataset": name, "state": {"$in": list(ACTIVE_RUN_STATES)}})
    if active:
        raise Conflict(f"{active} queued, running or paused run(s) use dataset {name!r}: stop them first")
    database.db.datasets.delete_one({"_id": doc["_id"]})
    database.db.dataset_chunks.delete_many({"dataset": doc["_id"]})
    log.info("dataset %s deleted", name)
