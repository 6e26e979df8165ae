from __future__ import annotations

import mimetypes
import zipfile

from tucluster import jobs
from tucluster.errors import NotFound
from tucluster.resources.base import Context, schema, stream_file
from tucluster.schemas.runs import ResultTreeSchema
from tucluster.store import runs as run_store

CHUNK = 1024 * 1024


def find_result(run: dict, path: str) -> dict:
    for result in run.get("results") or []:
        if result["path"] == path:
            return result
    raise NotFound(f"run {run['_id']} has no result {path!r}")


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


def zip_stream(database, run: dict):
    """Yield a zip of every result without holding the files in memory (data descriptors, zip64)."""
    pipe = _Pipe()
    bucket = database.bucket(run_store.BUCKET)
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for result in run.get("results") or []:
            with bucket.open_download_stream(result["fileId"]) as source:
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


class RunResults:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """Every result file of the run with its size.
        ---
        summary: List a run's results
        tags: [results]
        responses:
          200: {description: result files, content: {application/json: {schema: ResultTree}}}
        """
        run = jobs.get_run(self.context.database, run_id)
        files = [{"path": r["path"], "size": r["size"]} for r in run.get("results") or []]
        resp.media = schema(ResultTreeSchema).dump({"run": run_id, "files": files,
                                              "totalSize": sum(f["size"] for f in files)})


class RunResultFile:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id, path):
        """One result file as bytes; ``?format=json`` gives an ASC grid's summary and values.
        ---
        summary: Download one result
        tags: [results]
        parameters:
          - {in: query, name: format, schema: {type: string, enum: [json]}, description: ASC grids only}
          - {in: query, name: stride, schema: {type: integer, minimum: 1}, description: down-sampling for format=json}
        responses:
          200: {description: the file, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
          404: {description: no such result, content: {application/json: {schema: Error}}}
        """
        run = jobs.get_run(self.context.database, run_id)
        result = find_result(run, path)
        if req.get_param("format") == "json":
            from tucluster import maps

            resp.media = maps.grid_json(self.context.database, result, req.get_param_as_int("stride", min_value=1) or 1)
            return
        stream = self.context.database.bucket(run_store.BUCKET).open_download_stream(result["fileId"])
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        stream_file(resp, stream, result["size"], path, content_type)


class RunResultsZip:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """Every result in one zip, streamed as it is built.
        ---
        summary: Download all results
        tags: [results]
        responses:
          200: {description: zip, content: {application/zip: {schema: {type: string, format: binary}}}}
        """
        run = jobs.get_run(self.context.database, run_id)
        resp.content_type = "application/zip"
        resp.downloadable_as = f"run-{run_id}-results.zip"
        resp.stream = zip_stream(self.context.database, run)
