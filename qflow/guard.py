"""Run an engine so that it never outlives the worker process that started it.

    python -m qflow.guard GRACE_SECONDS PARENT_PID -- ENGINE ARGV...

The worker starts the guard in a process group of its own; the guard asks the kernel to send it
SIGTERM the moment its parent dies (``PR_SET_PDEATHSIG``: whatever killed the parent, SIGKILL
included), then starts the engine in the same group. On SIGTERM, from the kernel or from a cancel,
it terminates the whole group, engine children included: SIGTERM, then SIGKILL after the grace
period. Otherwise it exits with the engine's exit code (128 + N when the engine died of signal N).
Celery's prefork pool processes already die with the worker's main process (SIGKILL on parent
death), so an engine follows whichever worker process is killed. Standard library only: it starts
before every engine.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1


def _die_with_parent(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent dies (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def _exited(pid: int) -> bool:
    # waitpid, not Popen.poll: this runs in a signal handler that interrupted Popen.wait, which holds
    # the lock poll needs.
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


def _terminate_group(engine: subprocess.Popen, grace: float) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the guard outlives its own SIGTERM to finish the job
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while not _exited(engine.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(0, signal.SIGKILL)  # the engine's children too, whatever they did with SIGTERM; the guard last


def main(argv: list[str]) -> int:
    grace, parent, separator, *engine_argv = argv
    if separator != "--" or not engine_argv:
        sys.stderr.write("usage: python -m qflow.guard GRACE_SECONDS PARENT_PID -- ENGINE ARGV...\n")
        return 2
    _die_with_parent(signal.SIGTERM)
    if os.getppid() != int(parent):
        return 1  # the worker died before the request took effect: start nothing
    try:
        engine = subprocess.Popen(engine_argv)
    except OSError as exc:
        sys.stdout.write(f"cannot start {engine_argv[0]}: {exc}\n")
        return 127
    signal.signal(signal.SIGTERM, lambda *_: _terminate_group(engine, float(grace)))
    code = engine.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
