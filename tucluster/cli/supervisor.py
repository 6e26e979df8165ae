"""`tucluster up`'s supervisor: start the parts (database, worker, API) after checks that fail with one
clear line, and restart a part that dies, with back-off, while the others keep serving."""
from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import click

from tucluster.cli import embedded

BACKOFF_START, BACKOFF_MAX = 1.0, 30.0
# A part that stays up this long counts as healthy again: its next death restarts it at once.
HEALTHY_AFTER = 60.0
_held_locks: list = []  # open lock files: the lock lasts as long as the process


class StartupError(click.ClickException):
    """Why ``up`` cannot start, in one line (click prints it as ``Error: ...`` and exits 1)."""


def lock_data_dir(data_dir: str) -> None:
    """Hold ``data_dir/up.lock`` for this process's lifetime; StartupError if another ``up`` holds it."""
    path = os.path.join(data_dir, "up.lock")
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StartupError(f"the data directory {data_dir} is in use by another tucluster up ({holder}); "
                           "stop it or choose another --data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    _held_locks.append(handle)


def check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from None


def check_broker(url: str) -> None:
    """A configured broker must answer before anything starts."""
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:  # kombu raises transport-specific errors
        raise StartupError(f"the broker at {embedded.broker_host(url)} does not answer ({exc})") from None


@dataclass
class Part:
    """One supervised child: how to start it, and its restart bookkeeping."""
    name: str
    start: Callable[[], subprocess.Popen]
    process: subprocess.Popen | None = None
    started: float = 0.0
    backoff: float = BACKOFF_START
    restart_at: float | None = None
    restarts: int = field(default=0)

    def launch(self) -> None:
        self.process, self.started, self.restart_at = self.start(), time.monotonic(), None

    def check(self, now: float) -> None:
        """Restart the part once its back-off has passed after it died."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                click.echo(f"{self.name:<9} restarting (restart {self.restarts})")
                try:
                    self.launch()
                except Exception as exc:  # e.g. a database that cannot start yet: try again later
                    click.echo(f"{self.name:<9} did not start ({exc}); next try in {self.backoff:.0f} s", err=True)
                    self.restart_at, self.backoff = now + self.backoff, min(self.backoff * 2, BACKOFF_MAX)
            return
        if self.process is None or self.process.poll() is None:
            return
        if now - self.started >= HEALTHY_AFTER:
            self.backoff = BACKOFF_START
        self.restarts += 1
        click.echo(f"{self.name:<9} exited with code {self.process.returncode}; restarting in {self.backoff:.0f} s "
                   "while the other parts keep serving", err=True)
        self.restart_at, self.backoff = now + self.backoff, min(self.backoff * 2, BACKOFF_MAX)

    def stop(self) -> None:
        if self.process is not None:
            embedded.stop(self.process)


def python_part(name: str, argv: list[str], env: dict) -> Part:
    return Part(name, lambda: subprocess.Popen([sys.executable, "-m", "tucluster.cli", *argv], env=env))


def wait_until_serving(url: str, api: Part, timeout: float = 60.0) -> None:
    """Return once ``url``/ping answers; StartupError if the API exits or stays silent."""
    import requests

    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{url}/ping", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        if api.process.poll() is not None:
            raise StartupError(f"the API exited with code {api.process.returncode} before it answered; see above")
        if time.monotonic() > deadline:
            raise StartupError(f"the API did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)
