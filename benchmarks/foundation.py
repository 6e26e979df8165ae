"""Platform benchmarks of the foundation (run by hand; each prints its ratio against its anchor).

  python benchmarks/foundation.py polling   GET /runs/{id} req/s vs a minimal find_one resource (>= 0.8)
  python benchmarks/foundation.py latency   submit-to-running p50 vs a raw Celery round trip (<= 2)
  python benchmarks/foundation.py upload    1 GiB archive MB/s vs raw GridFS (>= 0.8), API peak RSS (< 150 MB)

Needs RabbitMQ on 127.0.0.1:5672 and wrk (Debian package) for `polling`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile

import gridfs
import psutil
import pymongo
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.services import ROOT, database, env_for, gunicorn, percentile, worker  # noqa: E402

TCF = "Output Folder == results\\\nEnd Time == 0.01\nFake Steps == 1\nFake Sleep == 0\n"


def wrk(url: str, seconds: int = 10) -> float:
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", url], capture_output=True, text=True, check=True)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1))


def polling(args) -> None:
    with database() as (uri, _):
        client = pymongo.MongoClient(uri)
        now = dt.datetime.now(dt.timezone.utc)
        run_id = uuid.uuid4().hex
        for i in range(args.runs):  # a realistic collection, not a single document
            client.bench.runs.insert_one({"_id": run_id if i == 0 else uuid.uuid4().hex, "taskId": str(uuid.uuid4()),
                                          "kind": "simulation", "state": "running", "progress": 0.5, "created": now,
                                          "updated": now, "model": "m", "entryPoint": "run.tcf", "engine": "fake",
                                          "overrides": {}, "results": [], "attempts": 1})
        env = env_for(uri, "bench.")
        results = {}
        for name, spec in (("minimal", "benchmarks.minimal_app:app"), ("platform", "tucluster.app:get_app()")):
            with gunicorn(spec, env, workers=2) as (url, _):
                requests.get(f"{url}/runs/{run_id}", timeout=5).raise_for_status()
                wrk(f"{url}/runs/{run_id}", 2)  # warm up
                results[name] = max(wrk(f"{url}/runs/{run_id}", args.seconds) for _ in range(args.repeat))
        print(f"GET /runs/{{id}} platform {results['platform']:.0f} req/s, minimal find_one {results['minimal']:.0f} req/s")
        print(f"ratio platform/minimal = {results['platform'] / results['minimal']:.2f} (target >= 0.8)")


def latency(args) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    engines = os.path.join(tempfile.mkdtemp(), "engines.toml")
    with open(engines, "w") as handle:
        handle.write('[engines.fake]\nkind = "command"\n'
                     f'command = ["{{python}}", "{ROOT}/tests/fake_engine.py", "{{control_file}}"]\n'
                     'entry_points = ["*.tcf"]\n')
    with database() as (uri, _):
        env = env_for(uri, prefix, TUCLUSTER_CONFIG=engines)
        raw_env = dict(env)
        with worker(raw_env, [sys.executable, "-m", "celery", "-A", "benchmarks.latency_tasks", "worker",
                              "-Q", prefix + "raw", "-n", f"raw-{os.getpid()}@%h", "-c", "2", "--without-gossip", "--without-mingle", "-l", "WARNING"]), \
                worker(env, [sys.executable, "-m", "tucluster.cli", "worker", "--concurrency", "2",
                             "--loglevel", "WARNING"]), \
                gunicorn("tucluster.app:get_app()", env) as (url, _):
            os.environ.update(env)  # the raw task module reads the broker and database from here
            from benchmarks.latency_tasks import app as raw_app

            client = pymongo.MongoClient(uri)
            body = _zip({"run.tcf": TCF})
            requests.post(f"{url}/models", params={"name": "tiny"}, data=body,
                          headers={"Content-Type": "application/zip"}, timeout=60).raise_for_status()
            time.sleep(3)  # both workers connected
            raw = []
            for _ in range(args.count):
                key = uuid.uuid4().hex
                raw_app.send_task("bench.started", args=[key, time.time()], queue=prefix + "raw")
                raw.append(_wait_doc(client.bench.raw, key)["delay"])
                time.sleep(0.05)
            platform = []
            for _ in range(args.count):
                run = requests.post(f"{url}/runs", json={"model": "tiny", "entryPoint": "run.tcf", "engine": "fake"},
                                    timeout=30).json()
                doc = _wait_doc(client.bench.runs, run["id"], lambda d: d.get("started"))
                platform.append((doc["started"] - doc["created"]).total_seconds())
                _wait_doc(client.bench.runs, run["id"], lambda d: d["state"] in ("succeeded", "failed"))
            p_raw, p_platform = percentile(raw, 0.5), percentile(platform, 0.5)
            print(f"submit-to-running p50: platform {p_platform * 1000:.1f} ms (p90 {percentile(platform, 0.9) * 1000:.1f}),"
                  f" raw Celery {p_raw * 1000:.1f} ms (p90 {percentile(raw, 0.9) * 1000:.1f})")
            print(f"ratio platform/raw = {p_platform / p_raw:.2f} (target <= 2)")


def _wait_doc(collection, key, ready=lambda d: True, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = collection.find_one({"_id": key})
        if doc and ready(doc):
            return doc
        time.sleep(0.002)
    raise RuntimeError(f"{key} not ready")


def _zip(files: dict) -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def upload(args) -> None:
    directory = tempfile.mkdtemp(prefix="bench-upload-")
    path = os.path.join(directory, "big.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:  # incompressible: grids already compressed
        archive.writestr("run.tcf", TCF)
        with archive.open("data/terrain.bin", "w", force_zip64=True) as member:
            for _ in range(args.mib):
                member.write(os.urandom(1024 * 1024))
    total = os.path.getsize(path)
    with database() as (uri, _):
        client = pymongo.MongoClient(uri)
        bucket = gridfs.GridFSBucket(client.bench, bucket_name="raw")
        start = time.perf_counter()
        with open(path, "rb") as handle:
            bucket.upload_from_stream("big.zip", handle)
        raw_seconds = time.perf_counter() - start
        env = env_for(uri, "bench.", TUCLUSTER_DATA_DIR=directory)
        with gunicorn("tucluster.app:get_app()", env, workers=2) as (url, master):
            peak = {"rss": 0}
            stop = threading.Event()

            def watch():
                while not stop.is_set():
                    for child in psutil.Process(master.pid).children():
                        peak["rss"] = max(peak["rss"], child.memory_info().rss)
                    time.sleep(0.05)
            watcher = threading.Thread(target=watch)
            watcher.start()
            start = time.perf_counter()
            with open(path, "rb") as handle:
                response = requests.post(f"{url}/models", params={"name": "big"}, data=handle,
                                         headers={"Content-Type": "application/zip"}, timeout=3600)
            api_seconds = time.perf_counter() - start
            stop.set()
            watcher.join()
            response.raise_for_status()
    os.unlink(path)
    raw_rate, api_rate = total / raw_seconds / 1e6, total / api_seconds / 1e6
    print(f"upload of {total / 2**20:.0f} MiB: API {api_rate:.1f} MB/s ({api_seconds:.1f} s), "
          f"raw GridFS {raw_rate:.1f} MB/s ({raw_seconds:.1f} s)")
    print(f"ratio API/raw = {api_rate / raw_rate:.2f} (target >= 0.8); API worker peak RSS "
          f"{peak['rss'] / 2**20:.0f} MB (target < 150 MB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("polling")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--runs", type=int, default=1000)
    p.set_defaults(func=polling)
    p = commands.add_parser("latency")
    p.add_argument("--count", type=int, default=40)
    p.set_defaults(func=latency)
    p = commands.add_parser("upload")
    p.add_argument("--mib", type=int, default=1024)
    p.set_defaults(func=upload)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
