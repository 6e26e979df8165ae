"""Run states: one list for the API, the store and the workers.

``queued -> running -> succeeded | failed | cancelled``, plus ``paused`` for online clustering.
"""
from __future__ import annotations

QUEUED, RUNNING, PAUSED = "queued", "running", "paused"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"

ALL = (QUEUED, RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED)
# A worker holds the run (and beats its heartbeat) in these states.
HELD = (RUNNING, PAUSED)
ACTIVE = (QUEUED,) + HELD
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
