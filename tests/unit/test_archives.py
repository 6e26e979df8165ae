import io
import os

import pytest

from tests.support import simple_model
from tucluster.formats import archives
from tucluster.errors import Invalid, TooLarge
from tucluster.settings import Settings


def test_spool_stops_at_the_limit_and_removes_its_file(tmp_path):
    # A chunked upload has no Content-Length: the limit is enforced while the bytes arrive.
    with pytest.raises(TooLarge):
        archives.spool(io.BytesIO(os.urandom(3 * archives.CHUNK)), limit=archives.CHUNK, directory=tmp_path)
    assert os.listdir(tmp_path) == []


def test_spool_keeps_an_archive_within_the_limit(tmp_path):
    body = simple_model()
    path = archives.spool(io.BytesIO(body), limit=len(body), directory=tmp_path)
    assert open(path, "rb").read() == body


def test_total_uncompressed_cap_holds(tmp_path):
    path = tmp_path / "m.zip"
    path.write_bytes(simple_model(data=os.urandom(4096)))
    with pytest.raises(Invalid, match="expands beyond"):
        archives.inspect(str(path), Settings(max_uncompressed_bytes=1000))


def test_inspect_lists_files_and_root_entry_points(tmp_path):
    path = tmp_path / "m.zip"
    path.write_bytes(simple_model(**{"script.py": "print(1)", "sub/other.tcf": ""}))
    info = archives.inspect(str(path), Settings())
    assert info.entry_points == ["run.tcf", "script.py"]
    assert {f["path"] for f in info.files} == {"run.tcf", "model/grid.tgc", "script.py", "sub/other.tcf"}
