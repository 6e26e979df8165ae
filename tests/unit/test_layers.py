"""The layer rules of the architecture (docs/architecture.md), executable.

Each module of the tree is imported in a fresh interpreter (a child forked from a bare one), and what
the import pulled in is checked against the rule of the module's layer: the workers load no Falcon,
the store knows nothing above it, engines and algorithms stay pure, the formats reach no database.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A bare interpreter forks once per module; each child imports one module and reports sys.modules.
PROBE = r"""
import json, os, sys
results = {}
for name in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            __import__(name)
            report = {"loaded": sorted(sys.modules)}
        except BaseException as exc:
            report = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        results[name] = json.loads(pipe.read())
    os.waitpid(pid, 0)
print(json.dumps(results))
"""


def modules_under(package: str) -> list[str]:
    base = ROOT / package.replace(".", "/")
    found = []
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


ENGINES = [m for m in modules_under("qflow.engines")]
ALGORITHMS = modules_under("qflow.algorithms")
STORE = modules_under("tucluster.store")
FORMATS = modules_under("tucluster.formats")
SERVICES = modules_under("tucluster.services")
SCHEMAS = modules_under("tucluster.schemas")
QFLOW = [m for m in modules_under("qflow") if m not in ENGINES and m not in ALGORITHMS]
EVERY = sorted(set(ENGINES + ALGORITHMS + STORE + FORMATS + SERVICES + SCHEMAS + QFLOW
                   + ["qflow.tasks", "tucluster.errors", "tucluster.states", "tucluster.settings"]))

ABOVE_STORE = ("tucluster.resources", "tucluster.schemas", "tucluster.services", "tucluster.http", "tucluster.app")
API_ONLY = ("tucluster.resources", "tucluster.http", "tucluster.app", "tucluster.openapi")


@pytest.fixture(scope="module")
def imports() -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *EVERY], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=True)
    return json.loads(done.stdout)


def loaded(imports: dict, module: str) -> set[str]:
    report = imports[module]
    assert "error" not in report, f"importing {module} failed: {report.get('error')}"
    return set(report["loaded"])


def offenders(names: set[str], forbidden) -> list[str]:
    return sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("module", ["qflow.tasks"] + QFLOW)
def test_the_worker_side_loads_no_falcon_and_nothing_of_the_api(imports, module):
    assert offenders(loaded(imports, module), ("falcon",) + API_ONLY + ("tucluster.services",
                                                                         "tucluster.schemas")) == []


@pytest.mark.parametrize("module", STORE)
def test_the_store_loads_no_falcon_and_nothing_above_it(imports, module):
    assert offenders(loaded(imports, module), ("falcon",) + ABOVE_STORE) == []


@pytest.mark.parametrize("module", ENGINES + ALGORITHMS)
def test_engines_and_algorithms_load_neither_falcon_nor_pymongo(imports, module):
    assert offenders(loaded(imports, module), ("falcon", "pymongo", "bson", "gridfs", "celery",
                                               "tucluster.store")) == []


@pytest.mark.parametrize("module", FORMATS)
def test_formats_load_neither_falcon_nor_pymongo(imports, module):
    assert offenders(loaded(imports, module), ("falcon", "pymongo", "tucluster.store", "tucluster.services")) == []


@pytest.mark.parametrize("module", SERVICES + ["tucluster.errors", "tucluster.states", "tucluster.settings"])
def test_domain_code_loads_no_falcon_and_no_resource(imports, module):
    assert offenders(loaded(imports, module), ("falcon",) + API_ONLY) == []


@pytest.mark.parametrize("module", SCHEMAS)
def test_schemas_load_no_store_service_or_falcon(imports, module):
    assert offenders(loaded(imports, module), ("falcon", "pymongo", "tucluster.store", "tucluster.services")) == []


def test_every_layer_is_probed():
    # A folder renamed or emptied would silently take its rule with it.
    for group in (ENGINES, ALGORITHMS, STORE, FORMATS, SERVICES, SCHEMAS, QFLOW):
        assert len(group) >= 3, group
