"""ESRI ASCII grid reading, writing and summaries."""
from __future__ import annotations

import time

import numpy as np
import pytest

from tucluster.formats import grids

SAMPLE = """NCOLS 3
nrows 2
xllcenter 102.5
yllcenter 202.5
cellsize 5
NODATA_value -9999
1 2 -9999
4.5 5 6
"""


def test_read_header_array_and_mask(tmp_path):
    path = tmp_path / "g.asc"
    path.write_text(SAMPLE)
    array, header = grids.read_asc(path)
    assert array.dtype == np.float64 and array.shape == (2, 3)
    assert header == {"ncols": 3, "nrows": 2, "xllcenter": 102.5, "yllcenter": 202.5, "cellsize": 5.0,
                      "nodata_value": -9999.0}
    assert array[1, 0] == 4.5 and array[0, 2] == -9999
    assert grids.nodata_mask(array, header).tolist() == [[False, False, True], [False, False, False]]
    assert grids.lower_left(header) == (100.0, 200.0)


def test_write_then_read_round_trip(tmp_path):
    data = np.array([[1.25, np.nan], [-3.5, 1e-7]])
    path = tmp_path / "out" / "r.asc"
    grids.write_asc(path, data, 10.0, 20.0, 2.5)
    array, header = grids.read_asc(path)
    assert header["xllcorner"] == 10.0 and header["yllcorner"] == 20.0 and header["cellsize"] == 2.5
    assert array[0, 1] == -9999
    mask = grids.nodata_mask(array, header)
    assert np.array_equal(array[~mask], data[np.isfinite(data)])
    assert "NODATA_value -9999\n" in path.read_text()
    assert not list(tmp_path.glob("out/*.part"))


def test_missing_nodata_defaults_and_crlf(tmp_path):
    path = tmp_path / "g.asc"
    path.write_bytes(b"ncols 2\r\nnrows 1\r\nxllcorner 0\r\nyllcorner 0\r\ncellsize 1\r\n7 8\r\n")
    array, header = grids.read_asc(path)
    assert array.tolist() == [[7.0, 8.0]] and header["nodata_value"] == -9999.0


@pytest.mark.parametrize("text", [
    "ncols 2\nnrows 2\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2 3\n",       # too few values
    "ncols 2\nnrows 1\nxllcorner 0\ncellsize 1\n1 2\n",                      # no y origin
    "ncols 2\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 x\n",         # not a number
    "ncols two\nnrows 1\nxllcorner 0\nyllcorner 0\ncellsize 1\n1 2\n",
])
def test_bad_grids_raise_grid_error(tmp_path, text):
    path = tmp_path / "bad.asc"
    path.write_text(text)
    with pytest.raises(grids.GridError):
        grids.read_asc(path)


def test_summarise_with_stride(tmp_path):
    data = np.arange(20, dtype=float).reshape(4, 5)
    data[0, 0] = np.nan
    path = tmp_path / "s.asc"
    grids.write_asc(path, data, 0, 0, 1)
    summary = grids.summarise(path, stride=2)
    assert summary["min"] == 1.0 and summary["max"] == 19.0
    assert summary["mean"] == pytest.approx(np.nanmean(data))
    assert summary["values"] == [[None, 2.0, 4.0], [10.0, 12.0, 14.0]]
    assert summary["header"]["ncols"] == 5 and summary["stride"] == 2
    with pytest.raises(ValueError):
        grids.summarise(path, stride=0)


def test_summarise_all_nodata(tmp_path):
    path = tmp_path / "n.asc"
    grids.write_asc(path, np.full((2, 2), np.nan), 0, 0, 1)
    summary = grids.summarise(path)
    assert summary["min"] is None and summary["values"] == [[None, None], [None, None]]


def test_large_grid_is_fast(tmp_path):
    data = np.random.default_rng(1).random((1000, 1000)) * 100
    path = tmp_path / "big.asc"
    started = time.perf_counter()
    grids.write_asc(path, data, 0, 0, 1)
    array, _ = grids.read_asc(path)
    summary = grids.summarise(path, stride=10)
    elapsed = time.perf_counter() - started
    assert np.allclose(array, data, rtol=1e-8)
    assert len(summary["values"]) == 100
    assert elapsed < 5.0
