"""Simulation engines, configured server side by name (``[engines.NAME]`` tables in settings).

An engine turns a run's control file into the argv of a child process and reads progress from
its log lines. Engines import neither Falcon nor pymongo.
"""
from __future__ import annotations

import fnmatch
import re
import sys
from dataclasses import dataclass, field
from typing import Mapping


QUEUE_PREFIX = "engine."


def queue_name(settings, engine: str) -> str:
    """The queue of one engine's runs: a worker serves the queues of the engines it has."""
    return settings.queue(QUEUE_PREFIX + engine)


class EngineError(Exception):
    """An engine is misconfigured or cannot take a run."""


@dataclass(frozen=True)
class Engine:
    name: str
    command: tuple[str, ...]
    entry_points: tuple[str, ...] = ("*",)
    progress_pattern: re.Pattern | None = None
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)
    postprocess: str | None = None

    def accepts(self, entry_point: str) -> bool:
        return any(fnmatch.fnmatch(entry_point.lower(), p.lower()) for p in self.entry_points)

    def argv(self, control_file: str, workdir: str) -> list[str]:
        values = {"control_file": control_file, "workdir": workdir, "python": sys.executable}
        try:
            return [part.format(**values) for part in self.command]
        except (KeyError, IndexError) as exc:
            raise EngineError(f"engine {self.name}: unknown placeholder {exc} in its command") from exc

    def progress(self, line: str) -> float | None:
        """Fraction done read from one log line, or None when the line says nothing about it."""
        if self.progress_pattern is None:
            return None
        match = self.progress_pattern.search(line)
        if not match:
            return None
        groups = match.groupdict()
        try:
            if groups.get("fraction") is not None:
                return min(max(float(groups["fraction"]), 0.0), 1.0)
            done, total = float(groups["done"]), float(groups["total"])
        except (KeyError, TypeError, ValueError):
            return None
        return min(max(done / total, 0.0), 1.0) if total > 0 else None


def from_settings(name: str, spec: Mapping) -> Engine:
    kind = spec.get("kind", "command")
    if kind not in ("command", "anuga"):
        raise EngineError(f"engine {name}: unknown kind {kind!r}")
    command = spec.get("command")
    if kind == "anuga" and not command:
        command = ["{python}", "{control_file}"]
    if not command or not isinstance(command, (list, tuple)):
        raise EngineError(f"engine {name}: 'command' must be a list of arguments")
    pattern = spec.get("progress_pattern")
    return Engine(
        name=name,
        command=tuple(str(part) for part in command),
        entry_points=tuple(spec.get("entry_points", ["*.py"] if kind == "anuga" else ["*"])),
        progress_pattern=re.compile(pattern) if pattern else None,
        description=spec.get("description", ""),
        environment={str(k): str(v) for k, v in (spec.get("environment") or {}).items()},
        postprocess="anuga" if kind == "anuga" else spec.get("postprocess"),
    )


def load_all(engines: Mapping[str, Mapping]) -> dict[str, Engine]:
    return {name: from_settings(name, spec) for name, spec in engines.items()}
