"""Domain errors, raised by business code and mapped to HTTP once, in ``install``."""
from __future__ import annotations

import logging

import falcon

log = logging.getLogger(__name__)


class DomainError(Exception):
    status = falcon.HTTP_400
    title = "Bad request"

    def __init__(self, description: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(description)
        self.description = description
        self.errors = errors or {}
        self.headers = headers or {}


class Malformed(DomainError):
    status, title = falcon.HTTP_400, "Malformed request"


class NotFound(DomainError):
    status, title = falcon.HTTP_404, "Not found"


class Conflict(DomainError):
    status, title = falcon.HTTP_409, "Conflict"


class TooLarge(DomainError):
    status, title = falcon.HTTP_413, "Payload too large"


class UnsupportedMedia(DomainError):
    status, title = falcon.HTTP_415, "Unsupported media type"


class Invalid(DomainError):
    status, title = falcon.HTTP_422, "Validation failed"


class Forbidden(DomainError):
    status, title = falcon.HTTP_403, "Forbidden"


class Unavailable(DomainError):
    status, title = falcon.HTTP_503, "Service unavailable"

    def __init__(self, description: str, retry_after: int = 5):
        super().__init__(description, headers={"Retry-After": str(retry_after)})


def _body(title: str, description: str, errors: dict | None = None) -> dict:
    return {"title": title, "description": description, "errors": errors or {}}


def _domain_error(req, resp, ex: DomainError, params):
    resp.status = ex.status
    resp.media = _body(ex.title, ex.description, ex.errors)
    for name, value in ex.headers.items():
        resp.set_header(name, value)


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
        _domain_error(req, resp, Unavailable(f"the {what} is unavailable; try again shortly"), params)
    return handler


def install(app: falcon.App) -> None:
    """Map every error to the JSON body of the API contract (Falcon picks the most specific handler)."""
    import pymongo.errors
    from kombu.exceptions import OperationalError

    app.add_error_handler(Exception, _unexpected)
    app.add_error_handler(falcon.HTTPError, _http_error)
    app.add_error_handler(DomainError, _domain_error)
    app.add_error_handler(pymongo.errors.ConnectionFailure, _service_down("database"))
    app.add_error_handler(OperationalError, _service_down("task broker"))
