"""A run's result files: the listing, one file (or an ASC grid as JSON), and all of them as a zip."""
from __future__ import annotations

import mimetypes

from tucluster.http import Resource, schema, stream_file
from tucluster.schemas.runs import ResultTreeSchema
from tucluster.services import maps
from tucluster.services import results as result_service
from tucluster.services import runs as run_service
from tucluster.store import results as result_store


class RunResults(Resource):
    def on_get(self, req, resp, run_id):
        """Every result file of the run with its size.
        ---
        summary: List a run's results
        tags: [results]
        responses:
          200: {description: result files, content: {application/json: {schema: ResultTree}}}
        """
        run = run_service.get_run(self.database, run_id)
        resp.media = schema(ResultTreeSchema).dump(result_service.tree(run))


class RunResultFile(Resource):
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
        result = result_service.find_result(run_service.get_run(self.database, run_id), path)
        if req.get_param("format") == "json":
            resp.media = maps.grid_json(self.database, result, req.get_param_as_int("stride", min_value=1) or 1)
            return
        stream = result_store.open_result(self.database, result["fileId"])
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        stream_file(resp, stream, result["size"], path, content_type)


class RunResultsZip(Resource):
    def on_get(self, req, resp, run_id):
        """Every result in one zip, streamed as it is built.
        ---
        summary: Download all results
        tags: [results]
        responses:
          200: {description: zip, content: {application/zip: {schema: {type: string, format: binary}}}}
        """
        run = run_service.get_run(self.database, run_id)
        resp.content_type = "application/zip"
        resp.downloadable_as = f"run-{run_id}-results.zip"
        resp.stream = result_service.zip_stream(self.database, run)
