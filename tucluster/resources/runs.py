from __future__ import annotations

import falcon

from tucluster import jobs
from tucluster.errors import Invalid
from tucluster.resources.base import Context, created, load, load_body, load_query, schema
from tucluster.schemas.common import sort_spec
from tucluster.schemas.runs import (LogQuerySchema, LogSchema, RetrySchema, RunPageSchema, RunPatchSchema,
                                    RunQuerySchema, SimulationCreateSchema, dump_run)
from tucluster.store import logs as log_store
from tucluster.store import runs as run_store


def build_spec(context: Context, body) -> dict:
    kind = body.get("kind", "simulation") if isinstance(body, dict) else None
    if kind == "simulation":
        return jobs.simulation_spec(context.database, context.settings, load(schema(SimulationCreateSchema), body))
    if kind == "clustering":
        from tucluster import clustering

        return clustering.spec_from_body(context.database, body)
    raise Invalid("'kind' is 'simulation' or 'clustering'", errors={"kind": ["unknown run kind"]})


def accepted(resp, run: dict) -> None:
    created(resp, f"/runs/{run['_id']}", {"id": run["_id"], "taskId": run["taskId"], "state": run["state"]},
            status=falcon.HTTP_202)


class RunCollection:
    def __init__(self, context: Context):
        self.context = context

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
        accepted(resp, jobs.submit(self.context.database, self.context.dispatcher, spec))

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
        query = load_query(schema(RunQuerySchema), req)
        filters = {key: query[key] for key in ("state", "kind", "model", "engine", "dataset")}
        try:
            found = run_store.search(self.context.database, filters=filters, created_after=query["created_after"],
                                     created_before=query["created_before"], sort=sort_spec(query["sort"]),
                                     limit=query["limit"], cursor=query["cursor"])
        except ValueError as exc:
            raise Invalid(str(exc), errors={"cursor": [str(exc)]}) from exc
        resp.media = schema(RunPageSchema).dump(found)


class RunItem:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """A run: state, progress, timings, worker, error, figures.
        ---
        summary: Get a run
        tags: [runs]
        responses:
          200: {description: the run, content: {application/json: {schema: Run}}}
          404: {description: unknown run, content: {application/json: {schema: Error}}}
        """
        ctx = self.context
        resp.media = dump_run(jobs.observed(ctx.database, ctx.settings, jobs.get_run(ctx.database, run_id)))

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
        changes = load_body(schema(RunPatchSchema), req)
        run = jobs.get_run(self.context.database, run_id)
        if "algorithm" in changes:
            from tucluster import clustering

            run = clustering.reconfigure(self.context.database, run_id, changes["algorithm"])
        if "isBaseline" in changes:
            run = jobs.set_baseline(self.context.database, run_id, changes["isBaseline"])
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
        jobs.delete(self.context.database, run_id)
        resp.status = falcon.HTTP_204


class RunCancel:
    def __init__(self, context: Context):
        self.context = context

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
        resp.media = dump_run(jobs.cancel(self.context.database, run_id))


class RunRetry:
    def __init__(self, context: Context):
        self.context = context

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
        changes = load_body(schema(RetrySchema), req)
        ctx = self.context
        accepted(resp, jobs.retry(ctx.database, ctx.dispatcher, ctx.settings, run_id, changes))


class RunLogs:
    def __init__(self, context: Context):
        self.context = context

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
        offset = load_query(schema(LogQuerySchema), req)["offset"]
        run = jobs.get_run(self.context.database, run_id)
        text, next_offset = log_store.read(self.context.database, run_id, offset)
        ended = run["state"] in run_store.FINISHED
        complete = ended and next_offset >= log_store.length(self.context.database, run_id)
        if req.client_prefers(["application/json", "text/plain"]) == "text/plain":
            resp.content_type = falcon.MEDIA_TEXT
            resp.set_header("X-Next-Offset", str(next_offset))
            resp.set_header("X-Log-Complete", "true" if complete else "false")
            resp.text = text
            return
        resp.media = schema(LogSchema).dump({"text": text, "nextOffset": next_offset, "complete": complete})


class Task:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, task_id):
        """Celery-style status of a run's task, answered from the run document.
        ---
        summary: Get a task
        tags: [tasks]
        responses:
          200: {description: task status, content: {application/json: {schema: Task}}}
          404: {description: an id the platform never issued, content: {application/json: {schema: Error}}}
        """
        ctx = self.context
        resp.media = jobs.task_view(jobs.observed(ctx.database, ctx.settings, jobs.get_task(ctx.database, task_id)))
