"""Work an engine's outputs into the platform's result layout once the engine has exited.

``run(kind, workspace, run_log)`` is called by the worker for engines with a ``postprocess``.
``"anuga"``: every ``.sww`` file the run wrote (under the output folder, or new or changed in the
work copy) becomes ``<output>/grids/<stem>_{d,h,V}_{HHH.HH,max}.asc``, the names swe2d uses, so
maps, JSON grids and downloads work the same for both engines.

The conversion runs in a child process: ANUGA's compiled code and memory stay out of the worker,
and a conversion that fails is reported in the run's log without failing a run whose engine
succeeded (the .sww files are still among its results).
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

CONVERT_TIMEOUT = 3600  # s; a conversion is far shorter than the run that produced it
GRIDS = "grids"


def run(kind: str, workspace, run_log) -> None:
    handler = HANDLERS.get(kind)
    if handler is None:
        run_log.note(f"no post-processing called {kind!r}; outputs kept as written")
        return
    handler(workspace, run_log)


def written_files(workspace, suffix: str) -> list[str]:
    """Absolute paths of files ending in ``suffix`` that the run wrote, sorted."""
    return sorted(absolute for path, absolute in workspace.written() if path.lower().endswith(suffix))


def anuga(workspace, run_log) -> None:
    files = written_files(workspace, ".sww")
    if not files:
        run_log.note("no .sww file was written: no map grids to make")
        return
    output = os.path.join(workspace.output_dir, GRIDS)
    shown = ", ".join(os.path.relpath(path, workspace.root) for path in files)
    run_log.note(f"converting {shown} to ASC grids in output/{GRIDS}/")
    argv = [sys.executable, "-m", "qflow.engines.anuga_convert", *files, "--output", output]
    try:
        done = subprocess.run(argv, cwd=workspace.root, capture_output=True, text=True, timeout=CONVERT_TIMEOUT,
                              env=dict(os.environ, PYTHONUNBUFFERED="1"))
    except subprocess.TimeoutExpired:
        run_log.note(f"the .sww conversion took over {CONVERT_TIMEOUT} s and was stopped; no map grids")
        return
    text = (done.stdout or "") + (done.stderr or "")
    if text.strip():
        run_log.write(text if text.endswith("\n") else text + "\n")
    count = len(os.listdir(output)) if os.path.isdir(output) else 0
    if done.returncode == 0:
        run_log.note(f"{count} grid(s) written from {len(files)} .sww file(s)")
    else:
        run_log.note(f"the .sww conversion failed (exit code {done.returncode}); {count} grid(s) written")


HANDLERS = {"anuga": anuga}
