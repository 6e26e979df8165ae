"""The ``tucluster`` command: run the platform (``platform``) and talk to it over HTTP (``client``)."""
from __future__ import annotations

import click

from tucluster.cli import client, platform


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """TuCluster: flood-model and clustering runs on Celery workers, behind a REST API."""


for _command in platform.COMMANDS + client.COMMANDS:
    main.add_command(_command)
