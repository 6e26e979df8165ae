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

from tests.conftest import BROKER, _delete_queues
from tests.support import simple_model, wait_for
from tucluster import settings as settings_module
from tucluster.cli import embedded


def start_up(data_dir, port, config_file, prefix, log):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUCLUSTER_")}
    env["TUCLUSTER_HEARTBEAT_SECONDS"] = "1"  # the broker: `up` finds RabbitMQ on localhost itself
    if prefix is not None:
        env["TUCLUSTER_QUEUE_PREFIX"] = prefix
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


def new_up(tmp_path):
    """(port, queue prefix, url, log path) for a fresh `tucluster up`."""
    port = embedded.free_port()
    return port, f"up-{uuid.uuid4().hex[:6]}.", f"http://127.0.0.1:{port}", tmp_path / "up.log"


@pytest.mark.timeout(240)
def test_up_runs_everything_and_keeps_data_across_restarts(tmp_path, config_file):
    port, prefix, url, log_path = new_up(tmp_path)
    with open(log_path, "wb") as log:
        process = start_up(tmp_path / "data", port, config_file, prefix, log)
        try:
            workers = wait_for(lambda: (lambda w: w if w and len(w) == 2 else None)(api_ready(url)), 90,
                               interval=0.5, message="tucluster up to serve with its two workers")
            online = [w for w in workers if w["queues"] == [f"{prefix}clustering.online"]]
            assert len(online) == 1  # online clustering runs have a worker of their own: no batch run starves
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
            delete_queues(prefix)


def delete_queues(prefix: str) -> None:
    _delete_queues(settings_module.load(environ={"TUCLUSTER_BROKER_URL": BROKER, "TUCLUSTER_QUEUE_PREFIX": prefix}))


@pytest.mark.timeout(300)
def test_two_deployments_on_one_broker_with_default_settings_keep_their_runs(tmp_path, config_file):
    """No queue prefix set: each `up` has its own database, so its own identity and queues."""
    deployments, processes, health = [], [], []
    try:
        for index in range(2):
            port = embedded.free_port()
            log = open(tmp_path / f"up-{index}.log", "wb")
            processes.append(start_up(tmp_path / f"data-{index}", port, config_file, None, log))
            deployments.append(f"http://127.0.0.1:{port}")
        for url in deployments:
            wait_for(lambda: api_ready(url), 90, interval=0.5, message=f"{url} to serve with a worker")
        health += [requests.get(f"{url}/health", timeout=5).json() for url in deployments]
        assert health[0]["deployment"] != health[1]["deployment"]
        assert health[0]["queuePrefix"] != health[1]["queuePrefix"]
        submitted = {}
        for url in deployments:
            response = requests.post(f"{url}/models", params={"name": "shared-name"}, data=simple_model(),
                                     headers={"Content-Type": "application/zip"}, timeout=30)
            assert response.status_code == 201, response.text
            submitted[url] = [requests.post(f"{url}/runs", timeout=30, json={
                "model": "shared-name", "entryPoint": "run.tcf", "engine": "fake",
                "overrides": {"Fake Sleep": "0.2"}}).json()["id"] for _ in range(4)]
        for url, workers in zip(deployments, ([w["name"] for w in h["workers"]] for h in health)):
            def ended(url=url):
                runs = [requests.get(f"{url}/runs/{run_id}", timeout=5).json() for run_id in submitted[url]]
                return runs if all(run["state"] in ("succeeded", "failed", "cancelled") for run in runs) else None
            runs = wait_for(ended, 90, interval=0.5, message=f"the runs of {url} to end")
            assert [run["state"] for run in runs] == ["succeeded"] * 4
            assert {run["worker"] for run in runs} <= set(workers)
            assert all(w.get("foreignMessages", 0) == 0 for w in requests.get(f"{url}/workers", timeout=5).json())
    finally:
        for process in processes:
            stop_up(process)
        for prefix in (h["queuePrefix"] for h in health):
            delete_queues(prefix)


@pytest.mark.timeout(240)
def test_up_restarts_a_part_that_dies_while_the_others_serve(tmp_path, config_file):
    port, prefix, url, log_path = new_up(tmp_path)
    with open(log_path, "wb") as log:
        process = start_up(tmp_path / "data", port, config_file, prefix, log)
        try:
            wait_for(lambda: api_ready(url), 90, interval=0.5, message="tucluster up to serve with a worker")
            database = next(p for p in psutil.Process(process.pid).children() if "secantusd" in " ".join(p.cmdline()))
            database.kill()
            statuses = []

            def answers_again():
                status = requests.get(f"{url}/models", timeout=15).status_code
                statuses.append(status)
                return status == 200
            wait_for(answers_again, 60, interval=0.2, message="the API to answer again after the database died")
            assert set(statuses) <= {200, 503}, statuses  # unavailable meanwhile, never an error
            worker = next(p for p in psutil.Process(process.pid).children()
                          if "worker" in p.cmdline() and "tucluster.cli" in p.cmdline())
            worker.kill()
            wait_for(lambda: worker.pid not in [p.pid for p in psutil.Process(process.pid).children()], 30,
                     message="the worker to be gone")
            response = requests.post(f"{url}/models", params={"name": "after"}, data=simple_model(),
                                     headers={"Content-Type": "application/zip"}, timeout=30)
            assert response.status_code == 201, response.text
            run = requests.post(f"{url}/runs", json={"model": "after", "entryPoint": "run.tcf", "engine": "fake"},
                                timeout=30).json()
            wait_for(lambda: requests.get(f"{url}/runs/{run['id']}", timeout=5).json()["state"] == "succeeded",
                     90, message="a run to succeed on the restarted worker")
        finally:
            stop_up(process)
            delete_queues(prefix)
    output = log_path.read_text()
    assert "database  exited with code -9; restarting" in output and "worker    exited with code -9" in output


def test_up_refuses_a_data_dir_in_use_and_a_taken_port_in_one_line(tmp_path, config_file):
    port, prefix = embedded.free_port(), f"up-{uuid.uuid4().hex[:6]}."
    with open(tmp_path / "first.log", "wb") as log:
        first = start_up(tmp_path / "data", port, config_file, prefix, log)
        try:
            wait_for(lambda: api_ready(f"http://127.0.0.1:{port}"), 90, interval=0.5, message="the first up")
            for data_dir, taken_port, reason in ((tmp_path / "data", embedded.free_port(), "is in use by another"),
                                                 (tmp_path / "other", port, f"cannot listen on 127.0.0.1:{port}")):
                second = subprocess.run([sys.executable, "-m", "tucluster.cli", "up", "--port", str(taken_port),
                                         "--data-dir", str(data_dir), "--config", str(config_file)],
                                        capture_output=True, text=True, timeout=60)
                assert second.returncode != 0
                assert reason in second.stderr and "Traceback" not in second.stderr + second.stdout
                assert "api " not in second.stdout  # nothing printed as ready
        finally:
            stop_up(first)
            delete_queues(prefix)
