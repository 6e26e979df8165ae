from __future__ import annotations

import json
import os

import falcon

from tucluster import clustering, events, jobs
from tucluster.errors import Invalid, UnsupportedMedia
from tucluster.resources.base import Context, load_query, schema
from tucluster.resources.runs import accepted
from tucluster.schemas.clustering import (CentroidsSchema, EventsQuerySchema, FramesSchema, HistoryQuerySchema,
                                          LabelQuerySchema, LabelsSchema)
from tucluster.schemas.runs import dump_run
from tucluster.store import frames as frame_store
from tucluster.store import labels as label_store

WEB = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")


def _action(function, summary: str, description: str):
    class Action:
        def __init__(self, context: Context):
            self.context = context

        def on_post(self, req, resp, run_id):
            resp.media = dump_run(function(self.context.database, run_id))

    Action.on_post.__doc__ = f"""{description}
        ---
        summary: {summary}
        tags: [clustering]
        responses:
          200: {{description: the run, content: {{application/json: {{schema: Run}}}}}}
          409: {{description: not allowed in the run's state, content: {{application/json: {{schema: Error}}}}}}
          422: {{description: not a clustering run, content: {{application/json: {{schema: Error}}}}}}
        """
    Action.__name__ = summary.replace(" ", "")
    return Action


Pause = _action(clustering.pause, "Pause a run", "A running clustering run stops iterating and idles.")
Play = _action(clustering.play, "Resume a run", "A paused clustering run iterates again.")
Stop = _action(clustering.stop, "Stop a run", "The run finishes now and keeps its centroids and labels.")


def _rows_from_request(req):
    media_type = (req.content_type or "application/json").split(";")[0].strip().lower()
    if media_type == "application/json":
        return req.get_media()
    if media_type == "application/x-ndjson":
        lines = req.bounded_stream.read().decode("utf-8").splitlines()
        try:
            return [json.loads(line) for line in lines if line.strip()]
        except json.JSONDecodeError as exc:
            raise Invalid(f"line {exc.lineno}: {exc.msg}", errors={"rows": [str(exc)]}) from exc
    raise UnsupportedMedia("push rows as application/json or application/x-ndjson")


class Push:
    def __init__(self, context: Context):
        self.context = context

    def on_post(self, req, resp, run_id):
        """Append points to an online run: a JSON list of rows (objects by column, or lists in
        variable order), ``{"rows": [...]}``, or NDJSON.
        ---
        summary: Push data into an online run
        tags: [clustering]
        requestBody:
          content:
            application/json: {schema: {type: array, items: {}}}
            application/x-ndjson: {schema: {type: string}}
        responses:
          202: {description: stored for the worker, content: {application/json: {schema: PushResult}}}
          409: {description: batch run or ended run, content: {application/json: {schema: Error}}}
          422: {description: rows that do not match the variables, content: {application/json: {schema: Error}}}
        """
        resp.status = falcon.HTTP_202
        resp.media = clustering.push(self.context.database, run_id, _rows_from_request(req))


class Copy:
    def __init__(self, context: Context):
        self.context = context

    def on_post(self, req, resp, run_id):
        """A new run from this one's spec, starting from its current centroids (kmeans: given init;
        mcmc: initK).
        ---
        summary: Copy a run
        tags: [clustering]
        responses:
          202: {description: the new run is queued}
        """
        run = clustering.clustering_run(self.context.database, run_id)
        ctx = self.context
        accepted(resp, jobs.submit(ctx.database, ctx.dispatcher, clustering.copy_spec(run)))


class Centroids:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """Current centres with stable labels and counts (vanished clusters keep their label with count 0).
        ---
        summary: Current centroids
        tags: [clustering]
        responses:
          200: {description: centroids, content: {application/json: {schema: Centroids}}}
        """
        run = clustering.clustering_run(self.context.database, run_id)
        empty = {"columns": run.get("variables") or [], "centers": [], "iteration": 0, "time": None}
        resp.media = schema(CentroidsSchema).dump(run.get("centroids") or empty)


class History:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """Centroid frames after ``since``, with the labels that appeared or disappeared in each.
        ---
        summary: Centroid history
        tags: [clustering]
        parameters:
          - {in: query, schema: HistoryQuerySchema}
        responses:
          200: {description: frames, content: {application/json: {schema: Frames}}}
        """
        query = load_query(schema(HistoryQuerySchema), req)
        clustering.clustering_run(self.context.database, run_id)
        found = frame_store.since(self.context.database, run_id, query["since"], query["limit"])
        resp.media = schema(FramesSchema).dump({"frames": found, "last": found[-1]["frame"] if found else query["since"]})


class Labels:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """The stable label of each data row (with the identifier column's value as ``id``), paginated.
        ---
        summary: Labels per row
        tags: [clustering]
        parameters:
          - {in: query, schema: LabelQuerySchema}
        responses:
          200: {description: labels, content: {application/json: {schema: Labels}}}
        """
        query = load_query(schema(LabelQuerySchema), req)
        clustering.clustering_run(self.context.database, run_id)
        rows, total = label_store.read(self.context.database, run_id, query["offset"], query["limit"])
        following = query["offset"] + len(rows)
        resp.media = schema(LabelsSchema).dump({"labels": rows, "offset": query["offset"], "total": total,
                                          "next": following if following < total else None})


class Events:
    def __init__(self, context: Context):
        self.context = context

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
        timeout = load_query(schema(EventsQuerySchema), req)["timeout"]
        jobs.get_run(self.context.database, run_id)
        resp.content_type = "text/event-stream"
        resp.set_header("Cache-Control", "no-cache")
        resp.set_header("X-Accel-Buffering", "no")
        resp.stream = events.stream(self.context.database, run_id, timeout)


class View:
    def __init__(self, context: Context):
        self.context = context

    def on_get(self, req, resp, run_id):
        """A live page of the run's clusters as bubbles (position: two variables; size: count).
        ---
        summary: Bubbles view
        tags: [clustering]
        responses:
          200: {description: HTML page, content: {text/html: {schema: {type: string}}}}
        """
        clustering.clustering_run(self.context.database, run_id)
        resp.content_type = falcon.MEDIA_HTML
        with open(os.path.join(WEB, "bubbles.html"), encoding="utf-8") as page:
            resp.text = page.read()


class Algorithms:
    def on_get(self, req, resp):
        """Algorithms and their parameters (Cluserve names), plus the run-control parameters.
        ---
        summary: List clustering algorithms
        tags: [clustering]
        responses:
          200: {description: algorithms, content: {application/json: {schema: {type: object}}}}
        """
        from qflow.algorithms import ALGORITHMS

        resp.media = {"algorithms": ALGORITHMS, "control": clustering.CONTROL}


def routes(context: Context) -> list[tuple]:
    return [
        ("/algorithms", Algorithms()),
        ("/runs/{run_id}/pause", Pause(context)),
        ("/runs/{run_id}/play", Play(context)),
        ("/runs/{run_id}/stop", Stop(context)),
        ("/runs/{run_id}/push", Push(context)),
        ("/runs/{run_id}/copy", Copy(context)),
        ("/runs/{run_id}/centroids", Centroids(context)),
        ("/runs/{run_id}/centroids/history", History(context)),
        ("/runs/{run_id}/labels", Labels(context)),
        ("/runs/{run_id}/events", Events(context)),
        ("/runs/{run_id}/view", View(context)),
    ]
