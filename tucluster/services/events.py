"""Server-Sent Events for a run: state, phase, progress, figures and centroids as they change."""
from __future__ import annotations

import json
import time

from tucluster import states
from tucluster.store import Database
from tucluster.store import runs as run_store

POLL = 0.2
# Cluserve refreshes its subscriptions every 1.2 s: a running run sends figures at least that often.
REFRESH = 0.8  # with POLL, a figures event at most 1.0 s after the last, before database latency
FIELDS = {"state": 1, "phase": 1, "progress": 1, "figures": 1, "centroids": 1, "frame": 1, "error": 1}


def _json_default(value):
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _event(name: str, data) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=_json_default)}\n\n".encode()


def stream(database: Database, run_id: str, timeout: float):
    """Yield SSE messages until the run ends (after its final state) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    seen: dict = {}
    last_sent = 0.0
    yield b"retry: 1000\n\n"
    while True:
        run = run_store.get(database, run_id, FIELDS)
        if run is None:
            yield _event("deleted", {"id": run_id})
            return
        now = time.monotonic()
        status = {"state": run["state"], "phase": run.get("phase"), "progress": run.get("progress", 0.0),
                  "error": run.get("error")}
        if status != seen.get("state"):
            seen["state"] = status
            yield _event("state", dict(status, id=run_id))
            last_sent = now
        if run.get("frame") != seen.get("frame") and run.get("centroids"):
            seen["frame"] = run.get("frame")
            yield _event("centroids", dict(run["centroids"], frame=run.get("frame")))
            last_sent = now
        if run.get("figures") != seen.get("figures") or now - last_sent >= REFRESH:
            seen["figures"] = run.get("figures")
            yield _event("figures", run.get("figures") or {})
            last_sent = now
        if run["state"] in states.FINISHED or now > deadline:
            return
        time.sleep(POLL)
