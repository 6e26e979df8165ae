"""Dataset upload, rows, columns, statistics and the store API against the real database."""
from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
from falcon import testing

from tucluster import errors
from tucluster.services import datasets as dataset_service
from tucluster.store import datasets as dataset_store

CSV = ("id,x,flag,when,label\n"
       "1,0.5,true,2024-01-01T00:00:00Z,a\n"
       "2,,false,2024-01-02T12:30:00+02:00,b\n"
       "3,2.5,,2024-01-03,\n")


def fresh() -> str:
    return f"ds_{uuid.uuid4().hex[:8]}"


def upload(client, body, content_type="text/csv", name=None, **params):
    if name is not None:
        params["name"] = name
    return client.simulate_post("/datasets", params=params, body=body, headers={"Content-Type": content_type})


def stored_counts(database):
    return database.db.datasets.count_documents({}), database.db.dataset_chunks.count_documents({})


def test_csv_upload_infers_types_and_locates_the_dataset(client):
    name = fresh()
    response = upload(client, CSV, name=name)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/datasets/{name}"
    assert response.json["columns"] == [
        {"name": "id", "type": "int", "is_set": False}, {"name": "x", "type": "double", "is_set": False},
        {"name": "flag", "type": "bool", "is_set": False}, {"name": "when", "type": "datetime", "is_set": False},
        {"name": "label", "type": "text", "is_set": False}]
    assert response.json["rows"] == 3 and response.json["size"] > 0
    rows = client.simulate_get(f"/datasets/{name}/rows").json["rows"]
    assert rows == [[1, 0.5, True, "2024-01-01T00:00:00+00:00", "a"],
                    [2, None, False, "2024-01-02T10:30:00+00:00", "b"],
                    [3, 2.5, None, "2024-01-03T00:00:00+00:00", None]]


def test_types_parameter_overrides_inference(client):
    name = fresh()
    response = upload(client, "code,x\n007,1\n010,2\n", name=name, types="code:text,x:double")
    assert response.status_code == 201, response.text
    assert [c["type"] for c in response.json["columns"]] == ["text", "double"]
    assert client.simulate_get(f"/datasets/{name}/rows").json["rows"] == [["007", 1.0], ["010", 2.0]]


def test_ndjson_upload_infers_types_from_json_values(client):
    name = fresh()
    body = '{"id": "a", "n": 1, "x": 1}\n\n{"id": "b", "n": 2, "x": 2.5, "ok": true}\n'
    response = upload(client, body, "application/x-ndjson", name=name)
    assert response.status_code == 201, response.text
    assert {c["name"]: c["type"] for c in response.json["columns"]} == {"id": "text", "n": "int", "x": "double",
                                                                       "ok": "bool"}
    assert client.simulate_get(f"/datasets/{name}/rows").json["rows"] == [["a", 1, 1.0, None], ["b", 2, 2.5, True]]


def test_json_upload_with_series_column_feeds_series_matrix(client, database):
    name = fresh()
    body = {"name": name, "columns": [{"name": "id", "type": "text"},
                                      {"name": "curve", "type": "double", "is_set": True}],
            "rows": [{"id": "a", "curve": [1, 2, 3]}, ["b", [4.5, 5, 6]]]}
    response = upload(client, json.dumps(body), "application/json")
    assert response.status_code == 201, response.text
    assert response.json["columns"][1] == {"name": "curve", "type": "double", "is_set": True}
    assert dataset_store.series_matrix(database, name, "curve").tolist() == [[1, 2, 3], [4.5, 5, 6]]
    assert dataset_store.column_values(database, name, "id") == ["a", "b"]


def test_csv_list_cells_become_a_series_column(client, database):
    name = fresh()
    assert upload(client, "id,s\n1,1;2;3\n2,4;5;6.5\n", name=name).status_code == 201
    assert dataset_service.get(database, name)["columns"][1] == {"name": "s", "type": "double", "is_set": True}
    assert dataset_store.series_matrix(database, name, "s").tolist() == [[1, 2, 3], [4, 5, 6.5]]


def test_rows_page_and_select_columns(client):
    name = fresh()
    upload(client, "i,sq\n" + "".join(f"{i},{i * i}\n" for i in range(25)), name=name)
    first = client.simulate_get(f"/datasets/{name}/rows", params={"limit": 10, "columns": "sq"}).json
    assert first == {"columns": ["sq"], "rows": [[i * i] for i in range(10)], "offset": 0, "next": 10, "total": 25}
    last = client.simulate_get(f"/datasets/{name}/rows", params={"offset": 20, "limit": 10, "columns": "sq,i"}).json
    assert last["rows"] == [[i * i, i] for i in range(20, 25)] and last["next"] is None
    unknown = client.simulate_get(f"/datasets/{name}/rows", params={"columns": "nope"})
    assert unknown.status_code == 422


def test_append_rows_in_each_format(client):
    name = fresh()
    upload(client, "id,x\n1,0.5\n", name=name)
    assert client.simulate_post(f"/datasets/{name}/rows", body="id,x\n2,1.5\n",
                                headers={"Content-Type": "text/csv"}).json == {"added": 1, "rows": 2}
    assert client.simulate_post(f"/datasets/{name}/rows", body='{"id": 3}\n',
                                headers={"Content-Type": "application/x-ndjson"}).json["rows"] == 3
    response = client.simulate_post(f"/datasets/{name}/rows", json={"rows": [[4, 4.5], {"x": 5.5, "id": 5}]})
    assert response.json == {"added": 2, "rows": 5}
    rows = client.simulate_get(f"/datasets/{name}/rows").json["rows"]
    assert rows == [[1, 0.5], [2, 1.5], [3, None], [4, 4.5], [5, 5.5]]


def test_bad_append_keeps_nothing(client, database):
    name = fresh()
    upload(client, "id,x\n1,0.5\n", name=name)
    before = stored_counts(database)
    response = client.simulate_post(f"/datasets/{name}/rows", body="id,x\n2,1.5\nthree,2\n",
                                    headers={"Content-Type": "text/csv"})
    assert response.status_code == 422
    assert response.json["errors"] == {"id": ["line 3: 'three' is not an integer"]}
    assert stored_counts(database) == before
    assert client.simulate_get(f"/datasets/{name}").json["rows"] == 1


def test_add_and_remove_a_column(client):
    name = fresh()
    upload(client, "id\n1\n2\n", name=name)
    response = client.simulate_put(f"/datasets/{name}/columns/weight", json={"type": "double", "default": 1.5})
    assert response.status_code == 201, response.text
    assert client.simulate_get(f"/datasets/{name}/rows").json["rows"] == [[1, 1.5], [2, 1.5]]
    again = client.simulate_put(f"/datasets/{name}/columns/weight", json={"type": "double"})
    assert again.status_code == 409
    assert client.simulate_delete(f"/datasets/{name}/columns/weight").status_code == 204
    assert [c["name"] for c in client.simulate_get(f"/datasets/{name}").json["columns"]] == ["id"]
    assert client.simulate_delete(f"/datasets/{name}/columns/weight").status_code == 404


def test_stats_per_column(client):
    name = fresh()
    upload(client, CSV, name=name)
    client.simulate_post(f"/datasets/{name}/rows", json=[{"id": 4, "x": 5.0, "label": "a"}])
    stats = client.simulate_get(f"/datasets/{name}").json["stats"]
    assert stats["id"] == {"count": 4, "nulls": 0, "min": 1, "max": 4, "mean": 2.5,
                           "std": pytest.approx(np.std([1, 2, 3, 4]))}
    assert stats["x"]["count"] == 3 and stats["x"]["nulls"] == 1
    assert stats["x"]["mean"] == pytest.approx(8 / 3) and stats["x"]["std"] == pytest.approx(np.std([0.5, 2.5, 5]))
    assert stats["flag"] == {"count": 2, "nulls": 2, "min": 0, "max": 1, "mean": 0.5, "std": 0.5}
    assert stats["label"] == {"count": 3, "nulls": 1, "distinct": 2, "distinctCapped": False}
    assert stats["when"]["min"] == "2024-01-01T00:00:00+00:00"


BAD_UPLOADS = {
    "bad int": ("id,x\n1,2\n2,3\nfour,5\n", "text/csv", "int", {"id": ["line 4: 'four' is not an integer"]}),
    "short row": ("id,x\n1,2\n3\n", "text/csv", None, {"rows": ["line 3: 1 fields where the header has 2"]}),
    "ndjson type": ('{"a": 1}\n{"a": 2}\n\n{"a": "x"}\n', "application/x-ndjson", None,
                    {"a": ['line 4: "x" does not share a type with the int values above']}),
    "ndjson syntax": ('{"a": 1}\n{"a": \n', "application/x-ndjson", None, {"rows": ["line 2: not valid JSON"]}),
    "json cell": (json.dumps({"columns": [{"name": "a", "type": "double"}], "rows": [[1], ["x"]]}),
                  "application/json", None, {"a": ['row 2: "x" is not a double']}),
}


@pytest.mark.parametrize("case", sorted(BAD_UPLOADS))
def test_bad_rows_are_422_with_line_numbers_and_nothing_is_kept(client, database, case):
    body, content_type, types, expected = BAD_UPLOADS[case]
    before = stored_counts(database)
    params = {"types": "id:int"} if types else {}
    response = upload(client, body, content_type, name=fresh(), **params)
    assert response.status_code == 422, response.text
    assert response.json["errors"] == expected
    assert stored_counts(database) == before


@pytest.mark.parametrize("name", ["Upper", "9lives", "has-dash", "x" * 65, "dot.ted"])
def test_bad_dataset_names_are_422(client, name):
    response = upload(client, "a\n1\n", name=name)
    assert response.status_code == 422
    assert "name" in response.json["errors"]


def test_bad_column_names_are_422(client):
    response = upload(client, "ok,Bad Name\n1,2\n", name=fresh())
    assert response.status_code == 422
    assert "columns" in response.json["errors"]


def test_duplicate_name_is_409(client):
    name = fresh()
    assert upload(client, "a\n1\n", name=name).status_code == 201
    response = upload(client, "a\n2\n", name=name)
    assert response.status_code == 409
    assert "already exists" in response.json["description"]


def test_unknown_dataset_is_404(client):
    for response in (client.simulate_get("/datasets/no_such_set"), client.simulate_get("/datasets/no_such_set/rows"),
                     client.simulate_delete("/datasets/no_such_set"),
                     client.simulate_post("/datasets/no_such_set/rows", json=[])):
        assert response.status_code == 404
        assert response.json["title"] == "Not found"


def test_wrong_media_type_is_415(client):
    response = upload(client, "a\n1\n", "application/zip", name=fresh())
    assert response.status_code == 415
    assert "text/csv" in response.json["description"]


def test_oversized_body_is_413(settings, database):
    from tucluster.app import create_app

    small = testing.TestClient(create_app(settings.replace(max_upload_bytes=100), store=database))
    before = stored_counts(database)
    response = upload(small, "a\n" + "1\n" * 200, name=fresh())
    assert response.status_code == 413
    assert stored_counts(database) == before


def test_list_filters_by_name_newest_first(client):
    tag = uuid.uuid4().hex[:6]
    for index in range(3):
        upload(client, "a\n1\n", name=f"list_{tag}_{index}")
    first = client.simulate_get("/datasets", params={"q": tag, "limit": 2}).json
    assert first["total"] == 3 and first["next"]
    second = client.simulate_get("/datasets", params={"q": tag, "limit": 2, "cursor": first["next"]}).json
    assert [d["name"] for d in first["items"] + second["items"]] == [f"list_{tag}_{i}" for i in (2, 1, 0)]


def test_delete_removes_dataset_and_chunks(client, database):
    name = fresh()
    upload(client, CSV, name=name)
    dataset_id = database.db.datasets.find_one({"name": name})["_id"]
    assert client.simulate_delete(f"/datasets/{name}").status_code == 204
    assert client.simulate_get(f"/datasets/{name}").status_code == 404
    assert database.db.dataset_chunks.count_documents({"dataset": dataset_id}) == 0


def test_delete_refused_while_a_run_uses_the_dataset(client, database):
    name = fresh()
    upload(client, CSV, name=name)
    run_id = uuid.uuid4().hex
    database.db.runs.insert_one({"_id": run_id, "taskId": run_id, "kind": "clustering", "dataset": name,
                                 "state": "running"})
    try:
        response = client.simulate_delete(f"/datasets/{name}")
        assert response.status_code == 409
        assert client.simulate_get(f"/datasets/{name}").status_code == 200
    finally:
        database.db.runs.delete_one({"_id": run_id})


def test_matrices_match_the_upload_across_chunk_boundaries(database, monkeypatch):
    from tucluster.services.datasets import bodies as tables

    monkeypatch.setattr(dataset_store, "CHUNK_ROWS", 7)
    rng = np.random.default_rng(3)
    x, n = rng.normal(size=(30, 2)), np.arange(30)
    series = rng.normal(size=(30, 4))
    rows = [{"x": float(x[i, 0]), "y": float(x[i, 1]), "n": int(n[i]), "s": series[i].tolist()} for i in range(30)]
    columns = [{"name": "x", "type": "double", "is_set": False}, {"name": "y", "type": "double", "is_set": False},
               {"name": "n", "type": "int", "is_set": False}, {"name": "s", "type": "double", "is_set": True}]
    name = fresh()
    dataset_service.create(database, name, tables.from_rows(columns, rows[:10]))
    assert dataset_service.append(database, name, rows[10:13]) == 13   # rewrites the short tail chunk
    assert dataset_service.append(database, name, rows[13:]) == 30
    assert dataset_store.row_count(database, name) == 30
    expected = np.column_stack([x, n])
    assert np.array_equal(dataset_store.numeric_matrix(database, name, ["x", "y", "n"]), expected)
    assert np.array_equal(dataset_store.numeric_matrix(database, name, ["x", "y", "n"], 5, 23), expected[5:23])
    assert np.array_equal(dataset_store.series_matrix(database, name, "s", 6, 15), series[6:15])
    assert dataset_store.column_values(database, name, "n", 12, 16) == [12, 13, 14, 15]
    assert database.db.dataset_chunks.count_documents({"dataset": database.db.datasets.find_one(
        {"name": name})["_id"]}) == 4 * 5   # 30 rows in chunks of 7, no leftovers of the tail rewrite


def test_numeric_matrix_refuses_text_and_unknown_columns(client, database):
    name = fresh()
    upload(client, CSV, name=name)
    with pytest.raises(errors.Invalid, match="'label' is text"):
        dataset_store.numeric_matrix(database, name, ["x", "label"])
    with pytest.raises(errors.Invalid, match="no column 'nope'"):
        dataset_store.numeric_matrix(database, name, ["nope"])


def test_series_matrix_refuses_lists_of_different_lengths(client, database):
    name = fresh()
    upload(client, "s\n1;2\n3;4;5\n", name=name)
    with pytest.raises(errors.Invalid, match="row 1 holds 3 values"):
        dataset_store.series_matrix(database, name, "s")


def _failing_inserts(monkeypatch, after: int):
    """Make the chunk inserts fail after ``after`` successful calls, as a dropped connection would."""
    import pymongo.collection
    import pymongo.errors

    original, calls = pymongo.collection.Collection.insert_many, []

    def insert_many(self, documents, *args, **kwargs):
        if self.name == "dataset_chunks":
            calls.append(1)
            if len(calls) > after:
                raise pymongo.errors.AutoReconnect("connection lost")
        return original(self, documents, *args, **kwargs)

    monkeypatch.setattr(pymongo.collection.Collection, "insert_many", insert_many)


def test_upload_failing_midway_removes_what_was_written(client, database, monkeypatch):
    monkeypatch.setattr(dataset_store, "CHUNK_ROWS", 2)
    before = stored_counts(database)
    _failing_inserts(monkeypatch, after=2)
    name = fresh()
    response = upload(client, "a,b\n" + "1,x\n" * 9, name=name)
    assert response.status_code == 503
    assert stored_counts(database) == before
    monkeypatch.undo()
    assert client.simulate_get(f"/datasets/{name}").status_code == 404


def test_append_failing_midway_keeps_the_previous_rows(client, database, monkeypatch):
    name = fresh()
    monkeypatch.setattr(dataset_store, "CHUNK_ROWS", 2)
    upload(client, "a,b\n1,x\n2,y\n3,z\n", name=name)
    before = stored_counts(database)
    _failing_inserts(monkeypatch, after=1)
    with pytest.raises(Exception, match="connection lost"):
        dataset_service.append(database, name, [[4, "w"], [5, "v"], [6, "u"]])
    assert stored_counts(database) == before
    assert client.simulate_get(f"/datasets/{name}/rows").json["rows"] == [[1, "x"], [2, "y"], [3, "z"]]


def test_header_only_upload_then_append(client, database):
    name = fresh()
    response = upload(client, "a,b\n", name=name, types="a:double,b:text")
    assert response.status_code == 201 and response.json["rows"] == 0
    assert dataset_store.numeric_matrix(database, name, ["a"]).shape == (0, 1)
    assert dataset_service.append(database, name, [{"a": 1.5, "b": "x"}]) == 1
    assert client.simulate_get(f"/datasets/{name}/rows").json["rows"] == [[1.5, "x"]]
