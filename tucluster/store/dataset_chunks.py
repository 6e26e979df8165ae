"""The ``dataset_chunks`` collection: the data of datasets, cut into chunks of rows.

Each chunk of each column is one document keyed by (dataset id, column key, chunk id). Numeric
columns hold raw little-endian numpy bytes, so a million doubles load in a few reads; the others
hold BSON lists. Every document carries the token of the write that made it, so a failed write can
remove exactly its own. Which chunks are live is up to the dataset document (``store.datasets``):
readers only look at the chunks it lists.
"""
from __future__ import annotations

import logging
import uuid

import bson
import numpy as np
import pymongo.errors
from bson import Binary

from tucluster.formats import tables
from tucluster.errors import Invalid
from tucluster.store import Database

log = logging.getLogger(__name__)
CHUNK_BYTES = 8 * 1024**2      # budget of a list chunk; BSON documents stop at 16 MiB
MAX_CELL_BYTES = 15 * 1024**2
FEW_CHUNKS = 8


# -- writes ------------------------------------------------------------------------------------

def _cell_bytes(value) -> int:
    if isinstance(value, str):
        return len(value.encode()) + 16
    if isinstance(value, list):
        return 16 + sum(_cell_bytes(v) for v in value) if value and isinstance(value[0], str) else 16 + 16 * len(value)
    return 16


def _bounds(table: tables.Table, chunk_rows: int) -> list[tuple[int, int]]:
    """Chunk boundaries: ``chunk_rows`` rows, fewer where list columns would pass CHUNK_BYTES."""
    sums = [np.cumsum([_cell_bytes(v) for v in table.data[c["name"]]])
            for c in table.columns if not tables.is_numeric(c)]
    bounds, start = [], 0
    while start < table.rows:
        stop = min(start + chunk_rows, table.rows)
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
        discard_chunks(database, dataset_id, token)
        raise
    return sizes


def discard_chunks(database: Database, dataset_id: str, token: str) -> None:
    try:
        database.db.dataset_chunks.delete_many({"dataset": dataset_id, "write": token})
    except pymongo.errors.PyMongoError:
        # Unreferenced chunks are invisible to readers: leaving them costs space, not correctness.
        log.exception("could not remove the chunks of failed write %s of dataset %s", token, dataset_id)


def new_chunks(database: Database, dataset_id: str, columns: list[dict], table: tables.Table, first_row: int,
               chunk_rows: int) -> tuple[str, list[dict]]:
    """Write ``table`` as new chunks starting at ``first_row``: (write token, chunk entries for the dataset)."""
    token = uuid.uuid4().hex
    extents = [(f"{token[:12]}-{i}", start, stop) for i, (start, stop) in enumerate(_bounds(table, chunk_rows))]
    sizes = _write(database, dataset_id, columns, table, extents, token)
    return token, [{"id": cid, "start": first_row + start, "n": stop - start, "bytes": sizes[cid]}
                   for cid, start, stop in extents]


def write_column(database: Database, doc: dict, column: dict, filler: tables.Table) -> tuple[str, list[dict]]:
    """Write ``filler``, a new column of every row, into the live chunks of ``doc``: (write token, chunk
    entries counting its bytes). Invalid if its cells cannot fit a chunk document."""
    longest = max((e["n"] for e in doc["chunks"]), default=0)
    if (not tables.is_numeric(column) and longest
            and _cell_bytes(filler.data[column["name"]][0]) * longest > MAX_CELL_BYTES):
        limit = MAX_CELL_BYTES // longest
        raise Invalid(f"the default is too large to repeat in chunks of {longest} rows: keep it under {limit} bytes",
                      errors={"default": ["too large"]})
    token = uuid.uuid4().hex
    extents = [(e["id"], e["start"], e["start"] + e["n"]) for e in doc["chunks"]]
    sizes = _write(database, doc["_id"], [column], filler, extents, token)
    return token, [dict(e, bytes=dict(e["bytes"], **sizes[e["id"]])) for e in doc["chunks"]]


def drop_chunk(database: Database, doc: dict, chunk_id: str) -> None:
    """Remove every column of one chunk, once the dataset document no longer lists it."""
    # One full-key delete per column: the embedded server scans the collection otherwise.
    for column in doc["columns"]:
        database.db.dataset_chunks.delete_one({"dataset": doc["_id"], "column": column["key"], "chunk": chunk_id})


# -- reads -------------------------------------------------------------------------------------

def locate(database: Database, doc: dict, columns: list[dict], start: int, stop: int) -> list | None:
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


def _nulls(chunk: dict, part: slice) -> np.ndarray | None:
    if "mask" not in chunk:
        return None
    return np.unpackbits(np.frombuffer(chunk["mask"], np.uint8), count=chunk["n"]).astype(bool)[part]


def decode_numbers(chunk: dict, part: slice) -> np.ndarray:
    # asarray does not copy float64 chunks; a copy is made only to convert or to write NaNs.
    values = np.asarray(np.frombuffer(chunk["data"], dtype=chunk["dtype"])[part], dtype=np.float64)
    nulls = _nulls(chunk, part)
    if nulls is not None:
        values = values.copy()
        values[nulls] = np.nan
    return values


def decode_values(pieces: list) -> list:
    """One column's pieces (from ``locate``) as Python values in row order, None for nulls."""
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


def read_chunk(database: Database, doc: dict, entry: dict, schema: list[dict]) -> tables.Table | None:
    """Every column of one chunk as a table with columns ``schema`` (the tail an append rewrites
    together with its rows); None when the chunk is gone, as for ``locate``."""
    pieces = locate(database, doc, doc["columns"], entry["start"], entry["start"] + entry["n"])
    if pieces is None:
        return None
    table = tables.Table(schema, rows=entry["n"])
    for column, chunk, part, _ in pieces:
        if "data" in chunk:
            table.data[column["name"]] = np.frombuffer(chunk["data"], dtype=chunk["dtype"])[part].copy()
            if "mask" in chunk:
                table.masks[column["name"]] = _nulls(chunk, part)
        else:
            table.data[column["name"]] = chunk["values"][part]
    return table
