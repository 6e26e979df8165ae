"""A run's scratch directory: the model copy in, the result files out, both through GridFS.

Layout: ``<scratch>/<run id>/model`` holds the extracted archive (the engine's working copy) and
``<scratch>/<run id>/output`` receives the control file's output, log and check folders. The
results are every file under ``output`` and every file the engine created or changed in ``model``.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
from dataclasses import dataclass, field

from tucluster.formats import archives, controlfiles
from tucluster.store import Database
from tucluster.store import archives as archive_store
from tucluster.store import results as result_store
from tucluster.store import runs as run_store
from tucluster.store import workers as worker_store

CHUNK = 1024 * 1024
# Where a TUFLOW-style control file sends its outputs, relative to the run's output folder.
OUTPUT_COMMANDS = {"Output Folder": "", "Log Folder": "log", "Write Check Files": "check"}


@dataclass
class Workspace:
    root: str
    model_dir: str
    output_dir: str
    control_file: str
    inputs: dict = field(default_factory=dict)  # relative path -> (size, mtime_ns) after preparation

    def written(self) -> list[tuple[str, str]]:
        """(result path, absolute path) of everything the run produced, sorted: every file under the
        output folder and every file the engine created or changed in the work copy."""
        found = [(path, os.path.join(self.output_dir, path)) for path in _snapshot(self.output_dir)]
        for path, signature in _snapshot(self.model_dir).items():
            if self.inputs.get(path) != signature:
                found.append((path, os.path.join(self.model_dir, path)))
        return sorted(found)


def _snapshot(directory: str) -> dict:
    found = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            status = os.stat(path)
            found[os.path.relpath(path, directory).replace(os.sep, "/")] = (status.st_size, status.st_mtime_ns)
    return found


def _redirect_outputs(control_file: str, output_dir: str, overrides: dict) -> None:
    with open(control_file, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    present = {command.key: command.value for command in controlfiles.parse(text, os.path.basename(control_file))}
    changes = dict(overrides)
    for command, sub in OUTPUT_COMMANDS.items():
        if command == "Write Check Files" and present.get("write check files", "").strip().upper() == "OFF":
            continue
        changes[command] = os.path.join(output_dir, sub, "").replace(os.sep, "/")
    with open(control_file, "w", encoding="utf-8") as handle:
        handle.write(controlfiles.apply_overrides(text, changes))


def prepare(database: Database, run: dict, scratch_dir: str) -> Workspace:
    """The run's work copy, ready for its engine; nothing is left behind when it cannot be made."""
    root = os.path.abspath(os.path.join(scratch_dir, run["_id"]))
    shutil.rmtree(root, ignore_errors=True)  # a redelivered run starts from a clean copy
    model_dir, output_dir = os.path.join(root, "model"), os.path.join(root, "output")
    try:
        os.makedirs(model_dir)
        os.makedirs(output_dir)
        with archive_store.open_archive(database, run["archiveId"]) as stream:
            archives.extract(stream, model_dir)
        control_file = os.path.join(model_dir, run["entryPoint"])
        if run["entryPoint"].lower().endswith(".tcf"):
            _redirect_outputs(control_file, output_dir, run.get("overrides") or {})
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return Workspace(root=root, model_dir=model_dir, output_dir=output_dir, control_file=control_file,
                     inputs=_snapshot(model_dir))


def sweep(database: Database, scratch_dir: str, stale_after_seconds: float) -> list[str]:
    """Remove the work copies left in ``scratch_dir`` by runs no live worker of this host holds (a
    worker killed mid-run leaves its copy behind, and its run may go on elsewhere); returns the run
    ids removed."""
    if not os.path.isdir(scratch_dir):
        return []
    here = {w["_id"] for w in worker_store.alive(database, stale_after_seconds) if w.get("host") == socket.gethostname()}
    held = {run_id for run_id, worker in run_store.held_by(database, os.listdir(scratch_dir), stale_after_seconds)
            if worker in here}
    removed = []
    for name in os.listdir(scratch_dir):
        path = os.path.join(scratch_dir, name)
        if name not in held and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed


def environment(workspace: Workspace, run: dict, extra: dict) -> dict:
    env = dict(os.environ, **extra)
    env["TUCLUSTER_RUN_ID"] = run["_id"]
    env["TUCLUSTER_OUTPUT_DIR"] = workspace.output_dir
    # Script engines (ANUGA) cannot take control-file overrides; they read them from here.
    env["TUCLUSTER_OVERRIDES"] = json.dumps(run.get("overrides") or {})
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def upload_result(database: Database, run_id: str, path: str, absolute: str) -> dict:
    """Store one result file; the entry the run document lists it by."""
    with open(absolute, "rb") as handle:
        file_id = result_store.upload(database, run_id, path, handle)
    return {"path": path, "size": os.path.getsize(absolute), "fileId": file_id}


def discard(workspace: Workspace) -> None:
    shutil.rmtree(workspace.root, ignore_errors=True)
