"""Turn a TUFLOW-classic ``.tcf`` into a ``ModelSpec``: the arrays and settings the solver needs.

Control files are read with ``tucluster.controlfiles`` (the same parser the API validates uploads
with) and grids with ``tucluster.grids``. Arrays are ``(ny, nx)``, row 0 the NORTH edge, column 0
the WEST edge. A grid named by ``Read Grid ...`` is sampled at the model's cell centres (nearest
cell), so it may have another resolution or extent as long as it covers the model. No data in a
Zpts grid makes the cell inactive; no data in a Mat or IWL grid keeps the earlier ``Set`` value.

The ``.tbc`` subset (walls everywhere unless a line says otherwise; coordinates in model units)::

    QT Inflow == W | inflow.csv              ! hydrograph entering along a whole edge (N, S, E or W)
    QT Inflow == W 40, 80 | inflow.csv       ! ... along the cells whose centres lie between two
                                             !     coordinates of that edge (y for W/E, x for N/S)
    QT Inflow Point == 250, 25 | inflow.csv  ! ... into the cell holding the point x, y
    Open Boundary == E | transmissive        ! water leaves freely (zero-gradient)
    Open Boundary == S 0, 100 | level 1.0    ! fixed water level in metres, optionally on a span

A hydrograph csv holds ``time (h), flow (m3/s)`` rows, an optional header first; the flow is
interpolated in time and spread evenly over the active cells of the edge, span or point.
"""
from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tucluster.formats import controlfiles, grids
from tucluster.formats.controlfiles import Command, DirectorySource

log = logging.getLogger(__name__)
DEFAULT_MANNING = 0.03


class ModelError(Exception):
    """Something in the model the engine cannot honour, located in a control file."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


@dataclass(frozen=True)
class EdgeSpec:
    edge: str               # N, S, E, W
    kind: str               # transmissive | level
    level: float | None
    start: int              # first cell along the edge (column for N/S, row for W/E)
    stop: int


@dataclass(frozen=True)
class InflowSpec:
    rows: np.ndarray
    cols: np.ndarray
    times: np.ndarray       # seconds
    flows: np.ndarray       # m3/s
    label: str


@dataclass
class ModelSpec:
    name: str                           # the .tcf stem, used in output file names
    control_file: Path
    nx: int
    ny: int
    dx: float
    origin: tuple[float, float]         # lower-left corner
    z: np.ndarray                       # NaN where inactive
    h: np.ndarray                       # initial depth
    manning: np.ndarray
    mat: np.ndarray
    iwl: np.ndarray | None              # NaN where not set
    active: np.ndarray
    timestep: float                     # s
    start: float                        # s
    end: float                          # s
    map_interval: float                 # s; 0 = start and end only
    map_types: tuple[str, ...]
    output_folder: Path
    log_folder: Path
    check_folder: Path | None
    boundaries: tuple[EdgeSpec, ...] = ()
    inflows: tuple[InflowSpec, ...] = ()

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x of each column and y of each row of cell centres."""
        x0, y0 = self.origin
        return x0 + (np.arange(self.nx) + 0.5) * self.dx, y0 + (self.ny - np.arange(self.ny) - 0.5) * self.dx


def _number(command: Command, count: int = 1, positive: bool = False) -> list[float]:
    try:
        values = controlfiles.numbers(command.value, count)
    except ValueError as exc:
        raise ModelError(command.file, command.line, f"{command.name}: {exc}") from None
    if positive and min(values) <= 0:
        raise ModelError(command.file, command.line, f"{command.name} must be greater than 0")
    return values


class _Reader:
    def __init__(self, tcf: Path, root: Path):
        self.tcf, self.source = tcf, DirectorySource(root)
        self.name = tcf.relative_to(root).as_posix()

    def path(self, command: Command, value: str) -> tuple[str, Path]:
        relative = controlfiles.resolve(value, command.file)
        if relative is None:
            raise ModelError(command.file, command.line,
                             f"path {value.strip()!r} is absolute or leaves the model folder")
        found = self.source.locate(relative)
        if found is None:
            raise ModelError(command.file, command.line, f"{command.name}: file not found: {relative}")
        return relative, found

    def commands(self, relative: str, home: str) -> list[Command]:
        commands = []
        for command in controlfiles.parse(self.source.read_text(relative), relative):
            known = controlfiles.COMMANDS.get(command.key)
            if known is None or known[1] != home:
                log.warning("%s:%d: %s ignored by swe2d", command.file, command.line, command.name)
            elif not command.value and known[0] != "output":  # an empty output folder means the default
                raise ModelError(command.file, command.line, f"{command.name} needs a value")
            else:
                commands.append(command)
        return commands

    def table(self, command: Command, value: str) -> list[tuple[float, ...]]:
        relative, found = self.path(command, value)
        try:
            return controlfiles.read_table(found.read_text(encoding="utf-8", errors="replace"))
        except ValueError as exc:
            raise ModelError(command.file, command.line, f"{relative}: {exc}") from None

    def folder(self, value: str) -> Path:
        # Outputs may go anywhere (the worker redirects them to absolute paths), so no root check.
        value = value.strip().strip('"').replace("\\", "/")
        if os.path.isabs(value) or re.match(r"^[A-Za-z]:", value):
            return Path(value)
        return Path(os.path.normpath(self.tcf.parent / value))


def _sample(reader: _Reader, command: Command, spec: ModelSpec) -> np.ndarray:
    """Grid values at the model's cell centres, NaN where the grid has no data."""
    relative, found = reader.path(command, command.value.split("|")[0])
    try:
        array, header = grids.read_asc(found)
    except (grids.GridError, OSError) as exc:
        raise ModelError(command.file, command.line, str(exc).replace(str(found), relative)) from None
    x, y = spec.centres()
    gx, gy = grids.lower_left(header)
    size = header["cellsize"]
    cols = np.floor((x - gx) / size).astype(int)
    rows = header["nrows"] - 1 - np.floor((y - gy) / size).astype(int)
    if cols.min() < 0 or cols.max() >= header["ncols"] or rows.min() < 0 or rows.max() >= header["nrows"]:
        raise ModelError(command.file, command.line, f"grid {relative} does not cover the model domain")
    values = array[np.ix_(rows, cols)]
    return np.where(grids.nodata_mask(values, header), np.nan, values)


def _geometry(commands: list[Command], tgc: str) -> tuple[int, int, float, tuple[float, float]]:
    found = {c.key: c for c in commands}
    for needed in ("Grid Size (X,Y)", "Cell Size"):
        if controlfiles.command_key(needed) not in found:
            raise ModelError(tgc, 0, f"{needed} is required")
    width, height = _number(found["grid size (x,y)"], 2, positive=True)
    size = _number(found["cell size"], positive=True)[0]
    origin = tuple(_number(found["origin"], 2)) if "origin" in found else (0.0, 0.0)
    return max(1, round(width / size)), max(1, round(height / size)), size, origin


def _edge_cells(spec: ModelSpec, command: Command, line: controlfiles.BoundaryLine) -> np.ndarray:
    """Indices along an edge (columns for N/S, rows for W/E) inside the line's span."""
    x, y = spec.centres()
    along = x if line.edge in ("N", "S") else y
    if line.span is None:
        return np.arange(along.size)
    low, high = sorted(line.span)
    inside = np.flatnonzero((along >= low) & (along <= high))
    if inside.size == 0:
        raise ModelError(command.file, command.line,
                         f"span {low:g}-{high:g} holds no cell centre of edge {line.edge}")
    return inside


def _boundaries(reader: _Reader, commands: list[Command], spec: ModelSpec) -> None:
    edges, inflows = [], []
    for command in commands:
        try:
            line = controlfiles.parse_boundary(command)
        except ValueError as exc:
            raise ModelError(command.file, command.line, f"{command.name}: {exc}") from None
        if command.key == "open boundary":
            cells = _edge_cells(spec, command, line)
            edges.append(EdgeSpec(line.edge, line.target, line.level, int(cells.min()), int(cells.max()) + 1))
            continue
        if line.point is not None:
            col = math.floor((line.point[0] - spec.origin[0]) / spec.dx)
            row = spec.ny - 1 - math.floor((line.point[1] - spec.origin[1]) / spec.dx)
            if not (0 <= col < spec.nx and 0 <= row < spec.ny):
                raise ModelError(command.file, command.line, f"point {line.point} is outside the model")
            rows, cols = np.array([row]), np.array([col])
        else:
            along = _edge_cells(spec, command, line)
            fixed = {"N": 0, "S": spec.ny - 1, "W": 0, "E": spec.nx - 1}[line.edge]
            rows, cols = ((np.full(along.size, fixed), along) if line.edge in ("N", "S")
                          else (along, np.full(along.size, fixed)))
        keep = spec.active[rows, cols]
        if not keep.any():
            raise ModelError(command.file, command.line, f"{command.name} enters no active cell")
        table = np.array(reader.table(command, line.target))
        if np.any(np.diff(table[:, 0]) <= 0):
            raise ModelError(command.file, command.line, f"{line.target}: times must increase")
        inflows.append(InflowSpec(rows[keep], cols[keep], table[:, 0] * 3600.0, table[:, 1], command.value))
    spec.boundaries, spec.inflows = tuple(edges), tuple(inflows)


def _materials(reader: _Reader, command: Command | None, mat: np.ndarray, active: np.ndarray) -> np.ndarray:
    if command is None:
        log.warning("no Read Materials File: Manning's n is %g everywhere", DEFAULT_MANNING)
        return np.full(mat.shape, DEFAULT_MANNING)
    table = {int(row[0]): row[1] for row in reader.table(command, command.value.split("|")[0])}
    unknown = sorted(set(np.unique(mat[active]).tolist()) - table.keys())
    if unknown:
        raise ModelError(command.file, command.line, f"material {unknown[0]} is used but not in the materials file")
    lookup = np.full(int(max(max(table), mat.max())) + 1, DEFAULT_MANNING)
    for material, n in table.items():
        if material >= 0:
            lookup[material] = n
    return lookup[np.clip(mat, 0, None)]


def _map_settings(settings: dict[str, Command]) -> tuple[str, ...]:
    if "map output format" in settings:
        command = settings["map output format"]
        other = [f for f in re.split(r"[,\s]+", command.value) if f and f.upper() != "ASC"]
        if other:
            raise ModelError(command.file, command.line, f"swe2d writes ASC maps only, not {' '.join(other)}")
    if "map output data types" not in settings:
        return ("d", "h", "V")
    command = settings["map output data types"]
    types = []
    for token in (t for t in re.split(r"[,\s]+", command.value) if t):
        if token.lower() not in controlfiles.SWE2D_MAP_TYPES:
            raise ModelError(command.file, command.line, f"swe2d writes map types d, h and V, not {token}")
        types.append(controlfiles.SWE2D_MAP_TYPES[token.lower()])
    return tuple(dict.fromkeys(types))


def _value(settings: dict[str, Command], key: str) -> str:
    return settings[key].value if key in settings else ""


def load(tcf_path, root=None) -> ModelSpec:
    """Read a model; ``root`` (default: the .tcf's folder) bounds every file it may read."""
    tcf = Path(tcf_path).resolve()
    if not tcf.is_file():
        raise ModelError(str(tcf_path), 0, "control file not found")
    reader = _Reader(tcf, Path(root).resolve() if root else tcf.parent)
    settings = {c.key: c for c in reader.commands(reader.name, "tcf")}  # the last one wins, as in TUFLOW
    for needed in ("Geometry Control File", "Timestep", "End Time"):
        if needed.lower() not in settings:
            raise ModelError(reader.name, 0, f"{needed} is required")
    tgc_name, _ = reader.path(settings["geometry control file"], settings["geometry control file"].value)
    tgc = reader.commands(tgc_name, "tgc")
    nx, ny, dx, origin = _geometry(tgc, tgc_name)
    start = _number(settings["start time"])[0] * 3600.0 if "start time" in settings else 0.0
    end = _number(settings["end time"])[0] * 3600.0
    if end <= start:
        raise ModelError(settings["end time"].file, settings["end time"].line, "End Time must be after Start Time")
    interval = _number(settings["map output interval"])[0] if "map output interval" in settings else 0.0
    check = settings.get("write check files")
    check_folder = None
    if check is not None and check.value.upper() != "OFF":
        check_folder = reader.folder("check" if check.value.upper() in ("ON", "") else check.value)
    iwl_value = _number(settings["set iwl"])[0] if "set iwl" in settings else math.nan
    shape = (ny, nx)
    spec = ModelSpec(
        name=tcf.stem, control_file=tcf, nx=nx, ny=ny, dx=dx, origin=origin,
        z=np.full(shape, np.nan), h=np.zeros(shape), manning=np.zeros(shape), mat=np.ones(shape, dtype=np.int64),
        iwl=np.full(shape, iwl_value), active=np.zeros(shape, dtype=bool),
        timestep=_number(settings["timestep"], positive=True)[0], start=start, end=end,
        map_interval=max(interval, 0.0), map_types=_map_settings(settings),
        output_folder=reader.folder(_value(settings, "output folder") or "results"),
        log_folder=reader.folder(_value(settings, "log folder") or "log"),
        check_folder=check_folder)
    has_z = False
    for command in tgc:
        if command.key == "set zpts":
            spec.z[:], has_z = _number(command)[0], True
        elif command.key == "read grid zpts":
            spec.z, has_z = _sample(reader, command, spec), True
        elif command.key == "set mat":
            spec.mat[:] = int(_number(command)[0])
        elif command.key in ("read grid mat", "read grid iwl"):
            values = _sample(reader, command, spec)
            target = spec.mat if command.key == "read grid mat" else spec.iwl
            keep = np.isfinite(values)
            target[keep] = np.rint(values[keep]) if target is spec.mat else values[keep]
    if not has_z:
        raise ModelError(tgc_name, 0, "Set Zpts or Read Grid Zpts is required")
    spec.active = np.isfinite(spec.z)
    if not spec.active.any():
        raise ModelError(tgc_name, 0, "no cell has an elevation")
    spec.manning = _materials(reader, settings.get("read materials file"), spec.mat, spec.active)
    wet = spec.active & np.isfinite(spec.iwl)
    spec.h = np.where(wet, np.maximum(np.where(wet, spec.iwl, 0.0) - np.nan_to_num(spec.z), 0.0), 0.0)
    if not np.isfinite(spec.iwl).any():
        spec.iwl = None
    if "bc control file" in settings:
        tbc_name, _ = reader.path(settings["bc control file"], settings["bc control file"].value)
        _boundaries(reader, reader.commands(tbc_name, "tbc"), spec)
    return spec
