"""Client commands of ``tucluster``: the HTTP API from a shell, for scripts and job files."""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import click
import requests

URL = click.option("--url", envvar="TUCLUSTER_URL", default="http://127.0.0.1:8000", show_default=True,
                   help="API address (or TUCLUSTER_URL).")


def _check(response: requests.Response) -> requests.Response:
    if response.status_code >= 400:
        try:
            body = response.json()
            message = f"{body.get('title')}: {body.get('description')}"
        except ValueError:
            message = response.text
        raise click.ClickException(f"HTTP {response.status_code} {message}")
    return response


def _echo(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def zip_folder(folder: str) -> str:
    """Zip a model folder's contents (not the folder itself) into a temporary file."""
    handle = tempfile.NamedTemporaryFile(suffix=".zip", delete=False)
    with handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return handle.name


@click.command()
@click.argument("archive", type=click.Path(exists=True))
@click.option("--name", required=True, help="Model name.")
@click.option("--description", default="")
@URL
def upload(archive, name, description, url):
    """Upload a model: a zip ARCHIVE, or a folder (zipped on the fly)."""
    path = zip_folder(archive) if os.path.isdir(archive) else archive
    try:
        with open(path, "rb") as handle:
            response = requests.post(f"{url}/models", params={"name": name, "description": description},
                                     data=handle, headers={"Content-Type": "application/zip"}, timeout=3600)
    finally:
        if path != archive:
            os.unlink(path)
    _echo(_check(response).json())


@click.command()
@click.argument("model")
@click.argument("entry_point")
@click.option("--engine", default=None, help="Engine name (default: the first that runs the entry point).")
@click.option("--set", "overrides", multiple=True, metavar="COMMAND=VALUE",
              help="Control-file override, e.g. --set 'End Time=0.1' (repeatable).")
@URL
def submit(model, entry_point, engine, overrides, url):
    """Submit a simulation run of MODEL's ENTRY_POINT; prints the run and task ids."""
    body = {"kind": "simulation", "model": model, "entryPoint": entry_point, "engine": engine,
            "overrides": dict(item.split("=", 1) for item in overrides)}
    _echo(_check(requests.post(f"{url}/runs", json=body, timeout=30)).json())


@click.command()
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Poll until the run has ended.")
@URL
def status(run_id, wait, url):
    """Show a run (state, progress, error)."""
    while True:
        run = _check(requests.get(f"{url}/runs/{run_id}", timeout=30)).json()
        if not wait or run["state"] in ("succeeded", "failed", "cancelled"):
            _echo(run)
            return
        click.echo(f"{run['state']} {run.get('progress', 0):.0%}", err=True)
        time.sleep(1)


@click.command()
@click.argument("run_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the run has ended.")
@URL
def logs(run_id, follow, url):
    """Print a run's log."""
    offset = 0
    while True:
        body = _check(requests.get(f"{url}/runs/{run_id}/logs", params={"offset": offset}, timeout=30)).json()
        sys.stdout.write(body["text"])
        sys.stdout.flush()
        offset = body["nextOffset"]
        if body["complete"] or not follow:
            return
        time.sleep(0.5 if not body["text"] else 0)


@click.command()
@click.argument("run_id")
@click.option("--output", "-o", default=None, help="File to write (default run-<id>-results.zip).")
@URL
def download(run_id, output, url):
    """Download every result of a run as one zip."""
    output = output or f"run-{run_id}-results.zip"
    with _check(requests.get(f"{url}/runs/{run_id}/results.zip", stream=True, timeout=3600)) as response:
        with open(output, "wb") as handle:
            for chunk in response.iter_content(1024 * 1024):
                handle.write(chunk)
    click.echo(output)


@click.command()
@click.argument("run_id")
@URL
def cancel(run_id, url):
    """Cancel a queued or running run."""
    _echo(_check(requests.post(f"{url}/runs/{run_id}/cancel", timeout=30)).json())


COMMANDS = (upload, submit, status, logs, download, cancel)
