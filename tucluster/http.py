"""The HTTP side of every resource: the one place domain errors become HTTP, the Resource base
with its shared context, and the helpers responders use to parse and answer."""
from __future__ import annotations

import functools
import json
import logging
import sys
from dataclasses import dataclass

import falcon
import falcon.media
from falcon.stream import BoundedStream
from marshmallow import Schema, ValidationError

from tucluster import errors
from tucluster.formats.media import essence
from tucluster.settings import Settings
from tucluster.store import Database

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: (falcon.HTTP_404, "Not found"),
    errors.Conflict: (falcon.HTTP_409, "Conflict"),
    errors.Invalid: (falcon.HTTP_422, "Validation failed"),
    errors.TooLarge: (falcon.HTTP_413, "Payload too large"),
    errors.UnsupportedMedia: (falcon.HTTP_415, "Unsupported media type"),
    errors.Unavailable: (falcon.HTTP_503, "Service unavailable"),
}


@dataclass
class Context:
    """What resources share: settings, the database, the dispatcher to the workers, the engines."""
    settings: Settings
    database: Database
    dispatcher: object
    engines: dict


class Resource:
    def __init__(self, context: Context):
        self.context = context

    @property
    def database(self) -> Database:
        return self.context.database

    @property
    def settings(self) -> Settings:
        return self.context.settings


# -- errors ------------------------------------------------------------------------------------

def _body(title: str, description: str, fields: dict | None = None) -> dict:
    return {"title": title, "description": description, "errors": fields or {}}


def _domain_error(req, resp, ex: errors.DomainError, params):
    status, title = next((STATUS[kind] for kind in type(ex).__mro__ if kind in STATUS),
                         (falcon.HTTP_400, "Bad request"))
    resp.status = status
    resp.media = _body(title, ex.description, ex.errors)
    if isinstance(ex, errors.Unavailable):
        resp.set_header("Retry-After", str(ex.retry_after))


def _http_error(req, resp, ex: falcon.HTTPError, params):
    resp.status = ex.status
    resp.media = _body(ex.title or "Error", ex.description or "", getattr(ex, "errors", None))
    for name, value in (ex.headers or {}).items():
        resp.set_header(name, value)


def _unexpected(req, resp, ex: Exception, params):
    log.exception("unhandled error on %s %s", req.method, req.path)
    resp.status = falcon.HTTP_500
    resp.media = _body("Internal error", "The server failed to answer; the error was logged.")


def _service_down(what: str):
    def handler(req, resp, ex, params):
        log.warning("%s unavailable on %s %s: %s", what, req.method, req.path, ex)
        _domain_error(req, resp, errors.Unavailable(f"the {what} is unavailable; try again shortly"), params)
    return handler


def install_error_handlers(app: falcon.App) -> None:
    """Map every error to the JSON body of the API contract (Falcon picks the most specific handler)."""
    import pymongo.errors
    from kombu.exceptions import OperationalError

    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(errors.DomainError, _domain_error)
    app.add_error_handler(pymongo.errors.ConnectionFailure, _service_down("database"))
    app.add_error_handler(OperationalError, _service_down("task broker"))


# -- parsing -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def schema(cls: type[Schema], many: bool = False) -> Schema:
    """One instance per schema: building a marshmallow schema costs more than using it."""
    return cls(many=many)


def load(cls: type[Schema], data) -> dict:
    """``data`` loaded by the (cached) schema ``cls``; Invalid naming the fields that failed."""
    try:
        return schema(cls).load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = ", ".join(sorted(messages))
        raise errors.Invalid(f"invalid {fields}: {_first(messages)}", errors=messages) from exc


def _first(messages) -> str:
    value = next(iter(messages.values())) if isinstance(messages, dict) else messages
    while isinstance(value, (list, dict)) and value:
        value = value[0] if isinstance(value, list) else next(iter(value.values()))
    return str(value)


def load_query(cls: type[Schema], req: falcon.Request) -> dict:
    return load(cls, dict(req.params))


def load_body(cls: type[Schema], req: falcon.Request) -> dict:
    return load(cls, req.get_media(default_when_empty={}))


def media_type(req: falcon.Request, default: str = "") -> str:
    """The request's media type, lower case, without parameters."""
    return essence(req.content_type or default)


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The whole body; TooLarge beyond ``limit`` bytes, whether or not a Content-Length says so."""
    if req.content_length and req.content_length > limit:
        raise errors.TooLarge(f"a body of {req.content_length} bytes is larger than the {limit} byte limit")
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise errors.TooLarge(f"the body is larger than the {limit} byte limit")
    return data


# -- answering ---------------------------------------------------------------------------------

def created(resp: falcon.Response, location: str, body: dict, status=falcon.HTTP_201) -> None:
    resp.status = status
    resp.location = location
    resp.media = body


def accepted(resp: falcon.Response, run: dict) -> None:
    """202 for a queued run, with its ids and where to poll it."""
    created(resp, f"/runs/{run['_id']}", {"id": run["_id"], "taskId": run["taskId"], "state": run["state"]},
            status=falcon.HTTP_202)


def stream_file(resp: falcon.Response, stream, size: int, filename: str, content_type: str) -> None:
    resp.content_type = content_type
    resp.downloadable_as = filename.rsplit("/", 1)[-1]
    resp.set_stream(stream, size)


# -- request bodies ----------------------------------------------------------------------------

class Request(falcon.Request):
    """A body sent with ``Transfer-Encoding: chunked`` (``curl -T -``, a client streaming a generator)
    has no Content-Length; where the server ends the input at the body's end (gunicorn sets
    ``wsgi.input_terminated``), it is read to its end, within each endpoint's own limit."""

    @property
    def bounded_stream(self) -> BoundedStream:
        if self._bounded_stream is None and self.content_length is None and self.env.get("wsgi.input_terminated"):
            self._bounded_stream = BoundedStream(self.env["wsgi.input"], sys.maxsize)
        return super().bounded_stream


class JSONHandler(falcon.media.JSONHandler):
    """JSON request bodies within a size limit, strict UTF-8, no NaN or Infinity, nested at most
    ``MAX_DEPTH`` deep: anything else is a 4xx naming the problem, never a 500."""

    MAX_DEPTH = 64

    def __init__(self, max_bytes: int):
        super().__init__()
        self.max_bytes = max_bytes

    def deserialize(self, stream, content_type, content_length):
        data = stream.read(self.max_bytes + 1)
        if len(data) > self.max_bytes:
            raise errors.TooLarge(f"a JSON body is at most {self.max_bytes} bytes")
        if not data.strip():
            raise falcon.MediaNotFoundError("JSON")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise falcon.HTTPBadRequest(title="Malformed JSON", description=f"the body is not UTF-8 (byte {exc.start})")
        too_deep = falcon.HTTPBadRequest(title="Malformed JSON",
                                         description=f"the body nests more than {self.MAX_DEPTH} levels deep")
        try:
            document = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise too_deep from None
        except ValueError as exc:
            raise falcon.HTTPBadRequest(title="Malformed JSON", description=f"the body is not valid JSON: {exc}")
        if _too_deep(document, self.MAX_DEPTH):
            raise too_deep
        return document


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _too_deep(document, limit: int) -> bool:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (list, dict)):
            if depth > limit:
                return True
            pending.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def install_media(app: falcon.App, max_json_bytes: int) -> None:
    app.req_options.media_handlers[falcon.MEDIA_JSON] = JSONHandler(max_json_bytes)
