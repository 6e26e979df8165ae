"""GET /openapi.json documents every route and method, and is a valid OpenAPI 3 document."""
from openapi_spec_validator import validate

from tucluster.app import routes
from tucluster.http import Context

METHODS = ("get", "post", "put", "patch", "delete")


def test_document_is_valid_openapi(client):
    document = client.simulate_get("/openapi.json").json
    validate(document)


def test_every_route_and_method_is_documented(client, settings, database):
    paths = client.simulate_get("/openapi.json").json["paths"]
    for route in routes(Context(settings, database, None, {})):
        uri = route[0].replace(":path}", "}")
        assert uri in paths, f"{uri} is not documented"
        for method in METHODS:
            if hasattr(route[1], f"on_{method}"):
                operation = paths[uri].get(method)
                assert operation, f"{method.upper()} {uri} is not documented"
                assert operation.get("responses"), f"{method.upper()} {uri} documents no response"
