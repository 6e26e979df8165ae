"""Turn ANUGA ``.sww`` files into the map grids swe2d writes, so maps, JSON grids and downloads
work the same for both engines:

    <output>/<stem>_d_<HHH.HH>.asc   depth (m), 0 where dry
    <output>/<stem>_h_<HHH.HH>.asc   water level (m), no data where dry
    <output>/<stem>_V_<HHH.HH>.asc   speed (m/s), 0 where dry
    <output>/<stem>_{d,h,V}_max.asc  the maxima over every stored time

Times are model hours with two decimals. When several stored times fall on one label (an ANUGA
yield step shorter than 36 s), the time closest to the label is kept. Values come from
``anuga.sww2dem`` (ANUGA's documented conversion, linear on the mesh's vertex values).

    python -m qflow.engines.anuga_convert FILE.sww [...] --output DIR [--cell-size M]
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile

import numpy as np

from tucluster.formats import grids

log = logging.getLogger("qflow.engines.anuga_convert")

DRY_DEPTH = 1e-3  # m, ANUGA's default minimum_allowed_height
NODATA = -9999.0
MAX_CELLS = 4_000_000
# ANUGA's own speed formula, |uh| / (h + 1e-6 / h), written without dividing by a zero depth: a
# division by zero masks the value in netCDF arrays and the maximum over time then loses the cell.
QUANTITIES = {"d": "stage-elevation", "h": "stage",
              "V": "(xmomentum**2 + ymomentum**2)**0.5 * (stage-elevation) / ((stage-elevation)**2 + 1.e-6)"}


class Mesh:
    """What the conversion needs from an .sww file: extent, triangle size and stored times."""

    def __init__(self, path: str):
        from anuga.file.netcdf import NetCDFFile

        handle = NetCDFFile(path)
        try:
            x = np.asarray(handle.variables["x"][:], dtype=float)
            y = np.asarray(handle.variables["y"][:], dtype=float)
            volumes = np.asarray(handle.variables["volumes"][:], dtype=int)
            self.times = float(getattr(handle, "starttime", 0.0)) + np.asarray(handle.variables["time"][:], float)
            origin_x = float(getattr(handle, "xllcorner", 0.0))
            origin_y = float(getattr(handle, "yllcorner", 0.0))
        finally:
            handle.close()
        self.x_min, self.x_max = float(x.min()) + origin_x, float(x.max()) + origin_x
        self.y_min, self.y_max = float(y.min()) + origin_y, float(y.max()) + origin_y
        xs, ys = x[volumes], y[volumes]
        areas = 0.5 * np.abs((xs[:, 1] - xs[:, 0]) * (ys[:, 2] - ys[:, 0]) - (xs[:, 2] - xs[:, 0]) * (ys[:, 1] - ys[:, 0]))
        self.mean_area = float(areas.mean()) if areas.size else 1.0

    def cell_size(self) -> float:
        """About one cell per triangle, two significant digits, within MAX_CELLS."""
        size = float(f"{math.sqrt(self.mean_area):.2g}")
        while (self.x_max - self.x_min) / size * (self.y_max - self.y_min) / size > MAX_CELLS:
            size *= 2
        return size

    def labels(self) -> dict[str, int]:
        """``HHH.HH`` label -> index of the stored time nearest to it."""
        chosen: dict[str, int] = {}
        for index, seconds in enumerate(self.times):
            hours = seconds / 3600.0
            if hours < 0:
                log.warning("stored time %.2f s is before 0 and has no map label; skipped", seconds)
                continue
            label = f"{hours:06.2f}"
            best = chosen.get(label)
            if best is None or abs(hours - float(label)) < abs(self.times[best] / 3600.0 - float(label)):
                chosen[label] = index
        return chosen


def _sample(sww: str, scratch: str, quantity: str, reduction, cell_size: float) -> np.ndarray:
    """One grid from sww2dem, NaN outside the mesh. Its header is not used: it truncates the corner."""
    from anuga import sww2dem

    target = os.path.join(scratch, "grid.asc")
    sww2dem(sww, target, quantity=quantity, reduction=reduction, cellsize=cell_size,
            number_of_decimal_places=6, NODATA_value=NODATA, verbose=False)
    array, header = grids.read_asc(target)
    return np.where(grids.nodata_mask(array, header), np.nan, array)


def _maps(sww: str, scratch: str, reduction, cell_size: float) -> dict[str, np.ndarray]:
    depth = _sample(sww, scratch, QUANTITIES["d"], reduction, cell_size)
    wet = depth >= DRY_DEPTH
    outside = np.isnan(depth)
    level = _sample(sww, scratch, QUANTITIES["h"], reduction, cell_size)
    speed = _sample(sww, scratch, QUANTITIES["V"], reduction, cell_size)
    return {
        "d": np.where(wet, depth, np.where(outside, np.nan, 0.0)),
        "h": np.where(wet, level, np.nan),
        "V": np.where(wet, speed, np.where(outside, np.nan, 0.0)),
    }


def convert(sww: str, output_dir: str, cell_size: float | None = None) -> list[str]:
    """Write the grids of one .sww file into ``output_dir``; the paths written, in order."""
    mesh = Mesh(sww)
    size = cell_size or mesh.cell_size()
    # Cells are centred on sww2dem's sample points, which start on the mesh's lower-left extent.
    corner = (mesh.x_min - size / 2.0, mesh.y_min - size / 2.0)
    stem = os.path.splitext(os.path.basename(sww))[0]
    written = []
    with tempfile.TemporaryDirectory(prefix="sww2dem-") as scratch:
        steps = [(label, index) for label, index in sorted(mesh.labels().items())] + [("max", max)]
        for label, reduction in steps:
            for kind, array in _maps(sww, scratch, reduction, size).items():
                path = os.path.join(output_dir, f"{stem}_{kind}_{label}.asc")
                grids.write_asc(path, array, corner[0], corner[1], size, nodata=NODATA, fmt="%.6g")
                written.append(path)
    shape = (math.floor((mesh.y_max - mesh.y_min) / size) + 1, math.floor((mesh.x_max - mesh.x_min) / size) + 1)
    log.info("%s: %d stored times (%.6g to %.6g s) -> %d map times of d, h, V and their maxima "
             "(%d x %d cells of %.6g m)", os.path.basename(sww), len(mesh.times), mesh.times.min(),
             mesh.times.max(), len(steps) - 1, shape[1], shape[0], size)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qflow.engines.anuga_convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("sww", nargs="+", help=".sww files written by ANUGA")
    parser.add_argument("--output", required=True, help="folder receiving the grids")
    parser.add_argument("--cell-size", type=float, default=None, help="grid cell size (default: from the mesh)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    failed = 0
    for sww in args.sww:
        try:
            convert(sww, args.output, args.cell_size)
        except Exception as exc:  # one bad file must not cost the others their maps
            log.error("%s: not converted: %s: %s", os.path.basename(sww), type(exc).__name__, exc)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
