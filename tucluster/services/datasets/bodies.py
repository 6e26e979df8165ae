"""Dataset request bodies: which formats are accepted, declared column types, and the entry points
that turn a CSV, NDJSON or JSON body (or rows given in Python) into a validated ``Table``.

Readers and type inference are in ``readers`` beside this module; ``Table`` and cell conversion in
``tucluster.formats.tables``.
"""
from __future__ import annotations

from tucluster.errors import Invalid, UnsupportedMedia
from tucluster.formats.media import CSV_TYPES, JSON_TYPES, NDJSON_TYPES, essence
from tucluster.formats.tables import TYPES, Errors, Table, build, check_name
from tucluster.services.datasets.readers import (check_columns, decode, infer_json, infer_text, load_json, read_csv,
                                                 read_json_rows, read_ndjson)


def media_kind(content_type: str | None) -> str:
    """``csv``, ``ndjson`` or ``json`` for a Content-Type; UnsupportedMedia otherwise."""
    media = essence(content_type)
    for kind, accepted in (("csv", CSV_TYPES), ("ndjson", NDJSON_TYPES), ("json", JSON_TYPES)):
        if media in accepted:
            return kind
    raise UnsupportedMedia(f"send rows as text/csv, application/x-ndjson or application/json, "
                           f"not {media or 'no content type'}")


def parse_types(spec: str | None) -> dict[str, dict]:
    """``x:double,name:text,series:double[]`` -> declared columns (``[]`` marks an is_set column)."""
    declared = {}
    for item in filter(None, (part.strip() for part in (spec or "").split(","))):
        name, _, kind = item.partition(":")
        is_set = kind.endswith("[]")
        kind = kind[:-2] if is_set else kind
        if kind not in TYPES:
            raise Invalid(f"types: {item!r} is not column:type with a type of {', '.join(TYPES)}",
                          errors={"types": [f"unknown type in {item!r}"]})
        declared[check_name(name.strip(), "column")] = {"name": name.strip(), "type": kind, "is_set": is_set}
    return declared


# -- entry points ------------------------------------------------------------------------------

def parse_upload(body: bytes, kind: str, types: str | None = None) -> tuple[str | None, Table]:
    """A new dataset from a CSV, NDJSON or JSON body -> (name given in the body or None, table)."""
    declared, errors, name = parse_types(types), Errors(), None
    text = decode(body)
    if kind == "csv":
        names, cells, where = read_csv(text, errors)
    elif kind == "ndjson":
        names, cells, where = read_ndjson(text, None, errors)
    else:
        document = load_json(text)
        if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
            raise Invalid("the JSON body is {name, columns: [{name, type, is_set}], rows: [...]}",
                          errors={"rows": ["a list of rows is required"]})
        name = document.get("name")
        for column in _declared_columns(document.get("columns"), errors):
            declared.setdefault(column["name"], column)
        listed = list(declared) if document.get("columns") is not None else None
        labels = [f"row {i + 1}" for i in range(len(document["rows"]))]
        names, cells, where = read_json_rows(document["rows"], listed, labels, errors)
    if kind == "ndjson":
        check_columns(names, errors)
    unknown = [n for n in declared if n not in names]
    if unknown:
        errors.add("types", "types", f"no column named {', '.join(unknown)}")
    if not names:
        errors.add("columns", "body", "a dataset has at least one column")
    columns = []
    for column_name in names:
        column = declared.get(column_name)
        if column is None:
            before = errors.count
            kind_, is_set = (infer_text(cells[column_name]) if kind == "csv"
                             else infer_json(column_name, cells[column_name], where, errors))
            column = {"name": column_name, "type": kind_, "is_set": is_set}
            if errors.count > before:
                cells[column_name] = None  # already reported: do not report each cell again
        columns.append(column)
    return name, build(columns, cells, where, from_text=kind == "csv", errors=errors)


def _declared_columns(columns, errors: Errors) -> list[dict]:
    if columns is None:
        return []
    if not isinstance(columns, list):
        raise Invalid("columns is a list of {name, type, is_set}", errors={"columns": ["not a list"]})
    found = []
    for index, column in enumerate(columns):
        at = f"column {index + 1}"
        if not isinstance(column, dict) or column.get("type") not in TYPES \
                or not isinstance(column.get("is_set", False), bool):
            errors.add("columns", at, f"a column is {{name, type: one of {', '.join(TYPES)}, is_set: bool}}")
            continue
        found.append({"name": column.get("name"), "type": column["type"], "is_set": column.get("is_set", False)})
    check_columns([c["name"] for c in found], errors)
    return found


def parse_append(body: bytes, kind: str, columns: list[dict]) -> Table:
    """Rows for an existing dataset, in any upload format; columns left out are null."""
    errors, names = Errors(), [c["name"] for c in columns]
    text = decode(body)
    if kind == "csv":
        header, cells, where = read_csv(text, errors)
        for name in header:
            if name not in names:
                errors.add(name, "line 1", f"no column named {name!r}")
    elif kind == "ndjson":
        _, cells, where = read_ndjson(text, names, errors)
    else:
        document = load_json(text)
        rows = document.get("rows") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise Invalid("send a list of rows, or {rows: [...]}", errors={"rows": ["a list of rows is required"]})
        _, cells, where = read_json_rows(rows, names, [f"row {i + 1}" for i in range(len(rows))], errors)
    errors.raise_any()
    return build(columns, cells, where, from_text=kind == "csv", errors=errors)


def from_rows(columns: list[dict], rows: list) -> Table:
    """Rows given in Python (objects or lists in column order) -> a table; used by the store's append."""
    errors = Errors()
    names = [c["name"] for c in columns]
    _, cells, where = read_json_rows(list(rows), names, [f"row {i + 1}" for i in range(len(rows))], errors)
    errors.raise_any()
    return build(columns, cells, where, from_text=False, errors=errors)

