"""ESRI ASCII grids: read, write, and summarise for maps and JSON views.

Arrays are ``(nrows, ncols)`` float64 with row 0 the NORTH edge, as in the file. ``read_asc``
keeps no-data cells at the file's ``nodata_value`` (a plain array is what the engine samples and
what numpy is fastest on); ``nodata_mask`` gives the cells to ignore.
"""
from __future__ import annotations

import logging
import math
import os

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_NODATA = -9999.0


class GridError(ValueError):
    """A file that is not a readable ESRI ASCII grid."""


def _read_header(lines: list[str], path) -> tuple[dict, int]:
    header: dict = {}
    count = 0
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[0][:1].isalpha():
            break
        key = parts[0].lower()
        try:
            header[key] = float(parts[1])
        except ValueError:
            raise GridError(f"{path}: bad header value {line.strip()!r}") from None
        count += 1
    if "cellsize" not in header and "dx" in header:
        # Some GDAL writers use dx/dy; square cells are all the format allows.
        if not math.isclose(header["dx"], header.get("dy", header["dx"])):
            raise GridError(f"{path}: cells are not square (dx {header['dx']}, dy {header.get('dy')})")
        header["cellsize"] = header.pop("dx")
        header.pop("dy", None)
    for needed in ("ncols", "nrows", "cellsize"):
        if needed not in header:
            raise GridError(f"{path}: header lacks {needed}")
    if not ({"xllcorner", "xllcenter"} & header.keys() and {"yllcorner", "yllcenter"} & header.keys()):
        raise GridError(f"{path}: header lacks xllcorner/xllcenter or yllcorner/yllcenter")
    header["ncols"], header["nrows"] = int(header["ncols"]), int(header["nrows"])
    if header["ncols"] <= 0 or header["nrows"] <= 0 or header["cellsize"] <= 0:
        raise GridError(f"{path}: ncols, nrows and cellsize must be positive")
    header.setdefault("nodata_value", DEFAULT_NODATA)
    return header, count


def read_asc(path) -> tuple[np.ndarray, dict]:
    """``(array, header)``; header keys are lower-case, ``ncols``/``nrows`` ints, the rest floats."""
    with open(path, encoding="ascii", errors="replace") as handle:
        return parse_asc(handle.read(), path)


def parse_asc(text: str, source="<grid>") -> tuple[np.ndarray, dict]:
    """``read_asc`` for a grid already in memory (e.g. read from GridFS); ``source`` names it in errors."""
    head = text[:4096].splitlines()[:10]
    header, count = _read_header(head, source)
    body_start = 0
    for _ in range(count):
        body_start = text.index("\n", body_start) + 1
    try:
        values = np.array(text[body_start:].split(), dtype=np.float64)
    except ValueError as exc:
        raise GridError(f"{source}: {exc}") from None
    expected = header["ncols"] * header["nrows"]
    if values.size != expected:
        raise GridError(f"{source}: {values.size} values for {header['nrows']} x {header['ncols']} cells")
    return values.reshape(header["nrows"], header["ncols"]), header


def nodata_mask(array: np.ndarray, header: dict) -> np.ndarray:
    """True where a cell holds no data (the header's nodata value, or NaN)."""
    nodata = header.get("nodata_value", DEFAULT_NODATA)
    mask = ~np.isfinite(array)
    if np.isfinite(nodata):
        mask |= array == nodata
    return mask


def lower_left(header: dict) -> tuple[float, float]:
    """Lower-left CORNER of the grid whichever convention the header uses."""
    half = header["cellsize"] / 2.0
    x = header["xllcorner"] if "xllcorner" in header else header["xllcenter"] - half
    y = header["yllcorner"] if "yllcorner" in header else header["yllcenter"] - half
    return x, y


def write_asc(path, array, xll: float, yll: float, cellsize: float, nodata: float = -9999,
              fmt: str = "%.9g") -> None:
    """Write ``array`` (row 0 north); NaN becomes ``nodata``. ``xll``/``yll`` are the lower-left corner."""
    data = np.asarray(array, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"a grid is two-dimensional, got shape {data.shape}")
    data = np.where(np.isfinite(data), data, nodata)
    nrows, ncols = data.shape
    row_format = " ".join([fmt] * ncols)
    nodata_text = str(int(nodata)) if float(nodata).is_integer() else repr(float(nodata))
    head = (f"ncols {ncols}\nnrows {nrows}\nxllcorner {xll!r}\nyllcorner {yll!r}\n"
            f"cellsize {cellsize!r}\nNODATA_value {nodata_text}\n")
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    # Write to a temporary name first: the API may serve a map while the engine is writing it.
    temporary = f"{os.fspath(path)}.part"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(head)
        handle.write("\n".join(row_format % tuple(row) for row in data.tolist()))
        handle.write("\n")
    os.replace(temporary, path)


def summarise(path, stride: int = 1) -> dict:
    """Header, min/max/mean over the valid cells, and every ``stride``-th cell (None for no data)."""
    if int(stride) < 1:
        raise ValueError("stride must be a positive integer")
    return summarise_array(*read_asc(path), stride=stride)


def summarise_array(array: np.ndarray, header: dict, stride: int = 1) -> dict:
    """``summarise`` for a grid already read (``read_asc`` / ``parse_asc``)."""
    if int(stride) < 1:
        raise ValueError("stride must be a positive integer")
    stride = int(stride)
    mask = nodata_mask(array, header)
    valid = array[~mask]
    stats = ({"min": float(valid.min()), "max": float(valid.max()), "mean": float(valid.mean())}
             if valid.size else {"min": None, "max": None, "mean": None})
    sampled = array[::stride, ::stride].astype(object)
    sampled[mask[::stride, ::stride]] = None
    return {"header": header, "stride": stride, **stats, "values": sampled.tolist()}
