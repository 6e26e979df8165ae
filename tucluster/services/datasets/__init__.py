"""Business rules for datasets: names, what a caller sees of one, uploads, appends, columns, deletion.

Bodies are parsed by ``bodies`` (with ``readers``); the data is stored by ``tucluster.store.datasets``.
"""
from __future__ import annotations

from tucluster.errors import Conflict, Invalid, NotFound, require
from tucluster.formats import table_stats, tables
from tucluster.services.datasets.bodies import from_rows, media_kind, parse_append, parse_upload
from tucluster.store import Database
from tucluster.store import datasets as dataset_store
from tucluster.store import runs as run_store

PUBLIC = ("name", "rows", "size", "created", "updated")


def _columns(doc: dict) -> list[dict]:
    """The dataset's schema: ``[{name, type, is_set}]``, without storage keys."""
    return [{k: c[k] for k in ("name", "type", "is_set")} for c in doc["columns"]]


def public(doc: dict) -> dict:
    """A dataset as the API shows it: its schema, size and statistics, not its storage keys."""
    shown = {key: doc[key] for key in PUBLIC}
    shown["columns"] = _columns(doc)
    shown["stats"] = {name: table_stats.public_stats(state) for name, state in doc["stats"].items()}
    return shown


def _existing(database: Database, name: str) -> dict:
    return require(dataset_store.get(database, name), f"no dataset named {name!r}")


def get(database: Database, name: str) -> dict:
    return public(_existing(database, name))


def search(database: Database, query: dict) -> dict:
    """A page of datasets from a loaded ``DatasetQuery``."""
    found = dataset_store.search(database, q=query["q"], created_after=query["created_after"],
                                 created_before=query["created_before"], sort=query["sort"],
                                 limit=query["limit"], cursor=query["cursor"])
    return dict(found, items=[public(doc) for doc in found["items"]])


def create(database: Database, name: str, table: tables.Table) -> dict:
    """Store a parsed table as a new dataset; Conflict if the name is taken. All or nothing."""
    return public(dataset_store.create(database, tables.check_name(name), table))


def upload(database: Database, read_body, content_type: str | None, name: str | None, types: str | None) -> dict:
    """A new dataset from a CSV, NDJSON or JSON body, named by ``name`` or by the JSON body.

    ``read_body()`` gives the body; it is called once the name and the media type pass, so a refused
    upload is not read."""
    if name is not None:
        tables.check_name(name)
    kind = media_kind(content_type)
    if name and dataset_store.exists(database, name):
        raise Conflict(f"a dataset named {name!r} already exists")
    body_name, table = parse_upload(read_body(), kind, types)
    if name and body_name and body_name != name:
        raise Invalid(f"?name={name} and the body's name {body_name!r} differ", errors={"name": ["two different names"]})
    return create(database, name or body_name, table)


def check_exists(database: Database, name: str) -> None:
    if not dataset_store.exists(database, name):
        raise NotFound(f"no dataset named {name!r}")


def append_body(database: Database, name: str, read_body, content_type: str | None) -> dict:
    """Rows in any upload format added to a dataset: ``{added, rows}``. All rows or none are kept.
    ``read_body()`` is called once the dataset and the media type are known to be right."""
    doc = _existing(database, name)
    kind = media_kind(content_type)
    table = parse_append(read_body(), kind, _columns(doc))
    return {"added": table.rows, "rows": dataset_store.append_table(database, name, table)}


def append(database: Database, name: str, rows: list) -> int:
    """Add rows given in Python (objects, or lists in column order); returns the new row count."""
    return dataset_store.append_table(database, name, from_rows(_columns(_existing(database, name)), rows))


def read_rows(database: Database, name: str, query: dict) -> dict:
    """A page of rows from a loaded ``RowsQuery`` (``columns`` comma-separated, default all)."""
    columns = [c.strip() for c in query["columns"].split(",") if c.strip()] if query["columns"] else None
    check_exists(database, name)
    return dataset_store.read_rows(database, name, query["offset"], query["limit"], columns)


def add_column(database: Database, name: str, column: str, spec: dict) -> dict:
    """A new column holding ``spec["default"]`` in every row; Conflict if the name is taken."""
    tables.check_name(column, "column")
    doc = dataset_store.add_column(database, name, {"name": column, "type": spec["type"], "is_set": spec["is_set"]},
                                   spec["default"])
    return public(doc)


def remove_column(database: Database, name: str, column: str) -> dict:
    return public(dataset_store.remove_column(database, name, column))


def delete(database: Database, name: str) -> None:
    """Remove a dataset and its data; Conflict while a queued, running or paused run uses it."""
    check_exists(database, name)
    active = run_store.count_active(database, dataset=name)
    if active:
        raise Conflict(f"{active} queued, running or paused run(s) use dataset {name!r}: stop them first")
    dataset_store.delete(database, name)
