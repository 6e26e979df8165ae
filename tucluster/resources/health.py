"""Liveness, the health of the platform's services, live workers and configured engines."""
from __future__ import annotations

import falcon

from tucluster.http import Resource, schema
from tucluster.schemas.health import EngineSchema, HealthSchema, WorkerSchema
from tucluster.store import deployment
from tucluster.store import workers as worker_store


class Ping:
    def on_get(self, req, resp):
        """Is the API up?
        ---
        summary: Liveness check
        tags: [health]
        responses:
          200: {description: pong, content: {application/json: {schema: Ping}}}
        """
        resp.media = {"pong": True}


class Health(Resource):
    def on_get(self, req, resp):
        """Database, broker and workers.
        ---
        summary: Health of the platform's services
        tags: [health]
        responses:
          200: {description: all services answer, content: {application/json: {schema: Health}}}
          503: {description: the database or the broker is down, content: {application/json: {schema: Health}}}
        """
        mongo = {"ok": True}
        workers, identity = [], None
        try:
            self.database.ping()
            workers = worker_store.alive(self.database, self.settings.stale_after_seconds)
            identity = deployment.identity(self.database)
        except Exception as exc:  # report, do not raise: health must answer when things are down
            mongo = {"ok": False, "error": str(exc)}
        broker = {"ok": self.context.dispatcher.broker_ok()}
        healthy = mongo["ok"] and broker["ok"]
        resp.status = falcon.HTTP_200 if healthy else falcon.HTTP_503
        resp.media = schema(HealthSchema).dump({"status": "ok" if healthy else "degraded", "mongo": mongo,
                                                "broker": broker, "workers": workers, "deployment": identity,
                                                "queuePrefix": self.context.dispatcher.settings.queue_prefix,
                                                "engines": sorted(self.context.engines)})


class Workers(Resource):
    def on_get(self, req, resp):
        """Workers seen recently, with their engines, queues and active runs.
        ---
        summary: List live workers
        tags: [ops]
        responses:
          200: {description: workers, content: {application/json: {schema: {type: array, items: Worker}}}}
        """
        found = worker_store.alive(self.database, self.settings.stale_after_seconds)
        resp.media = schema(WorkerSchema, many=True).dump(found)


class Engines(Resource):
    def on_get(self, req, resp):
        """Engines configured on the server; a run names one of these.
        ---
        summary: List engines
        tags: [ops]
        responses:
          200: {description: engines, content: {application/json: {schema: {type: array, items: Engine}}}}
        """
        resp.media = schema(EngineSchema, many=True).dump(
            [{"name": e.name, "entryPoints": list(e.entry_points), "description": e.description}
             for e in self.context.engines.values()])
