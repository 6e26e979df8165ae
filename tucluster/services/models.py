"""Business rules for models: a checked upload, validation reports, rename, delete, reading files."""
from __future__ import annotations

import logging
import os
import re
import zipfile

from tucluster.errors import Conflict, Invalid, NotFound, require
from tucluster.formats import archives, validation
from tucluster.services import sweeper
from tucluster.settings import Settings
from tucluster.store import Database
from tucluster.store import archives as archive_store
from tucluster.store import models as model_store
from tucluster.store import runs as run_store

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
        return validation.validate(source, entry_point)
    # Model scripts are programs: there is nothing to resolve before they run.
    return {"entryPoint": entry_point, "valid": True, "missing": [], "errors": [], "warnings": [],
            "references": []}


def create_model(database: Database, settings: Settings, stream, name: str, description: str = "") -> dict:
    """Spool, check and validate an archive, then keep it. A rejected upload leaves nothing behind:
    its chunks, stored while it arrived, are removed and its files document is never written."""
    check_name(name)
    if model_store.exists(database, name):
        raise Conflict(f"a model named {name!r} already exists")
    spool_dir = sweeper.spool_dir(settings)
    os.makedirs(spool_dir, exist_ok=True)
    upload = archive_store.start_upload(database, name)
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
    except Conflict:
        archive_store.delete(database, archive_id)
        raise
    log.info("model %s stored: %d files, entry points %s", name, len(info.files), ", ".join(info.entry_points))
    return doc


def get_model(database: Database, name: str) -> dict:
    return require(model_store.get(database, name), f"no model named {name!r}")


def search(database: Database, query: dict) -> dict:
    """A page of models from a loaded ``ModelQuery``."""
    return model_store.search(database, q=query["q"], created_after=query["created_after"],
                              created_before=query["created_before"], sort=query["sort"],
                              limit=query["limit"], cursor=query["cursor"])


def report_for(model: dict, entry_point: str) -> dict | None:
    return next((r for r in model["validation"] if r["entryPoint"] == entry_point), None)


def update_model(database: Database, name: str, changes: dict) -> dict:
    get_model(database, name)
    new_name = changes.get("name")
    if new_name and new_name != name:
        check_name(new_name)
        if run_store.count_active(database, model=name):
            raise Conflict(f"model {name!r} has active runs; rename it when they have ended")
    doc = model_store.update(database, name, changes)
    if new_name and new_name != name:
        run_store.rename_model(database, name, new_name)
    return doc


def delete_model(database: Database, name: str) -> None:
    doc = get_model(database, name)
    active = run_store.count_active(database, model=name)
    if active:
        raise Conflict(f"model {name!r} has {active} active run(s); cancel them or wait for them to end")
    model_store.delete(database, name)
    archive_store.delete(database, doc["archiveId"])


def file_tree(model: dict) -> dict:
    return {"name": model["name"], "files": model["files"], "totalSize": sum(f["size"] for f in model["files"])}


class _Member:
    """One member of a stored zip as a stream; closing it closes the zip and its GridFS stream too."""

    def __init__(self, source, archive: zipfile.ZipFile, info: zipfile.ZipInfo):
        self.source, self.archive = source, archive
        self.stream, self.size = archive.open(info), info.file_size

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(size)

    def close(self) -> None:
        self.stream.close()
        self.archive.close()  # a zip opened on a stream leaves the stream open: close it too
        self.source.close()


def read_member(database: Database, model: dict, path: str) -> _Member:
    """One file of a model as a stream with its ``size``; the caller (or the WSGI server) closes it."""
    if not any(f["path"] == path for f in model["files"]):
        raise NotFound(f"model {model['name']!r} has no file {path!r}")
    stored = archive_store.open_archive(database, model["archiveId"])
    archive = zipfile.ZipFile(stored)
    return _Member(stored, archive, archive.getinfo(archives.ZipSource(archive).names[path]))
