"""Model upload, validation, listing and files against the real database."""
from __future__ import annotations

import io
import os
import stat
import uuid
import zipfile

import pytest

from tests.support import TCF, TGC, make_zip, simple_model


def upload(client, body: bytes, name=None, content_type="application/zip", **params):
    name = name or f"m-{uuid.uuid4().hex[:8]}"
    return client.simulate_post("/models", params={"name": name, **params}, body=body,
                                headers={"Content-Type": content_type})


def stored_counts(database):
    return (database.db.models.count_documents({}), database.db["archives.files"].count_documents({}),
            database.db["archives.chunks"].count_documents({}))


def test_upload_stores_model_with_entry_points_and_tree(client):
    response = upload(client, simple_model(), name="valley", description="a test valley")
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/models/valley"
    body = response.json
    assert body["entryPoints"] == ["run.tcf"]
    assert body["valid"] == {"run.tcf": True}
    files = client.simulate_get("/models/valley/files").json["files"]
    assert {f["path"] for f in files} == {"run.tcf", "model/grid.tgc"}
    assert client.simulate_get("/models/valley/files/model/grid.tgc").text == TGC
    archive = client.simulate_get("/models/valley/archive")
    assert archive.headers["content-type"] == "application/zip"
    assert zipfile.ZipFile(io.BytesIO(archive.content)).read("run.tcf").decode() == TCF


def test_multipart_upload_takes_name_from_form(client):
    boundary = "XBOUNDARY"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nfrom-form\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode() + simple_model() + f"\r\n--{boundary}--\r\n".encode()
    response = client.simulate_post("/models", body=body,
                                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 201, response.text
    assert response.json["name"] == "from-form"


def test_duplicate_name_is_conflict(client):
    assert upload(client, simple_model(), name="twice").status_code == 201
    response = upload(client, simple_model(), name="twice")
    assert response.status_code == 409
    assert "already exists" in response.json["description"]


def _symlink_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("run.tcf", TCF)
        link = zipfile.ZipInfo("evil")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _bomb() -> bytes:
    # 64 MiB of zeros deflates about 1000:1: the shape of a zip bomb, small enough for a test.
    return make_zip({"run.tcf": TCF, "bomb.asc": b"\0" * (64 * 1024 * 1024)})


def _lying_sizes() -> bytes:
    data = bytearray(make_zip({"run.tcf": TCF, "big.asc": "0 " * 100000}))
    # Patch the central directory's declared uncompressed size of big.asc down to 10 bytes.
    offset = data.rfind(b"PK\x01\x02")
    data[offset + 24:offset + 28] = (10).to_bytes(4, "little")
    return bytes(data)


BAD_ARCHIVES = {
    "not a zip": (b"this is not a zip file at all", "not a zip archive"),
    "absolute path": (make_zip({"run.tcf": TCF, "/etc/cron.d/x": "x"}), "absolute path"),
    "parent path": (make_zip({"run.tcf": TCF, "../outside.txt": "x"}), "'..'"),
    "symlink": (_symlink_zip(), "symbolic link"),
    "bomb": (_bomb(), "zip bomb"),
    "lying sizes": (_lying_sizes(), "Bad CRC"),
    "no entry point": (make_zip({"model/grid.tgc": TGC}), "no entry point"),
    "nested entry point": (make_zip({"folder/run.tcf": TCF}), "zip the folder's contents"),
}


@pytest.mark.parametrize("kind", sorted(BAD_ARCHIVES))
def test_bad_archive_is_refused_and_nothing_is_kept(client, database, kind):
    body, reason = BAD_ARCHIVES[kind]
    before = stored_counts(database)
    response = upload(client, body)
    assert response.status_code == 422, response.text
    assert reason in response.json["description"]
    assert stored_counts(database) == before


def test_too_many_members_is_refused(client, database, settings, app):
    body = make_zip({"run.tcf": TCF, **{f"f{i}.txt": "x" for i in range(settings.max_archive_members + 1)}})
    response = upload(client, body)
    assert response.status_code == 422
    assert "members" in response.json["description"]


def test_honest_constant_grid_is_accepted(client):
    # A 4000x4000 grid of one value compresses about 150:1 and must not be taken for a bomb.
    header = "ncols 4000\nnrows 4000\nxllcorner 0\nyllcorner 0\ncellsize 1\nNODATA_value -9999\n"
    row = " ".join(["12.500"] * 4000) + "\n"
    grid = header + row * 4000
    tgc = "Grid Size (X,Y) == 4000, 4000\nCell Size == 1\nRead Grid Zpts == grid\\dem.asc\n"
    response = upload(client, make_zip({"run.tcf": TCF, "model/grid.tgc": tgc, "model/grid/dem.asc": grid}))
    assert response.status_code == 201, response.text


def test_oversized_upload_is_413_and_leaves_no_spool_file(client, app, settings, database):
    from falcon import testing

    from tucluster.app import create_app

    small = create_app(settings.replace(max_upload_bytes=1000), store=database)
    before = stored_counts(database)
    response = testing.TestClient(small).simulate_post("/models", params={"name": "huge"},
                                                       body=simple_model(big=os.urandom(5000)),
                                                       headers={"Content-Type": "application/zip"})
    assert response.status_code == 413
    assert stored_counts(database) == before
    spool = f"{settings.data_dir}/uploads"
    assert os.listdir(spool) == []


def test_wrong_media_type_is_415(client):
    response = upload(client, simple_model(), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/zip" in response.json["description"]


def test_invalid_name_is_422(client):
    assert upload(client, simple_model(), name="../etc").status_code == 422


def test_missing_references_are_reported_with_file_and_line(client):
    tcf = TCF + "BC Control File == model\\bc.tbc\n"
    response = upload(client, make_zip({"run.tcf": tcf, "model/grid.tgc": TGC}), name="holey")
    assert response.status_code == 201
    assert response.json["valid"] == {"run.tcf": False}
    report = client.simulate_get("/models/holey/validation").json[0]
    assert report["missing"] == [{"path": "model/bc.tbc", "file": "run.tcf", "line": 6,
                                  "command": "BC Control File"}]


def test_unknown_command_is_a_warning_not_an_error(client):
    tcf = TCF + "Frobnicate Level == 3\n"
    response = upload(client, make_zip({"run.tcf": tcf, "model/grid.tgc": TGC}))
    assert response.json["valid"] == {"run.tcf": True}
    report = client.simulate_get(f"/models/{response.json['name']}/validation").json[0]
    assert [w["command"] for w in report["warnings"]] == ["Frobnicate Level"]


def test_list_filters_and_paginates(client):
    tag = uuid.uuid4().hex[:6]
    for index in range(3):
        upload(client, simple_model(), name=f"page-{tag}-{index}", description=f"flood {tag}")
    first = client.simulate_get("/models", params={"q": tag, "limit": 2}).json
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next"]
    second = client.simulate_get("/models", params={"q": tag, "limit": 2, "cursor": first["next"]}).json
    assert len(second["items"]) == 1 and second["next"] is None
    names = [m["name"] for m in first["items"] + second["items"]]
    assert names == [f"page-{tag}-2", f"page-{tag}-1", f"page-{tag}-0"]
    future = client.simulate_get("/models", params={"q": tag, "created_after": "2999-01-01T00:00:00Z"}).json
    assert future["total"] == 0


def test_bad_list_parameters_are_422(client):
    assert client.simulate_get("/models", params={"limit": "0"}).status_code == 422
    assert client.simulate_get("/models", params={"cursor": "garbage!"}).status_code == 422
    assert client.simulate_get("/models", params={"sort": "-nope"}).status_code == 422


def test_patch_renames_and_describes(client):
    upload(client, simple_model(), name="old-name")
    response = client.simulate_patch("/models/old-name", json={"name": "new-name", "description": "renamed"})
    assert response.status_code == 200
    assert response.json["description"] == "renamed"
    assert client.simulate_get("/models/old-name").status_code == 404
    assert client.simulate_get("/models/new-name").status_code == 200


def test_delete_removes_model_and_its_archive(client, database):
    upload(client, simple_model(), name="doomed")
    archive_id = database.db.models.find_one({"name": "doomed"})["archiveId"]
    assert client.simulate_delete("/models/doomed").status_code == 204
    assert client.simulate_get("/models/doomed").status_code == 404
    assert database.db["archives.files"].count_documents({"_id": archive_id}) == 0
    assert database.db["archives.chunks"].count_documents({"files_id": archive_id}) == 0


def test_unknown_model_is_404(client):
    for path in ("/models/nope", "/models/nope/files", "/models/nope/validation", "/models/nope/archive"):
        assert client.simulate_get(path).status_code == 404, path
    assert client.simulate_get("/models/valley-none/files/x.txt").status_code == 404
