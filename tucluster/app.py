"""The WSGI application: ``create_app(settings, store=None, jobs=None)``; ``get_app()`` for gunicorn."""
from __future__ import annotations

import logging

import falcon
import pymongo.errors

from tucluster import errors, openapi
from tucluster import settings as settings_module
from tucluster.jobs import Dispatcher
from tucluster.resources import health, models, results, runs
from tucluster.resources.base import Context
from tucluster.settings import Settings
from tucluster.store import Database

log = logging.getLogger(__name__)


def routes(context: Context) -> list[tuple]:
    table = [
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
        ("/runs", runs.RunCollection(context)),
        ("/runs/{run_id}", runs.RunItem(context)),
        ("/runs/{run_id}/cancel", runs.RunCancel(context)),
        ("/runs/{run_id}/retry", runs.RunRetry(context)),
        ("/runs/{run_id}/logs", runs.RunLogs(context)),
        ("/runs/{run_id}/results", results.RunResults(context)),
        ("/runs/{run_id}/results.zip", results.RunResultsZip(context)),
        ("/runs/{run_id}/results/{path:path}", results.RunResultFile(context)),
        ("/tasks/{task_id}", runs.Task(context)),
    ]
    table.extend(_optional_routes(context))
    return table


def _optional_routes(context: Context) -> list[tuple]:
    """Routes of features that live in their own modules (maps, datasets, clustering)."""
    extra = []
    for module_name in ("tucluster.resources.maps", "tucluster.resources.datasets",
                        "tucluster.resources.clustering"):
        try:
            module = __import__(module_name, fromlist=["routes"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        extra.extend(module.routes(context))
    return extra


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
    database = store or Database(settings)
    context = Context(settings=settings, database=database, dispatcher=jobs or Dispatcher(settings))
    app = falcon.App(cors_enable=True)
    app.req_options.strip_url_path_trailing_slash = True
    errors.install(app)
    table = routes(context)
    table.append(("/openapi.json", OpenAPI(table)))
    for route in table:
        uri, resource = route[0], route[1]
        if len(route) > 2:
            app.add_route(uri, resource, suffix=route[2])
        else:
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
    return create_app(settings, store=database)
