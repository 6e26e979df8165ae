"""TUFLOW-classic control files: one parser for the API (upload validation) and the swe2d engine.

Syntax: ``Command == Value``; ``!`` starts a comment; command names are case- and
whitespace-insensitive; a path is relative to the file that names it and may use ``\\`` or ``/``.
Only the subset the built-in engine understands is known here (see ``COMMANDS``); anything else is
a warning, because real TUFLOW models carry many commands another engine may still honour. Following
an entry point through its files to a validation report is ``formats.validation``.

Pure Python on purpose: the API imports this module and must not pull numpy in.
"""
from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SWE2D_MAP_TYPES = {"d": "d", "h": "h", "v": "V"}
EDGES = ("N", "S", "E", "W")

# The known commands per file type and how their values are checked: "control" follows another
# control file, "file"/"materials" name a file, "bc" is a .tbc line naming a csv or a boundary kind.
_KNOWN = {
    "tcf": {"geometry control file": "control", "bc control file": "control", "read materials file": "materials",
            "timestep": "positive", "start time": "number", "end time": "number", "set iwl": "number",
            "map output interval": "nonnegative", "map output format": "map format",
            "map output data types": "map types", "output folder": "output", "log folder": "output",
            "write check files": "output"},
    "tgc": {"grid size (x,y)": "pair+", "cell size": "positive", "origin": "pair", "set zpts": "number",
            "read grid zpts": "file", "set mat": "integer", "read grid mat": "file", "read grid iwl": "file"},
    "tbc": {"qt inflow": "bc", "qt inflow point": "bc", "open boundary": "bc"},
}
COMMANDS = {key: (kind, home) for home, table in _KNOWN.items() for key, kind in table.items()}


@dataclass(frozen=True)
class Command:
    name: str   # as written, stripped
    key: str    # lower-case, internal whitespace collapsed: "geometry control file"
    value: str  # stripped, comment removed
    file: str   # archive-relative posix path of the file it came from
    line: int   # 1-based


@dataclass(frozen=True)
class BoundaryLine:
    """A parsed .tbc command: where (an edge and optional span, or a point) and what."""
    edge: str | None                     # N, S, E, W; None for a point
    span: tuple[float, float] | None     # coordinates along the edge, either order
    point: tuple[float, float] | None    # x, y of a point inflow
    target: str                          # csv path as written, "transmissive", or "level"
    level: float | None = None


def command_key(name: str) -> str:
    key = re.sub(r"\s+", " ", name.strip().lower())
    # "Grid Size (X, Y)" and "Grid Size(X,Y)" are the same command to TUFLOW.
    key = re.sub(r"\s*([(),])\s*", r"\1", key)
    return key.replace("(", " (").strip()


def _split_comment(text: str) -> tuple[str, str]:
    index = text.find("!")
    return (text, "") if index < 0 else (text[:index], text[index:])


def parse(text: str, file: str) -> list[Command]:
    """Commands of one control file; lines without ``==`` are kept with an empty value."""
    commands = []
    for number, raw in enumerate(text.splitlines(), start=1):
        body, _ = _split_comment(raw)
        if not body.strip():
            continue
        name, sep, value = body.partition("==")
        commands.append(Command(name=name.strip(), key=command_key(name), value=value.strip() if sep else "",
                                file=file, line=number))
    return commands


def resolve(ref_value: str, naming_file: str) -> str | None:
    """Archive-relative posix path of a file named in ``naming_file``; None if absolute or escaping."""
    value = ref_value.strip().strip('"').strip().replace("\\", "/")
    if not value or value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(naming_file.replace("\\", "/")), value))
    if path == ".." or path.startswith("../") or path.startswith("/") or path == ".":
        return None
    return path


class Source(Protocol):
    def exists(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str: ...


class DirectorySource:
    """``Source`` over a directory; falls back to a case-insensitive match as TUFLOW on Windows would."""

    def __init__(self, root):
        self.root = Path(root)

    def locate(self, path: str) -> Path | None:
        """The file on disk for an archive-relative path, or None."""
        exact = self.root.joinpath(*path.split("/"))
        if exact.is_file():
            return exact
        current = self.root
        for part in path.split("/"):
            try:
                names = {entry.name.lower(): entry for entry in os.scandir(current)}
            except OSError:
                return None
            entry = names.get(part.lower())
            if entry is None:
                return None
            current = Path(entry.path)
        return current if current.is_file() else None

    def exists(self, path: str) -> bool:
        return self.locate(path) is not None

    def read_text(self, path: str) -> str:
        found = self.locate(path)
        if found is None:
            raise FileNotFoundError(path)
        return found.read_text(encoding="utf-8", errors="replace")


def numbers(value: str, count: int | None = None) -> list[float]:
    """Numbers separated by commas and/or spaces; ValueError if not exactly ``count`` of them."""
    parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
    try:
        found = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"not a number in {value!r}") from None
    if count is not None and len(found) != count:
        raise ValueError(f"expected {count} number{'s' if count > 1 else ''}, got {value!r}")
    return found


def parse_boundary(command: Command) -> BoundaryLine:
    """Read a .tbc line (``QT Inflow``, ``QT Inflow Point``, ``Open Boundary``); ValueError if malformed."""
    where, sep, what = command.value.partition("|")
    where, what = where.strip(), what.strip()
    if not sep or not what:
        expected = "transmissive or level <m>" if command.key == "open boundary" else "file.csv"
        raise ValueError(f"expected 'location | {expected}'")
    edge = span = point = None
    if command.key == "qt inflow point":
        point = tuple(numbers(where, 2))
    else:
        parts = [p for p in re.split(r"[,\s]+", where) if p]
        if not parts or parts[0].upper() not in EDGES:
            raise ValueError(f"edge must be one of N, S, E, W, got {where!r}")
        edge = parts[0].upper()
        if len(parts) > 1:
            span = tuple(numbers(" ".join(parts[1:]), 2))
    if command.key != "open boundary":
        return BoundaryLine(edge, span, point, what)
    kind = what.split()
    if kind[0].lower() == "transmissive" and len(kind) == 1:
        return BoundaryLine(edge, span, point, "transmissive")
    if kind[0].lower() == "level" and len(kind) == 2:
        return BoundaryLine(edge, span, point, "level", numbers(kind[1], 1)[0])
    raise ValueError(f"open boundary must be 'transmissive' or 'level <m>', got {what!r}")


def read_table(text: str, columns: int = 2) -> list[tuple[float, ...]]:
    """Numeric rows of a small csv (materials, hydrographs); a non-numeric first row is a header."""
    rows, header_allowed = [], True
    for number, raw in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in _split_comment(raw)[0].split(",")]
        if not any(cells):
            continue
        try:
            values = tuple(float(c) for c in cells[:columns])
        except ValueError:
            if header_allowed:
                header_allowed = False
                continue
            raise ValueError(f"line {number}: not a number in {raw.strip()!r}") from None
        header_allowed = False
        if len(values) < columns:
            raise ValueError(f"line {number}: expected {columns} columns, got {raw.strip()!r}")
        rows.append(values)
    if not rows:
        raise ValueError("no data rows")
    return rows


def apply_overrides(text: str, overrides: dict[str, str]) -> str:
    """Replace the value of each overridden command in place (every occurrence); append the ones
    the file lacks.

    Comments, order and line endings are kept. Keys and values are refused when they could smuggle
    another command or a comment in (newline, ``!``, ``==`` in a name).
    """
    wanted = {}
    for name, value in overrides.items():
        name, value = str(name).strip(), str(value).strip()
        if not name or "==" in name or any(c in name + value for c in "\r\n!"):
            raise ValueError(f"override {name!r} == {value!r} is not a single control-file command")
        wanted[command_key(name)] = (name, value)
    done = set()
    lines = text.splitlines(keepends=True)
    for index, raw in enumerate(lines):
        body, comment = _split_comment(raw.rstrip("\r\n"))
        ending = raw[len(raw.rstrip("\r\n")):]
        name, sep, value = body.partition("==")
        key = command_key(name)
        if not sep or key not in wanted:
            continue
        lead = value[:len(value) - len(value.lstrip())] or " "
        trail = value[len(value.rstrip()):] if value.strip() else (" " if comment else "")
        lines[index] = f"{name}=={lead}{wanted[key][1]}{trail}{comment}{ending}"
        done.add(key)
    newline = "\r\n" if "\r\n" in text else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    for key, (name, value) in wanted.items():
        if key not in done:
            lines.append(f"{name} == {value}{newline}")
    return "".join(lines)
