"""Helpers every resource uses: schema loading with 422 errors, and the shared context."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import falcon
from marshmallow import Schema, ValidationError

from tucluster.errors import Invalid
from tucluster.settings import Settings
from tucluster.store import Database


@functools.lru_cache(maxsize=None)
def schema(cls: type[Schema], many: bool = False) -> Schema:
    """One instance per schema: building a marshmallow schema costs more than using it."""
    return cls(many=many)


@dataclass
class Context:
    settings: Settings
    database: Database
    dispatcher: object


def load(schema: Schema, data) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = ", ".join(sorted(messages))
        raise Invalid(f"invalid {fields}: {_first(messages)}", errors=messages) from exc


def _first(messages) -> str:
    value = next(iter(messages.values())) if isinstance(messages, dict) else messages
    while isinstance(value, (list, dict)) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return str(value)


def load_query(schema: Schema, req: falcon.Request) -> dict:
    return load(schema, dict(req.params))


def load_body(schema: Schema, req: falcon.Request) -> dict:
    return load(schema, req.get_media(default_when_empty={}))


def created(resp: falcon.Response, location: str, body: dict, status=falcon.HTTP_201) -> None:
    resp.status = status
    resp.location = location
    resp.media = body


def stream_file(resp: falcon.Response, stream, size: int, filename: str, content_type: str) -> None:
    resp.content_type = content_type
    resp.downloadable_as = filename.rsplit("/", 1)[-1]
    resp.set_stream(stream, size)
