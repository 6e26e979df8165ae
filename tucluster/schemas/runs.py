from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from tucluster import states
from tucluster.paging import MAX_OFFSET
from tucluster.schemas.common import FileSchema, ListQuerySchema, page_schema

RUN_STATES = states.ALL


class SimulationCreateSchema(Schema):
    """A simulation run. Legacy TuCluster bodies (modelName, controlFile|entrypoint) are accepted."""

    kind = fields.Str(load_default="simulation", validate=validate.Equal("simulation"))
    model = fields.Str(required=True)
    entryPoint = fields.Str(required=True)
    engine = fields.Str(load_default=None, metadata={"description": "engine name; default: the first that takes the entry point"})
    overrides = fields.Dict(keys=fields.Str(), values=fields.Raw(), load_default=dict,
                            metadata={"description": "control-file command -> value, e.g. {\"End Time\": \"0.1\"}"})

    @pre_load
    def _legacy(self, data, **_):
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        if "tuflowExe" in data:
            raise ValidationError("engines are configured on the server: name one with 'engine', "
                                  "never an executable", "tuflowExe")
        data = dict(data)
        if "modelName" in data and "model" not in data:
            data["model"] = data.pop("modelName")
        for legacy in ("controlFile", "entrypoint"):
            if legacy in data and "entryPoint" not in data:
                data["entryPoint"] = data.pop(legacy)
        return data


class RunSchema(Schema):
    id = fields.Str(attribute="_id")
    taskId = fields.Str()
    kind = fields.Str()
    state = fields.Str(metadata={"enum": list(RUN_STATES)})
    progress = fields.Float()
    model = fields.Str()
    entryPoint = fields.Str()
    engine = fields.Str()
    overrides = fields.Dict()
    isBaseline = fields.Bool()
    retryOf = fields.Str()
    created = fields.DateTime()
    started = fields.DateTime(allow_none=True)
    finished = fields.DateTime(allow_none=True)
    updated = fields.DateTime()
    worker = fields.Str(allow_none=True)
    attempts = fields.Int()
    exitCode = fields.Int()
    error = fields.Str(allow_none=True)
    cancelRequested = fields.Bool()
    waiting = fields.Dict(metadata={"description": "queued runs: {reason, position (1: next), workers serving "
                                                   "its queue}"})
    resultCount = fields.Method("_result_count")
    # clustering runs
    dataset = fields.Str()
    variables = fields.List(fields.Str())
    identifier = fields.Str(allow_none=True)
    algorithm = fields.Dict()
    online = fields.Bool()
    seed = fields.Int(allow_none=True)
    source = fields.Dict(allow_none=True)
    phase = fields.Str()
    figures = fields.Dict()

    def _result_count(self, doc):
        return len(doc["results"]) if "results" in doc else None


RunPageSchema = page_schema(RunSchema, "RunPage")


class RunQuerySchema(ListQuerySchema):
    state = fields.Str(load_default=None, validate=validate.OneOf(RUN_STATES))
    kind = fields.Str(load_default=None, validate=validate.OneOf(("simulation", "clustering")))
    model = fields.Str(load_default=None)
    engine = fields.Str(load_default=None)
    dataset = fields.Str(load_default=None)


class RetrySchema(Schema):
    overrides = fields.Dict(keys=fields.Str(), values=fields.Raw(), load_default=dict)
    algorithm = fields.Dict(load_default=None)


class RunPatchSchema(Schema):
    isBaseline = fields.Bool()
    algorithm = fields.Dict(metadata={"description": "online clustering: new algorithm parameters"})


class LogSchema(Schema):
    text = fields.Str()
    nextOffset = fields.Int()
    complete = fields.Bool(metadata={"description": "the run has ended and the whole log was read"})


class LogQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class EventsQuerySchema(Schema):
    timeout = fields.Float(load_default=3600, validate=validate.Range(min=1, max=86400),
                           metadata={"description": "seconds before the stream closes"})


class TaskSchema(Schema):
    id = fields.Str()
    state = fields.Str(metadata={"enum": ["PENDING", "STARTED", "SUCCESS", "FAILURE", "REVOKED"]})
    runState = fields.Str()
    runId = fields.Str()
    progress = fields.Float()
    result = fields.Dict()
    error = fields.Str(allow_none=True)


class ResultTreeSchema(Schema):
    run = fields.Str()
    files = fields.List(fields.Nested(FileSchema))
    totalSize = fields.Int()


COMPONENTS = {
    "SimulationCreate": SimulationCreateSchema, "Run": RunSchema, "RunPage": RunPageSchema, "RunQuery": RunQuerySchema,
    "RunPatch": RunPatchSchema, "Retry": RetrySchema, "Log": LogSchema, "LogQuery": LogQuerySchema, "Task": TaskSchema,
    "ResultTree": ResultTreeSchema,
}

_RUN_FIELDS = tuple(name for name in RunSchema._declared_fields if name not in ("id", "resultCount"))


def dump_run(doc: dict) -> dict:
    """``RunSchema().dump(doc)`` without marshmallow's per-field cost: run status is the most
    polled answer of the API. ``tests/unit/test_run_presenter.py`` keeps the two identical."""
    out = {"id": doc["_id"]}
    for name in _RUN_FIELDS:
        if name in doc:
            value = doc[name]
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    out["resultCount"] = len(doc["results"]) if "results" in doc else None
    return out
