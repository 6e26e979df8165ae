"""Pictures of a run's result grids: ``/runs/{id}/maps`` and ``/runs/{id}/maps/{type}.png``."""
from __future__ import annotations

from tucluster.http import Resource, schema
from tucluster.schemas.maps import MapListSchema
from tucluster.services import maps
from tucluster.services import runs as run_service


class MapList(Resource):
    def on_get(self, req, resp, run_id):
        """The map types and times a run's results hold.
        ---
        summary: List a run's maps
        tags: [results]
        responses:
          200: {description: map types and times, content: {application/json: {schema: MapList}}}
          404: {description: no such run, content: {application/json: {schema: Error}}}
        """
        run = run_service.get_run(self.database, run_id)
        resp.media = schema(MapListSchema).dump({"run": run_id, "maps": maps.listing(run)})


class MapImage(Resource):
    def on_get(self, req, resp, run_id, map_type):
        """One result grid drawn as a PNG with its colour scale.
        ---
        summary: Picture of a result grid
        tags: [results]
        parameters:
          - {in: query, name: time, schema: {type: string}, description: "hours (0.01 or 000.01) or max; default the last time"}
          - {in: query, name: name, schema: {type: string}, description: "grid name when a run has several (control file or .sww stem)"}
          - {in: query, name: width, schema: {type: integer, minimum: 32, maximum: 4096}, description: width of the map in pixels}
        responses:
          200: {description: the picture, content: {image/png: {schema: {type: string, format: binary}}}}
          404: {description: no such run or map (the message lists the maps there are), content: {application/json: {schema: Error}}}
          422: {description: bad time, content: {application/json: {schema: Error}}}
        """
        run = run_service.get_run(self.database, run_id)
        time = maps.parse_time(req.get_param("time"))
        width = req.get_param_as_int("width", min_value=32, max_value=4096)
        resp.data = maps.render(self.database, run, map_type, time, req.get_param("name"), width)
        resp.content_type = "image/png"

