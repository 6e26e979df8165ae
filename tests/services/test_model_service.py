"""Model rules against the real database, without HTTP: names, renames and deletes with active runs,
and reading one file of a stored archive."""
from __future__ import annotations

import io
import uuid

import pytest

from tests.support import TGC, simple_model
from tucluster import states
from tucluster.errors import Conflict, Invalid, NotFound
from tucluster.services import models as model_service
from tucluster.store import runs as run_store


def stored(database, settings) -> str:
    name = f"rules-{uuid.uuid4().hex[:6]}"
    return model_service.create_model(database, settings, io.BytesIO(simple_model()), name)["name"]


@pytest.mark.parametrize("name", ["", "-leading", "a/b", "x" * 101, None])
def test_bad_model_names_are_invalid(name):
    with pytest.raises(Invalid):
        model_service.check_name(name)


def test_a_taken_name_is_a_conflict_and_keeps_no_second_archive(database, settings):
    name = stored(database, settings)
    archives = database.db["archives.files"].count_documents({})
    with pytest.raises(Conflict):
        model_service.create_model(database, settings, io.BytesIO(simple_model()), name)
    assert database.db["archives.files"].count_documents({}) == archives


def test_rename_carries_the_runs_along(database, settings):
    name = stored(database, settings)
    run = run_store.insert(database, run_store.new({"kind": "simulation", "model": name, "entryPoint": "run.tcf"}))
    run_store.update(database, run["_id"], {"state": states.SUCCEEDED})
    renamed = model_service.update_model(database, name, {"name": name + "-b", "description": "moved"})
    assert renamed["name"] == name + "-b" and renamed["description"] == "moved"
    assert run_store.get(database, run["_id"])["model"] == name + "-b"


@pytest.mark.parametrize("state", states.ACTIVE)
def test_rename_and_delete_wait_for_active_runs(database, settings, state):
    name = stored(database, settings)
    run = run_store.insert(database, run_store.new({"kind": "simulation", "model": name, "entryPoint": "run.tcf"}))
    run_store.update(database, run["_id"], {"state": state})
    with pytest.raises(Conflict, match="active run"):
        model_service.update_model(database, name, {"name": name + "-x"})
    with pytest.raises(Conflict, match="active run"):
        model_service.delete_model(database, name)


def test_rename_onto_a_taken_name_is_a_conflict(database, settings):
    first, second = stored(database, settings), stored(database, settings)
    with pytest.raises(Conflict, match="already exists"):
        model_service.update_model(database, first, {"name": second})


def test_one_file_of_the_archive_is_read_and_closed(database, settings):
    model = model_service.get_model(database, stored(database, settings))
    member = model_service.read_member(database, model, "model/grid.tgc")
    assert member.size == len(TGC) and member.read() == TGC.encode()
    member.close()
    assert member.archive.fp is None and member.source.closed
    with pytest.raises(NotFound, match="no file 'nope.txt'"):
        model_service.read_member(database, model, "nope.txt")
