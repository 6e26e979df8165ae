"""Models: zip archives of flood models, their files, their original archive and validation reports."""
from __future__ import annotations

import falcon

from tucluster.errors import Invalid, TooLarge, UnsupportedMedia
from tucluster.formats.media import MULTIPART, ZIP_TYPES
from tucluster.http import Resource, created, load_body, load_query, media_type, schema, stream_file
from tucluster.schemas.models import (FileTreeSchema, ModelPageSchema, ModelPatchSchema, ModelQuerySchema,
                                      ModelSchema, ModelUploadQuerySchema, ValidationReportSchema)
from tucluster.services import models as model_service
from tucluster.store import archives as archive_store


def _upload_parts(req: falcon.Request, query: dict):
    """(stream, name, description) from a raw zip body or a multipart form with a file part."""
    media = media_type(req)
    if media in ZIP_TYPES:
        return req.bounded_stream, query["name"], query["description"]
    if media == MULTIPART:
        name, description = query["name"], query["description"]
        for part in req.get_media():
            if part.filename:
                stem = part.filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                return part.stream, name or stem, description
            if part.name == "name":
                name = part.get_text()
            elif part.name == "description":
                description = part.get_text()
        raise Invalid("the form has no file part: send the zip as a file field", errors={"file": ["missing"]})
    raise UnsupportedMedia(f"send the model as Content-Type: application/zip (or multipart/form-data), "
                           f"not {media or 'no content type'}")


class ModelCollection(Resource):
    def on_post(self, req, resp):
        """Upload a model archive (zip with .tcf control files or .py scripts at its root).
        ---
        summary: Upload a model
        tags: [models]
        parameters:
          - {in: query, name: name, schema: {type: string}, required: true, description: model name}
          - {in: query, name: description, schema: {type: string}}
        requestBody:
          content:
            application/zip: {schema: {type: string, format: binary}}
            multipart/form-data:
              schema: {type: object, properties: {file: {type: string, format: binary}, name: {type: string}, description: {type: string}}}
        responses:
          201: {description: stored, content: {application/json: {schema: Model}}}
          409: {description: name taken, content: {application/json: {schema: Error}}}
          413: {description: archive too large, content: {application/json: {schema: Error}}}
          415: {description: not a zip body, content: {application/json: {schema: Error}}}
          422: {description: "not a zip; unsafe; or no entry point", content: {application/json: {schema: Error}}}
        """
        query = load_query(ModelUploadQuerySchema, req)
        limit = self.settings.max_upload_bytes
        if req.content_length and req.content_length > limit:
            raise TooLarge(f"archive of {req.content_length} bytes is larger than the {limit} byte limit")
        stream, name, description = _upload_parts(req, query)
        doc = model_service.create_model(self.database, self.settings, stream, name, description)
        created(resp, f"/models/{doc['name']}", schema(ModelSchema).dump(doc))

    def on_get(self, req, resp):
        """List models, newest first.
        ---
        summary: List models
        tags: [models]
        parameters:
          - {in: query, schema: ModelQuerySchema}
        responses:
          200: {description: a page of models, content: {application/json: {schema: ModelPage}}}
        """
        query = load_query(ModelQuerySchema, req)
        resp.media = schema(ModelPageSchema).dump(model_service.search(self.database, query))


class ModelItem(Resource):
    def on_get(self, req, resp, name):
        """One model.
        ---
        summary: Get a model
        tags: [models]
        responses:
          200: {description: the model, content: {application/json: {schema: Model}}}
          404: {description: unknown model, content: {application/json: {schema: Error}}}
        """
        resp.media = schema(ModelSchema).dump(model_service.get_model(self.database, name))

    def on_patch(self, req, resp, name):
        """Rename a model or change its description.
        ---
        summary: Update a model
        tags: [models]
        requestBody: {content: {application/json: {schema: ModelPatch}}}
        responses:
          200: {description: updated, content: {application/json: {schema: Model}}}
          409: {description: name taken or model busy, content: {application/json: {schema: Error}}}
        """
        changes = load_body(ModelPatchSchema, req)
        resp.media = schema(ModelSchema).dump(model_service.update_model(self.database, name, changes))

    def on_delete(self, req, resp, name):
        """Delete a model and its stored archive.
        ---
        summary: Delete a model
        tags: [models]
        responses:
          204: {description: deleted}
          409: {description: the model has active runs, content: {application/json: {schema: Error}}}
        """
        model_service.delete_model(self.database, name)
        resp.status = falcon.HTTP_204


class ModelFiles(Resource):
    def on_get(self, req, resp, name):
        """Every file of the model with its size.
        ---
        summary: List a model's files
        tags: [models]
        responses:
          200: {description: file tree, content: {application/json: {schema: FileTree}}}
        """
        doc = model_service.get_model(self.database, name)
        resp.media = schema(FileTreeSchema).dump(model_service.file_tree(doc))


class ModelFile(Resource):
    def on_get(self, req, resp, name, path):
        """One file of the model, as bytes.
        ---
        summary: Download one model file
        tags: [models]
        responses:
          200: {description: the file, content: {application/octet-stream: {schema: {type: string, format: binary}}}}
          404: {description: no such file, content: {application/json: {schema: Error}}}
        """
        member = model_service.read_member(self.database, model_service.get_model(self.database, name), path)
        stream_file(resp, member, member.size, path, "application/octet-stream")


class ModelArchive(Resource):
    def on_get(self, req, resp, name):
        """The archive as uploaded.
        ---
        summary: Download the model's zip
        tags: [models]
        responses:
          200: {description: the zip, content: {application/zip: {schema: {type: string, format: binary}}}}
        """
        doc = model_service.get_model(self.database, name)
        stream = archive_store.open_archive(self.database, doc["archiveId"])
        stream_file(resp, stream, stream.length, f"{name}.zip", "application/zip")


class ModelValidation(Resource):
    def on_get(self, req, resp, name):
        """Per entry point: missing files (with the control file and line naming them), errors, warnings.
        ---
        summary: Validation report
        tags: [models]
        responses:
          200: {description: reports, content: {application/json: {schema: {type: array, items: ValidationReport}}}}
        """
        doc = model_service.get_model(self.database, name)
        resp.media = schema(ValidationReportSchema, many=True).dump(doc["validation"])
