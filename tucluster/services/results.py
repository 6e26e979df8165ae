"""A run's result files: finding one, listing them, and all of them as one zip streamed as it is built."""
from __future__ import annotations

import zipfile

from tucluster.errors import NotFound
from tucluster.store import Database
from tucluster.store import results as result_store

CHUNK = 1024 * 1024


def find_result(run: dict, path: str) -> dict:
    for result in run.get("results") or []:
        if result["path"] == path:
            return result
    raise NotFound(f"run {run['_id']} has no result {path!r}")


def tree(run: dict) -> dict:
    files = [{"path": r["path"], "size": r["size"]} for r in run.get("results") or []]
    return {"run": run["_id"], "files": files, "totalSize": sum(f["size"] for f in files)}


class _Pipe:
    """A write-only file whose content is taken out in pieces: zipfile writes, a generator reads."""

    def __init__(self):
        self.parts, self.position = [], 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self):
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(database: Database, run: dict):
    """Yield a zip of every result without holding the files in memory (data descriptors, zip64)."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for result in run.get("results") or []:
            with result_store.open_result(database, result["fileId"]) as source:
                entry = zipfile.ZipInfo(result["path"], date_time=source.upload_date.timetuple()[:6])
                entry.compress_type = zipfile.ZIP_DEFLATED
                yield from _copy(source, archive.open(entry, "w", force_zip64=True), pipe)
            yield pipe.take()
    yield pipe.take()


def _copy(source, sink, pipe):
    with sink:
        while chunk := source.read(CHUNK):
            sink.write(chunk)
            yield pipe.take()
