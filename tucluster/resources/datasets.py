"""Datasets: typed tables uploaded as CSV, NDJSON or JSON, read by rows, grown by rows and columns."""
from __future__ import annotations

import falcon

from tucluster import datasets as tables
from tucluster.errors import Conflict, Invalid, NotFound, TooLarge
from tucluster.resources.base import Context, created, load_body, load_query
from tucluster.schemas.common import sort_spec
from tucluster.schemas.datasets import (ColumnCreateSchema, DatasetPageSchema, DatasetQuerySchema, DatasetSchema,
                                        DatasetUploadQuerySchema, RowsAppendedSchema, RowsQuerySchema, RowsSchema)
from tucluster.store import datasets as dataset_store

def routes(context: Context) -> list[tuple]:
    return [
        ("/datasets", DatasetCollection(context)),
        ("/datasets/{name}", DatasetItem(context)),
        ("/datasets/{name}/rows", DatasetRows(context)),
        ("/datasets/{name}/columns/{column}", DatasetColumn(context)),
    ]


def _body(req: falcon.Request, limit: int) -> bytes:
    if req.content_length and req.content_length > limit:
        raise TooLarge(f"a body of {req.content_length} bytes is larger than the {limit} byte limit")
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the body is larger than the {limit} byte limit")
    return data


def _existing(context: Context, name: str) -> dict:
    doc = dataset_store.get(context.database, name)
    if doc is None:
        raise NotFound(f"no dataset named {name!r}")
    return doc


class DatasetCollection:
    def __init__(self, context: Context):
        self.context = context

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
        query = load_query(DatasetUploadQuerySchema(), req)
        if query["name"] is not None:
            tables.check_name(query["name"])
        kind = tables.media_kind(req.content_type)
        if query["name"] and dataset_store.exists(self.context.database, query["name"]):
            raise Conflict(f"a dataset named {query['name']!r} already exists")
        body_name, table = tables.parse_upload(_body(req, self.context.settings.max_upload_bytes), kind, query["types"])
        if query["name"] and body_name and body_name != query["name"]:
            raise Invalid(f"?name={query['name']} and the body's name {body_name!r} differ",
                          errors={"name": ["two different names"]})
        name = tables.check_name(query["name"] or body_name)
        doc = dataset_store.create(self.context.database, name, table)
        created(resp, f"/datasets/{name}", DatasetSchema().dump(doc))

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
        query = load_query(DatasetQuerySchema(), req)
        try:
            found = dataset_store.search(self.context.database, q=query["q"], created_after=query["created_after"],
                                         created_before=query["created_before"], sort=sort_spec(query["sort"]),
                                         limit=query["limit"], cursor=query["cursor"])
        except ValueError as exc:
            raise Invalid(str(exc), errors={"cursor": [str(exc)]}) from exc
        resp.media = DatasetPageSchema().dump(found)


class DatasetItem:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, name):
        """A dataset's columns, row count, stored size and per-column statistics.
        ---
        summary: Get a dataset
        tags: [datasets]
        responses:
          200: {description: the dataset, content: {application/json: {schema: Dataset}}}
          404: {description: unknown dataset, content: {application/json: {schema: Error}}}
        """
        resp.media = DatasetSchema().dump(_existing(self.context, name))

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
        dataset_store.delete(self.context.database, name)
        resp.status = falcon.HTTP_204


class DatasetRows:
    def __init__(self, context: Context):
        self.context = context

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
        query = load_query(RowsQuerySchema(), req)
        columns = [c.strip() for c in query["columns"].split(",") if c.strip()] if query["columns"] else None
        _existing(self.context, name)
        page = dataset_store.read_rows(self.context.database, name, query["offset"], query["limit"], columns)
        resp.media = RowsSchema().dump(page)

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
        doc = _existing(self.context, name)
        kind = tables.media_kind(req.content_type)
        table = tables.parse_append(_body(req, self.context.settings.max_upload_bytes), kind, doc["columns"])
        total = dataset_store.append_table(self.context.database, name, table)
        resp.media = RowsAppendedSchema().dump({"added": table.rows, "rows": total})


class DatasetColumn:
    def __init__(self, context: Context):
        self.context = context

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
        spec = load_body(ColumnCreateSchema(), req)
        tables.check_name(column, "column")
        doc = dataset_store.add_column(self.context.database, name,
                                       {"name": column, "type": spec["type"], "is_set": spec["is_set"]}, spec["default"])
        created(resp, f"/datasets/{name}", DatasetSchema().dump(doc))

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
        dataset_store.remove_column(self.context.database, name, column)
        resp.status = falcon.HTTP_204
