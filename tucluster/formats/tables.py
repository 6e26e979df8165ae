"""Typed dataset tables: column names and types, ``Table``, cell conversion, and building a table
from raw cells with line-numbered errors.

Nothing here touches the database, so the rules are testable without MongoDB. A table holds numeric
scalar columns (int, double, bool) as numpy arrays, the others as lists. Nulls: NaN in double
columns; int and bool columns keep a boolean null mask beside their values.
"""
from __future__ import annotations

import datetime as dt
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


def text_scalar(kind: str, text: str):
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
    scalar = text_scalar if from_text else _json_scalar
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
