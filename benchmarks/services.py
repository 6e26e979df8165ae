"""Shared set-up for the platform benchmarks: a database server, API processes, workers."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import requests

from tucluster.cli import embedded

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextmanager
def database():
    directory = tempfile.mkdtemp(prefix="bench-db-")
    process, uri = embedded.start_secantus(os.path.join(directory, "db"))
    try:
        yield uri, directory
    finally:
        embedded.stop(process)


def env_for(uri: str, prefix: str, **extra) -> dict:
    env = dict(os.environ, TUCLUSTER_MONGO_URI=uri, TUCLUSTER_DATABASE="bench", TUCLUSTER_QUEUE_PREFIX=prefix,
               TUCLUSTER_BROKER_URL="amqp://guest:guest@127.0.0.1:5672//", PYTHONPATH=ROOT)
    env.update({key: str(value) for key, value in extra.items()})
    return env


@contextmanager
def gunicorn(app_spec: str, env: dict, workers: int = 2, threads: int = 8):
    port = embedded.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app_spec, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--worker-class", "gthread", "--log-level", "warning", "--timeout", "3600"],
        env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/ping", timeout=1)
            break
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{app_spec} did not start")
            time.sleep(0.2)
    try:
        yield url, process
    finally:
        embedded.stop(process)


@contextmanager
def worker(env: dict, argv: list[str]):
    log = open(os.path.join(tempfile.gettempdir(), f"bench-worker-{os.getpid()}-{len(argv)}.log"), "wb")
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process
    finally:
        embedded.stop(process)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
