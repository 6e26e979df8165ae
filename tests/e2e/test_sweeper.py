"""Nothing leaked: an upload cut off by a killed API process leaves GridFS chunks and a spool file that
the API's sweeper removes after its grace period; result files no run lists are removed, those of a
run a worker holds are kept."""
from __future__ import annotations

import io
import os
import signal
import socket

import psutil
import pytest

from tests.conftest import api_process
from tests.support import wait_for
from tucluster import states
from tucluster.services import sweeper
from tucluster.store import results as result_store
from tucluster.store import runs as run_store


def orphan_chunks(database) -> int:
    files = {doc["_id"] for doc in database.db["archives.files"].find({}, {"_id": 1})}
    return sum(1 for chunk in database.db["archives.chunks"].find({}, {"files_id": 1}) if chunk["files_id"] not in files)


@pytest.fixture
def api(settings, config_file, tmp_path):
    """`tucluster api` with a sweeper that has a grace of two seconds: (port, process, spool directory)."""
    with api_process(settings, config_file, tmp_path, TUCLUSTER_SWEEP_GRACE_SECONDS=2,
                     TUCLUSTER_SWEEP_INTERVAL_SECONDS=1) as (port, process):
        yield port, process, tmp_path / "data" / "uploads"


def test_an_upload_cut_off_by_a_killed_api_process_is_swept(api, database):
    port, process, spool = api
    before = orphan_chunks(database)
    body = os.urandom(12 * 1024 * 1024)  # over one 8 MB batch of chunks, of a 64 MB body announced
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /models?name=cut-off HTTP/1.1\r\nHost: test\r\nContent-Type: application/zip\r\n"
                       + f"Content-Length: {64 * 1024 * 1024}\r\n\r\n".encode() + body)
    wait_for(lambda: orphan_chunks(database) > before and any(spool.glob("upload-*")), 30,
             message="the upload's chunks and spool file")
    for child in psutil.Process(process.pid).children():
        child.send_signal(signal.SIGKILL)  # the API worker dies mid-body; gunicorn starts another
    connection.close()
    wait_for(lambda: orphan_chunks(database) == before and not any(spool.glob("upload-*")), 60,
             message="the sweeper to remove the cut-off upload")


def test_results_no_run_lists_are_swept_and_a_held_runs_are_kept(database, settings):
    ended = run_store.insert(database, dict(run_store.new({"kind": "simulation"}), state=states.FAILED))
    held = run_store.insert(database, dict(run_store.new({"kind": "simulation"}), state=states.RUNNING))
    stray = result_store.upload(database, ended["_id"], "grids/x.asc", io.BytesIO(b"ncols 1\n"))
    pending = result_store.upload(database, held["_id"], "grids/y.asc", io.BytesIO(b"ncols 1\n"))
    listed = result_store.upload(database, ended["_id"], "log.txt", io.BytesIO(b"done\n"))
    run_store.update(database, ended["_id"], {"results": [{"path": "log.txt", "size": 5, "fileId": listed}]})
    removed = sweeper.sweep(database, settings, grace_seconds=0)
    assert removed["resultFiles"] >= 1
    remaining = {doc["_id"] for doc in database.db["results.files"].find({}, {"_id": 1})}
    assert stray not in remaining and pending in remaining and listed in remaining
