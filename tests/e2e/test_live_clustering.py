"""Live views of online runs: the SSE stream, a flowsim-fed run, and the bubbles page in Chromium."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import requests

from tests.conftest import serve
from tests.e2e.clustering_support import blobs, finish, push, submit_online, wait_run
from tests.support import wait_for
from tucluster.cli.flowsim import Flow
from tucluster.cli.flowsim import create_app as flowsim_app

pytestmark = pytest.mark.usefixtures("worker")


def sse_events(url: str, until, timeout: float = 20.0):
    """Read an SSE stream, collecting (event, data, arrival time) until ``until(events)`` is true."""
    found = []
    with requests.get(url, stream=True, timeout=timeout) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name, deadline = None, time.monotonic() + timeout
        # chunk_size=1: arrival times are those of each event, not of a filled 512-byte buffer
        for line in response.iter_lines(chunk_size=1, decode_unicode=True):
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                found.append((name, json.loads(line[len("data: "):]), time.monotonic()))
                if until(found) or time.monotonic() > deadline:
                    break
    return found


def test_event_stream_sends_state_figures_and_centroids(client, live_url):
    run_id = submit_online(client, {"name": "kmeans", "k": 3})
    try:
        wait_run(client, run_id, lambda r: r["state"] == "running")
        push(client, run_id, blobs())
        events = sse_events(f"{live_url}/runs/{run_id}/events",
                            lambda found: sum(1 for e in found if e[0] == "figures") >= 4)
        names = [e[0] for e in events]
        assert names[0] == "state" and events[0][1]["state"] == "running"
        assert "centroids" in names
        centroids = next(e[1] for e in events if e[0] == "centroids")
        assert len(centroids["centers"]) == 3 and centroids["columns"] == ["x", "y"]
        figure_times = [e[2] for e in events if e[0] == "figures"]
        assert max(b - a for a, b in zip(figure_times, figure_times[1:])) <= 1.2
    finally:
        finish(client, run_id)


def test_event_stream_ends_after_the_final_state(client, live_url):
    run_id = submit_online(client, {"name": "kmeans", "k": 2})
    wait_run(client, run_id, lambda r: r["state"] == "running")
    client.simulate_post(f"/runs/{run_id}/cancel")
    wait_run(client, run_id, lambda r: r["state"] == "cancelled")
    events = sse_events(f"{live_url}/runs/{run_id}/events", lambda found: False, timeout=10)
    assert [e[1]["state"] for e in events if e[0] == "state"] == ["cancelled"]


@pytest.fixture(scope="module")
def flowsim_url():
    server, url = serve(flowsim_app(Flow(seed=3, rate=200, blobs=3, dim=2)))
    yield f"{url}/points"
    server.shutdown()


def test_flowsim_answers_a_window_of_points(flowsim_url):
    body = requests.get(flowsim_url, params={"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:00:01Z"},
                        timeout=5).json()
    assert len(body["points"]) == 200 and len(body["ts"]) == 200 and body["columns"] == ["x0", "x1"]
    again = requests.get(flowsim_url, params={"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:00:01Z"},
                         timeout=5).json()
    assert again == body
    assert requests.get(flowsim_url, params={"start": "yesterday", "stop": "x"}, timeout=5).status_code == 400


def test_run_fed_by_a_flow_source(client, flowsim_url):
    body = {"kind": "clustering", "online": True, "algorithm": {"name": "kmeans", "k": 3},
            "source": {"url": flowsim_url, "interval": 0.2}, "seed": 1}
    response = client.simulate_post("/runs", json=body)
    assert response.status_code == 202, response.text
    run_id = response.json["id"]
    try:
        run = wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData", 0) >= 400, 30,
                       "points pulled from the flow")
        assert run["phase"] in ("Running", "Idle")
        history = client.simulate_get(f"/runs/{run_id}/centroids/history").json
        assert len(history["frames"]) >= 2 and history["frames"][0]["columns"] == ["x0", "x1"]
        labels = {c["label"] for frame in history["frames"] for c in frame["centers"]}
        assert labels <= set(range(6))  # identities are kept, not renumbered every frame
        newer = client.simulate_get(f"/runs/{run_id}/centroids/history", params={"since": history["last"]}).json
        assert all(f["frame"] > history["last"] for f in newer["frames"])
    finally:
        finish(client, run_id)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium and ChromeDriver, installed on first use (the machines start without them)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        assert os.geteuid() == 0, "install chromium and chromium-driver (Debian packages) to run page tests"
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], check=True,
                       capture_output=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser(chromium, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,800", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromium[1]), options=options)
    yield driver
    driver.quit()


def test_bubbles_page_shows_live_clusters(client, live_url, browser, tmp_path):
    run_id = submit_online(client, {"name": "kmeans", "k": 3})
    try:
        wait_run(client, run_id, lambda r: r["state"] == "running")
        push(client, run_id, blobs())
        wait_run(client, run_id, lambda r: (r.get("figures") or {}).get("pushedData") == 300)
        browser.get(f"{live_url}/runs/{run_id}/view")
        wait_for(lambda: len(browser.find_elements("css selector", "circle.bubble")) == 3, 15,
                 message="three bubbles on the page")
        assert browser.find_element("id", "state").text == "running"
        tags = sorted(t.text for t in browser.find_elements("css selector", "text.tag"))
        assert tags == ["0 (100)", "1 (100)", "2 (100)"]
        wait_for(lambda: "pushedData" in browser.find_element("id", "figures").text, 10, message="figures")
        shot = tmp_path / "bubbles.png"
        browser.save_screenshot(str(shot))
        os.makedirs("tests/artifacts", exist_ok=True)
        shutil.copy(shot, "tests/artifacts/bubbles.png")
        client.simulate_post(f"/runs/{run_id}/stop")
        wait_for(lambda: browser.find_element("id", "state").text == "succeeded", 15, message="final state on page")
    finally:
        finish(client, run_id)
