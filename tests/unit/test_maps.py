"""Finding, reading and drawing result grids (tucluster.maps) without services: GridFS is a dict."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tucluster.formats import grids
from tucluster.services import maps
from tucluster.errors import Invalid, NotFound


class _Bucket:
    def __init__(self, files):
        self.files = files

    def open_download_stream(self, file_id):
        return io.BytesIO(self.files[file_id])


class FakeDatabase:
    """Only what tucluster.maps uses: ``bucket(name).open_download_stream(id)``."""

    def __init__(self):
        self.files = {}

    def bucket(self, name):
        assert name == "results"
        return _Bucket(self.files)


def _asc(tmp_path, array) -> bytes:
    path = tmp_path / "grid.asc"
    grids.write_asc(path, array, 0.0, 0.0, 5.0)
    return path.read_bytes()


@pytest.fixture
def run(tmp_path):
    database = FakeDatabase()
    depth = np.array([[0.0, 0.5, 1.0, 2.0], [0.0, 0.2, np.nan, 3.0], [0.0, 0.0, 0.1, 0.4]])
    results = []
    for path, array in (("grids/flood_d_000.00.asc", depth * 0), ("grids/flood_d_000.01.asc", depth),
                        ("grids/flood_d_max.asc", depth * 2), ("grids/flood_V_000.01.asc", depth / 2),
                        ("log/flood.tlf", None), ("grids/flood_h_000.01.asc", depth + 10)):
        content = b"log text\n" if array is None else _asc(tmp_path, array)
        database.files[path] = content
        results.append({"path": path, "size": len(content), "fileId": path})
    return database, {"_id": "r1", "results": results}


@pytest.mark.parametrize("text, expected", [(None, None), ("", None), ("max", "max"), ("MAX", "max"),
                                            ("0.01", 0.01), ("000.01", 0.01), ("2", 2.0)])
def test_parse_time_accepts_hours_and_max(text, expected):
    assert maps.parse_time(text) == expected


@pytest.mark.parametrize("text", ["soon", "-1", "1e3", "0.01h", "1,5"])
def test_parse_time_refuses_anything_else(text):
    with pytest.raises(Invalid):
        maps.parse_time(text)


def test_listing_gives_types_in_order_with_times_and_max(run):
    _, doc = run
    listing = maps.listing(doc)
    assert [(e["name"], e["type"]) for e in listing] == [("flood", "d"), ("flood", "h"), ("flood", "V")]
    assert listing[0]["times"] == [0.0, 0.01] and listing[0]["max"] is True
    assert listing[2]["units"] == "m/s" and listing[2]["max"] is False


def test_find_map_defaults_to_the_last_time(run):
    _, doc = run
    name, kind, label, result = maps.find_map(doc, "d")
    assert (name, kind, label, result["path"]) == ("flood", "d", 0.01, "grids/flood_d_000.01.asc")


def test_find_map_ignores_the_case_of_the_type_when_there_is_no_exact_match(run):
    _, doc = run
    assert maps.find_map(doc, "v", 0.01)[1] == "V"


def test_find_map_unknown_type_lists_what_there_is(run):
    _, doc = run
    with pytest.raises(NotFound) as error:
        maps.find_map(doc, "q")
    assert "d of flood (0.00, 0.01, max)" in error.value.description


def test_find_map_unknown_time_lists_the_times(run):
    _, doc = run
    with pytest.raises(NotFound) as error:
        maps.find_map(doc, "V", "max")
    assert "times: 0.01" in error.value.description


def test_grid_json_summarises_valid_cells(run):
    database, doc = run
    body = maps.grid_json(database, doc["results"][1], 1)
    assert body["path"] == "grids/flood_d_000.01.asc" and body["values"][1][2] is None
    assert body["max"] == 3.0 and body["min"] == 0.0
    assert body["mean"] == pytest.approx(np.nanmean([0, .5, 1, 2, 0, .2, 3, 0, 0, .1, .4]))


def test_grid_json_refuses_other_files(run):
    database, doc = run
    with pytest.raises(Invalid):
        maps.grid_json(database, doc["results"][4], 1)


def test_dry_cells_of_speed_follow_the_depth_grid():
    speed = np.array([[0.0, 1.0], [0.0, 2.0]])
    depth = np.array([[0.0, 0.3], [0.1, 0.2]])
    dry = maps.dry_mask("V", speed, np.ones_like(speed, bool), depth)
    assert dry.tolist() == [[True, False], [False, False]]  # still water is wet, not dry


def test_colourise_greys_dry_cells_and_clears_no_data():
    array = np.array([[0.0, 1.0, 2.0]])
    rgba = maps.colourise(array, np.array([[False, False, True]]), np.array([[True, False, False]]), 0.0, 1.0)
    assert tuple(rgba[0, 0]) == maps.DRY_COLOUR and rgba[0, 2, 3] == 0
    assert tuple(rgba[0, 1]) == tuple(maps.LUT[255])


def test_ticks_keep_the_extremes_and_round_values_between():
    ticks = maps._ticks(0.0, 3.47)
    assert ticks[0] == 0.0 and ticks[-1] == 3.47 and 1.0 in ticks and 2.0 in ticks


def test_render_draws_a_picture_of_the_requested_width(run):
    database, doc = run
    picture = Image.open(io.BytesIO(maps.render(database, doc, "d", "max", width=400)))
    assert picture.format == "PNG" and picture.width > 400 and picture.height > 100
    assert len(picture.getcolors(maxcolors=1 << 16)) > 20
