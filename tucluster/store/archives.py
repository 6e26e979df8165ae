"""The ``archives`` GridFS bucket: each model's zip as it was uploaded."""
from __future__ import annotations

from tucluster.store import Database
from tucluster.store.uploads import StreamingUpload

BUCKET = "archives"


def start_upload(database: Database, model: str) -> StreamingUpload:
    """A zip stored while it arrives; it exists for readers only once committed."""
    return StreamingUpload(database, BUCKET, f"{model}.zip", {"model": model, "contentType": "application/zip"})


def open_archive(database: Database, archive_id):
    """A seekable stream over the stored zip (GridFS streams support seek)."""
    return database.bucket(BUCKET).open_download_stream(archive_id)


def delete(database: Database, archive_id) -> None:
    database.bucket(BUCKET).delete(archive_id)
