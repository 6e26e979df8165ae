"""Supervise an engine's child process: stream its output, honour cancellation, report progress."""
from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    returncode: int
    stopped: bool  # True when should_stop() asked for the end


def _pump(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line)
    stream.close()
    lines.put(None)


def _terminate(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM the whole process group, SIGKILL it after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            log.warning("process group %d ignored SIGTERM for %.1f s; killing it", process.pid, grace)


def supervise(argv: list[str], cwd: str, env: Mapping[str, str], on_output: Callable[[list[str]], None],
              should_stop: Callable[[], bool], tick: float = 0.5, grace: float = 3.0) -> Outcome:
    """Run ``argv`` in its own process group until it exits or ``should_stop`` says so.

    Every ``tick`` seconds the lines printed since the last tick go to ``on_output`` (also
    called with an empty list, so the caller can beat a heartbeat) and ``should_stop`` is asked.
    The engine runs under ``qflow.guard``, so its group dies with this process, however it dies.
    """
    guarded = [sys.executable, "-m", "qflow.guard", str(grace), str(os.getpid()), "--", *argv]
    try:
        process = subprocess.Popen(guarded, cwd=cwd, env=dict(env), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                                   errors="replace", bufsize=1, start_new_session=True)
    except OSError as exc:
        on_output([f"cannot start {argv[0]}: {exc}\n"])
        return Outcome(returncode=127, stopped=False)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    reader.start()
    stopped, ended = False, False
    try:
        while not ended:
            deadline = time.monotonic() + tick
            batch = []
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    line = lines.get(timeout=remaining)
                except queue.Empty:
                    break
                if line is None:
                    ended = True
                    break
                batch.append(line)
            on_output(batch)
            if not ended and not stopped and should_stop():
                stopped = True
                _terminate(process, grace)
    finally:
        if process.poll() is None:
            _terminate(process, grace)
    reader.join(timeout=grace)
    return Outcome(returncode=process.wait(), stopped=stopped)
