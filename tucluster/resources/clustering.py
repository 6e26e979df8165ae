"""Clustering runs: the online lifecycle (pause, play, stop, push), copies, centroids and their
history, labels, the bubbles page, and the algorithms on offer."""
from __future__ import annotations

import json
import os

import falcon

from tucluster.errors import Invalid, UnsupportedMedia
from tucluster.formats.media import JSON_TYPES, NDJSON_TYPES
from tucluster.http import Resource, accepted, load_query, media_type, schema
from tucluster.schemas.clustering import (CentroidsSchema, FramesSchema, HistoryQuerySchema, LabelQuerySchema,
                                          LabelsSchema)
from tucluster.schemas.runs import dump_run
from tucluster.services import clustering
from tucluster.services import runs as run_service
from tucluster.store import frames as frame_store
from tucluster.store import labels as label_store

WEB = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")


def _action(function, summary: str, description: str):
    class Action(Resource):
        def on_post(self, req, resp, run_id):
            resp.media = dump_run(function(self.database, run_id))

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
    media = media_type(req, default=JSON_TYPES[0])
    if media in JSON_TYPES:
        return req.get_media()
    if media in NDJSON_TYPES:
        lines = req.bounded_stream.read().decode("utf-8").splitlines()
        try:
            return [json.loads(line) for line in lines if line.strip()]
        except json.JSONDecodeError as exc:
            raise Invalid(f"line {exc.lineno}: {exc.msg}", errors={"rows": [str(exc)]}) from exc
    raise UnsupportedMedia("push rows as application/json or application/x-ndjson")


class Push(Resource):
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
        resp.media = clustering.push(self.database, run_id, _rows_from_request(req))


class Copy(Resource):
    def on_post(self, req, resp, run_id):
        """A new run from this one's spec, starting from its current centroids (kmeans: given init;
        mcmc: initK).
        ---
        summary: Copy a run
        tags: [clustering]
        responses:
          202: {description: the new run is queued}
        """
        run = clustering.clustering_run(self.database, run_id)
        accepted(resp, run_service.submit(self.database, self.context.dispatcher, clustering.copy_spec(run)))


class Centroids(Resource):
    def on_get(self, req, resp, run_id):
        """Current centres with stable labels and counts (vanished clusters keep their label with count 0).
        ---
        summary: Current centroids
        tags: [clustering]
        responses:
          200: {description: centroids, content: {application/json: {schema: Centroids}}}
        """
        run = clustering.clustering_run(self.database, run_id)
        empty = {"columns": run.get("variables") or [], "centers": [], "iteration": 0, "time": None}
        resp.media = schema(CentroidsSchema).dump(run.get("centroids") or empty)


class History(Resource):
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
        query = load_query(HistoryQuerySchema, req)
        clustering.clustering_run(self.database, run_id)
        found = frame_store.since(self.database, run_id, query["since"], query["limit"])
        resp.media = schema(FramesSchema).dump({"frames": found, "last": found[-1]["frame"] if found else query["since"]})


class Labels(Resource):
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
        query = load_query(LabelQuerySchema, req)
        clustering.clustering_run(self.database, run_id)
        rows, total = label_store.read(self.database, run_id, query["offset"], query["limit"])
        following = query["offset"] + len(rows)
        resp.media = schema(LabelsSchema).dump({"labels": rows, "offset": query["offset"], "total": total,
                                          "next": following if following < total else None})


class View(Resource):
    def on_get(self, req, resp, run_id):
        """A live page of the run's clusters as bubbles (position: two variables; size: count).
        ---
        summary: Bubbles view
        tags: [clustering]
        responses:
          200: {description: HTML page, content: {text/html: {schema: {type: string}}}}
        """
        clustering.clustering_run(self.database, run_id)
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
        from qflow.algorithms import ALGORITHMS, CONTROL  # scikit-learn and SciPy: only when asked

        resp.media = {"algorithms": ALGORITHMS, "control": CONTROL}

