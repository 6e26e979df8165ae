"""The WSGI application: ``create_app(settings, store=None, jobs=None)``, every route in one table;
``get_app()`` for gunicorn."""
from __future__ import annotations

import logging

import falcon
import pymongo.errors

from qflow import engines
from tucluster import openapi
from tucluster import settings as settings_module
from tucluster.http import Context, Request, install_error_handlers, install_media
from tucluster.resources import clustering, datasets, health, maps, models, results, runs
from tucluster.services import sweeper
from tucluster.services.dispatch import Dispatcher
from tucluster.settings import Settings
from tucluster.store import Database

log = logging.getLogger(__name__)


def routes(context: Context) -> list[tuple[str, object]]:
    """(URI template, resource) of every endpoint but ``/openapi.json``, grouped by noun."""
    return [
        ("/ping", health.Ping()),
        ("/health", health.Health(context)),
        ("/workers", health.Workers(context)),
        ("/engines", health.Engines(context)),

        ("/models", models.ModelCollection(context)),
        ("/models/{name}", models.ModelItem(context)),
        ("/models/{name}/files", models.ModelFiles(context)),
        ("/models/{name}/files/{path:path}", models.ModelFile(context)),
        ("/models/{name}/archive", models.ModelArchive(context)),
        ("/models/{name}/validation", models.ModelValidation(context)),

        ("/datasets", datasets.DatasetCollection(context)),
        ("/datasets/{name}", datasets.DatasetItem(context)),
        ("/datasets/{name}/rows", datasets.DatasetRows(context)),
        ("/datasets/{name}/columns/{column}", datasets.DatasetColumn(context)),

        ("/runs", runs.RunCollection(context)),
        ("/runs/{run_id}", runs.RunItem(context)),
        ("/runs/{run_id}/cancel", runs.RunCancel(context)),
        ("/runs/{run_id}/retry", runs.RunRetry(context)),
        ("/runs/{run_id}/logs", runs.RunLogs(context)),
        ("/runs/{run_id}/events", runs.Events(context)),
        ("/tasks/{task_id}", runs.Task(context)),

        ("/runs/{run_id}/results", results.RunResults(context)),
        ("/runs/{run_id}/results.zip", results.RunResultsZip(context)),
        ("/runs/{run_id}/results/{path:path}", results.RunResultFile(context)),
        ("/runs/{run_id}/maps", maps.MapList(context)),
        ("/runs/{run_id}/maps/{map_type}.png", maps.MapImage(context)),

        ("/algorithms", clustering.Algorithms()),
        ("/runs/{run_id}/pause", clustering.Pause(context)),
        ("/runs/{run_id}/play", clustering.Play(context)),
        ("/runs/{run_id}/stop", clustering.Stop(context)),
        ("/runs/{run_id}/push", clustering.Push(context)),
        ("/runs/{run_id}/copy", clustering.Copy(context)),
        ("/runs/{run_id}/centroids", clustering.Centroids(context)),
        ("/runs/{run_id}/centroids/history", clustering.History(context)),
        ("/runs/{run_id}/labels", clustering.Labels(context)),
        ("/runs/{run_id}/view", clustering.View(context)),
    ]


class OpenAPI:
    def __init__(self, table):
        self.table = table
        self._document = None

    def on_get(self, req, resp):
        """This document.
        ---
        summary: OpenAPI description of every endpoint
        tags: [docs]
        responses:
          200: {description: OpenAPI 3 document}
        """
        if self._document is None:
            self._document = openapi.build(self.table)
        resp.media = self._document


def create_app(settings: Settings, store: Database | None = None, jobs: Dispatcher | None = None) -> falcon.App:
    # The engine registry is built once per process, with the worker's own code.
    database = store or Database(settings)
    context = Context(settings=settings, database=database, dispatcher=jobs or Dispatcher(settings, database),
                      engines=engines.load_all(settings.engines))
    app = falcon.App(cors_enable=True, request_type=Request)
    app.req_options.strip_url_path_trailing_slash = True
    install_error_handlers(app)
    install_media(app, settings.max_json_bytes)
    table = routes(context)
    table.append(("/openapi.json", OpenAPI(table)))
    for uri, resource in table:
        app.add_route(uri, resource)
    return app


def get_app() -> falcon.App:
    """Entry point for gunicorn: ``gunicorn 'tucluster.app:get_app()'``."""
    settings = settings_module.load()
    logging.basicConfig(level=settings.log_level)
    database = Database(settings)
    try:
        database.ensure_indexes()
    except pymongo.errors.ConnectionFailure as exc:
        log.warning("database unreachable at start-up (%s); indexes will be created on a later start", exc)
    sweeper.start(database, settings)
    return create_app(settings, store=database)
