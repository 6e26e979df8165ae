"""Reading upload bodies into raw cells (CSV, NDJSON, JSON rows) and inferring column types from them.

Readers report bad rows to an ``Errors`` and return (column names, cells by column, row labels);
``bodies`` turns those into a ``Table``.
"""
from __future__ import annotations

import csv
import io
import json

from tucluster.errors import Invalid
from tucluster.formats.tables import DATE_RE, DOUBLE_RE, INT_RE, NAME, SET_SEPARATOR, TYPES, Errors, text_scalar


# -- readers -----------------------------------------------------------------------------------

def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not UTF-8 text (byte {exc.start})", errors={"body": ["not UTF-8"]}) from None


def check_columns(names: list[str], errors: Errors) -> None:
    seen = set()
    for name in names:
        if not isinstance(name, str) or not NAME.match(name):
            errors.add("columns", "header", f"invalid column name {name!r}: use a-z, 0-9, '_', not a leading digit")
        elif name in seen:
            errors.add("columns", "header", f"column {name!r} appears twice")
        seen.add(name)


def read_csv(text: str, errors: Errors):
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if not header:
        raise Invalid("the CSV is empty: its first line names the columns", errors={"body": ["no header row"]})
    check_columns(header, errors)
    cells, where = {name: [] for name in header}, []
    for record in reader:
        if not record:
            continue  # blank line
        if len(record) != len(header):
            errors.add("rows", f"line {reader.line_num}", f"{len(record)} fields where the header has {len(header)}")
            continue
        where.append(f"line {reader.line_num}")
        for name, value in zip(header, record):
            cells[name].append(value.strip())
    return header, cells, where


def read_json_rows(rows: list, names: list[str] | None, labels: list[str], errors: Errors):
    """Rows as objects or as lists in column order -> (column names, cells by column, row labels)."""
    order = list(names or [])
    known = set(order)
    cells, where = {name: [] for name in order}, []
    for row, at in zip(rows, labels):
        if isinstance(row, list):
            if names is None:
                errors.add("rows", at, "rows given as lists need 'columns'")
                continue
            if len(row) != len(names):
                errors.add("rows", at, f"{len(row)} values for {len(names)} columns")
                continue
            row = dict(zip(names, row))
        elif not isinstance(row, dict):
            errors.add("rows", at, "a row is a JSON object or a list")
            continue
        for key in row:
            if key in known:
                continue
            if names is not None:
                errors.add(key, at, f"no column named {key!r}")
                continue
            known.add(key)
            order.append(key)
            cells[key] = [None] * len(where)
        for key in order:
            cells[key].append(row.get(key))
        where.append(at)
    return order, cells, where


def read_ndjson(text: str, names, errors: Errors):
    # Split on newlines only: JSON strings may hold U+2028, which str.splitlines would cut at.
    rows, labels = [], []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
            labels.append(f"line {number}")
        except ValueError:
            errors.add("rows", f"line {number}", "not valid JSON")
    return read_json_rows(rows, names, labels, errors)


def load_json(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", errors={"body": [str(exc)]}) from None


# -- type inference ----------------------------------------------------------------------------

def _all_parse(values, kind: str) -> bool:
    try:
        for value in values:
            text_scalar(kind, value)
    except ValueError:
        return False
    return True


def infer_text(cells: list[str]) -> tuple[str, bool]:
    """The narrowest type every non-empty CSV cell fits: int, double, bool, datetime, a ';' list, text."""
    values = [cell for cell in cells if cell != ""]
    if not values:
        return "text", False
    if all(INT_RE.match(v) for v in values):
        return "int", False
    if all(DOUBLE_RE.match(v) for v in values):
        return "double", False
    if all(v.lower() in ("true", "false") for v in values):
        return "bool", False
    if all(DATE_RE.match(v) for v in values) and _all_parse(values, "datetime"):
        return "datetime", False
    if any(SET_SEPARATOR in v for v in values):
        parts = [p for v in values for p in v.split(SET_SEPARATOR)]
        if all(INT_RE.match(p) for p in parts):
            return "int", True
        if all(DOUBLE_RE.match(p) for p in parts):
            return "double", True
    return "text", False


def _category(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    return {str: "text", list: "list"}.get(type(value), "object")


def infer_json(name: str, cells: list, where: list[str], errors: Errors) -> tuple[str, bool]:
    """Column type from JSON values; a value that cannot share a type with the first is an error."""
    present = [(v, w) for v, w in zip(cells, where) if v is not None]
    is_set = bool(present) and isinstance(present[0][0], list)
    items = []
    for value, at in present:
        if isinstance(value, list) != is_set:
            errors.add(name, at, "lists and single values are mixed in this column")
        else:
            items.extend((item, at) for item in value) if is_set else items.append((value, at))
    kinds = {_category(v) for v, _ in items}
    if kinds <= {"int"} or kinds == {"bool"}:
        return (kinds.pop() if kinds else "text"), is_set
    if kinds <= {"int", "double"}:
        return "double", is_set
    if kinds == {"text"}:
        texts = [v for v, _ in items]
        return ("datetime" if all(DATE_RE.match(v) for v in texts) and _all_parse(texts, "datetime")
                else "text"), is_set
    first = _category(items[0][0])
    for value, at in items:
        if _category(value) != first and {first, _category(value)} != {"int", "double"}:
            errors.add(name, at, f"{json.dumps(value)[:40]} does not share a type with the {first} values above")
            break
    return first if first in TYPES else "text", is_set

