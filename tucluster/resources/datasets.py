"""Datasets: typed tables uploaded as CSV, NDJSON or JSON, read by rows, grown by rows and columns."""
from __future__ import annotations

import falcon

from tucluster.http import Resource, created, load_body, load_query, read_body, schema
from tucluster.schemas.datasets import (ColumnCreateSchema, DatasetPageSchema, DatasetQuerySchema, DatasetSchema,
                                        DatasetUploadQuerySchema, RowsAppendedSchema, RowsQuerySchema, RowsSchema)
from tucluster.services import datasets as dataset_service


class _DatasetResource(Resource):
    def body(self, req: falcon.Request):
        """A reader of the request body within the upload limit, for the service to call when it needs it."""
        return lambda: read_body(req, self.settings.max_upload_bytes)


class DatasetCollection(_DatasetResource):
    def on_post(self, req, resp):
        """Upload a dataset; column types are inferred unless ?types= or JSON columns give them.
        ---
        summary: Upload a dataset
        tags: [datasets]
        parameters:
          - {in: query, schema: DatasetUploadQuerySchema}
        requestBody:
          content:
            text/csv: {schema: {type: string}, example: "id,x,when\\n1,0.5,2024-01-01T00:00:00Z\\n"}
            application/x-ndjson: {schema: {type: string}, example: "{\\"id\\": 1, \\"x\\": 0.5}\\n"}
            application/json: {schema: DatasetCreate}
        responses:
          201: {description: stored, content: {application/json: {schema: Dataset}}}
          409: {description: name taken, content: {application/json: {schema: Error}}}
          413: {description: body too large, content: {application/json: {schema: Error}}}
          415: {description: "not CSV, NDJSON or JSON", content: {application/json: {schema: Error}}}
          422: {description: "bad name, or bad rows (errors by column, with line numbers); nothing is kept", content: {application/json: {schema: Error}}}
        """
        query = load_query(DatasetUploadQuerySchema, req)
        doc = dataset_service.upload(self.database, self.body(req), req.content_type, query["name"], query["types"])
        created(resp, f"/datasets/{doc['name']}", schema(DatasetSchema).dump(doc))

    def on_get(self, req, resp):
        """List datasets, newest first.
        ---
        summary: List datasets
        tags: [datasets]
        parameters:
          - {in: query, schema: DatasetQuerySchema}
        responses:
          200: {description: a page of datasets, content: {application/json: {schema: DatasetPage}}}
          422: {description: bad parameters, content: {application/json: {schema: Error}}}
        """
        query = load_query(DatasetQuerySchema, req)
        resp.media = schema(DatasetPageSchema).dump(dataset_service.search(self.database, query))


class DatasetItem(_DatasetResource):
    def on_get(self, req, resp, name):
        """A dataset's columns, row count, stored size and per-column statistics.
        ---
        summary: Get a dataset
        tags: [datasets]
        responses:
          200: {description: the dataset, content: {application/json: {schema: Dataset}}}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
        """
        resp.media = schema(DatasetSchema).dump(dataset_service.get(self.database, name))

    def on_delete(self, req, resp, name):
        """Delete a dataset and its data.
        ---
        summary: Delete a dataset
        tags: [datasets]
        responses:
          204: {description: deleted}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
          409: {description: "a queued, running or paused run uses it", content: {application/json: {schema: Error}}}
        """
        dataset_service.delete(self.database, name)
        resp.status = falcon.HTTP_204


class DatasetRows(_DatasetResource):
    def on_get(self, req, resp, name):
        """A page of rows, optionally of some columns only.
        ---
        summary: Read rows
        tags: [datasets]
        parameters:
          - {in: query, schema: RowsQuerySchema}
        responses:
          200: {description: rows as lists in column order, content: {application/json: {schema: Rows}}}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
          422: {description: unknown column or bad parameters, content: {application/json: {schema: Error}}}
        """
        query = load_query(RowsQuerySchema, req)
        resp.media = schema(RowsSchema).dump(dataset_service.read_rows(self.database, name, query))

    def on_post(self, req, resp, name):
        """Append rows in any upload format; columns left out are null. All rows or none are kept.
        ---
        summary: Append rows
        tags: [datasets]
        requestBody:
          content:
            text/csv: {schema: {type: string}, example: "id,x,when\\n1,0.5,2024-01-01T00:00:00Z\\n"}
            application/x-ndjson: {schema: {type: string}, example: "{\\"id\\": 1, \\"x\\": 0.5}\\n"}
            application/json: {schema: DatasetCreate}
        responses:
          200: {description: appended, content: {application/json: {schema: RowsAppended}}}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
          409: {description: the columns changed meanwhile, content: {application/json: {schema: Error}}}
          413: {description: body too large, content: {application/json: {schema: Error}}}
          415: {description: "not CSV, NDJSON or JSON", content: {application/json: {schema: Error}}}
          422: {description: "bad rows (errors by column, with line numbers)", content: {application/json: {schema: Error}}}
        """
        appended = dataset_service.append_body(self.database, name, self.body(req), req.content_type)
        resp.media = schema(RowsAppendedSchema).dump(appended)


class DatasetColumn(_DatasetResource):
    def on_put(self, req, resp, name, column):
        """Add a column holding a default value in every row.
        ---
        summary: Add a column
        tags: [datasets]
        requestBody: {content: {application/json: {schema: ColumnCreate}}}
        responses:
          201: {description: added, content: {application/json: {schema: Dataset}}}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
          409: {description: the column exists, content: {application/json: {schema: Error}}}
          422: {description: "bad name, type or default", content: {application/json: {schema: Error}}}
        """
        spec = load_body(ColumnCreateSchema, req)
        doc = dataset_service.add_column(self.database, name, column, spec)
        created(resp, f"/datasets/{name}", schema(DatasetSchema).dump(doc))

    def on_delete(self, req, resp, name, column):
        """Remove a column and its data.
        ---
        summary: Remove a column
        tags: [datasets]
        responses:
          204: {description: removed}
          404: {description: unknown dataset or column, content: {application/json: {schema: Error}}}
          409: {description: the last column, content: {application/json: {schema: Error}}}
        """
        dataset_service.remove_column(self.database, name, column)
        resp.status = falcon.HTTP_204
