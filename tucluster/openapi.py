"""The OpenAPI document, built from the route table and the marshmallow schemas (apispec).

Each responder documents itself in its docstring (YAML after ``---``); schema names there are
the component names registered below.
"""
from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.yaml_utils import load_operations_from_docstring

from tucluster.schemas import clustering, common, datasets, health, maps, models, runs

METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_MODULES = (common, health, models, runs, datasets, clustering, maps)


def _components() -> dict:
    """Every schema module's ``COMPONENTS``: the names responder docstrings refer to."""
    found = {}
    for module in SCHEMA_MODULES:
        found.update(module.COMPONENTS)
    return found


def _responders(resource):
    for method in METHODS:
        responder = getattr(resource, f"on_{method}", None)
        if responder is not None:
            yield method, responder


def build(routes, title: str = "TuCluster", version: str = "0.1.0") -> dict:
    spec = APISpec(title=title, version=version, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Models, datasets and runs dispatched to Celery workers."})
    components = _components()
    for name, schema in components.items():
        # Nested schemas are registered by the plugin as it meets them, under the same names.
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for uri, resource in routes:
        operations = {}
        for method, responder in _responders(resource):
            doc = load_operations_from_docstring(responder.__doc__ or "") or {}
            operation = doc.get(method) or _from_plain_docstring(responder)
            operation.setdefault("summary", (responder.__doc__ or "").strip().splitlines()[0] if responder.__doc__ else method)
            operation["parameters"] = _path_parameters(uri) + operation.get("parameters", [])
            operations[method] = operation
        spec.path(path=re.sub(r"\{(\w+):path\}", r"{\1}", uri), operations=operations)
    return spec.to_dict()


def _from_plain_docstring(responder) -> dict:
    # Docstrings hold a single operation (no method key): "summary: ...", "responses: ...".
    from apispec.yaml_utils import load_yaml_from_docstring

    return dict(load_yaml_from_docstring(responder.__doc__ or "") or {})


def _path_parameters(uri: str) -> list[dict]:
    return [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)(?::\w+)?\}", uri)]
