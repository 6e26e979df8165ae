import json

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from qflow.algorithms import ALGORITHMS, Algorithm, build

TRUE = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def blobs(n=200, seed=0, centres=TRUE, sd=1.0):
    rng = np.random.default_rng(seed)
    return np.concatenate([c + sd * rng.normal(size=(n, centres.shape[1])) for c in centres])


def match_error(found, true):
    cost = np.linalg.norm(found[:, None] - true[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return cost[rows, cols].max()


def run(algo, X, n=100):
    for _ in range(n):
        algo.iterate(X)
        if algo.converged:
            break
    return algo


@pytest.mark.parametrize("init", ["kmeans++", "random"])
def test_kmeans_finds_blobs(init):
    X = blobs()
    algo = run(build("kmeans", {"k": 4, "init": init}, seed=3), X)
    assert algo.converged
    assert match_error(algo.centers, TRUE) < 0.3
    assert sorted(algo.counts) == [200] * 4
    assert algo.figures["iterations"] >= 1 and algo.figures["loss"] > 0


def test_loss_matches_direct_computation():
    X = blobs()
    algo = build("kmeans", {"k": 4}, seed=1)
    algo.iterate(X)
    labels = algo.predict(X)
    direct = np.sum((X - algo.centers[labels]) ** 2)
    assert algo.figures["loss"] == pytest.approx(direct, rel=1e-6)


def test_given_init_and_one_iteration():
    X = blobs()
    given = TRUE + 0.5
    algo = build("kmeans", {"init": "given", "centers": given.tolist()}, seed=0)
    assert algo.params["k"] == 4
    algo.iterate(X)
    labels = np.argmin(np.linalg.norm(X[:, None] - given[None], axis=2), axis=1)
    expected = np.array([X[labels == j].mean(axis=0) for j in range(4)])
    np.testing.assert_allclose(algo.centers, expected, atol=1e-10)


def test_numpy_and_threaded_paths_agree():
    X = blobs(n=3000)
    a = build("kmeans", {"k": 4, "numCPU": 2}, seed=5)
    b = build("kmeans", {"k": 4, "parallel": False}, seed=5)
    a.iterate(X)
    b.iterate(X)
    np.testing.assert_allclose(a.centers, b.centers, atol=1e-9)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_predict_consistent_with_centres():
    X = blobs()
    algo = run(build("kmeans", {"k": 4}, seed=2), X)
    labels = algo.predict(X)
    brute = np.argmin(np.linalg.norm(X[:, None] - algo.centers[None], axis=2), axis=1)
    np.testing.assert_array_equal(labels, brute)
    assert np.bincount(labels).tolist() == algo.counts.tolist()


def test_reconfigure_applies_from_next_iteration():
    X = blobs()
    algo = run(build("kmeans", {"k": 4}, seed=0), X)
    algo.reconfigure({"k": 3})
    assert len(algo.centers) == 4  # not yet
    algo.iterate(X)
    assert algo.params["k"] == 3 and len(algo.centers) == 3
    algo.reconfigure({"k": 5})
    algo.iterate(X)
    assert len(algo.centers) == 5


def test_reconfigure_validates():
    algo = build("kmeans", {}, seed=0)
    with pytest.raises(ValueError, match="'k'"):
        algo.reconfigure({"k": -1})
    assert algo.params["k"] == 8


def test_state_round_trip_continues_identically():
    X = blobs()
    a = build("kmeans", {"k": 4, "init": "random"}, seed=7)
    a.iterate(X)
    state = json.loads(json.dumps(a.state()))
    b = Algorithm.from_state(state)
    a.iterate(X)
    b.iterate(X)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert a.figures == b.figures and b.name == "kmeans"


def test_seed_reproducible():
    X = blobs()
    a = run(build("kmeans", {"k": 4}, seed=11), X)
    b = run(build("kmeans", {"k": 4}, seed=11), X)
    np.testing.assert_array_equal(a.centers, b.centers)


def test_minibatch_alias():
    X = blobs(n=500)
    algo = build("minibatch", {"k": 4, "dataPerIter": 200}, seed=0)
    for _ in range(60):
        algo.iterate(X)
    assert match_error(algo.centers, TRUE) < 0.5
    assert algo.counts.sum() == 200


@pytest.mark.parametrize("params, word", [
    ({"k": 0}, "'k'"),
    ({"k": "four"}, "'k'"),
    ({"init": "magic"}, "'init'"),
    ({"init": "given"}, "'centers'"),
    ({"space": "hyperbolic"}, "'space'"),
    ({"tol": -1.0}, "'tol'"),
    ({"bogus": 1}, "'bogus'"),
])
def test_bad_params_raise_clear_errors(params, word):
    with pytest.raises(ValueError, match=word):
        build("kmeans", params)


def test_unknown_param_lists_accepted_and_unknown_algorithm():
    with pytest.raises(ValueError, match="accepted: .*dataPerIter"):
        build("kmeans", {"nope": 1})
    with pytest.raises(ValueError, match="unknown algorithm 'dbscan'"):
        build("dbscan", {})


def test_schema_documents_every_parameter():
    assert {"kmeans", "mcmc", "streaming", "minibatch"} <= set(ALGORITHMS)
    for schema in ALGORITHMS.values():
        for spec in schema.values():
            assert spec["type"] in {"int", "float", "str", "bool", "array"}
            assert spec["help"] and "default" in spec
    json.dumps(ALGORITHMS)
