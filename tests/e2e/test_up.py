"""`tucluster up`: one command starts database, API and worker; stops cleanly; data survives."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import psutil
import pytest
import requests

from tests.support import simple_model, wait_for
from tucluster.cli import embedded


def start_up(data_dir, port, config_file, prefix, log):
    env = dict(os.environ, TUCLUSTER_QUEUE_PREFIX=prefix, TUCLUSTER_HEARTBEAT_SECONDS="1")
    env.pop("TUCLUSTER_MONGO_URI", None)
    return subprocess.Popen([sys.executable, "-m", "tucluster.cli", "up", "--port", str(port), "--data-dir",
                             str(data_dir), "--config", str(config_file), "--workers", "1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_up(process):
    children = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=15)
    return alive


def api_ready(url):
    try:
        return requests.get(f"{url}/health", timeout=2).json()["workers"]
    except (requests.RequestException, ValueError, KeyError):
        return None


@pytest.mark.timeout(240)
def test_up_runs_everything_and_keeps_data_across_restarts(tmp_path, config_file):
    port, prefix = embedded.free_port(), f"up-{uuid.uuid4().hex[:6]}."
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        process = start_up(tmp_path / "data", port, config_file, prefix, log)
        try:
            wait_for(lambda: api_ready(url), 90, interval=0.5, message="tucluster up to serve with a worker")
            response = requests.post(f"{url}/models", params={"name": "kept"}, data=simple_model(),
                                     headers={"Content-Type": "application/zip"}, timeout=30)
            assert response.status_code == 201, response.text
            run = requests.post(f"{url}/runs", json={"model": "kept", "entryPoint": "run.tcf", "engine": "fake"},
                                timeout=30).json()
            wait_for(lambda: requests.get(f"{url}/runs/{run['id']}", timeout=5).json()["state"] == "succeeded",
                     60, message="the run to succeed")
        finally:
            leftovers = stop_up(process)
        assert leftovers == [], f"children still alive after SIGTERM: {leftovers}"
        output = log_path.read_text()
        assert f"api       {url}/" in output and "RabbitMQ" in output and "stopped" in output

        process = start_up(tmp_path / "data", port, config_file, prefix, log)
        try:
            wait_for(lambda: api_ready(url) is not None, 90, interval=0.5, message="restart")
            assert requests.get(f"{url}/models/kept", timeout=5).status_code == 200
            assert requests.get(f"{url}/runs/{run['id']}", timeout=5).json()["state"] == "succeeded"
        finally:
            stop_up(process)
