"""The ``results`` GridFS bucket: the files a run produced, referenced from its run document."""
from __future__ import annotations

from typing import BinaryIO

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
