"""The ``results`` GridFS bucket: the files a run produced, referenced from its run document."""
from __future__ import annotations

from typing import BinaryIO

from tucluster import states
from tucluster.store import Database

BUCKET = "results"


def upload(database: Database, run_id: str, path: str, source: BinaryIO):
    """Store one result file; returns its file id."""
    return database.bucket(BUCKET).upload_from_stream(path, source, metadata={"run": run_id, "path": path})


def open_result(database: Database, file_id):
    return database.bucket(BUCKET).open_download_stream(file_id)


def delete(database: Database, file_ids) -> None:
    bucket = database.bucket(BUCKET)
    for file_id in file_ids:
        bucket.delete(file_id)


def unreferenced(database: Database, uploaded_before) -> list:
    """Result files uploaded before ``uploaded_before`` that no run lists: the run was deleted, or it
    was given to another attempt before it could list them. Runs a worker holds are left alone."""
    found = []
    for file in database.db[f"{BUCKET}.files"].find({"uploadDate": {"$lt": uploaded_before}}, {"metadata": 1}):
        run = database.db.runs.find_one({"_id": (file.get("metadata") or {}).get("run")}, {"state": 1, "results": 1})
        if run is not None and run["state"] in states.HELD:
            continue
        if run is None or all(result["fileId"] != file["_id"] for result in run.get("results") or []):
            found.append(file["_id"])
    return found
