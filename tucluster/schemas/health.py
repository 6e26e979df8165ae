"""Schemas of the health, workers and engines endpoints."""
from marshmallow import Schema, fields


class PingSchema(Schema):
    pong = fields.Bool()


class WorkerSchema(Schema):
    name = fields.Str(attribute="_id")
    host = fields.Str()
    pid = fields.Int()
    queues = fields.List(fields.Str())
    engines = fields.List(fields.Str())
    concurrency = fields.Int()
    active = fields.Int()
    foreignMessages = fields.Int(dump_default=0, metadata={
        "description": "messages rejected because this deployment's database does not hold their run "
                       "(another deployment shares the queue prefix)"})
    seen = fields.DateTime()


class HealthSchema(Schema):
    status = fields.Str(metadata={"enum": ["ok", "degraded"]})
    mongo = fields.Dict()
    broker = fields.Dict()
    workers = fields.List(fields.Nested(WorkerSchema))
    deployment = fields.Str(allow_none=True, metadata={"description": "this deployment's identity (kept in its database)"})
    queuePrefix = fields.Str(metadata={"description": "prefix of this deployment's queue names"})
    engines = fields.List(fields.Str())


class EngineSchema(Schema):
    name = fields.Str()
    entryPoints = fields.List(fields.Str())
    description = fields.Str()


COMPONENTS = {"Ping": PingSchema, "Health": HealthSchema, "Worker": WorkerSchema, "Engine": EngineSchema}
