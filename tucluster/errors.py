"""Domain errors: raised by services, the store and the formats, and mapped to HTTP once, in
``tucluster.http``. They know nothing of HTTP; each says what went wrong in words a user can act on."""
from __future__ import annotations


class DomainError(Exception):
    def __init__(self, description: str, errors: dict | None = None):
        super().__init__(description)
        self.description = description
        self.errors = errors or {}


class NotFound(DomainError):
    """The thing asked for does not exist (or is not the caller's to see)."""


class Conflict(DomainError):
    """The request clashes with the current state: a taken name, an illegal state transition."""


class Invalid(DomainError):
    """The request is well formed but its content fails validation."""


class TooLarge(DomainError):
    """A body or an archive beyond its configured limit."""


class UnsupportedMedia(DomainError):
    """A body in a content type the operation does not take."""


class Unavailable(DomainError):
    """A service the platform depends on (database, broker) does not answer; try again later."""

    def __init__(self, description: str, retry_after: int = 5):
        super().__init__(description)
        self.retry_after = retry_after


def require(value, message: str):
    """``value`` unless it is None; NotFound(message) when it is."""
    if value is None:
        raise NotFound(message)
    return value
