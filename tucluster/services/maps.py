"""Result grids as pictures and JSON: find ``<name>_<type>_<HHH.HH|max>.asc`` among a run's results,
read it from GridFS and render it with a colour scale and a legend (Pillow, no plotting library).

Both engines name their map output that way: swe2d directly, ANUGA through the worker's
conversion of its ``.sww`` files (``qflow.engines.postprocess``).
"""
from __future__ import annotations

import io
import logging
import re

import numpy as np

from tucluster.errors import Invalid, NotFound
from tucluster.formats import grids
from tucluster.store import results as result_store

log = logging.getLogger(__name__)

MAP_NAME = re.compile(r"(?:^|/)(?P<name>[^/]+)_(?P<type>[A-Za-z][A-Za-z0-9]*)_(?P<time>\d+\.\d+|max)\.asc$")
TIME = re.compile(r"^\d{1,6}(\.\d+)?$")
MAX = "max"
# Grids are read whole into memory to be drawn; past this a download is the way to look at one.
MAX_GRID_BYTES = 256 * 1024 * 1024
QUANTITIES = {"d": ("depth", "m"), "h": ("water level", "m"), "V": ("speed", "m/s")}
TYPE_ORDER = {"d": 0, "h": 1, "V": 2}
# Stops of matplotlib's viridis, interpolated to 256 entries: perceptually uniform, colour-blind safe.
VIRIDIS = ("#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58",
           "#b5de2b", "#fde725")
DRY_COLOUR = (214, 214, 214, 255)


def _lut() -> np.ndarray:
    stops = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in VIRIDIS], dtype=float)
    at = np.linspace(0.0, 1.0, len(stops))
    x = np.linspace(0.0, 1.0, 256)
    rgb = np.stack([np.interp(x, at, stops[:, c]) for c in range(3)], axis=1)
    return np.concatenate([np.rint(rgb), np.full((256, 1), 255.0)], axis=1).astype(np.uint8)


LUT = _lut()


def catalogue(run: dict) -> dict:
    """``{(name, type): {label: result}}`` where label is a time in hours (float) or ``"max"``."""
    found: dict = {}
    for result in run.get("results") or []:
        match = MAP_NAME.search(result["path"])
        if match:
            label = MAX if match["time"] == MAX else float(match["time"])
            found.setdefault((match["name"], match["type"]), {})[label] = result
    return found


def _times(labels) -> list[float]:
    return sorted(label for label in labels if label != MAX)


def listing(run: dict) -> list[dict]:
    """What ``GET /runs/{id}/maps`` answers: one entry per map name and type."""
    entries = []
    for (name, kind), labels in sorted(catalogue(run).items(),
                                       key=lambda item: (item[0][0], TYPE_ORDER.get(item[0][1], 9), item[0][1])):
        quantity, units = QUANTITIES.get(kind, (kind, ""))
        entries.append({"name": name, "type": kind, "quantity": quantity, "units": units,
                        "times": _times(labels), "max": MAX in labels,
                        "image": f"/runs/{run['_id']}/maps/{kind}.png"})
    return entries


def parse_time(text: str | None):
    """None (the last time), ``"max"`` or hours as a float; 422 for anything else."""
    if text is None or text == "":
        return None
    text = text.strip()
    if text.lower() == MAX:
        return MAX
    if not TIME.match(text):
        raise Invalid(f"time must be hours such as 0.01 or 000.01, or 'max'; got {text!r}",
                      errors={"time": ["hours (HHH.HH) or 'max'"]})
    return float(text)


def _describe(labels) -> str:
    times = [f"{t:.2f}" for t in _times(labels)]
    return ", ".join(times + ([MAX] if MAX in labels else [])) or "none"


def find_map(run: dict, kind: str, time=None, name: str | None = None) -> tuple[str, str, object, dict]:
    """``(name, type, label, result)`` of the grid asked for (type matched exactly, else ignoring
    case); 404 naming what there is."""
    found = catalogue(run)
    names = sorted({n for (n, k) in found if k == kind}) or sorted({n for (n, k) in found if k.lower() == kind.lower()})
    if name is not None:
        names = [n for n in names if n == name]
    if not names:
        available = "; ".join(f"{k} of {n} ({_describe(labels)})" for (n, k), labels in sorted(found.items()))
        what = f"{kind!r}" + (f" named {name!r}" if name else "")
        raise NotFound(f"run {run['_id']} has no map of type {what}; "
                       + (f"available: {available}" if available else "it has no map results (yet)"))
    chosen = names[0]
    if (chosen, kind) not in found:
        kind = next(k for (n, k) in found if n == chosen and k.lower() == kind.lower())
    labels = found[(chosen, kind)]
    if time is None:
        times = _times(labels)
        time = times[-1] if times else MAX
    match = next((label for label in labels if label == time or
                  (label != MAX and time != MAX and abs(label - time) < 1e-9)), None)
    if match is None:
        shown = "max" if time == MAX else f"{time:.2f} h"
        raise NotFound(f"run {run['_id']} has no {kind} map of {chosen} at {shown}; times: {_describe(labels)}")
    return chosen, kind, match, labels[match]


def load_grid(database, result: dict) -> tuple[np.ndarray, dict]:
    """A result ASC grid streamed from GridFS and parsed; 422 when it is not a readable grid."""
    if not result["path"].lower().endswith(".asc"):
        raise Invalid(f"{result['path']} is not an ESRI ASCII grid (.asc)", errors={"format": ["ASC grids only"]})
    if result["size"] > MAX_GRID_BYTES:
        raise Invalid(f"{result['path']} is {result['size']} bytes; grids over {MAX_GRID_BYTES} bytes "
                      "are only downloaded, not read")
    with result_store.open_result(database, result["fileId"]) as stream:
        text = stream.read().decode("ascii", errors="replace")
    try:
        return grids.parse_asc(text, result["path"])
    except grids.GridError as exc:
        log.warning("result %s is not a readable grid: %s", result["path"], exc)
        raise Invalid(str(exc)) from None


def grid_json(database, result: dict, stride: int = 1) -> dict:
    """An ASC result's header, min/max/mean over valid cells and values every ``stride`` cells."""
    array, header = load_grid(database, result)
    return dict(grids.summarise_array(array, header, stride), path=result["path"])


def dry_mask(kind: str, array: np.ndarray, valid: np.ndarray, depth: np.ndarray | None) -> np.ndarray:
    """Cells holding data but no water: zero depth (from the depth grid of the same time if there is one)."""
    if depth is not None and depth.shape == array.shape:
        return valid & ~(depth > 0)
    if kind == "d":
        return valid & ~(array > 0)
    return np.zeros_like(valid)


def value_range(kind: str, values: np.ndarray) -> tuple[float, float]:
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if kind in ("d", "V") and low >= 0:
        low = 0.0  # depth and speed scales start at zero: dark means shallow or slow, not "least here"
    if high - low < 1e-12:
        high = low + (abs(low) * 0.01 or 1.0)
    return low, high


def colourise(array: np.ndarray, nodata: np.ndarray, dry: np.ndarray, low: float, high: float) -> np.ndarray:
    """RGBA cells: the colour scale for wet cells, grey for dry ones, transparent for no data."""
    scaled = np.clip((np.nan_to_num(array) - low) / (high - low), 0.0, 1.0)
    rgba = LUT[np.rint(scaled * 255).astype(np.intp)]
    rgba[dry] = DRY_COLOUR
    rgba[nodata] = (0, 0, 0, 0)
    return rgba


def title(name: str, kind: str, label) -> str:
    quantity, units = QUANTITIES.get(kind, (kind, ""))
    what = f"{quantity} {kind}" if quantity != kind else kind
    unit = f" ({units})" if units else ""
    when = "maximum" if label == MAX else f"t = {label:.2f} h"
    return f"{name}: {what}{unit}, {when}"


def render(database, run: dict, kind: str, time=None, name: str | None = None, width: int | None = None) -> bytes:
    """The PNG of one map of a run."""
    chosen, kind, label, result = find_map(run, kind, time, name)
    array, header = load_grid(database, result)
    nodata = grids.nodata_mask(array, header)
    depth = None
    if kind != "d":
        sibling = catalogue(run).get((chosen, "d"), {}).get(label)
        if sibling is not None:
            depth_array, depth_header = load_grid(database, sibling)
            depth = np.where(grids.nodata_mask(depth_array, depth_header), 0.0, depth_array)
    dry = dry_mask(kind, array, ~nodata, depth)
    wet = ~nodata & ~dry
    low, high = value_range(kind, array[wet])
    cells = colourise(array, nodata, dry, low, high)
    units = QUANTITIES.get(kind, (kind, ""))[1]
    image = compose(cells, title(chosen, kind, label), low, high, units,
                    has_dry=bool(dry.any()), has_nodata=bool(nodata.any()), width=width)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: one bitmap size
        return ImageFont.load_default()


def _ticks(low: float, high: float) -> list[float]:
    """The extremes, and round values between them not crowding the extremes."""
    raw = (high - low) / 4
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    inner = np.arange(np.ceil(low / step) * step, high, step)
    keep = [float(v) for v in inner if min(v - low, high - v) > 0.12 * (high - low)]
    return [low, *keep, high]


def compose(cells: np.ndarray, heading: str, low: float, high: float, units: str, has_dry: bool,
            has_nodata: bool, width: int | None = None):
    """The picture: title on top, the map scaled to ``width`` pixels, a colour bar with its scale."""
    from PIL import Image, ImageDraw

    rows, cols = cells.shape[:2]
    map_w = int(width or max(min(720, cols * 12), 360))
    map_h = max(1, round(rows * map_w / cols))
    grid = Image.fromarray(cells, "RGBA")
    # Cells stay sharp when enlarged; averaged when shrunk so thin channels do not vanish.
    grid = grid.resize((map_w, map_h), Image.Resampling.NEAREST if map_w >= cols else Image.Resampling.BOX)
    pad, top, legend_w, bar_w = 14, 40, 118, 18
    swatches = int(has_dry) + int(has_nodata)
    bar_h = max(map_h - 24 * swatches, 140)
    height = top + max(map_h, bar_h + 24 * swatches) + pad
    heading_font = _font(16)
    canvas_w = max(pad + map_w + pad + legend_w, 2 * pad + int(heading_font.getlength(heading)))
    canvas = Image.new("RGBA", (canvas_w, height), (255, 255, 255, 255))
    if has_nodata:  # a light checkerboard behind the map shows where there is no data
        yy, xx = np.mgrid[0:map_h, 0:map_w]
        checks = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 250, 236).astype(np.uint8)
        canvas.paste(Image.fromarray(np.repeat(checks, 3, axis=2), "RGB"), (pad, top))
    canvas.alpha_composite(grid, (pad, top))
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((pad - 1, top - 1, pad + map_w, top + map_h), outline=(120, 120, 120, 255))
    draw.text((pad, 12), heading, fill=(20, 20, 20, 255), font=heading_font)
    small = _font(12)
    bar_x = pad + map_w + pad + 6
    gradient = np.repeat(LUT[::-1][np.linspace(0, 255, bar_h).astype(np.intp)][:, None, :], bar_w, axis=1)
    canvas.paste(Image.fromarray(np.ascontiguousarray(gradient), "RGBA"), (bar_x, top))
    draw.rectangle((bar_x - 1, top - 1, bar_x + bar_w, top + bar_h), outline=(120, 120, 120, 255))
    for value in _ticks(low, high):
        y = top + round((high - value) / (high - low) * (bar_h - 1))
        draw.line((bar_x + bar_w, y, bar_x + bar_w + 4, y), fill=(60, 60, 60, 255))
        shown = 0.0 if abs(value) < 1e-9 * (high - low) else value  # no "-0" or "1e-17"
        text = f"{shown:.3g}" + (f" {units}" if units else "")
        draw.text((bar_x + bar_w + 7, y), text, fill=(30, 30, 30, 255), font=small, anchor="lm")
    y = top + bar_h + 10
    for shown, label in ((has_dry, "dry"), (has_nodata, "no data")):
        if shown:
            fill = (250, 250, 250, 255) if label == "no data" else DRY_COLOUR
            draw.rectangle((bar_x, y, bar_x + bar_w, y + 12), fill=fill, outline=(120, 120, 120, 255))
            if label == "no data":
                draw.rectangle((bar_x + 1, y + 1, bar_x + 8, y + 6), fill=(236, 236, 236, 255))
                draw.rectangle((bar_x + 9, y + 7, bar_x + bar_w - 1, y + 11), fill=(236, 236, 236, 255))
            draw.text((bar_x + bar_w + 7, y + 6), label, fill=(30, 30, 30, 255), font=small, anchor="lm")
            y += 24
    return canvas.convert("RGB")
