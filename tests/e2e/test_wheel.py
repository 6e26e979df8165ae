"""The wheel is a working package: built with ``pip wheel .``, installed with its dependencies into a
fresh virtual environment (not editable, repository not importable), its ``tucluster up`` starts the
embedded database, the API and a worker and answers ``GET /ping``; the shipped data files
(``defaults.toml``, ``web/bubbles.html``) are inside the installed package."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import BROKER, ROOT, _delete_queues
from tests.support import wait_for
from tucluster import settings as settings_module
from tucluster.cli import embedded

# Variables through which the outer (editable) environment could leak into the fresh one.
LEAKY = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV"}


def run(argv, timeout, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)
    assert result.returncode == 0, f"{argv} failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}"
    return result.stdout


def builds_without_isolation() -> bool:
    """Can this environment's setuptools build a wheel itself (bdist_wheel: setuptools >= 70.1 or `wheel`)?"""
    if importlib.util.find_spec("wheel") is not None:
        return True
    major, minor = (int(part) for part in importlib.metadata.version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1)


def build_wheel(out: Path) -> Path:
    # From a copy of the tree: setuptools reuses a build/ folder, which could carry modules the
    # repository no longer has into the wheel.
    source = out.parent / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info",
                                                                 "__pycache__", ".tucluster", ".pytest_cache"))
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(source)]
    if builds_without_isolation():
        argv.insert(4, "--no-build-isolation")
    # else pip fetches setuptools and wheel into an isolated build environment from the configured index.
    run(argv, timeout=300)
    wheels = list(out.glob("tucluster-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def fresh_env(venv: Path, **values) -> dict:
    """The outer environment without TUCLUSTER_* settings, Python path variables or the outer venv's bin."""
    outer_bin = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUCLUSTER_") and k not in LEAKY}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and os.path.abspath(p) != outer_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin")] + path)
    env.update(values)
    return env


@pytest.fixture
def venv(tmp_path) -> Path:
    """A fresh virtual environment with the wheel and its dependencies installed from the index."""
    wheel = build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", str(wheel)], timeout=300, env=fresh_env(venv))
    return venv


def stop(process: subprocess.Popen) -> list:
    """SIGTERM `tucluster up` (it stops its children), then SIGKILL whatever is left; returns the leftovers."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    finally:
        _, alive = psutil.wait_procs(children, timeout=15)
        leftovers = alive + ([process] if process.poll() is None else [])
        for child in alive:  # the database runs in a session of its own, out of reach of killpg
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)
    return leftovers


@pytest.mark.timeout(600)
def test_wheel_installed_in_a_fresh_venv_runs_up_and_answers_ping(venv, tmp_path):
    workdir = tmp_path / "empty"  # the cwd: nothing of the repository importable through it
    workdir.mkdir()
    port, prefix = embedded.free_port(), f"wheel-{uuid.uuid4().hex[:8]}."
    env = fresh_env(venv, TUCLUSTER_BROKER_URL=BROKER, TUCLUSTER_QUEUE_PREFIX=prefix)

    where = run([str(venv / "bin" / "python"), "-c",
                 "import tucluster, tucluster.settings as s; print(tucluster.__file__); print(s.DEFAULTS_FILE)"],
                timeout=60, cwd=workdir, env=env).split()
    package, defaults = Path(where[0]).resolve(), Path(where[1]).resolve()
    assert package.is_relative_to(venv.resolve()) and defaults.is_relative_to(venv.resolve()), where
    assert defaults.is_file(), f"{defaults} is not in the wheel"
    assert (package.parent / "web" / "bubbles.html").is_file()

    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(venv / "bin" / "tucluster"), "up", "--port", str(port), "--data-dir", str(tmp_path / "data"),
             "--concurrency", "1", "--workers", "1"],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        try:
            def pong():
                if process.poll() is not None:
                    raise AssertionError(f"tucluster up exited with code {process.returncode}")
                try:
                    response = requests.get(f"{url}/ping", timeout=2)
                except requests.RequestException:
                    return None
                return response if response.status_code == 200 else None

            try:
                response = wait_for(pong, 90, interval=0.5, message="the installed tucluster up to answer /ping")
            except AssertionError as error:
                raise AssertionError(f"{error}; its output ends:\n{log_path.read_text()[-4000:]}") from None
            assert response.json() == {"pong": True}
        finally:
            leftovers = stop(process)
            _delete_queues(settings_module.load(environ={"TUCLUSTER_BROKER_URL": BROKER,
                                                         "TUCLUSTER_QUEUE_PREFIX": prefix}))
    assert leftovers == [], f"still alive after SIGTERM: {leftovers}"
    assert "stopped" in log_path.read_text()
