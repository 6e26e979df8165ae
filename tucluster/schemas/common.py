"""Shared schema pieces: errors, list pages and list query parameters."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate, validates


class ErrorSchema(Schema):
    title = fields.Str(required=True)
    description = fields.Str(required=True)
    errors = fields.Dict(keys=fields.Str(), values=fields.List(fields.Raw()))


class FileSchema(Schema):
    """One file of a model archive or of a run's results."""
    path = fields.Str()
    size = fields.Int(metadata={"description": "bytes"})


class ListQuerySchema(Schema):
    """``?limit=&cursor=&sort=`` shared by every list; resources add their own filters."""

    class Meta:
        unknown = EXCLUDE

    SORTABLE = ("created",)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=1000))
    cursor = fields.Str(load_default=None)
    sort = fields.Str(load_default="-created", metadata={"description": "field, '-' prefix for descending"})
    created_after = fields.AwareDateTime(load_default=None, default_timezone=None)
    created_before = fields.AwareDateTime(load_default=None, default_timezone=None)

    @validates("sort")
    def _sortable(self, value, **_):
        if value.lstrip("-") not in self.SORTABLE:
            raise ValidationError(f"sort by one of {', '.join(self.SORTABLE)} (prefix '-' for descending)")

    @post_load
    def _sort_spec(self, data, **_):
        """``-created`` -> ``("created", -1)``, the form the store sorts by."""
        value = data["sort"]
        data["sort"] = (value[1:], -1) if value.startswith("-") else (value, 1)
        return data


COMPONENTS = {"Error": ErrorSchema}


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(item_schema)), "next": fields.Str(allow_none=True),
         "total": fields.Int()},
        name=name,
    )
