from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields

from tucluster.schemas.common import FileSchema, ListQuerySchema, page_schema


class ReferenceSchema(Schema):
    path = fields.Str()
    file = fields.Str(metadata={"description": "control file naming it"})
    line = fields.Int()
    command = fields.Str()


class IssueSchema(Schema):
    file = fields.Str()
    line = fields.Int()
    command = fields.Str()
    message = fields.Str()


class ValidationReportSchema(Schema):
    entryPoint = fields.Str()
    valid = fields.Bool()
    missing = fields.List(fields.Nested(ReferenceSchema))
    errors = fields.List(fields.Nested(IssueSchema))
    warnings = fields.List(fields.Nested(IssueSchema))
    references = fields.List(fields.Nested(ReferenceSchema))


class ModelSchema(Schema):
    name = fields.Str()
    description = fields.Str()
    size = fields.Int(metadata={"description": "archive size in bytes"})
    entryPoints = fields.List(fields.Str())
    valid = fields.Method("_valid", metadata={"description": "entry point -> runnable"})
    baselines = fields.Method("_baselines", metadata={"description": "entry point -> baseline run id"})
    fileCount = fields.Method("_file_count")
    created = fields.DateTime()
    updated = fields.DateTime()

    def _valid(self, doc):
        return {report["entryPoint"]: report["valid"] for report in doc.get("validation", [])}

    def _baselines(self, doc):
        return doc.get("baselines") or {}

    def _file_count(self, doc):
        return len(doc["files"]) if "files" in doc else None


ModelPageSchema = page_schema(ModelSchema, "ModelPage")


class ModelUploadQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Str(load_default=None)
    description = fields.Str(load_default="")


class ModelQuerySchema(ListQuerySchema):
    q = fields.Str(load_default=None, metadata={"description": "text found in the name or description"})


class ModelPatchSchema(Schema):
    name = fields.Str()
    description = fields.Str()


class FileTreeSchema(Schema):
    name = fields.Str()
    files = fields.List(fields.Nested(FileSchema))
    totalSize = fields.Int()


COMPONENTS = {
    "Model": ModelSchema, "ModelPage": ModelPageSchema, "ModelQuery": ModelQuerySchema, "ModelPatch": ModelPatchSchema,
    "FileTree": FileTreeSchema, "ValidationReport": ValidationReportSchema,
}
