"""Dataset parsing, type inference, validation messages and statistics, without a database."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from tucluster.formats import table_stats, tables
from tucluster.services.datasets import bodies, readers
from tucluster.errors import Invalid, UnsupportedMedia

UTC = dt.timezone.utc


def csv(text: str, types=None) -> tables.Table:
    return bodies.parse_upload(text.encode(), "csv", types)[1]


def kinds(table: tables.Table) -> dict:
    return {c["name"]: (c["type"] + ("[]" if c["is_set"] else "")) for c in table.columns}


def failure(action) -> Invalid:
    with pytest.raises(Invalid) as caught:
        action()
    return caught.value


@pytest.mark.parametrize("cells, expected", [
    (["1", "-2", "+3"], ("int", False)),
    (["1", "2.5", "1e3", ""], ("double", False)),
    (["true", "FALSE", ""], ("bool", False)),
    (["2024-01-01", "2024-01-02T03:04:05Z"], ("datetime", False)),
    (["1;2;3", "4"], ("int", True)),
    (["1;2.5", "3;4"], ("double", True)),
    (["1_000", "2"], ("text", False)),       # Python's int() takes underscores; a CSV cell should not
    (["20240101", "x"], ("text", False)),
    (["a;b", "c"], ("text", False)),
    (["", ""], ("text", False)),
    (["1", "0", "yes"], ("text", False)),
])
def test_csv_inference(cells, expected):
    assert readers.infer_text(cells) == expected


def test_datetimes_are_utc_with_milliseconds():
    table = csv("t\n2024-05-01T12:00:00.123456+02:00\n2024-05-01\n")
    assert table.data["t"] == [dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC),
                               dt.datetime(2024, 5, 1, tzinfo=UTC)]


def test_nulls_are_nan_for_doubles_and_masked_for_ints_and_bools():
    table = csv("i,x,b\n1,,true\n,2.5,\n")
    assert np.isnan(table.data["x"][0]) and table.data["x"][1] == 2.5
    assert table.masks["i"].tolist() == [False, True]
    assert table.masks["b"].tolist() == [False, True]
    assert "x" not in table.masks


def test_types_override_and_declare_list_columns():
    table = csv("code,s\n007,1;2\n", types="code:text,s:double[]")
    assert kinds(table) == {"code": "text", "s": "double[]"}
    assert table.data["code"] == ["007"] and table.data["s"] == [[1.0, 2.0]]


@pytest.mark.parametrize("types, message", [
    ("x:float", "unknown type"), ("nope:int", "no column named nope"), ("Bad:int", "invalid column"),
])
def test_bad_types_parameter(types, message):
    error = failure(lambda: csv("x\n1\n", types=types))
    assert message in json.dumps(error.errors)


def test_errors_name_line_and_column_and_are_capped():
    body = "x\n" + "bad\n" * (tables.MAX_ERRORS + 10)
    error = failure(lambda: csv(body, types="x:double"))
    assert error.errors["x"][0] == "line 2: 'bad' is not a number"
    assert len(error.errors["x"]) == tables.MAX_ERRORS
    assert error.description.startswith("line 2, column x: 'bad' is not a number (60 errors")


def test_quoted_newlines_keep_line_numbers_of_the_record_end():
    error = failure(lambda: csv('t,n\n"two\nlines",1\nx,oops\n', types="n:int"))
    assert error.errors == {"n": ["line 4: 'oops' is not an integer"]}


@pytest.mark.parametrize("cell, message", [
    ("1e999", "infinite"), ("inf", "not a number"), ("9223372036854775808", "64-bit"), ("1;;2", "no empty items"),
])
def test_cells_refused(cell, message):
    types = "v:int[]" if ";" in cell else ("v:int" if cell.isdigit() else "v:double")
    assert message in failure(lambda: csv(f"v\n{cell}\n", types=types)).description


def test_ndjson_columns_in_order_of_appearance_with_nulls():
    body = b'{"b": 1, "a": [1, 2]}\n{"c": "2024-01-01T00:00:00Z", "b": null}\n'
    table = bodies.parse_upload(body, "ndjson")[1]
    assert kinds(table) == {"b": "int", "a": "int[]", "c": "datetime"}
    assert table.masks["b"].tolist() == [False, True]
    assert table.data["a"] == [[1, 2], None]


def test_ndjson_mixing_lists_and_values_is_refused():
    error = failure(lambda: bodies.parse_upload(b'{"a": [1]}\n{"a": 2}\n', "ndjson"))
    assert error.errors == {"a": ["line 2: lists and single values are mixed in this column"]}


def test_json_rows_as_lists_need_columns_and_the_right_length():
    body = {"columns": [{"name": "a", "type": "int"}, {"name": "b", "type": "text"}], "rows": [[1, "x"], [2]]}
    error = failure(lambda: bodies.parse_upload(json.dumps(body).encode(), "json"))
    assert error.errors == {"rows": ["row 2: 1 values for 2 columns"]}
    error = failure(lambda: bodies.parse_upload(b'{"rows": [[1, 2]]}', "json"))
    assert error.errors["rows"] == ["row 1: rows given as lists need 'columns'"]


def test_json_int_column_takes_integral_floats_only():
    body = {"columns": [{"name": "a", "type": "int"}], "rows": [[2.0], [2.5], [True]]}
    error = failure(lambda: bodies.parse_upload(json.dumps(body).encode(), "json"))
    assert error.errors == {"a": ["row 2: 2.5 is not an int", "row 3: true is not an int"]}


def test_append_fills_missing_columns_and_refuses_unknown_ones():
    columns = [{"name": "a", "type": "int", "is_set": False}, {"name": "b", "type": "text", "is_set": False}]
    table = bodies.parse_append(b"b\nx\n", "csv", columns)
    assert table.masks["a"].tolist() == [True] and table.data["b"] == ["x"]
    error = failure(lambda: bodies.parse_append(b'{"a": 1, "z": 2}\n', "ndjson", columns))
    assert error.errors == {"z": ["line 1: no column named 'z'"]}


def test_media_types():
    assert bodies.media_kind("text/csv; charset=utf-8") == "csv"
    assert bodies.media_kind("application/x-ndjson") == "ndjson"
    assert bodies.media_kind("application/json") == "json"
    with pytest.raises(UnsupportedMedia):
        bodies.media_kind("application/xml")


@pytest.mark.parametrize("name", ["_a", "a1_b", "x" * 64])
def test_good_names(name):
    assert tables.check_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "1a", "a-b", "x" * 65, None])
def test_bad_names(name):
    assert "name" in failure(lambda: tables.check_name(name)).errors


def test_merged_stats_equal_stats_of_all_rows():
    column = {"name": "x", "type": "double", "is_set": False}
    values = np.random.default_rng(1).normal(5, 2, size=1000)
    merged = table_stats.merge_stats(column, table_stats.stats(column, values[:300]), table_stats.stats(column, values[300:]))
    shown = table_stats.public_stats(merged)
    assert shown["mean"] == pytest.approx(values.mean()) and shown["std"] == pytest.approx(values.std())
    assert (shown["min"], shown["max"], shown["count"]) == (values.min(), values.max(), 1000)


def test_distinct_count_is_bounded():
    column = {"name": "t", "type": "text", "is_set": False}
    few = table_stats.stats(column, ["a", "b", "a", None])
    assert table_stats.public_stats(few) == {"count": 3, "nulls": 1, "distinct": 2, "distinctCapped": False}
    many = table_stats.stats(column, [str(i) for i in range(table_stats.DISTINCT_LIMIT + 5)])
    assert table_stats.public_stats(many)["distinct"] == table_stats.DISTINCT_LIMIT
    assert table_stats.public_stats(table_stats.merge_stats(column, few, many))["distinctCapped"] is True


def test_concat_keeps_masks():
    columns = [{"name": "i", "type": "int", "is_set": False}]
    first, second = bodies.from_rows(columns, [[1]]), bodies.from_rows(columns, [[None], [3]])
    joined = tables.concat(first, second)
    assert joined.data["i"].tolist()[::2] == [1, 3] and joined.masks["i"].tolist() == [False, True, False]
