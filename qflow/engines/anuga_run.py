"""Run an ANUGA model script as ``__main__`` and report its progress in a line the worker reads.

    python -m qflow.engines.anuga_run model.py [script arguments]

ANUGA's own statistics line (``Time = 5.0000 (sec), steps=43 ...``) gives the model time but not
where the run ends, so a progress fraction cannot be read from it. This runner wraps
``anuga.Domain.evolve`` and, at every yield step, writes

    TuCluster progress: 5.0000 of 30.0000 s

(model seconds since ``evolve`` started, and the length of the evolve call from its ``finaltime``
or ``duration``), which ``[engines.anuga] progress_pattern`` turns into 0..1. Scripts need no
change; a script run without this runner can print the same line itself.
"""
from __future__ import annotations

import functools
import logging
import os
import runpy
import sys

log = logging.getLogger("qflow.engines.anuga_run")
PROGRESS = "TuCluster progress: {done:.4f} of {total:.4f} s"


def _report(domain, started: float) -> None:
    try:
        done = domain.get_relative_time() - started
        total = domain.relative_finaltime - started
    except (AttributeError, TypeError):  # another ANUGA version: progress is a nicety, not a need
        return
    sys.stdout.write(PROGRESS.format(done=done, total=total) + "\n")
    sys.stdout.flush()


def _with_progress(evolve):
    @functools.wraps(evolve)
    def wrapper(self, *args, **kwargs):
        started = None
        for value in evolve(self, *args, **kwargs):
            if started is None:
                started = self.get_evolve_starttime() if hasattr(self, "get_evolve_starttime") else 0.0
            _report(self, started)
            yield value
    wrapper.tucluster_progress = True
    return wrapper


def install() -> bool:
    """Wrap ``anuga.Domain.evolve`` once; False when ANUGA cannot be imported."""
    try:
        import anuga
    except ImportError as exc:
        log.warning("ANUGA is not importable (%s): the script runs without progress lines", exc)
        return False
    if not getattr(anuga.Domain.evolve, "tucluster_progress", False):
        anuga.Domain.evolve = _with_progress(anuga.Domain.evolve)
    return True


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: python -m qflow.engines.anuga_run SCRIPT [ARGS...]")
    install()  # logging is left for the script to configure
    script = argv[0]
    sys.argv = argv
    # As `python SCRIPT`: the script's folder first on the path, so its own modules import.
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
