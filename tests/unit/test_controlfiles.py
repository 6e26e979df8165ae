"""Control-file parsing, path resolution, validation and overrides."""
from __future__ import annotations

import pytest

from tucluster.formats import controlfiles
from tucluster.formats.controlfiles import DirectorySource, apply_overrides, parse, resolve
from tucluster.formats.validation import validate


class DictSource:
    def __init__(self, files: dict[str, str]):
        self.files = files

    def exists(self, path):
        return path in self.files

    def read_text(self, path):
        return self.files[path]


TCF = """! a model
Geometry Control File == model\\dambreak.tgc   ! backslashes, as on Windows
BC Control File == model/dambreak.tbc
Read Materials File == model\\materials.csv
Timestep == 1.0
Start Time == 0
End Time == 0.5
Output Folder == ..\\results\\
Log Folder == log
Write Check Files == check\\
"""
TGC = """Grid Size (X,Y) == 500, 200
Cell Size == 5
Origin == 0, 0
Set Zpts == 10
Read Grid Zpts == grid\\zpts.asc
"""
TBC = """QT Inflow == W | inflow.csv
Open Boundary == E | transmissive
"""
FILES = {"m.tcf": TCF, "model/dambreak.tgc": TGC, "model/dambreak.tbc": TBC,
         "model/materials.csv": "id,n\n1,0.03\n", "model/grid/zpts.asc": "ncols 1\n",
         "model/inflow.csv": "time,flow\n0,0\n1,10\n"}


def test_parse_comments_case_spacing_and_values_with_equals():
    text = "  geometry   CONTROL file==a\\b.tgc ! comment == not a value\n\n! only a comment\n" \
           "Map Output Data Types == h d V\nSome Command == a == b\nEnd If\n"
    commands = parse(text, "x/m.tcf")
    assert [c.key for c in commands] == ["geometry control file", "map output data types", "some command", "end if"]
    first = commands[0]
    assert (first.name, first.value, first.file, first.line) == ("geometry   CONTROL file", "a\\b.tgc", "x/m.tcf", 1)
    assert commands[1].line == 4
    assert commands[2].value == "a == b"
    assert commands[3].value == ""


def test_command_key_ignores_spaces_in_parentheses():
    assert controlfiles.command_key("Grid Size ( X , Y )") == "grid size (x,y)"
    assert controlfiles.command_key("GRID SIZE(X,Y)") == "grid size (x,y)"


def test_resolve_relative_to_the_naming_file():
    assert resolve("model\\grid.tgc", "m.tcf") == "model/grid.tgc"
    assert resolve("..\\model\\grid.tgc", "m.tcf") is None  # escapes the archive root
    assert resolve("..\\model\\grid.tgc", "runs/m.tcf") == "model/grid.tgc"
    assert resolve("..\\grid\\zpts.asc", "model/sub/grid.tgc") == "model/grid/zpts.asc"
    assert resolve(".\\grid/zpts.asc", "model/a.tgc") == "model/grid/zpts.asc"
    assert resolve("/etc/passwd", "m.tcf") is None
    assert resolve("C:\\models\\x.tgc", "m.tcf") is None
    assert resolve("../../x.asc", "model/a.tgc") is None


def test_valid_model_lists_references_and_ignores_output_folders():
    report = validate(DictSource(FILES), "m.tcf")
    assert report["valid"], report
    assert report["entryPoint"] == "m.tcf"
    assert report["missing"] == [] and report["errors"] == [] and report["warnings"] == []
    paths = {r["path"] for r in report["references"]}
    assert paths == {"model/dambreak.tgc", "model/dambreak.tbc", "model/materials.csv", "model/grid/zpts.asc",
                     "model/inflow.csv"}
    zpts = next(r for r in report["references"] if r["path"] == "model/grid/zpts.asc")
    assert zpts == {"path": "model/grid/zpts.asc", "file": "model/dambreak.tgc", "line": 5,
                    "command": "Read Grid Zpts"}


def test_missing_files_are_reported_with_file_line_and_command():
    files = dict(FILES)
    del files["model/grid/zpts.asc"], files["model/inflow.csv"]
    report = validate(DictSource(files), "m.tcf")
    assert not report["valid"]
    assert {"path": "model/grid/zpts.asc", "file": "model/dambreak.tgc", "line": 5,
            "command": "Read Grid Zpts"} in report["missing"]
    assert {"path": "model/inflow.csv", "file": "model/dambreak.tbc", "line": 1,
            "command": "QT Inflow"} in report["missing"]


def test_missing_entry_point():
    report = validate(DictSource({}), "nope.tcf")
    assert not report["valid"] and report["missing"][0]["path"] == "nope.tcf"


def test_unknown_command_is_a_warning_not_an_error():
    files = dict(FILES, **{"m.tcf": TCF + "Viscosity Formulation == Smagorinsky\n"})
    report = validate(DictSource(files), "m.tcf")
    assert report["valid"]
    assert report["warnings"] == [{"file": "m.tcf", "line": 11, "command": "Viscosity Formulation",
                                   "message": "unknown command, ignored by swe2d"}]


def test_escaping_and_absolute_paths_are_errors():
    tcf = TCF.replace("model\\dambreak.tgc", "..\\..\\elsewhere\\x.tgc") + "Read Materials File == /etc/passwd\n"
    report = validate(DictSource(dict(FILES, **{"m.tcf": tcf})), "m.tcf")
    assert not report["valid"]
    assert [(e["line"], e["command"]) for e in report["errors"]] == [(2, "Geometry Control File"),
                                                                      (11, "Read Materials File")]


def test_bad_numbers_and_values_are_errors_with_lines():
    tcf = TCF.replace("Timestep == 1.0", "Timestep == fast").replace("End Time == 0.5", "End Time == 0")
    tgc = TGC.replace("Cell Size == 5", "Cell Size == -5")
    tbc = TBC + "Open Boundary == Q | transmissive\nOpen Boundary == S | level high\nQT Inflow Point == 1 | x.csv\n"
    files = dict(FILES, **{"m.tcf": tcf, "model/dambreak.tgc": tgc, "model/dambreak.tbc": tbc,
                           "model/materials.csv": "id,n\n1,zero\n"})
    report = validate(DictSource(files), "m.tcf")
    where = {(e["file"], e["line"]) for e in report["errors"]}
    assert ("m.tcf", 5) in where  # Timestep
    assert ("m.tcf", 7) in where  # End Time not after Start Time
    assert ("m.tcf", 4) in where  # materials csv content
    assert ("model/dambreak.tgc", 2) in where
    assert {("model/dambreak.tbc", n) for n in (3, 4, 5)} <= where


def test_unsupported_map_format_is_a_warning():
    tcf = TCF + "Map Output Format == XMDF ASC\nMap Output Data Types == h d V q\n"
    report = validate(DictSource(dict(FILES, **{"m.tcf": tcf})), "m.tcf")
    assert report["valid"]
    assert [w["command"] for w in report["warnings"]] == ["Map Output Format", "Map Output Data Types"]


def test_nested_control_files_resolve_relative_to_themselves():
    files = {"runs/m.tcf": "Geometry Control File == ..\\model\\grid.tgc\nEnd Time == 1\n",
             "model/grid.tgc": "Read Grid Zpts == ..\\grid\\z.asc\n", "grid/z.asc": ""}
    report = validate(DictSource(files), "runs/m.tcf")
    assert report["valid"], report
    assert [r["path"] for r in report["references"]] == ["model/grid.tgc", "grid/z.asc"]


def test_control_file_cycles_terminate():
    files = {"a.tcf": "BC Control File == b.tbc\nEnd Time == 1\n", "b.tbc": "BC Control File == b.tbc\n"}
    report = validate(DictSource(files), "a.tcf")
    assert len(report["references"]) == 1


def test_apply_overrides_replaces_keeps_comments_and_appends():
    text = "! header\r\nTimestep == 2.0   ! seconds\r\nEND  time==1\r\nSet IWL == 3\r\n"
    out = apply_overrides(text, {"timestep": "0.5", "End Time": "2", "Output Folder": "/tmp/out/"})
    assert out == ("! header\r\nTimestep == 0.5   ! seconds\r\nEND  time== 2\r\nSet IWL == 3\r\n"
                   "Output Folder == /tmp/out/\r\n")
    assert parse(out, "m.tcf")[0].value == "0.5"


def test_apply_overrides_without_trailing_newline_and_refusals():
    assert apply_overrides("End Time == 1", {"Timestep": "1"}) == "End Time == 1\nTimestep == 1\n"
    for bad in ({"Timestep": "1\nRead Grid Zpts == /etc/passwd"}, {"Timestep": "1 ! x"}, {"A == B": "1"}):
        with pytest.raises(ValueError):
            apply_overrides("Timestep == 1\n", bad)


def test_directory_source_falls_back_to_case_insensitive_names(tmp_path):
    (tmp_path / "Model" / "Grid").mkdir(parents=True)
    (tmp_path / "Model" / "Grid" / "ZPTS.asc").write_text("ncols 1\n")
    source = DirectorySource(tmp_path)
    assert source.exists("Model/Grid/ZPTS.asc")
    assert source.exists("model/grid/zpts.asc")
    assert source.read_text("model/grid/zpts.asc") == "ncols 1\n"
    assert not source.exists("model/grid")  # a folder is not a file
    assert not source.exists("model/grid/other.asc")
    with pytest.raises(FileNotFoundError):
        source.read_text("nothing.asc")


def test_validate_over_a_directory(tmp_path):
    for path, text in FILES.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    assert validate(DirectorySource(tmp_path), "m.tcf")["valid"]


def test_parse_boundary_lines():
    def line(text):
        return controlfiles.parse_boundary(parse(text, "b.tbc")[0])
    assert line("QT Inflow == w 10, 30 | in.csv") == controlfiles.BoundaryLine("W", (10.0, 30.0), None, "in.csv")
    assert line("QT Inflow Point == 250, 25 | q.csv").point == (250.0, 25.0)
    assert line("Open Boundary == E | level 1.5").level == 1.5
    assert line("Open Boundary == S | Transmissive").target == "transmissive"
    with pytest.raises(ValueError):
        line("Open Boundary == E")


def test_read_table_header_and_errors():
    assert controlfiles.read_table("Time (h), Flow\n0, 0\n0.5, 10\n") == [(0.0, 0.0), (0.5, 10.0)]
    with pytest.raises(ValueError, match="line 3"):
        controlfiles.read_table("t,q\n0,0\nx,1\n")
    with pytest.raises(ValueError):
        controlfiles.read_table("t,q\n")
