"""swe2d engine: model loading from control files and the program run end to end."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qflow.engines.swe2d import model
from tucluster.formats import controlfiles, grids

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "dambreak"
PROGRESS = re.compile(r"Time\s+(?P<done>[\d.]+) h of\s+(?P<total>[\d.]+) h")
TIMES = ["000.00", "000.01", "000.02", "000.03", "000.04", "000.05"]

@pytest.fixture
def example(tmp_path) -> Path:
    target = tmp_path / "dambreak"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("results", "log", "check"))
    return target


@pytest.fixture
def engine():
    """argv prefix of the engine program."""
    return [sys.executable, "-m", "qflow.engines.swe2d"]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _edit(path: Path, overrides: dict) -> None:
    path.write_text(controlfiles.apply_overrides(path.read_text(), overrides))


def test_load_example_model():
    spec = model.load(EXAMPLE / "dambreak.tcf")
    z, header = grids.read_asc(EXAMPLE / "model" / "grid" / "zpts.asc")
    assert (spec.nx, spec.ny, spec.dx, spec.origin) == (100, 40, 5.0, (0.0, 0.0))
    assert spec.z.shape == spec.h.shape == spec.manning.shape == spec.active.shape == (40, 100)
    inactive = grids.nodata_mask(z, header)
    assert inactive.sum() == 12 and np.array_equal(~spec.active, inactive)
    assert np.array_equal(spec.z[spec.active], z[~inactive])
    # the 10 m material grid lands on pairs of 5 m cells
    assert set(np.unique(spec.manning).tolist()) == {0.035, 0.06}
    assert spec.mat[0, 0] == spec.mat[1, 1] == 1 and spec.mat[20, 0] == 2
    x, _ = spec.centres()
    reservoir = np.broadcast_to(x < 150, spec.z.shape)
    assert np.allclose(spec.h[reservoir], np.maximum(10.0 - spec.z[reservoir], 0))
    assert not spec.h[~reservoir].any()
    assert spec.boundaries == (model.EdgeSpec("E", "transmissive", None, 0, 40),)
    (inflow,) = spec.inflows
    assert inflow.rows.tolist() == list(range(16, 24)) and not inflow.cols.any()
    assert inflow.times.tolist() == [0.0, 72.0, 180.0] and inflow.flows.tolist() == [0.0, 25.0, 5.0]
    assert (spec.timestep, spec.start, spec.end, spec.map_interval) == (1.0, 0.0, 180.0, 36.0)
    assert spec.map_types == ("d", "h", "V")
    assert spec.output_folder == EXAMPLE / "results" and spec.log_folder == EXAMPLE / "log"
    assert spec.check_folder == EXAMPLE / "check"


def test_load_boundary_variants(example):
    (example / "model" / "dambreak.tbc").write_text(
        "Open Boundary == S 0, 100 | level 1.5\nQT Inflow Point == 252, 27 | inflow.csv\n"
        "Open Boundary == N | transmissive\n")
    spec = model.load(example / "dambreak.tcf")
    assert spec.boundaries == (model.EdgeSpec("S", "level", 1.5, 0, 20),
                               model.EdgeSpec("N", "transmissive", None, 0, 100))
    assert spec.inflows[0].rows.tolist() == [34] and spec.inflows[0].cols.tolist() == [50]


@pytest.mark.parametrize("file, change, where, words", [
    ("model/dambreak.tgc", ("grid\\zpts.asc", "grid\\nothing.asc"), ("model/dambreak.tgc", 6), "file not found"),
    ("dambreak.tcf", ("Timestep == 1.0", "Timestep == one"), ("dambreak.tcf", 7), "not a number"),
    ("dambreak.tcf", ("Format == ASC", "Format == XMDF"), ("dambreak.tcf", 11), "ASC"),
    ("dambreak.tcf", ("Data Types == d h V", "Data Types == d q"), ("dambreak.tcf", 12), "not q"),
    ("model/dambreak.tgc", ("Origin == 0, 0", "Origin == 100, 0"), ("model/dambreak.tgc", 6), "does not cover"),
    ("model/dambreak.tbc", ("W 80, 120", "W 300, 400"), ("model/dambreak.tbc", 2), "no cell"),
    ("model/dambreak.tbc", ("transmissive", "sideways"), ("model/dambreak.tbc", 3), "open boundary"),
    ("model/materials.csv", ("2,0.035", "3,0.035"), ("dambreak.tcf", 5), "material 2"),
    ("dambreak.tcf", ("model\\dambreak.tgc", "..\\dambreak.tgc"), ("dambreak.tcf", 3), "leaves the model folder"),
    ("dambreak.tcf", ("End Time == 0.05", "End Time == 0"), ("dambreak.tcf", 9), "after Start Time"),
])
def test_model_errors_name_file_and_line(example, file, change, where, words):
    path = example / file
    assert change[0] in path.read_text()
    path.write_text(path.read_text().replace(*change))
    with pytest.raises(model.ModelError) as raised:
        model.load(example / "dambreak.tcf")
    assert (raised.value.file, raised.value.line) == where
    assert words in raised.value.message


def test_missing_geometry_control_file_is_a_model_error(example):
    tcf = example / "dambreak.tcf"
    tcf.write_text(tcf.read_text().replace("Geometry Control File", "! Geometry Control File"))
    with pytest.raises(model.ModelError, match="Geometry Control File is required"):
        model.load(tcf)


def test_program_runs_the_example(example, engine):
    result = subprocess.run(engine + [str(example / "dambreak.tcf")], capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    maps = sorted(p.name for p in (example / "results" / "grids").iterdir())
    expected = [f"dambreak_{kind}_{stamp}.asc" for kind in ("d", "h", "V") for stamp in TIMES + ["max"]]
    assert maps == sorted(expected)
    assert sorted(p.name for p in (example / "check").iterdir()) == [
        "dambreak_iwl_check.asc", "dambreak_manning_check.asc", "dambreak_mat_check.asc", "dambreak_zpts_check.asc"]
    log_lines = (example / "log" / "dambreak.tlf").read_text().splitlines()
    assert result.stdout.splitlines() == log_lines
    assert log_lines[0].startswith("swe2d ") and "100 x 40 cells" in result.stdout
    progress = [PROGRESS.search(line) for line in log_lines if PROGRESS.search(line)]
    assert progress and progress[-1]["done"] == progress[-1]["total"] == "0.0500"
    assert re.fullmatch(r"Run finished: \d+ steps, wall time [\d.]+ s", log_lines[-1])
    depth, header = grids.read_asc(example / "results" / "grids" / "dambreak_d_000.00.asc")
    spec = model.load(example / "dambreak.tcf")
    assert depth.shape == (40, 100) and header["cellsize"] == 5.0
    assert np.allclose(np.where(spec.active, depth, 0), np.where(spec.h > 1e-3, spec.h, 0))
    level, header = grids.read_asc(example / "results" / "grids" / "dambreak_h_000.00.asc")
    assert np.all(grids.nodata_mask(level, header) == ~(spec.active & (spec.h > 1e-3)))
    dmax, _ = grids.read_asc(example / "results" / "grids" / "dambreak_d_max.asc")
    final, _ = grids.read_asc(example / "results" / "grids" / "dambreak_d_000.05.asc")
    assert np.all(dmax[spec.active] >= final[spec.active] - 1e-9)


def test_program_follows_absolute_output_folders(example, engine, tmp_path):
    out = tmp_path / "out"
    _edit(example / "dambreak.tcf", {"Output Folder": f"{out}/", "Log Folder": f"{out}/log/",
                                     "Write Check Files": "OFF", "Map Output Interval": "0"})
    result = subprocess.run(engine + [str(example / "dambreak.tcf")], capture_output=True, text=True,
                            env=_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    assert (out / "log" / "dambreak.tlf").is_file() and not (example / "check").exists()
    assert sorted(p.name for p in (out / "grids").glob("dambreak_d_*")) == [
        "dambreak_d_000.00.asc", "dambreak_d_000.05.asc", "dambreak_d_max.asc"]


def test_program_exits_2_on_a_bad_model(example, engine):
    tgc = example / "model" / "dambreak.tgc"
    tgc.write_text(tgc.read_text().replace("Cell Size == 5", "Cell Size == five"))
    result = subprocess.run(engine + [str(example / "dambreak.tcf")], capture_output=True, text=True,
                            env=_env(), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "ERROR: model/dambreak.tgc:3: Cell Size: not a number in 'five'"
    assert not (example / "results").exists()


def test_program_stops_promptly_on_sigterm(example, engine):
    _edit(example / "dambreak.tcf", {"End Time": "10"})
    process = subprocess.Popen(engine + [str(example / "dambreak.tcf")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_env())
    try:
        for line in process.stdout:
            if PROGRESS.search(line):
                break
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 143
        assert time.monotonic() - started < 3
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Run stopped by SIGTERM" in (example / "log" / "dambreak.tlf").read_text()
    assert "Traceback" not in process.stderr.read()
