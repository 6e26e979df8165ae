"""Settings: read once, frozen, passed around. Nothing is read at import time.

Order of precedence: built-in defaults (``defaults.toml``, shipped inside the package)
< the file named by ``path`` or ``TUCLUSTER_CONFIG`` < ``TUCLUSTER_*`` environment variables.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path
from typing import Any, Mapping

DEFAULTS_FILE = Path(__file__).resolve().parent / "defaults.toml"
ENV_PREFIX = "TUCLUSTER_"


@dataclasses.dataclass(frozen=True)
class Settings:
    mongo_uri: str = ""
    database: str = "tucluster"
    mongo_timeout_ms: int = 3000
    broker_url: str = ""
    queue_prefix: str = ""
    data_dir: str = ".tucluster"
    scratch_dir: str = ".tucluster/scratch"
    keep_scratch: bool = False
    max_upload_bytes: int = 4 * 1024**3
    max_json_bytes: int = 16 * 1024**2
    max_archive_members: int = 20000
    max_uncompressed_bytes: int = 20 * 1024**3
    max_compression_ratio: float = 800.0
    ratio_min_bytes: int = 16 * 1024**2
    heartbeat_seconds: float = 5.0
    stale_after_seconds: float = 60.0
    kill_grace_seconds: float = 3.0
    db_patience_seconds: float = 300.0
    max_attempts: int = 3
    requeue_after_seconds: float = 120.0
    sweep_interval_seconds: float = 600.0
    sweep_grace_seconds: float = 3600.0
    error_tail_lines: int = 20
    log_level: str = "INFO"
    engines: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def effective_mongo_uri(self) -> str:
        return self.mongo_uri or "mongodb://127.0.0.1:27017"

    @property
    def effective_broker_url(self) -> str:
        return self.broker_url or "amqp://guest:guest@127.0.0.1:5672//"

    def queue(self, name: str) -> str:
        return f"{self.queue_prefix}{name}"

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)


def _merge(base: dict, extra: Mapping) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _coerce(field: dataclasses.Field, raw: str) -> Any:
    kind = field.type
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    return raw


def load(environ: Mapping[str, str] | None = None, path: str | os.PathLike | None = None) -> Settings:
    """Build Settings from the shipped defaults, an optional TOML file and the environment."""
    environ = os.environ if environ is None else environ
    values = tomllib.loads(DEFAULTS_FILE.read_text())
    path = path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        with open(path, "rb") as handle:
            values = _merge(values, tomllib.load(handle))
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown settings in configuration: {', '.join(sorted(unknown))}")
    for name, field in fields.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None and name != "engines":
            values[name] = _coerce(field, raw)
    return Settings(**values)
