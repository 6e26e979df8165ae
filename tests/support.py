"""Helpers shared by the tests: archives built in memory and waiting for a condition."""
from __future__ import annotations

import io
import time
import uuid
import zipfile
from pathlib import Path

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


def folder_zip(folder: Path) -> bytes:
    """A model folder's contents (not the folder itself) as a zip."""
    return make_zip({path.relative_to(folder).as_posix(): path.read_bytes()
                     for path in sorted(folder.rglob("*")) if path.is_file()})


def upload_model(client, body: bytes, prefix: str = "model") -> str:
    """Store a model under a fresh name through the API; returns the name."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    response = client.simulate_post("/models", params={"name": name}, body=body,
                                    headers={"Content-Type": "application/zip"})
    assert response.status_code == 201, response.text
    return name


def submit_simulation(client, model: str, entry_point: str, engine: str, overrides: dict | None = None) -> dict:
    body = {"kind": "simulation", "model": model, "entryPoint": entry_point, "engine": engine,
            "overrides": overrides or {}}
    response = client.simulate_post("/runs", json=body)
    assert response.status_code == 202, response.text
    return response.json


def wait_state(client, run_id: str, states, timeout: float = 60) -> dict:
    states = (states,) if isinstance(states, str) else states

    def reached():
        run = client.simulate_get(f"/runs/{run_id}").json
        return run if run["state"] in states else None
    return wait_for(reached, timeout, message=f"run {run_id} to reach {states}")


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
