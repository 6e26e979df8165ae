"""Schemas of the map pictures' index and of a result grid as JSON (OpenAPI components)."""
from __future__ import annotations

from marshmallow import Schema, fields


class MapEntrySchema(Schema):
    name = fields.Str(metadata={"description": "grid name: control file or .sww stem"})
    type = fields.Str(metadata={"description": "d (depth), h (water level), V (speed), or another type"})
    quantity = fields.Str()
    units = fields.Str()
    times = fields.List(fields.Float(), metadata={"description": "map output times in hours"})
    max = fields.Bool(metadata={"description": "a maximum grid is available (time=max)"})
    image = fields.Str(metadata={"description": "the PNG of the last time"})


class MapListSchema(Schema):
    run = fields.Str()
    maps = fields.List(fields.Nested(MapEntrySchema))


class GridSchema(Schema):
    path = fields.Str()
    header = fields.Dict(keys=fields.Str(), values=fields.Float())
    stride = fields.Int()
    min = fields.Float(allow_none=True)
    max = fields.Float(allow_none=True)
    mean = fields.Float(allow_none=True)
    values = fields.List(fields.List(fields.Float(allow_none=True)), metadata={"description": "rows, north first; null for no data"})


COMPONENTS = {"MapEntry": MapEntrySchema, "MapList": MapListSchema, "Grid": GridSchema}
