"""Schemas of the datasets API; ``COMPONENTS`` feeds the OpenAPI document."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from tucluster.formats.tables import TYPES
from tucluster.paging import MAX_OFFSET
from tucluster.schemas.common import ListQuerySchema, page_schema


class DatasetColumnSchema(Schema):
    name = fields.Str(required=True, metadata={"description": "[a-z_][a-z0-9_]{0,63}"})
    type = fields.Str(required=True, validate=validate.OneOf(TYPES))
    is_set = fields.Bool(load_default=False, metadata={"description": "each cell holds a list (e.g. a time series)"})


class DatasetSchema(Schema):
    name = fields.Str()
    columns = fields.List(fields.Nested(DatasetColumnSchema))
    rows = fields.Int()
    size = fields.Int(metadata={"description": "stored bytes"})
    stats = fields.Dict(keys=fields.Str(), values=fields.Dict(), metadata={
        "description": "per column: count, nulls; numeric: min, max, mean, std; text: distinct "
                       "(at most 1000, distinctCapped when there are more); datetime: min, max; "
                       "lists: minLength, maxLength"})
    created = fields.DateTime()
    updated = fields.DateTime()


DatasetPageSchema = page_schema(DatasetSchema, "DatasetPage")


class DatasetQuerySchema(ListQuerySchema):
    q = fields.Str(load_default=None, metadata={"description": "text found in the name"})


class DatasetUploadQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Str(load_default=None, metadata={"description": "dataset name (or 'name' in a JSON body)"})
    types = fields.Str(load_default=None, metadata={
        "description": "column types instead of inferred ones, e.g. x:double,name:text,series:double[] "
                       "('[]' marks a list column)"})


class DatasetCreateSchema(Schema):
    """The JSON upload body; CSV and NDJSON bodies carry the same table as text."""

    name = fields.Str(metadata={"description": "or ?name="})
    columns = fields.List(fields.Nested(DatasetColumnSchema),
                          metadata={"description": "optional: inferred from object rows when left out"})
    rows = fields.List(fields.Raw(), required=True,
                       metadata={"description": "objects, or lists in column order; a list column takes a JSON list"})


class RowsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=10000))
    columns = fields.Str(load_default=None, metadata={"description": "comma-separated column names; default all"})


class RowsSchema(Schema):
    columns = fields.List(fields.Str())
    rows = fields.List(fields.List(fields.Raw()), metadata={"description": "datetimes as ISO 8601 strings"})
    offset = fields.Int()
    next = fields.Int(allow_none=True, metadata={"description": "offset of the next page, null at the end"})
    total = fields.Int()


class RowsAppendedSchema(Schema):
    added = fields.Int()
    rows = fields.Int(metadata={"description": "row count after the append"})


class ColumnCreateSchema(Schema):
    type = fields.Str(required=True, validate=validate.OneOf(TYPES))
    is_set = fields.Bool(load_default=False)
    default = fields.Raw(load_default=None, allow_none=True, metadata={"description": "value of every row; null by default"})


COMPONENTS = {
    "DatasetColumn": DatasetColumnSchema, "Dataset": DatasetSchema, "DatasetPage": DatasetPageSchema,
    "DatasetCreate": DatasetCreateSchema, "Rows": RowsSchema, "RowsAppended": RowsAppendedSchema,
    "ColumnCreate": ColumnCreateSchema,
}
