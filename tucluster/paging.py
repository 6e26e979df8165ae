"""Paging of lists: the opaque cursor a page hands on, and the largest offset a page may start at."""
from __future__ import annotations

import base64

from tucluster.errors import Invalid

# MongoDB's skip takes a 64-bit integer, and no list here is longer: beyond it is a client's mistake.
MAX_OFFSET = 2**53


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        offset = int(value)
        if kind != "o" or not 0 <= offset <= MAX_OFFSET:
            raise ValueError(raw)
    except ValueError:
        raise Invalid(f"invalid cursor {cursor!r}: pass the 'next' value of a previous page",
                      errors={"cursor": ["invalid cursor"]}) from None
    return offset
