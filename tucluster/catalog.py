"""Business rules for models: checked upload, validation reports, rename and delete."""
from __future__ import annotations

import logging
import os
import re
import zipfile

import pymongo.errors

from tucluster import archives, controlfiles
from tucluster.errors import Conflict, Invalid, NotFound
from tucluster.settings import Settings
from tucluster.store import Database
from tucluster.store import models as model_store
from tucluster.store import runs as run_store
from tucluster.store.uploads import StreamingUpload

log = logging.getLogger(__name__)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_name(name: str | None) -> str:
    if not name or not NAME.match(name):
        raise Invalid("a model name is 1-100 letters, digits, '_', '.' or '-', starting with a letter or digit",
                      errors={"name": ["invalid model name"]})
    return name


def validation_reports(archive_path: str, entry_points: list[str]) -> list[dict]:
    with zipfile.ZipFile(archive_path) as archive:
        source = archives.ZipSource(archive)
        return [_report(source, entry_point) for entry_point in entry_points]


def _report(source, entry_point: str) -> dict:
    if entry_point.lower().endswith(".tcf"):
        return controlfiles.validate(source, entry_point)
    # Model scripts are programs: there is nothing to resolve before they run.
    return {"entryPoint": entry_point, "valid": True, "missing": [], "errors": [], "warnings": [],
            "references": []}


def create_model(database: Database, settings: Settings, stream, name: str, description: str = "") -> dict:
    """Spool, check and validate an archive, then keep it. A rejected upload leaves nothing behind:
    its chunks, stored while it arrived, are removed and its files document is never written."""
    check_name(name)
    if model_store.exists(database, name):
        raise Conflict(f"a model named {name!r} already exists")
    spool_dir = os.path.join(settings.data_dir, "uploads")
    os.makedirs(spool_dir, exist_ok=True)
    upload = StreamingUpload(database, model_store.BUCKET, f"{name}.zip",
                             {"model": name, "contentType": "application/zip"})
    path = None
    try:
        path = archives.spool(stream, settings.max_upload_bytes, spool_dir, tee=upload.write)
        info = archives.inspect(path, settings)
        reports = validation_reports(path, info.entry_points)
        archive_id = upload.commit()
    except BaseException:
        upload.abort()
        raise
    finally:
        if path:
            os.unlink(path)
    doc = {"name": name, "description": description or "", "archiveId": archive_id, "size": info.size,
           "files": info.files, "entryPoints": info.entry_points, "validation": reports, "baselines": {}}
    try:
        doc = model_store.insert(database, doc)
    except pymongo.errors.DuplicateKeyError:
        database.bucket(model_store.BUCKET).delete(archive_id)
        raise Conflict(f"a model named {name!r} already exists") from None
    log.info("model %s stored: %d files, entry points %s", name, len(info.files), ", ".join(info.entry_points))
    return doc


def get_model(database: Database, name: str) -> dict:
    doc = model_store.get(database, name)
    if doc is None:
        raise NotFound(f"no model named {name!r}")
    return doc


def report_for(model: dict, entry_point: str) -> dict | None:
    return next((r for r in model["validation"] if r["entryPoint"] == entry_point), None)


def update_model(database: Database, name: str, changes: dict) -> dict:
    get_model(database, name)
    new_name = changes.get("name")
    if new_name and new_name != name:
        check_name(new_name)
        if run_store.count_active(database, model=name):
            raise Conflict(f"model {name!r} has active runs; rename it when they have ended")
    try:
        doc = model_store.update(database, name, changes)
    except pymongo.errors.DuplicateKeyError:
        raise Conflict(f"a model named {new_name!r} already exists") from None
    if new_name and new_name != name:
        run_store.rename_model(database, name, new_name)
    return doc


def delete_model(database: Database, name: str) -> None:
    doc = get_model(database, name)
    active = run_store.count_active(database, model=name)
    if active:
        raise Conflict(f"model {name!r} has {active} active run(s); cancel them or wait for them to end")
    model_store.delete(database, name)
    database.bucket(model_store.BUCKET).delete(doc["archiveId"])


def open_archive(database: Database, model: dict):
    """A seekable stream over the stored zip (GridFS streams support seek)."""
    return database.bucket(model_store.BUCKET).open_download_stream(model["archiveId"])


def read_member(database: Database, model: dict, path: str):
    """(zip, member stream, size) for one file of a model; the caller closes both."""
    if not any(f["path"] == path for f in model["files"]):
        raise NotFound(f"model {model['name']!r} has no file {path!r}")
    archive = zipfile.ZipFile(open_archive(database, model))
    source = archives.ZipSource(archive)
    info = archive.getinfo(source.names[path])
    return archive, archive.open(info), info.file_size
