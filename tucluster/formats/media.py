"""Media types the API takes request bodies in, named once."""
from __future__ import annotations

ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
CSV_TYPES = ("text/csv",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
JSON_TYPES = ("application/json",)
MULTIPART = "multipart/form-data"


def essence(content_type: str | None) -> str:
    """The media type without parameters, lower case: ``Text/CSV; charset=utf-8`` -> ``text/csv``."""
    return (content_type or "").split(";")[0].strip().lower()
