from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tucluster.paging import MAX_OFFSET

NAME = validate.Regexp(r"^[a-z_][a-z0-9_]{0,63}$", error="names are [a-z_][a-z0-9_]{0,63}")


class SourceSchema(Schema):
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                     metadata={"description": "flow endpoint answering GET url?start=&stop= with {ts, points, columns}"})
    interval = fields.Float(load_default=1.0, validate=validate.Range(min=0.05),
                            metadata={"description": "seconds between two pulls"})


class AlgorithmSchema(Schema):
    """``name`` plus the Cluserve parameters of that algorithm (see GET /algorithms)."""

    class Meta:
        unknown = "include"

    name = fields.Str(required=True, metadata={"enum": ["kmeans", "minibatch", "mcmc", "streaming"]})


class ClusteringCreateSchema(Schema):
    kind = fields.Str(required=True, validate=validate.Equal("clustering"))
    dataset = fields.Str(load_default=None, validate=NAME)
    variables = fields.List(fields.Str(validate=NAME), load_default=None)
    identifier = fields.Str(load_default=None, validate=NAME)
    algorithm = fields.Nested(AlgorithmSchema, required=True)
    online = fields.Bool(load_default=False)
    seed = fields.Int(load_default=None)
    source = fields.Nested(SourceSchema, load_default=None)

    @validates_schema
    def _data_from_somewhere(self, data, **_):
        pushed_only = data.get("online") and data.get("variables")
        if not data.get("dataset") and not data.get("source") and not pushed_only:
            raise ValidationError("a clustering run needs a dataset, a source, or (online) the variables "
                                  "of the points you will push", "dataset")
        if data.get("dataset") and not data.get("variables"):
            raise ValidationError("name the dataset columns to cluster", "variables")
        if data.get("source") and not data.get("online"):
            raise ValidationError("a run fed by a source is online: set online to true", "online")


class CenterSchema(Schema):
    label = fields.Int()
    center = fields.List(fields.Raw())
    count = fields.Int()


class CentroidsSchema(Schema):
    columns = fields.List(fields.Str())
    centers = fields.List(fields.Nested(CenterSchema))
    iteration = fields.Int()
    time = fields.DateTime(allow_none=True)


class FrameSchema(CentroidsSchema):
    frame = fields.Int()
    appeared = fields.List(fields.Int())
    disappeared = fields.List(fields.Int())


class FramesSchema(Schema):
    frames = fields.List(fields.Nested(FrameSchema))
    last = fields.Int(metadata={"description": "pass as ?since= to get only newer frames"})


class HistoryQuerySchema(Schema):
    since = fields.Int(load_default=0, validate=validate.Range(min=0))
    limit = fields.Int(load_default=500, validate=validate.Range(min=1, max=5000))


class LabelRowSchema(Schema):
    row = fields.Int()
    id = fields.Raw()
    label = fields.Int()


class LabelsSchema(Schema):
    labels = fields.List(fields.Nested(LabelRowSchema))
    offset = fields.Int()
    next = fields.Int(allow_none=True)
    total = fields.Int()


class LabelQuerySchema(Schema):
    offset = fields.Int(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))
    limit = fields.Int(load_default=1000, validate=validate.Range(min=1, max=100000))


class PushResultSchema(Schema):
    pushed = fields.Int()
    seq = fields.Int()


COMPONENTS = {
    "ClusteringCreate": ClusteringCreateSchema, "Source": SourceSchema, "Algorithm": AlgorithmSchema,
    "Centroids": CentroidsSchema, "Frames": FramesSchema, "Labels": LabelsSchema, "PushResult": PushResultSchema,
}
