"""The swe2d program: load a model, run the solver, write maps, check files and the run log.

Progress goes to ``<Log Folder>/<tcf stem>.tlf`` and to stdout, one line per model Timestep
(throttled to about ten a second), in a format the worker reads with a regex::

    Time  0.0125 h of  0.5000 h | dt  0.412 s | wet  1234 | volume  1.234567e+05 m3 | volume error  1.2e-12

Exit codes: 0 done, 2 a control file the engine cannot honour (``ERROR: <file>:<line>: <message>``
on stderr), 143 stopped by SIGTERM.
"""
from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time

import numpy as np

from qflow.engines.swe2d import model
from tucluster.formats import grids

ENGINE_VERSION = "swe2d 1.0.0"
PROGRESS = ("Time {t:7.4f} h of {end:7.4f} h | dt {dt:6.3f} s | wet {wet:5d} | volume {volume:13.6e} m3"
            " | volume error {error:8.1e}")
MAP_DEPTH_CUTOFF = 1e-3  # m; thinner films are numerical residue, not flooding, on a map
REPORT_PERIOD = 0.1      # s of wall time between progress lines
EXIT_MODEL_ERROR, EXIT_SIGTERM = 2, 143

log = logging.getLogger("qflow.engines.swe2d.run")


class Stopped(BaseException):
    """SIGTERM arrived. Not an Exception, so that no ``except Exception`` on the way (logging's
    handlers have one) can swallow it, just as with KeyboardInterrupt."""


class _Stop:
    """SIGTERM handler: stop wherever the run is, at once (a big grid's map takes seconds to write)."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        if not self.requested:  # a second SIGTERM must not break the clean-up of the first
            self.requested = True
            raise Stopped()


class _Formatter(logging.Formatter):
    def format(self, record):
        text = record.getMessage()
        return text if record.levelno == logging.INFO else f"{record.levelname}: {text}"


class _Keep(logging.Handler):
    """Holds the records logged before the log file exists (its folder is in the model)."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _configure_logging() -> _Keep:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    out = logging.StreamHandler(sys.stdout)  # flushes after every record
    out.addFilter(lambda record: record.levelno < logging.ERROR)
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.ERROR)
    keep = _Keep()
    for handler in (out, err, keep):
        handler.setFormatter(_Formatter())
        root.addHandler(handler)
    return keep


def _open_log_file(spec: model.ModelSpec, keep: _Keep) -> None:
    spec.log_folder.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(spec.log_folder / f"{spec.name}.tlf", mode="w", encoding="utf-8")
    handler.setFormatter(_Formatter())
    for record in keep.records:
        handler.handle(record)
    root = logging.getLogger()
    root.removeHandler(keep)
    root.addHandler(handler)


def _solver(spec: model.ModelSpec):
    from qflow.engines.swe2d import solver as swe

    z = np.where(spec.active, spec.z, np.nanmax(spec.z))  # any finite bed: inactive cells never hold water
    return swe.Solver(
        z, spec.h.copy(), spec.manning.copy(), spec.dx, active=spec.active.copy(),
        boundaries=[swe.EdgeBoundary(b.edge, b.kind, b.level, b.start, b.stop) for b in spec.boundaries],
        inflows=[swe.Inflow(i.rows, i.cols, i.times, i.flows) for i in spec.inflows], t0=spec.start)


class _Maps:
    """Map grids at output times plus running maxima, written as ESRI ASCII."""

    def __init__(self, spec: model.ModelSpec):
        self.spec = spec
        self.folder = spec.output_folder / "grids"
        self.maxima = {kind: np.full(spec.z.shape, np.nan) for kind in spec.map_types}

    def fields(self, solver) -> dict[str, np.ndarray]:
        active = self.spec.active
        depth = np.asarray(solver.h, dtype=float)
        wet = active & (depth > MAP_DEPTH_CUTOFF)
        u, v = solver.velocity()
        values = {"d": np.where(wet, depth, 0.0), "h": np.where(wet, solver.z + depth, np.nan),
                  "V": np.where(wet, np.hypot(u, v), 0.0)}
        return {kind: np.where(active, values[kind], np.nan) for kind in self.spec.map_types}

    def update(self, solver) -> None:
        for kind, values in self.fields(solver).items():
            self.maxima[kind] = np.fmax(self.maxima[kind], values)

    def write(self, solver, t: float) -> None:
        origin, dx = self.spec.origin, self.spec.dx
        for kind, values in self.fields(solver).items():
            name = f"{self.spec.name}_{kind}_{t / 3600.0:06.2f}.asc"
            grids.write_asc(self.folder / name, values, origin[0], origin[1], dx)

    def write_maxima(self) -> None:
        for kind, values in self.maxima.items():
            grids.write_asc(self.folder / f"{self.spec.name}_{kind}_max.asc", values, *self.spec.origin, self.spec.dx)


def _write_check_files(spec: model.ModelSpec) -> None:
    if spec.check_folder is None:
        return
    inactive = ~spec.active
    layers = {"zpts": spec.z, "mat": np.where(inactive, np.nan, spec.mat),
              "manning": np.where(inactive, np.nan, spec.manning)}
    if spec.iwl is not None:
        layers["iwl"] = np.where(inactive, np.nan, spec.iwl)
    for layer, values in layers.items():
        grids.write_asc(spec.check_folder / f"{spec.name}_{layer}_check.asc", values, *spec.origin, spec.dx)
    log.info("Check files written to %s", spec.check_folder)


def _banner(spec: model.ModelSpec) -> None:
    log.info("%s", ENGINE_VERSION)
    log.info("Model: %s", spec.control_file)
    log.info("Grid: %d x %d cells of %g m, %d active, origin %g, %g", spec.nx, spec.ny, spec.dx,
             int(spec.active.sum()), *spec.origin)
    log.info("Time: %.4f h to %.4f h, model step %g s, maps every %g s (%s) to %s", spec.start / 3600,
             spec.end / 3600, spec.timestep, spec.map_interval, " ".join(spec.map_types), spec.output_folder)
    for boundary in spec.boundaries:
        log.info("Open boundary: %s edge, cells %d-%d, %s%s", boundary.edge, boundary.start, boundary.stop - 1,
                 boundary.kind, "" if boundary.level is None else f" {boundary.level:g} m")
    for inflow in spec.inflows:
        log.info("Inflow: %s (%d cells)", inflow.label, inflow.rows.size)


def _simulate(spec: model.ModelSpec) -> int:
    solver, maps = _solver(spec), _Maps(spec)
    initial = float(solver.volume())
    maps.write(solver, spec.start)
    maps.update(solver)
    count = max(1, math.ceil((spec.end - spec.start) / spec.timestep - 1e-9))
    map_times = []
    if spec.map_interval > 0:
        map_times = [spec.start + m * spec.map_interval
                     for m in range(1, math.ceil((spec.end - spec.start) / spec.map_interval - 1e-9))]
    steps, last_report = 0, -math.inf

    def advance(target):
        nonlocal steps
        report = solver.advance_to(target)
        steps += report.steps
        return report

    for k in range(1, count + 1):
        target = min(spec.start + k * spec.timestep, spec.end)
        dts = []
        while map_times and map_times[0] <= target + 1e-6:
            report = advance(map_times[0])
            dts += [report.dt_min] if report.steps else []
            maps.write(solver, map_times.pop(0))
        report = advance(target)
        dts += [report.dt_min] if report.steps else []
        maps.update(solver)
        now = time.monotonic()
        if now - last_report >= REPORT_PERIOD or k == count:
            last_report = now
            volume = float(solver.volume())
            expected = initial + solver.inflow_volume - solver.outflow_volume
            log.info(PROGRESS.format(t=solver.t / 3600.0, end=spec.end / 3600.0, dt=min(dts, default=0.0),
                                     wet=int(solver.wet_cells()), volume=volume,
                                     error=(volume - expected) / max(initial + solver.inflow_volume, 1.0)))
    maps.write(solver, spec.end)
    maps.write_maxima()
    return steps


def _remove_partial_files(spec: model.ModelSpec) -> None:
    for folder in (spec.output_folder / "grids", spec.check_folder):
        for partial in folder.glob("*.part") if folder is not None and folder.is_dir() else ():
            partial.unlink(missing_ok=True)


def run(control_file: str) -> int:
    keep = _configure_logging()
    signal.signal(signal.SIGTERM, _Stop())
    started = time.monotonic()
    spec = None
    try:
        try:
            spec = model.load(control_file)
        except model.ModelError as exc:
            log.error("%s", exc)
            return EXIT_MODEL_ERROR
        _open_log_file(spec, keep)
        _banner(spec)
        _write_check_files(spec)
        steps = _simulate(spec)
    except Stopped:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if spec is not None:
            _remove_partial_files(spec)
        log.info("Run stopped by SIGTERM after %.2f s", time.monotonic() - started)
        return EXIT_SIGTERM
    log.info("Run finished: %d steps, wall time %.2f s", steps, time.monotonic() - started)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qflow.engines.swe2d", description=__doc__.splitlines()[0])
    parser.add_argument("control_file", help="the model's .tcf")
    return run(parser.parse_args(argv).control_file)
