"""Dataset tables: names, typed columns, CSV / NDJSON / JSON parsing with type inference and
validation with line numbers, and mergeable per-column statistics.

Nothing here touches the database, so the rules are testable without MongoDB. A parsed upload is a
``Table``: numeric scalar columns (int, double, bool) as numpy arrays, the others as lists.
Nulls: NaN in double columns; int and bool columns keep a boolean null mask beside their values.
"""
from __future__ import annotations

import csv
import hashlib
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from tucluster.errors import Invalid

TYPES = ("text", "int", "double", "bool", "datetime")
NUMERIC = ("int", "double", "bool")
DTYPES = {"int": np.int64, "double": np.float64, "bool": np.bool_}
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
CSV_TYPES = ("text/csv",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
JSON_TYPES = ("application/json",)
MAX_ERRORS = 50
SET_SEPARATOR = ";"

INT_RE = re.compile(r"^[+-]?\d+$")
DOUBLE_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?nan$", re.IGNORECASE)
# fromisoformat also takes compact forms such as "20240101": only dashed dates count as datetimes.
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]|$)")
TRUE, FALSE = ("true", "t", "yes", "y", "1"), ("false", "f", "no", "n", "0")
INT64 = (-(2**63), 2**63 - 1)


def check_name(name, what: str = "name") -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid(f"a {what} is 1-64 characters of a-z, 0-9 and '_', not starting with a digit",
                      errors={what: [f"invalid {what}: {name!r}"]})
    return name


@dataclass
class Table:
    columns: list[dict]                                   # [{name, type, is_set}] in order
    data: dict = field(default_factory=dict)              # name -> np.ndarray | list
    masks: dict = field(default_factory=dict)             # name -> bool array of nulls (int/bool only)
    rows: int = 0

    def slice(self, start: int, stop: int) -> "Table":
        return Table(self.columns, {k: v[start:stop] for k, v in self.data.items()},
                     {k: m[start:stop] for k, m in self.masks.items()}, max(0, min(stop, self.rows) - start))


def is_numeric(column: dict) -> bool:
    return column["type"] in NUMERIC and not column.get("is_set")


def concat(first: Table, second: Table) -> Table:
    table = Table(first.columns, rows=first.rows + second.rows)
    for column in first.columns:
        name = column["name"]
        a, b = first.data[name], second.data[name]
        table.data[name] = np.concatenate([a, b]) if isinstance(a, np.ndarray) else list(a) + list(b)
        if name in first.masks or name in second.masks:
            table.masks[name] = np.concatenate([_mask(first, name), _mask(second, name)])
    return table


def _mask(table: Table, name: str) -> np.ndarray:
    return table.masks.get(name, np.zeros(table.rows, dtype=bool))


# -- cell conversion ---------------------------------------------------------------------------

def _datetime(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and DATE_RE.match(value):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 datetime") from None
    else:
        raise ValueError(f"{value!r} is not an ISO 8601 datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    # BSON keeps milliseconds: truncate so stored and returned values are equal.
    parsed = parsed.astimezone(dt.timezone.utc)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def _int(value: int) -> int:
    if not INT64[0] <= value <= INT64[1]:
        raise ValueError(f"{value} does not fit a 64-bit integer")
    return value


def _text_scalar(kind: str, text: str):
    if kind == "text":
        return text
    if kind == "int":
        if not INT_RE.match(text):
            raise ValueError(f"{text!r} is not an integer")
        return _int(int(text))
    if kind == "double":
        if not DOUBLE_RE.match(text):
            raise ValueError(f"{text!r} is not a number")
        return float(text)
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered in TRUE or lowered in FALSE:
            return lowered in TRUE
        raise ValueError(f"{text!r} is not a boolean (true/false)")
    return _datetime(text)


def _json_scalar(kind: str, value):
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return _int(int(value))
    if kind == "int" and isinstance(value, float) and value.is_integer():
        return _int(int(value))
    if kind == "double" and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    if kind == "bool" and isinstance(value, (bool, np.bool_)):
        return bool(value)
    if kind == "datetime":
        return _datetime(value)
    raise ValueError(f"{json.dumps(value, default=str)} is not {'an' if kind == 'int' else 'a'} {kind}")


def _check_finite(value):
    if isinstance(value, float) and math.isinf(value):
        raise ValueError("infinite values are not allowed")
    return value


def convert(column: dict, value, from_text: bool):
    """One cell to its stored Python value (None for null); ValueError says why it does not fit."""
    kind = column["type"]
    if value is None or (from_text and value == ""):
        return None
    scalar = _text_scalar if from_text else _json_scalar
    if column.get("is_set"):
        if from_text:
            value = value.split(SET_SEPARATOR)
        elif not isinstance(value, (list, tuple, np.ndarray)):
            raise ValueError(f"{json.dumps(value, default=str)} is not a list")
        items = []
        for item in value:
            if item is None or (from_text and item == ""):
                raise ValueError("a list holds no empty items")
            item = _check_finite(scalar(kind, item))
            if isinstance(item, float) and math.isnan(item):
                raise ValueError("a list holds no NaN")
            items.append(item)
        return items
    converted = _check_finite(scalar(kind, value))
    if isinstance(converted, float) and math.isnan(converted):
        return None  # NaN is how a double column stores null
    return converted


# -- building tables ---------------------------------------------------------------------------

class Errors:
    """Bad cells by column ("line 7: 'x' is not a number"); at most MAX_ERRORS messages, so a wholly
    wrong file gets a short answer, with the total count in the description."""

    def __init__(self):
        self.by_field, self.count, self.first = {}, 0, None

    def add(self, key: str, where: str, message: str):
        self.count += 1
        if self.first is None:
            general = key in ("rows", "columns", "types", "body")
            self.first = f"{where}: {message}" if general else f"{where}, column {key}: {message}"
        if self.count <= MAX_ERRORS:
            self.by_field.setdefault(key, []).append(f"{where}: {message}")

    def raise_any(self):
        if self.count:
            more = f" ({self.count} errors, nothing was stored)" if self.count > 1 else " (nothing was stored)"
            raise Invalid(self.first + more, errors=self.by_field)


def build(columns: list[dict], cells: dict[str, list], where: list[str], from_text: bool,
          errors: Errors | None = None) -> Table:
    """Convert raw cells (strings from CSV, JSON values otherwise) column by column; 422 on any bad cell."""
    errors = errors or Errors()
    table = Table(columns, rows=len(where))
    for column in columns:
        name, values = column["name"], []
        for index, raw in enumerate(cells.get(name) or [None] * len(where)):
            try:
                values.append(convert(column, raw, from_text))
            except ValueError as exc:
                errors.add(name, where[index], str(exc))
                values.append(None)
        _store(table, column, values)
    errors.raise_any()
    return table


def _store(table: Table, column: dict, values: list) -> None:
    name = column["name"]
    if not is_numeric(column):
        table.data[name] = values
        return
    nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    if column["type"] == "double":
        table.data[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        return
    table.data[name] = np.array([0 if v is None else v for v in values], dtype=DTYPES[column["type"]])
    if nulls.any():
        table.masks[name] = nulls


def filled(column: dict, default, rows: int) -> Table:
    """A one-column table of ``rows`` copies of ``default`` (a JSON value), for an added column."""
    try:
        value = convert(column, default, from_text=False)
    except ValueError as exc:
        raise Invalid(f"default: {exc}", errors={"default": [str(exc)]}) from None
    table = Table([column], rows=rows)
    _store(table, column, [value] * rows)
    return table


# -- parsing -----------------------------------------------------------------------------------

def media_kind(content_type: str | None) -> str:
    from tucluster.errors import UnsupportedMedia

    media = (content_type or "").split(";")[0].strip().lower()
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


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not UTF-8 text (byte {exc.start})", errors={"body": ["not UTF-8"]}) from None


def _check_columns(names: list[str], errors: Errors) -> None:
    seen = set()
    for name in names:
        if not isinstance(name, str) or not NAME.match(name):
            errors.add("columns", "header", f"invalid column name {name!r}: use a-z, 0-9, '_', not a leading digit")
        elif name in seen:
            errors.add("columns", "header", f"column {name!r} appears twice")
        seen.add(name)


def _read_csv(text: str, errors: Errors):
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    if not header:
        raise Invalid("the CSV is empty: its first line names the columns", errors={"body": ["no header row"]})
    _check_columns(header, errors)
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


def _read_json_rows(rows: list, names: list[str] | None, labels: list[str], errors: Errors):
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


def _read_ndjson(text: str, names, errors: Errors):
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
    return _read_json_rows(rows, names, labels, errors)


def _load_json(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", errors={"body": [str(exc)]}) from None


# -- type inference ----------------------------------------------------------------------------

def _all_parse(values, kind: str) -> bool:
    try:
        for value in values:
            _text_scalar(kind, value)
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


# -- entry points ------------------------------------------------------------------------------

def parse_upload(body: bytes, kind: str, types: str | None = None) -> tuple[str | None, Table]:
    """A new dataset from a CSV, NDJSON or JSON body -> (name given in the body or None, table)."""
    declared, errors, name = parse_types(types), Errors(), None
    text = _decode(body)
    if kind == "csv":
        names, cells, where = _read_csv(text, errors)
    elif kind == "ndjson":
        names, cells, where = _read_ndjson(text, None, errors)
    else:
        document = _load_json(text)
        if not isinstance(document, dict) or not isinstance(document.get("rows"), list):
            raise Invalid("the JSON body is {name, columns: [{name, type, is_set}], rows: [...]}",
                          errors={"rows": ["a list of rows is required"]})
        name = document.get("name")
        for column in _declared_columns(document.get("columns"), errors):
            declared.setdefault(column["name"], column)
        listed = list(declared) if document.get("columns") is not None else None
        labels = [f"row {i + 1}" for i in range(len(document["rows"]))]
        names, cells, where = _read_json_rows(document["rows"], listed, labels, errors)
    if kind == "ndjson":
        _check_columns(names, errors)
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
    _check_columns([c["name"] for c in found], errors)
    return found


def parse_append(body: bytes, kind: str, columns: list[dict]) -> Table:
    """Rows for an existing dataset, in any upload format; columns left out are null."""
    errors, names = Errors(), [c["name"] for c in columns]
    text = _decode(body)
    if kind == "csv":
        header, cells, where = _read_csv(text, errors)
        for name in header:
            if name not in names:
                errors.add(name, "line 1", f"no column named {name!r}")
    elif kind == "ndjson":
        _, cells, where = _read_ndjson(text, names, errors)
    else:
        document = _load_json(text)
        rows = document.get("rows") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise Invalid("send a list of rows, or {rows: [...]}", errors={"rows": ["a list of rows is required"]})
        _, cells, where = _read_json_rows(rows, names, [f"row {i + 1}" for i in range(len(rows))], errors)
    errors.raise_any()
    return build(columns, cells, where, from_text=kind == "csv", errors=errors)


def from_rows(columns: list[dict], rows: list) -> Table:
    """Rows given in Python (objects or lists in column order) -> a table; used by the store's append."""
    errors = Errors()
    names = [c["name"] for c in columns]
    _, cells, where = _read_json_rows(list(rows), names, [f"row {i + 1}" for i in range(len(rows))], errors)
    errors.raise_any()
    return build(columns, cells, where, from_text=False, errors=errors)


# -- statistics: kept as mergeable state, so an append only reads its own rows ------------------

DISTINCT_LIMIT = 1000


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def stats(column: dict, values, mask=None) -> dict:
    """Merge state of one column's values: numeric moments, bounded distinct hashes, ranges."""
    if is_numeric(column):
        numbers = np.asarray(values, dtype=np.float64)
        present = numbers[~mask] if mask is not None else numbers[~np.isnan(numbers)]
        state = {"count": int(present.size), "nulls": int(numbers.size - present.size)}
        if present.size:
            cast = int if column["type"] == "int" else float
            mean = float(present.mean())
            state.update(min=cast(present.min()), max=cast(present.max()), mean=mean,
                         m2=float(((present - mean) ** 2).sum()))
        return state
    present = [v for v in values if v is not None]
    state = {"count": len(present), "nulls": len(values) - len(present)}
    if column.get("is_set"):
        lengths = [len(v) for v in present]
        if lengths:
            state.update(minLength=min(lengths), maxLength=max(lengths))
    elif column["type"] == "datetime":
        if present:
            state.update(min=min(present), max=max(present))
    else:
        hashes, capped = set(), False
        for value in present:
            digest = _hash(value)
            if digest not in hashes:
                if len(hashes) >= DISTINCT_LIMIT:
                    capped = True
                    break
                hashes.add(digest)
        state.update(hashes=sorted(hashes), capped=capped)
    return state


def merge_stats(column: dict, a: dict, b: dict) -> dict:
    merged = {"count": a["count"] + b["count"], "nulls": a["nulls"] + b["nulls"]}
    if not a["count"] or not b["count"]:
        extra = a if a["count"] else b
        return dict(extra, **merged)
    for low, high in (("min", "max"), ("minLength", "maxLength")):
        if low in a:
            merged.update({low: min(a[low], b[low]), high: max(a[high], b[high])})
    if "mean" in a:
        delta = b["mean"] - a["mean"]
        merged["mean"] = a["mean"] + delta * b["count"] / merged["count"]
        merged["m2"] = a["m2"] + b["m2"] + delta ** 2 * a["count"] * b["count"] / merged["count"]
    if "hashes" in a:
        union = sorted(set(a["hashes"]) | set(b["hashes"]))
        merged["capped"] = a["capped"] or b["capped"] or len(union) > DISTINCT_LIMIT
        merged["hashes"] = union[:DISTINCT_LIMIT]
    return merged


def public_stats(state: dict) -> dict:
    """What the API shows: count, nulls and, by kind, min/max/mean/std, distinct, or list lengths."""
    shown = {key: value for key, value in state.items() if key not in ("m2", "hashes", "capped")}
    if "m2" in state:
        shown["std"] = math.sqrt(state["m2"] / state["count"])
    if "hashes" in state:
        shown.update(distinct=len(state["hashes"]), distinctCapped=state["capped"])
    for key in ("min", "max"):
        if isinstance(shown.get(key), dt.datetime):
            shown[key] = shown[key].isoformat()
    return shown
