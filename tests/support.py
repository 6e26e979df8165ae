"""Helpers shared by the tests: archives built in memory and waiting for a condition."""
from __future__ import annotations

import io
import time
import zipfile

TCF = """! a minimal model for the fake engine
Geometry Control File == model\\grid.tgc
Timestep == 1
End Time == 0.5
Output Folder == results\\
"""
TGC = "Grid Size (X,Y) == 100, 50\nCell Size == 10\nSet Zpts == 0\n"


def make_zip(files: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode() if isinstance(content, str) else content)
    return buffer.getvalue()


def simple_model(**extra) -> bytes:
    return make_zip({"run.tcf": TCF, "model/grid.tgc": TGC, **extra})


def wait_for(condition, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)
