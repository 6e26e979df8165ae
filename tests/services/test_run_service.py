"""Run rules against the real database, without HTTP or a broker: what a simulation spec holds, that a
run is saved before it is enqueued, and which cancels, retries, deletes and baselines are allowed."""
from __future__ import annotations

import io
import uuid

import pytest

from qflow.engines import load_all
from tests.support import TCF, make_zip, simple_model
from tucluster import states
from tucluster.errors import Conflict, Invalid, NotFound, Unavailable
from tucluster.services import models as model_service
from tucluster.services import runs as run_service
from tucluster.store import runs as run_store
from tucluster.store import utcnow


class RecordingDispatcher:
    """Stands where the broker would: keeps what was enqueued, with the run document as stored then."""

    def __init__(self, database, fail: bool = False):
        self.database, self.fail, self.sent = database, fail, []

    def enqueue(self, run: dict) -> None:
        self.sent.append((run["_id"], run_store.get(self.database, run["_id"])))
        if self.fail:
            raise ConnectionRefusedError("broker down")


@pytest.fixture(scope="module")
def engines(settings):
    return load_all(settings.engines)


@pytest.fixture(scope="module")
def model(database, settings):
    name = f"service-{uuid.uuid4().hex[:6]}"
    return model_service.create_model(database, settings, io.BytesIO(simple_model()), name)["name"]


def spec(database, engines, model, **body):
    return run_service.simulation_spec(database, engines, dict({"model": model, "entryPoint": "run.tcf",
                                                                "engine": "fake"}, **body))


def in_state(database, engines, model, state: str, **extra) -> dict:
    run = run_store.insert(database, run_store.new(spec(database, engines, model)))
    run_store.update(database, run["_id"], dict({"state": state}, **extra))
    return run_store.get(database, run["_id"])


def test_a_simulation_spec_names_the_archive_engine_and_overrides_as_text(database, engines, model):
    built = spec(database, engines, model, engine=None, overrides={"End Time": 0.5})
    stored = model_service.get_model(database, model)
    assert built["engine"] == "swe2d"  # the first configured engine that takes a .tcf
    assert built["archiveId"] == stored["archiveId"] and built["overrides"] == {"End Time": "0.5"}
    assert built["kind"] == "simulation" and built["isBaseline"] is False


def test_a_spec_for_an_unknown_model_or_entry_point_is_refused(database, engines, model):
    with pytest.raises(NotFound):
        spec(database, engines, "no-such-model")
    with pytest.raises(Invalid, match="has no entry point 'other.tcf'"):
        spec(database, engines, model, entryPoint="other.tcf")


def test_a_spec_for_an_entry_point_that_does_not_validate_is_refused(database, settings, engines):
    broken = make_zip({"run.tcf": TCF})  # its geometry control file is missing
    name = model_service.create_model(database, settings, io.BytesIO(broken), f"broken-{uuid.uuid4().hex[:6]}")["name"]
    with pytest.raises(Invalid, match="1 missing file") as caught:
        spec(database, engines, name)
    assert caught.value.errors["validation"][0]["missing"][0]["command"] == "Geometry Control File"


def test_a_run_is_saved_queued_before_it_is_enqueued(database, engines, model):
    dispatcher = RecordingDispatcher(database)
    run = run_service.submit(database, dispatcher, spec(database, engines, model))
    (sent_id, stored_then), = dispatcher.sent
    assert sent_id == run["_id"] and stored_then["state"] == states.QUEUED and stored_then["taskId"] == run["taskId"]


def test_a_run_the_broker_refused_is_failed_not_left_queued(database, engines, model):
    dispatcher = RecordingDispatcher(database, fail=True)
    with pytest.raises(Unavailable):
        run_service.submit(database, dispatcher, spec(database, engines, model))
    run = run_store.get(database, dispatcher.sent[0][0])
    assert run["state"] == states.FAILED and "could not enqueue" in run["error"]


def test_cancel_ends_a_queued_run_at_once(database, engines, model):
    run = in_state(database, engines, model, states.QUEUED)
    cancelled = run_service.cancel(database, run["_id"])
    assert cancelled["state"] == states.CANCELLED and cancelled["finished"] is not None


@pytest.mark.parametrize("state", states.HELD)
def test_cancel_asks_the_worker_of_a_held_run(database, engines, model, state):
    run = in_state(database, engines, model, state)
    asked = run_service.cancel(database, run["_id"])
    assert asked["state"] == state and asked["cancelRequested"] is True


@pytest.mark.parametrize("state", states.FINISHED)
def test_cancel_of_an_ended_run_is_a_conflict(database, engines, model, state):
    run = in_state(database, engines, model, state)
    with pytest.raises(Conflict, match=f"is {state}"):
        run_service.cancel(database, run["_id"])


@pytest.mark.parametrize("state", states.ACTIVE)
def test_retry_and_delete_of_an_active_run_are_conflicts(database, engines, model, state):
    run = in_state(database, engines, model, state)
    with pytest.raises(Conflict):
        run_service.retry(database, RecordingDispatcher(database), engines, run["_id"], {})
    with pytest.raises(Conflict):
        run_service.delete(database, run["_id"])


def test_retry_merges_new_overrides_over_the_old_and_names_its_origin(database, engines, model):
    first = run_store.insert(database, run_store.new(spec(database, engines, model,
                                                          overrides={"End Time": "1", "Timestep": "2"})))
    run_store.update(database, first["_id"], {"state": states.FAILED})
    again = run_service.retry(database, RecordingDispatcher(database), engines, first["_id"],
                              {"overrides": {"End Time": "3"}})
    assert again["overrides"] == {"End Time": "3", "Timestep": "2"} and again["retryOf"] == first["_id"]
    assert again["state"] == states.QUEUED and again["_id"] != first["_id"]


def test_only_a_succeeded_simulation_can_be_the_baseline(database, engines, model):
    failed = in_state(database, engines, model, states.FAILED)
    with pytest.raises(Conflict, match="only a succeeded run"):
        run_service.set_baseline(database, failed["_id"], True)


def test_one_baseline_per_model_and_entry_point(database, engines, model):
    first = in_state(database, engines, model, states.SUCCEEDED, finished=utcnow())
    second = in_state(database, engines, model, states.SUCCEEDED, finished=utcnow())
    run_service.set_baseline(database, first["_id"], True)
    run_service.set_baseline(database, second["_id"], True)
    assert run_store.get(database, first["_id"])["isBaseline"] is False
    assert model_service.get_model(database, model)["baselines"]["run.tcf"] == second["_id"]
    run_service.set_baseline(database, second["_id"], False)
    assert "run.tcf" not in model_service.get_model(database, model)["baselines"]


def test_deleting_the_baseline_clears_it_on_the_model(database, engines, model):
    run = in_state(database, engines, model, states.SUCCEEDED)
    run_service.set_baseline(database, run["_id"], True)
    run_service.delete(database, run["_id"])
    assert "run.tcf" not in model_service.get_model(database, model)["baselines"]
    with pytest.raises(NotFound):
        run_service.get_run(database, run["_id"])


def long_ago(settings):
    import datetime as dt

    return utcnow() - dt.timedelta(seconds=settings.stale_after_seconds * 10)


def test_a_held_run_whose_worker_is_silent_is_queued_and_enqueued_again(database, engines, model, settings):
    dispatcher = RecordingDispatcher(database)
    run = in_state(database, engines, model, states.RUNNING, heartbeat=long_ago(settings), attempts=1)
    seen = run_service.observed(database, settings, dispatcher, run)
    assert seen["state"] == states.QUEUED and seen["worker"] is None
    assert [sent for sent, _ in dispatcher.sent] == [run["_id"]]


def test_a_silent_run_on_its_last_attempt_is_failed(database, engines, model, settings):
    run = in_state(database, engines, model, states.RUNNING, heartbeat=long_ago(settings),
                   attempts=settings.max_attempts)
    seen = run_service.observed(database, settings, RecordingDispatcher(database), run)
    assert seen["state"] == states.FAILED and "worker lost" in seen["error"]


def test_a_silent_run_asked_to_cancel_is_cancelled(database, engines, model, settings):
    run = in_state(database, engines, model, states.RUNNING, heartbeat=long_ago(settings), attempts=1,
                   cancelRequested=True)
    seen = run_service.observed(database, settings, RecordingDispatcher(database), run)
    assert seen["state"] == states.CANCELLED


def test_a_beating_run_is_left_alone(database, engines, model, settings):
    fresh = in_state(database, engines, model, states.RUNNING, heartbeat=utcnow())
    assert run_service.observed(database, settings, RecordingDispatcher(database), fresh)["state"] == states.RUNNING
