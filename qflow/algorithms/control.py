"""Run-control parameters of clustering runs, beside each algorithm's own parameters.

A run's ``algorithm`` holds both kinds; ``split`` separates them. The worker's loop applies the control
ones, the algorithm the rest; the API validates both with the same function.
"""
from __future__ import annotations

from .registry import ALGORITHMS

CONTROL = {
    "iterPerData": {"type": "int", "default": 1, "help": "online: iterations run each time new data arrives "
                    "(0: iterate continuously, data or not, within iterFreq)"},
    "iterFreq": {"type": "float", "default": 0.0, "help": "most iterations per second (0: no limit)"},
    "frameSize": {"type": "int", "default": 0, "help": "online: keep only the last frameSize points (0: all)"},
    "timeout": {"type": "float", "default": 0.0, "help": "online: finish after this many seconds without "
                "new data (0: run until stopped)"},
    "dataPerIter": {"type": "int", "default": 0, "help": "points one iteration works on: a random sample of the "
                    "window (mcmc), the mini-batch (kmeans), new points consumed (streaming); 0: all"},
}


def split(algorithm: dict) -> tuple[str, dict, dict]:
    """(name, algorithm parameters, control parameters); ValueError on a bad name or control value."""
    params = dict(algorithm)
    name = params.pop("name")
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(sorted(ALGORITHMS))}")
    control = {key: spec["default"] for key, spec in CONTROL.items()}
    for key in CONTROL:
        if key in params and key not in ALGORITHMS[name]:
            value = params.pop(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"parameter {key!r} must be a number >= 0, got {value!r}")
            control[key] = int(value) if CONTROL[key]["type"] == "int" else float(value)
    return name, params, control
