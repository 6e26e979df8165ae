"""Online clustering: from a push of 1,000 points to the first SSE frame that includes them.

  python -m benchmarks.online [--pushes 30]        target: p50 < 1.5 s

Real services: an embedded database, RabbitMQ on 127.0.0.1:5672, the API under gunicorn and a
worker, as `tucluster up` runs them. A frame includes a push when its figures count the pushed
points (``pushedData``) and a centroids event of that iteration has been sent.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid

import numpy as np
import requests

from benchmarks.services import database, env_for, gunicorn, percentile, worker


def follow(url: str, seen: list, stop: threading.Event) -> None:
    with requests.get(url, stream=True, timeout=600) as response:
        name = None
        for line in response.iter_lines(chunk_size=1, decode_unicode=True):
            if stop.is_set():
                return
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "figures":
                seen.append((time.perf_counter(), json.loads(line[6:]).get("pushedData", 0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pushes", type=int, default=30)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    prefix = f"bench-{uuid.uuid4().hex[:6]}."
    rng = np.random.default_rng(0)
    centers = rng.uniform(-10, 10, size=(5, 2))
    with database() as (uri, _):
        env = env_for(uri, prefix)
        with worker(env, [sys.executable, "-m", "tucluster.cli", "worker", "--concurrency", "2",
                          "--loglevel", "WARNING"]), gunicorn("tucluster.app:get_app()", env) as (url, _):
            run = requests.post(f"{url}/runs", json={"kind": "clustering", "online": True, "variables": ["x", "y"],
                                                     "algorithm": {"name": "kmeans", "k": 5}, "seed": 1},
                                timeout=30).json()
            while requests.get(f"{url}/runs/{run['id']}", timeout=5).json()["state"] != "running":
                time.sleep(0.05)
            seen, stop = [], threading.Event()
            threading.Thread(target=follow, args=(f"{url}/runs/{run['id']}/events", seen, stop), daemon=True).start()
            time.sleep(1.0)
            latencies, total = [], 0
            for _ in range(args.pushes):
                points = centers[rng.integers(5, size=args.points)] + rng.normal(0, 0.5, size=(args.points, 2))
                sent = time.perf_counter()
                requests.post(f"{url}/runs/{run['id']}/push", json=points.round(4).tolist(), timeout=30).raise_for_status()
                total += args.points
                deadline = sent + 30
                while not any(t >= sent and pushed >= total for t, pushed in seen):
                    if time.perf_counter() > deadline:
                        raise RuntimeError("no frame included the push within 30 s")
                    time.sleep(0.005)
                arrival = min(t for t, pushed in seen if t >= sent and pushed >= total)
                latencies.append(arrival - sent)
                time.sleep(0.3)
            stop.set()
            requests.post(f"{url}/runs/{run['id']}/stop", timeout=5)
    p50, p90 = percentile(latencies, 0.5), percentile(latencies, 0.9)
    print(f"push of {args.points} points to the first SSE frame including them: p50 {p50 * 1000:.0f} ms, "
          f"p90 {p90 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms over {len(latencies)} pushes")
    print(f"p50 / 1.5 s target = {p50 / 1.5:.2f} (target < 1)")


if __name__ == "__main__":
    main()
