"""Start the embedded services: a SecantusDB server (MongoDB wire protocol) and broker discovery.

Used by ``tucluster up`` and by the test suite's fixtures, so both run the platform the same way.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pymongo

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def secantus_executable() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "secantusd-py")
    found = beside if os.path.exists(beside) else shutil.which("secantusd-py")
    if not found:
        raise RuntimeError("secantusd-py not found: install the embedded database with "
                           "pip install 'SecantusDB==0.7.0b3', or set TUCLUSTER_MONGO_URI")
    return found


def wait_for_mongo(uri: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=250, connectTimeoutMS=250)
    try:
        while True:
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.ConnectionFailure:
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"the database server exited with code {process.returncode}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the database at {uri} did not answer within {timeout:.0f} s")
                time.sleep(0.1)
    finally:
        client.close()


def start_secantus(storage: str, host: str = "127.0.0.1", port: int | None = None,
                   log_path: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start SecantusDB on ``storage`` (a directory, or ':memory:'); returns (process, uri)."""
    port = port or free_port(host)
    if storage != ":memory:":
        os.makedirs(storage, exist_ok=True)
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [secantus_executable(), "--host", host, "--port", str(port), "--storage-path", storage,
         "--log-level", "WARNING"],
        stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    uri = f"mongodb://{host}:{port}/"
    try:
        wait_for_mongo(uri, process=process)
    except BaseException:
        stop(process)
        raise
    log.info("SecantusDB listening on %s (data in %s)", uri, storage)
    return process, uri


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def choose_broker(configured: str, data_dir: str) -> tuple[str, str]:
    """(broker URL, why): the configured one, RabbitMQ on localhost, or a filesystem spool."""
    if configured:
        return configured, "configured"
    if reachable("127.0.0.1", 5672):
        return "amqp://guest:guest@127.0.0.1:5672//", "RabbitMQ found on 127.0.0.1:5672"
    spool = os.path.join(os.path.abspath(data_dir), "broker")
    os.makedirs(spool, exist_ok=True)
    return "filesystem://", (f"no RabbitMQ on 127.0.0.1:5672: using kombu's filesystem transport under "
                             f"{spool} (single machine only)")


def broker_host(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.hostname or ''}:{parsed.port or ''}"
