"""Real services for the tests: a SecantusDB server on a free port, RabbitMQ (queues prefixed per
test session so parallel runs do not collide) and real Celery worker subprocesses."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from falcon import testing

from tests.support import wait_for
from tucluster.cli import embedded
from tucluster import settings as settings_module
from tucluster.app import create_app
from tucluster.store import Database

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("TUCLUSTER_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tucluster")


@pytest.fixture(scope="session")
def mongo_uri(session_dir):
    process, uri = embedded.start_secantus(str(session_dir / "db"), log_path=str(session_dir / "db.log"))
    yield uri
    embedded.stop(process)


@pytest.fixture(scope="session")
def config_file(session_dir) -> Path:
    """Engines for the tests: the built-in swe2d, and a fake external executable under two names."""
    fake = ["{python}", str(ROOT / "tests" / "fake_engine.py"), "{control_file}"]
    pattern = r"progress (?P<fraction>[\d.]+)"
    lines = []
    for name in ("fake", "remote"):
        lines += [f"[engines.{name}]", 'kind = "command"', f"command = {fake!r}".replace("'", '"'),
                  'entry_points = ["*.tcf"]', f"progress_pattern = '{pattern}'", ""]
    path = session_dir / "engines.toml"
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="session")
def settings(mongo_uri, session_dir, config_file):
    tag = uuid.uuid4().hex[:8]
    base = settings_module.load(environ={}, path=config_file)
    return base.replace(mongo_uri=mongo_uri, database=f"test_{tag}", broker_url=BROKER,
                        queue_prefix=f"test-{tag}.", data_dir=str(session_dir / "data"),
                        scratch_dir=str(session_dir / "scratch-api"), heartbeat_seconds=1.0,
                        stale_after_seconds=15.0, kill_grace_seconds=1.0, requeue_after_seconds=5.0)


def worker_env(settings, config_file, scratch: Path) -> dict:
    env = dict(os.environ, TUCLUSTER_CONFIG=str(config_file))
    for name in ("mongo_uri", "database", "broker_url", "queue_prefix", "heartbeat_seconds",
                 "stale_after_seconds", "kill_grace_seconds", "requeue_after_seconds", "max_attempts",
                 "db_patience_seconds"):
        env[f"TUCLUSTER_{name.upper()}"] = str(getattr(settings, name))
    env["TUCLUSTER_SCRATCH_DIR"] = str(scratch)
    env["TUCLUSTER_DATA_DIR"] = str(scratch.parent / f"{scratch.name}-data")
    return env


class WorkerProcess:
    """A `tucluster worker` subprocess, as an HPC node would run it."""

    def __init__(self, settings, config_file, scratch: Path, name: str, engines: str | None = None,
                 concurrency: int = 2):
        self.name, self.scratch = name, scratch
        argv = [sys.executable, "-m", "tucluster.cli", "worker", "--name", name, "--concurrency",
                str(concurrency), "--loglevel", "INFO"]
        if engines:
            argv += ["--engines", engines]
        self.log_path = scratch.parent / f"{name.split('@')[0]}.log"
        self.process = subprocess.Popen(argv, env=worker_env(settings, config_file, scratch), cwd=ROOT,
                                        stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, database: Database, timeout: float = 60.0):
        try:
            self._wait(database, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait(self, database: Database, timeout: float):
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            return database.db.workers.find_one({"_id": self.name})
        wait_for(ready, timeout, message=f"worker {self.name} heartbeat")

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextlib.contextmanager
def api_process(settings, config_file, directory: Path, **env):
    """`tucluster api` (gunicorn, one worker process) as deployed: (port, process). ``env``: more
    TUCLUSTER_* settings; its data directory is ``directory/data``."""
    import requests

    environ = dict(worker_env(settings, config_file, directory / "scratch"), TUCLUSTER_DATA_DIR=str(directory / "data"),
                   **{key: str(value) for key, value in env.items()})
    port = embedded.free_port()
    process = subprocess.Popen([sys.executable, "-m", "tucluster.cli", "api", "--port", str(port), "--workers", "1"],
                               env=environ, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/ping", timeout=1).ok
        except requests.RequestException:
            return False
    try:
        wait_for(up, 60, interval=0.2, message="the API to start")
        yield port, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def engine_processes(run_id: str) -> list:
    """The guard and engine processes of a run: their command lines name its work copy."""
    import psutil

    return [process for process in psutil.process_iter(["cmdline"])
            if any(run_id in part for part in process.info["cmdline"] or [])]


def run_in_flight(client, model: str, settings, config_file, session_dir: Path, database, role: str,
                  seconds: int) -> tuple[WorkerProcess, str]:
    """A worker of its own serving the "remote" engine, and a run of ``seconds`` it is executing, its
    engine started: (the worker, the run id). Nothing is left behind when that fails."""
    from tests.support import submit_simulation, wait_state

    worker = WorkerProcess(settings, config_file, session_dir / f"scratch-{role}", worker_name(settings, role),
                           engines="remote", concurrency=1).wait_ready(database)
    run_id = submit_simulation(client, model, "run.tcf", "remote",
                               {"Fake Steps": str(seconds), "Fake Sleep": str(seconds)})["id"]
    try:
        wait_state(client, run_id, "running")
        wait_for(lambda: len(engine_processes(run_id)) >= 2, 30, message="the guard and its engine")
    except BaseException:
        client.simulate_post(f"/runs/{run_id}/cancel")
        worker.stop()
        raise
    return worker, run_id


@pytest.fixture(scope="session")
def database(settings):
    database = Database(settings)
    database.ensure_indexes()
    yield database
    database.client.drop_database(settings.database)
    database.close()


@pytest.fixture(scope="session")
def worker(settings, config_file, session_dir, database):
    process = WorkerProcess(settings, config_file, session_dir / "scratch-main", worker_name(settings, "main"),
                            engines="swe2d,fake").wait_ready(database)
    yield process
    process.stop()
    _delete_queues(settings)


def worker_name(settings, role: str) -> str:
    # Node names are global on the broker: unique per test session.
    return f"{role}-{settings.queue_prefix.strip('.')}@test"


def _delete_queues(settings):
    from qflow.app import make_celery

    celery = make_celery(settings)
    with celery.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in celery.conf.task_queues:
            try:
                channel.queue_delete(queue.name)
            except Exception:  # a queue never declared is fine
                pass


@pytest.fixture(scope="session")
def app(settings, database):
    return create_app(settings, store=database)


@pytest.fixture
def client(app):
    return testing.TestClient(app)


def serve(wsgi_app):
    """Serve a WSGI app on a free port in a thread (streams responses chunk by chunk)."""
    import threading
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, wsgi_app, server_class=Server, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture(scope="session")
def live_url(app):
    server, url = serve(app)
    yield url
    server.shutdown()
