"""Run rules that need no database: which engine runs an entry point, and how a run looks as a task."""
from __future__ import annotations

import pytest

from qflow.engines import load_all
from tucluster import states
from tucluster.errors import Invalid
from tucluster.services.runs import choose_engine, task_view

ENGINES = load_all({
    "swe2d": {"kind": "command", "command": ["{python}", "-m", "qflow.engines.swe2d", "{control_file}"],
              "entry_points": ["*.tcf"]},
    "anuga": {"kind": "anuga"},
    "any": {"kind": "command", "command": ["run", "{control_file}"]},
})


def test_the_first_engine_taking_the_entry_point_is_chosen():
    assert choose_engine(ENGINES, "model.tcf", None) == "swe2d"
    assert choose_engine(ENGINES, "dambreak.py", None) == "anuga"


def test_entry_point_patterns_ignore_case():
    assert choose_engine(ENGINES, "MODEL.TCF", "swe2d") == "swe2d"


def test_a_named_engine_is_kept_when_it_takes_the_entry_point():
    assert choose_engine(ENGINES, "model.tcf", "any") == "any"


def test_an_unknown_engine_is_invalid_and_names_the_configured_ones():
    with pytest.raises(Invalid, match="unknown engine .tuflow.; configured engines: anuga, any, swe2d") as caught:
        choose_engine(ENGINES, "model.tcf", "tuflow")
    assert "engine" in caught.value.errors


def test_an_engine_that_does_not_take_the_entry_point_is_invalid():
    with pytest.raises(Invalid, match=r"engine 'anuga' runs entry points matching \*\.py") as caught:
        choose_engine(ENGINES, "model.tcf", "anuga")
    assert "entryPoint" in caught.value.errors


def test_no_engine_for_the_entry_point_is_invalid():
    with pytest.raises(Invalid, match="no configured engine runs 'model.tcf'"):
        choose_engine(load_all({"anuga": {"kind": "anuga"}}), "model.tcf", None)


@pytest.mark.parametrize("state, celery", [(states.QUEUED, "PENDING"), (states.RUNNING, "STARTED"),
                                           (states.PAUSED, "STARTED"), (states.SUCCEEDED, "SUCCESS"),
                                           (states.FAILED, "FAILURE"), (states.CANCELLED, "REVOKED")])
def test_every_run_state_has_a_task_state(state, celery):
    view = task_view({"_id": "r", "taskId": "t", "state": state, "progress": 0.5, "error": "why"})
    assert view["state"] == celery and view["runState"] == state and view["runId"] == "r" and view["id"] == "t"


def test_a_succeeded_task_carries_its_result_and_a_failed_one_its_error():
    done = task_view({"_id": "r", "taskId": "t", "state": states.SUCCEEDED, "results": [{}, {}], "figures": {"a": 1}})
    assert done["result"] == {"results": 2, "figures": {"a": 1}} and "error" not in done
    failed = task_view({"_id": "r", "taskId": "t", "state": states.FAILED, "error": "engine exited with code 3"})
    assert failed["error"] == "engine exited with code 3" and "result" not in failed
