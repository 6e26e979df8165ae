"""Runs of either kind: submit, list, get, update, delete, cancel, retry, logs, live events; their tasks."""
from __future__ import annotations

import falcon

from tucluster import states
from tucluster.errors import Invalid
from tucluster.http import Context, Resource, accepted, load, load_body, load_query, schema
from tucluster.schemas.clustering import ClusteringCreateSchema
from tucluster.schemas.runs import (EventsQuerySchema, LogQuerySchema, LogSchema, RetrySchema, RunPageSchema,
                                    RunPatchSchema, RunQuerySchema, SimulationCreateSchema, dump_run)
from tucluster.services import clustering as clustering_service
from tucluster.services import events
from tucluster.services import runs as run_service
from tucluster.store import logs as log_store


def build_spec(context: Context, body) -> dict:
    """The spec of a new run: the body loaded by its kind's schema, then checked by its kind's service."""
    kind = body.get("kind", "simulation") if isinstance(body, dict) else None
    if kind == "simulation":
        return run_service.simulation_spec(context.database, context.engines, load(SimulationCreateSchema, body))
    if kind == "clustering":
        return clustering_service.clustering_spec(context.database, load(ClusteringCreateSchema, body))
    raise Invalid("'kind' is 'simulation' or 'clustering'", errors={"kind": ["unknown run kind"]})


class RunCollection(Resource):
    def on_post(self, req, resp):
        """Submit a run: saved first, then queued for a worker; the answer carries the run and task ids.
        ---
        summary: Submit a run
        tags: [runs]
        requestBody: {content: {application/json: {schema: {oneOf: [SimulationCreate, ClusteringCreate]}}}}
        responses:
          202: {description: queued, content: {application/json: {schema: {type: object, properties: {id: {type: string}, taskId: {type: string}, state: {type: string}}}}}}
          404: {description: unknown model or dataset, content: {application/json: {schema: Error}}}
          422: {description: invalid spec or a model that does not validate, content: {application/json: {schema: Error}}}
          503: {description: broker unreachable, content: {application/json: {schema: Error}}}
        """
        spec = build_spec(self.context, req.get_media(default_when_empty={}))
        accepted(resp, run_service.submit(self.database, self.context.dispatcher, spec))

    def on_get(self, req, resp):
        """List runs, newest first, with filters.
        ---
        summary: List runs
        tags: [runs]
        parameters:
          - {in: query, schema: RunQuerySchema}
        responses:
          200: {description: a page of runs, content: {application/json: {schema: RunPage}}}
        """
        query = load_query(RunQuerySchema, req)
        resp.media = schema(RunPageSchema).dump(run_service.search(self.database, query))


class RunItem(Resource):
    def on_get(self, req, resp, run_id):
        """A run: state, progress, timings, worker, error, figures; a queued run says why it waits.
        ---
        summary: Get a run
        tags: [runs]
        responses:
          200: {description: the run, content: {application/json: {schema: Run}}}
          404: {description: unknown run, content: {application/json: {schema: Error}}}
        """
        run = run_service.get_run(self.database, run_id)
        run = run_service.observed(self.database, self.settings, self.context.dispatcher, run)
        if run["state"] == states.QUEUED:
            run["waiting"] = run_service.waiting(self.database, self.settings, self.context.dispatcher, run)
        resp.media = dump_run(run)

    def on_patch(self, req, resp, run_id):
        """Mark a run as its model's baseline, or reconfigure an online clustering run.
        ---
        summary: Update a run
        tags: [runs]
        requestBody: {content: {application/json: {schema: RunPatch}}}
        responses:
          200: {description: updated, content: {application/json: {schema: Run}}}
          409: {description: not allowed in the run's state, content: {application/json: {schema: Error}}}
        """
        changes = load_body(RunPatchSchema, req)
        run = run_service.get_run(self.database, run_id)
        if "algorithm" in changes:
            run = clustering_service.reconfigure(self.database, run_id, changes["algorithm"])
        if "isBaseline" in changes:
            run = run_service.set_baseline(self.database, run_id, changes["isBaseline"])
        resp.media = dump_run(run)

    def on_delete(self, req, resp, run_id):
        """Delete an ended run with its logs and results.
        ---
        summary: Delete a run
        tags: [runs]
        responses:
          204: {description: deleted}
          409: {description: the run is still active, content: {application/json: {schema: Error}}}
        """
        run_service.delete(self.database, run_id)
        resp.status = falcon.HTTP_204


class RunCancel(Resource):
    def on_post(self, req, resp, run_id):
        """A queued run never starts; a running one has its engine's process group terminated.
        ---
        summary: Cancel a run
        tags: [runs]
        responses:
          202: {description: cancelled or cancelling, content: {application/json: {schema: Run}}}
          409: {description: the run has already ended, content: {application/json: {schema: Error}}}
        """
        resp.status = falcon.HTTP_202
        resp.media = dump_run(run_service.cancel(self.database, run_id))


class RunRetry(Resource):
    def on_post(self, req, resp, run_id):
        """Run the same spec again as a new run, optionally with new overrides.
        ---
        summary: Retry a run
        tags: [runs]
        requestBody: {content: {application/json: {schema: Retry}}}
        responses:
          202: {description: the new run is queued}
          409: {description: the run is still active, content: {application/json: {schema: Error}}}
        """
        changes = load_body(RetrySchema, req)
        accepted(resp, run_service.retry(self.database, self.context.dispatcher, self.context.engines, run_id, changes))


class RunLogs(Resource):
    def on_get(self, req, resp, run_id):
        """The run's log from a character offset; poll with nextOffset until complete.
        ---
        summary: Read a run's log
        tags: [runs]
        parameters:
          - {in: query, schema: LogQuerySchema}
        responses:
          200:
            description: log text
            content:
              application/json: {schema: Log}
              text/plain: {schema: {type: string}}
        """
        offset = load_query(LogQuerySchema, req)["offset"]
        run = run_service.get_run(self.database, run_id)
        text, next_offset = log_store.read(self.database, run_id, offset)
        ended = run["state"] in states.FINISHED
        complete = ended and next_offset >= log_store.length(self.database, run_id)
        if req.client_prefers(["application/json", "text/plain"]) == "text/plain":
            resp.content_type = falcon.MEDIA_TEXT
            resp.set_header("X-Next-Offset", str(next_offset))
            resp.set_header("X-Log-Complete", "true" if complete else "false")
            resp.text = text
            return
        resp.media = schema(LogSchema).dump({"text": text, "nextOffset": next_offset, "complete": complete})


class Events(Resource):
    def on_get(self, req, resp, run_id):
        """Server-Sent Events: ``state`` (state, phase, progress), ``figures`` (at least every 1.2 s while
        running) and ``centroids`` (each new frame); the stream ends after the run's final state.
        ---
        summary: Follow a run live
        tags: [runs]
        parameters:
          - {in: query, schema: EventsQuerySchema}
        responses:
          200: {description: event stream, content: {text/event-stream: {schema: {type: string}}}}
        """
        timeout = load_query(EventsQuerySchema, req)["timeout"]
        run_service.get_run(self.database, run_id)
        resp.content_type = "text/event-stream"
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")
        resp.stream = events.stream(self.database, run_id, timeout)


class Task(Resource):
    def on_get(self, req, resp, task_id):
        """Celery-style status of a run's task, answered from the run document.
        ---
        summary: Get a task
        tags: [tasks]
        responses:
          200: {description: task status, content: {application/json: {schema: Task}}}
          404: {description: an id the platform never issued, content: {application/json: {schema: Error}}}
        """
        run = run_service.get_task(self.database, task_id)
        seen = run_service.observed(self.database, self.settings, self.context.dispatcher, run)
        resp.media = run_service.task_view(seen)
