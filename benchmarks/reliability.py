"""Faults injected into a running platform, and what they cost: runs lost, runs stuck, files leaked.

  python -m benchmarks.reliability [--runs 8]      writes benchmarks/reliability.md; target: all zero

Real services: an embedded database, RabbitMQ on 127.0.0.1:5672, the API under gunicorn (with its
sweeper) and two `tucluster worker` processes on scratch directories of their own, running the
stand-in external engine of the tests. Each fault hits runs in flight; afterwards every run must
end `succeeded`, and nothing may be left: GridFS chunks without a file, result files no run lists,
work copies of ended runs, engine processes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psutil
import requests

from benchmarks.services import ROOT, database, env_for, gunicorn
from tucluster.settings import load
from tucluster.store import Database

FAKE_ENGINE = Path(ROOT) / "tests" / "fake_engine.py"  # the tests' stand-in for an external executable
CONFIG = "\n".join(['[engines.fake]', 'kind = "command"',
                    f'command = ["{{python}}", "{FAKE_ENGINE}", "{{control_file}}"]',
                    'entry_points = ["*.tcf"]', r"progress_pattern = 'progress (?P<fraction>[\d.]+)'", ""])
TCF = "Geometry Control File == grid.tgc\nTimestep == 1\nEnd Time == 0.5\nOutput Folder == results\\\n"
FINAL = ("succeeded", "failed", "cancelled")


def model_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("run.tcf", TCF)
        archive.writestr("grid.tgc", "Grid Size (X,Y) == 100, 50\nCell Size == 10\nSet Zpts == 0\n")
    return buffer.getvalue()


def wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.25)


class Platform:
    def __init__(self, stack: ExitStack, workdir: Path):
        self.workdir = workdir
        self.uri, _ = stack.enter_context(database())
        config = workdir / "engines.toml"
        config.write_text(CONFIG)
        self.env = env_for(self.uri, f"rel-{uuid.uuid4().hex[:6]}.", TUCLUSTER_CONFIG=config,
                           TUCLUSTER_HEARTBEAT_SECONDS=1, TUCLUSTER_STALE_AFTER_SECONDS=10,
                           TUCLUSTER_REQUEUE_AFTER_SECONDS=5, TUCLUSTER_KILL_GRACE_SECONDS=1,
                           TUCLUSTER_SWEEP_GRACE_SECONDS=3, TUCLUSTER_SWEEP_INTERVAL_SECONDS=1,
                           TUCLUSTER_DATA_DIR=workdir / "api")
        self.settings = load(environ={k: v for k, v in self.env.items() if k.startswith("TUCLUSTER_")})
        self.database = Database(self.settings)
        self.url, self.api = stack.enter_context(gunicorn("tucluster.app:get_app()", self.env, workers=1))
        self.workers: dict[str, subprocess.Popen] = {}
        stack.callback(self.stop_workers)
        for name in ("a", "b"):
            self.start_worker(name)
        requests.post(f"{self.url}/models", params={"name": "m"}, data=model_zip(),
                      headers={"Content-Type": "application/zip"}, timeout=30).raise_for_status()

    def start_worker(self, name: str) -> None:
        node = f"{name}-{uuid.uuid4().hex[:4]}@reliability"
        env = dict(self.env, TUCLUSTER_SCRATCH_DIR=str(self.workdir / f"scratch-{name}"))
        log = open(self.workdir / f"worker-{name}.log", "ab")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "tucluster.cli", "worker", "--name", node, "--concurrency", "2",
             "--loglevel", "WARNING"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait(lambda: self.database.db.workers.find_one({"_id": node}), 60, f"worker {node}")

    def stop_workers(self) -> None:
        for process in self.workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)

    def submit(self, count: int, seconds: float) -> list[str]:
        body = {"model": "m", "entryPoint": "run.tcf", "engine": "fake",
                "overrides": {"Fake Sleep": str(seconds), "Fake Steps": str(max(2, int(seconds * 2)))}}
        return [requests.post(f"{self.url}/runs", json=body, timeout=30).json()["id"] for _ in range(count)]

    def wait_running(self, run_ids: list[str]) -> None:
        wait(lambda: self.database.db.runs.count_documents({"_id": {"$in": run_ids}, "state": "running"}), 60,
             "a run to start")

    def outcome(self, run_ids: list[str], timeout: float) -> tuple[int, int]:
        """(runs lost: ended otherwise than succeeded; runs stuck: not ended by the deadline)."""
        try:
            wait(lambda: self.database.db.runs.count_documents({"_id": {"$in": run_ids}, "state": {"$in": FINAL}})
                 == len(run_ids), timeout, "runs to end")
        except TimeoutError:
            pass
        runs = list(self.database.db.runs.find({"_id": {"$in": run_ids}}, {"state": 1}))
        lost = sum(1 for run in runs if run["state"] in FINAL and run["state"] != "succeeded")
        return lost + len(run_ids) - len(runs), sum(1 for run in runs if run["state"] not in FINAL)

    def leaked(self) -> int:
        """Chunks without a file, result files no run lists, work copies of ended runs, engines left."""
        from tucluster.store import results, uploads

        now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
        orphans = len(uploads.abandoned(self.database, "archives", now)) + len(uploads.abandoned(
            self.database, "results", now)) + len(results.unreferenced(self.database, now))
        copies = 0
        for scratch in self.workdir.glob("scratch-*"):
            for entry in scratch.iterdir():
                run = self.database.db.runs.find_one({"_id": entry.name}, {"state": 1})
                copies += run is None or run["state"] in FINAL
        engines = sum(1 for p in psutil.process_iter(["cmdline"]) if "qflow.guard" in " ".join(p.info["cmdline"] or [])
                      and str(self.workdir) in " ".join(p.info["cmdline"] or []))
        return orphans + copies + engines

    def quiet_leaks(self, timeout: float = 30) -> int:
        """Leaks once the sweepers' grace has passed (what is left is a real leak)."""
        try:
            wait(lambda: self.leaked() == 0, timeout, "the sweepers")
        except TimeoutError:
            pass
        return self.leaked()


def database_stall(platform: Platform, runs: int) -> list[str]:
    ids = platform.submit(runs, 1.5)
    platform.wait_running(ids)
    server = next(p for p in psutil.process_iter(["cmdline"]) if "secantusd-py" in " ".join(p.info["cmdline"] or [])
                  and platform.uri.rsplit(":", 1)[-1].strip("/") in " ".join(p.info["cmdline"]))
    server.send_signal(signal.SIGSTOP)
    time.sleep(20)
    server.send_signal(signal.SIGCONT)
    return ids


def worker_killed(platform: Platform, runs: int) -> list[str]:
    ids = platform.submit(runs, 4)
    platform.wait_running(ids)
    os.killpg(platform.workers["a"].pid, signal.SIGKILL)
    platform.workers["a"].wait()
    platform.start_worker("a")
    return ids


def task_process_killed(platform: Platform, runs: int) -> list[str]:
    ids = platform.submit(runs, 4)
    platform.wait_running(ids)
    guard = wait(lambda: next((p for p in psutil.process_iter(["cmdline"])
                               if "qflow.guard" in " ".join(p.info["cmdline"] or [])), None), 30, "an engine")
    guard.parent().send_signal(signal.SIGKILL)
    return ids


def worker_stopped(platform: Platform, runs: int) -> list[str]:
    ids = platform.submit(runs, 4)
    platform.wait_running(ids)
    platform.workers["b"].send_signal(signal.SIGTERM)
    platform.workers["b"].wait(timeout=60)
    platform.start_worker("b")
    return ids


def upload_cut_off(platform: Platform, runs: int) -> list[str]:
    port = int(platform.url.rsplit(":", 1)[-1])
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /models?name=cut HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\n"
                       b"Content-Length: 67108864\r\n\r\n" + os.urandom(12 * 1024 * 1024))
    time.sleep(2)
    for child in psutil.Process(platform.api.pid).children():
        child.send_signal(signal.SIGKILL)
    connection.close()
    return platform.submit(runs, 1)


FAULTS = [
    ("database stopped (SIGSTOP) for 20 s with runs queued and running", database_stall),
    ("worker killed (SIGKILL to its process group) mid-run", worker_killed),
    ("worker task process killed (SIGKILL) mid-run", task_process_killed),
    ("worker stopped (SIGTERM to its main process) mid-run", worker_stopped),
    ("upload cut off by a killed API process", upload_cut_off),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="runs in flight per fault")
    parser.add_argument("--output", default=str(Path(ROOT) / "benchmarks" / "reliability.md"))
    args = parser.parse_args()
    rows, started = [], time.monotonic()
    with ExitStack() as stack:
        platform = Platform(stack, Path(tempfile.mkdtemp(prefix="reliability-")))
        for name, fault in FAULTS:
            began = time.monotonic()
            ids = fault(platform, args.runs)
            lost, stuck = platform.outcome(ids, timeout=240)
            leaked = platform.quiet_leaks()
            rows.append((name, len(ids), lost, stuck, leaked, time.monotonic() - began))
            print(f"{name}: {len(ids)} runs, lost {lost}, stuck {stuck}, leaked {leaked}", flush=True)
    table = ["| fault injected | runs | runs lost | runs stuck | files leaked | seconds |", "|---|---|---|---|---|---|"]
    table += [f"| {name} | {runs} | {lost} | {stuck} | {leaked} | {seconds:.0f} |"
              for name, runs, lost, stuck, leaked, seconds in rows]
    Path(args.output).write_text(
        "# Reliability under faults\n\nWritten by `python -m benchmarks.reliability` "
        f"({dt.date.today().isoformat()}, {time.monotonic() - started:.0f} s). Target: every count zero.\n\n"
        "Runs lost: runs that ended otherwise than `succeeded` or vanished. Runs stuck: not ended 240 s after "
        "the fault. Files leaked: GridFS chunks without a file, result files no run lists, work copies of ended "
        "runs and engine processes still there once the sweepers' grace has passed.\n\n"
        + "\n".join(table) + "\n")
    print("\n".join(table))
    return 0 if all(lost == stuck == leaked == 0 for _, _, lost, stuck, leaked, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
