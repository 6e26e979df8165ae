"""Commands that run the platform: ``up`` (everything on one machine), ``api``, ``worker``, ``flowsim``."""
from __future__ import annotations

import logging
import os
import signal
import sys
import time

import click

from tucluster import settings as settings_module
from tucluster.cli import embedded, supervisor

log = logging.getLogger("tucluster")
CONFIG = click.option("--config", "config", type=click.Path(exists=True, dir_okay=False),
                      envvar="TUCLUSTER_CONFIG", help="TOML file merged over the defaults.")
# gunicorn settings shipped in the package (config/gunicorn.conf.py builds on them for deployments).
GUNICORN_CONFIG = "python:tucluster.cli.gunicorn_conf"

def _load(config):
    return settings_module.load(path=config)


def _child_env(config, **values) -> dict:
    env = dict(os.environ)
    if config:
        env["TUCLUSTER_CONFIG"] = os.path.abspath(config)
    env.update({f"TUCLUSTER_{k.upper()}": str(v) for k, v in values.items() if v is not None})
    return env


def _bound_to_its_deployment(settings):
    """Queue names of the deployment the database belongs to: a worker consumes only for its database."""
    from qflow import routing
    from qflow.lifecycle import patiently
    from tucluster.store import Database

    database = Database(settings)
    try:
        settings = patiently(lambda: routing.bound(settings, database), settings, "reading the deployment identity")
    except Exception as exc:
        raise click.ClickException(f"cannot reach the database at {settings.effective_mongo_uri}: {exc}") from None
    finally:
        database.close()
    log.info("queues of this deployment start with %r", settings.queue_prefix)
    return settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the API listens on.")
@click.option("--port", default=8000, show_default=True, help="Port the API listens on.")
@click.option("--data-dir", default=".tucluster", show_default=True, help="Database, spool, scratch and logs.")
@click.option("--workers", "api_workers", default=2, show_default=True, help="API processes.")
@click.option("--concurrency", default=2, show_default=True, help="Runs the worker executes at once.")
@click.option("--online-concurrency", default=2, show_default=True,
              help="Online clustering runs at once (a worker of their own: they hold a slot until stopped).")
@CONFIG
def up(host, port, data_dir, api_workers, concurrency, online_concurrency, config):
    """Start everything on one machine: database, API and one worker on all queues.

    The database is an embedded SecantusDB server under DATA_DIR unless TUCLUSTER_MONGO_URI is set;
    the broker is TUCLUSTER_BROKER_URL, else RabbitMQ on localhost when reachable, else a
    filesystem spool under DATA_DIR. A part that dies is restarted (with back-off) while the
    others keep serving. Ctrl-C stops every part; data survives a restart.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _load(config)
    data_dir = os.path.abspath(data_dir)
    os.makedirs(os.path.join(data_dir, "logs"), exist_ok=True)
    supervisor.lock_data_dir(data_dir)
    supervisor.check_port_free(host, port)
    if settings.broker_url:
        supervisor.check_broker(settings.broker_url)
    parts: list[supervisor.Part] = []
    stopping = []

    def shutdown(*_):
        stopping.append(True)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        mongo_uri = settings.mongo_uri
        if not mongo_uri:
            database, mongo_uri = _embedded_database(data_dir)
            parts.append(database)
            click.echo(f"database  embedded SecantusDB at {mongo_uri} (data in {data_dir}/db)")
        else:
            click.echo(f"database  {mongo_uri}")
        broker, why = embedded.choose_broker(settings.broker_url, data_dir)
        click.echo(f"broker    {embedded.broker_host(broker)} ({why})")
        env = _child_env(config, mongo_uri=mongo_uri, broker_url=broker, data_dir=data_dir,
                         scratch_dir=os.path.join(data_dir, "scratch"))
        worker_part = supervisor.python_part("worker", ["worker", "--serve", "batch", "--concurrency",
                                                        str(concurrency)], env)
        online_part = supervisor.python_part("online", ["worker", "--serve", "online", "--concurrency",
                                                        str(online_concurrency)], env)
        api_part = supervisor.python_part("api", ["api", "--host", host, "--port", str(port),
                                                  "--workers", str(api_workers)], env)
        for part in (worker_part, online_part, api_part):
            part.launch()
            parts.append(part)
        supervisor.wait_until_serving(f"http://{host}:{port}", api_part)
        click.echo(f"api       http://{host}:{port}/  (docs: http://{host}:{port}/openapi.json)")
        click.echo("Press Ctrl-C to stop.")
        while not stopping:
            for part in parts:
                part.check(time.monotonic())
            time.sleep(0.5)
    finally:
        for part in reversed(parts):
            part.stop()
        click.echo("stopped")


def _embedded_database(data_dir: str) -> tuple[supervisor.Part, str]:
    """SecantusDB under ``data_dir/db`` on a port kept across restarts (the other parts know its URI)."""
    storage, log_path = os.path.join(data_dir, "db"), os.path.join(data_dir, "logs", "db.log")
    port = embedded.free_port()

    def start():
        try:
            return embedded.start_secantus(storage, port=port, log_path=log_path)[0]
        except RuntimeError as exc:
            with open(log_path, errors="replace") as handle:
                last = (handle.read().strip().splitlines() or [""])[-1]
            raise supervisor.StartupError(f"the embedded database did not start ({exc}): {last}") from None

    part = supervisor.Part("database", start)
    part.launch()
    return part, f"mongodb://127.0.0.1:{port}/"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--workers", "api_workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per process (log and event streams hold one).")
@CONFIG
def api(host, port, api_workers, threads, config):
    """Serve the REST API under gunicorn."""
    if config:
        os.environ["TUCLUSTER_CONFIG"] = os.path.abspath(config)
    argv = [sys.executable, "-m", "gunicorn", "tucluster.app:get_app()", "--config", GUNICORN_CONFIG,
            "--bind", f"{host}:{port}", "--workers", str(api_workers), "--threads", str(threads)]
    os.execv(sys.executable, argv)


@click.command()
@click.option("--queues", "-Q", default=None, help="Comma-separated queue names (default: those of --serve).")
@click.option("--serve", type=click.Choice(["all", "batch", "online"]), default="all", show_default=True,
              help="batch: simulation and batch clustering runs; online: online clustering runs, which hold "
                   "a slot until stopped.")
@click.option("--engines", default=None, help="Comma-separated engines to serve (default: all configured).")
@click.option("--concurrency", "-c", default=2, show_default=True, help="Runs executed at once.")
@click.option("--name", "-n", default=None,
              help="Worker node name (default tucluster-<pid>@<host>, unique per process on a host).")
@click.option("--loglevel", default="INFO", show_default=True)
@CONFIG
def worker(queues, serve, engines, concurrency, name, loglevel, config):
    """Start a Celery worker (the way an HPC node or a cloud machine runs one)."""
    from qflow.app import app as celery_app
    from qflow.app import configure

    settings = _load(config)
    if engines:
        wanted = [e.strip() for e in engines.split(",") if e.strip()]
        unknown = set(wanted) - set(settings.engines)
        if unknown:
            raise click.BadParameter(f"unknown engine(s) {', '.join(sorted(unknown))}", param_hint="--engines")
        settings = settings.replace(engines={k: v for k, v in settings.engines.items() if k in wanted})
    logging.basicConfig(level=loglevel, format="%(asctime)s %(processName)s %(name)s %(message)s")
    settings = _bound_to_its_deployment(settings)
    configure(celery_app, settings)
    import qflow.tasks  # noqa: F401  (registers the tasks on the app)

    if queues is None:
        from qflow.routing import worker_queues

        queues = ",".join(worker_queues(settings, serve))
    argv = ["worker", "--queues", queues, "--concurrency", str(concurrency), "--loglevel", loglevel,
            "--without-gossip", "--without-mingle"]
    argv += ["--hostname", name or f"tucluster-{os.getpid()}@%h"]
    celery_app.worker_main(argv)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--seed", default=0, show_default=True, help="Seed of the blobs' paths and noise.")
@click.option("--rate", default=50.0, show_default=True, help="Points per second.")
@click.option("--blobs", default=4, show_default=True, help="Number of moving blobs.")
@click.option("--dim", default=3, show_default=True, help="Dimensions of a point.")
def flowsim(host, port, seed, rate, blobs, dim):
    """Serve a simulated data flow (GET /points?start=&stop=) to feed online clustering runs."""
    from wsgiref.simple_server import make_server

    from tucluster.cli.flowsim import Flow, create_app

    logging.basicConfig(level=logging.INFO)
    server = make_server(host, port, create_app(Flow(seed=seed, rate=rate, blobs=blobs, dim=dim)))
    click.echo(f"flowsim   http://{host}:{port}/points?start=...&stop=...  ({blobs} blobs, {rate:g} points/s)")
    server.serve_forever()


COMMANDS = (up, api, worker, flowsim)
