"""Validation of a TUFLOW-classic model before it is kept: follow an entry point's ``.tcf`` through its
control files, materials, grids and csv files, and report what is missing, wrong or unknown with the
file, line and command that says so (``formats.controlfiles`` parses; this module judges)."""
from __future__ import annotations

import posixpath
import re

from tucluster.formats.controlfiles import (COMMANDS, SWE2D_MAP_TYPES, Command, Source, numbers, parse,
                                            parse_boundary, read_table, resolve)


def _file_type(path: str) -> str:
    return posixpath.splitext(path)[1].lower().lstrip(".")


def _check_value(command: Command, kind: str) -> str | None:
    """Problem with a scalar value, or None."""
    try:
        if kind in ("number", "positive", "nonnegative", "integer"):
            number = numbers(command.value, 1)[0]
            if kind == "positive" and number <= 0:
                return "must be greater than 0"
            if kind == "nonnegative" and number < 0:
                return "must not be negative"
            if kind == "integer" and number != int(number):
                return "must be a whole number"
        elif kind in ("pair", "pair+"):
            pair = numbers(command.value, 2)
            if kind == "pair+" and min(pair) <= 0:
                return "sizes must be greater than 0"
    except ValueError as exc:
        return str(exc)
    return None


class _Validation:
    def __init__(self, source: Source, entry_point: str):
        self.source = source
        self.report = {"entryPoint": entry_point, "valid": False, "missing": [], "errors": [], "warnings": [],
                       "references": []}
        self.seen: set[str] = set()
        self.times: dict[str, tuple[Command, float]] = {}

    def note(self, bucket: str, command: Command, message: str) -> None:
        self.report[bucket].append({"file": command.file, "line": command.line, "command": command.name,
                                    "message": message})

    def reference(self, command: Command, value: str) -> str | None:
        """Record a referenced file; the resolved path when it is present in the source."""
        path = resolve(value, command.file)
        if path is None:
            self.note("errors", command, f"path {value.strip()!r} is absolute or leaves the model folder")
            return None
        entry = {"path": path, "file": command.file, "line": command.line, "command": command.name}
        self.report["references"].append(entry)
        if not self.source.exists(path):
            self.report["missing"].append(entry)
            return None
        return path

    def table(self, command: Command, path: str) -> None:
        try:
            read_table(self.source.read_text(path))
        except ValueError as exc:
            self.note("errors", command, f"{path}: {exc}")

    def control_file(self, path: str) -> None:
        if path.lower() in self.seen:
            return
        self.seen.add(path.lower())
        file_type = _file_type(path)
        for command in parse(self.source.read_text(path), path):
            self.command(command, file_type)

    def command(self, command: Command, file_type: str) -> None:
        known = COMMANDS.get(command.key)
        if known is None:
            self.note("warnings", command, "unknown command, ignored by swe2d")
            return
        kind, home = known
        if file_type in ("tcf", "tgc", "tbc") and home != file_type:
            self.note("warnings", command, f"a .{home} command in a .{file_type} file, ignored by swe2d")
            return
        if not command.value and kind != "output":
            self.note("errors", command, "missing value")
            return
        if kind == "control":
            path = self.reference(command, command.value)
            if path:
                self.control_file(path)
        elif kind in ("file", "materials"):
            path = self.reference(command, command.value.split("|")[0])
            if path and kind == "materials":
                self.table(command, path)
        elif kind == "bc":
            self.boundary(command)
        elif kind == "map format":
            unsupported = [f for f in re.split(r"[,\s]+", command.value) if f and f.upper() != "ASC"]
            if unsupported:
                self.note("warnings", command, f"swe2d writes ASC only, not {' '.join(unsupported)}")
        elif kind == "map types":
            unknown = [t for t in re.split(r"[,\s]+", command.value) if t and t.lower() not in SWE2D_MAP_TYPES]
            if unknown:
                self.note("warnings", command, f"swe2d writes d, h and V only, not {' '.join(unknown)}")
        elif kind != "output":
            problem = _check_value(command, kind)
            if problem:
                self.note("errors", command, problem)
            elif command.key in ("start time", "end time"):
                self.times[command.key] = (command, numbers(command.value, 1)[0])

    def boundary(self, command: Command) -> None:
        try:
            line = parse_boundary(command)
        except ValueError as exc:
            self.note("errors", command, str(exc))
            return
        if command.key != "open boundary":
            path = self.reference(command, line.target)
            if path:
                self.table(command, path)


def validate(source: Source, entry_point: str) -> dict:
    """Follow a .tcf through its control files, materials, grids and csv files.

    ``references`` lists every file the model reads, present or not; ``missing`` is the subset
    the source does not hold. Output, log and check folders are outputs and never reported.
    """
    validation = _Validation(source, entry_point)
    report = validation.report
    if not source.exists(entry_point):
        report["missing"].append({"path": entry_point, "file": "", "line": 0, "command": ""})
    else:
        validation.control_file(entry_point)
        times = validation.times
        if "end time" not in times:
            report["errors"].append({"file": entry_point, "line": 0, "command": "End Time",
                                     "message": "End Time is required"})
        elif times["end time"][1] <= times.get("start time", (None, 0.0))[1]:
            validation.note("errors", times["end time"][0], "End Time must be after Start Time")
    report["valid"] = not report["missing"] and not report["errors"]
    return report
