import json

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from qflow.algorithms import Algorithm, build

TRUE = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def blobs(n=250, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([c + rng.normal(size=(n, 2)) for c in TRUE])


def chain(algo, X, steps):
    ks = []
    for i in range(steps):
        algo.iterate(X, new_from=0 if i == 0 else len(X))
        ks.append(algo.figures["k"])
    return ks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mcmc_finds_k_on_separated_blobs(seed):
    X = blobs()
    algo = build("mcmc", {"initK": 2}, seed=seed)
    ks = chain(algo, X, 120)
    assert algo.figures["k"] == 4
    assert ks[-40:].count(4) >= 36
    cost = np.linalg.norm(algo.centers[:, None] - TRUE[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    assert cost[rows, cols].max() < 0.3


def test_figures():
    X = blobs()
    algo = build("mcmc", {"initK": 3}, seed=0)
    chain(algo, X, 20)
    fig = algo.figures
    assert fig["iterations"] == 20
    assert 0 < fig["acceptations"] <= 20
    assert fig["lambda"] == pytest.approx(np.sqrt(5 / len(X)))
    assert 0 <= fig["rho"] <= 1
    assert fig["k"] == len(algo.centers) == len(algo.counts)
    labels = algo.predict(X)
    assert fig["loss"] == pytest.approx(np.sum((X - algo.centers[labels]) ** 2), rel=1e-3)


def test_seed_reproducible_bit_for_bit():
    X = blobs()
    runs = []
    for _ in range(2):
        algo = build("mcmc", {"initK": 2}, seed=42)
        chain(algo, X, 40)
        runs.append((algo.centers.tobytes(), algo.figures))
    assert runs[0] == runs[1]


def test_state_round_trip_continues_identically():
    X = blobs()
    a = build("mcmc", {"initK": 2}, seed=9)
    chain(a, X, 10)
    b = Algorithm.from_state(json.loads(json.dumps(a.state())))
    for _ in range(10):
        a.iterate(X, new_from=len(X))
        b.iterate(X, new_from=len(X))
    np.testing.assert_array_equal(a.centers, b.centers)
    assert a.figures == b.figures


def test_max_k_and_probak_respected():
    X = blobs()
    algo = build("mcmc", {"initK": 2, "maxK": 3, "probaK": [0, 1, 9]}, seed=0)
    assert max(chain(algo, X, 30)) <= 3


def test_reconfigure_and_pushed_data():
    X = blobs()
    algo = build("mcmc", {"initK": 2}, seed=0)
    chain(algo, X[:500], 5)
    algo.reconfigure({"maxK": 4})
    algo.iterate(X, new_from=500)  # new rows: the current state is re-evaluated
    assert algo.params["maxK"] == 4
    chain(algo, X, 60)
    assert algo.figures["k"] <= 4


def test_other_space():
    rng = np.random.default_rng(0)
    dirs = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = np.concatenate([d * rng.uniform(1, 5, size=(100, 1)) + 0.05 * rng.normal(size=(100, 2)) for d in dirs])
    algo = build("mcmc", {"initK": 2, "space": "cosinus"}, seed=0)
    chain(algo, X, 20)
    assert len(algo.centers) >= 2


@pytest.mark.parametrize("params, word", [
    ({"initK": 5, "maxK": 3}, "'initK'"),
    ({"probaK": [1, 2]}, "'probaK'"),
    ({"nu": 0}, "'nu'"),
    ({"amp": "big"}, "'amp'"),
    ({"k": 3}, "'k'"),
])
def test_bad_params(params, word):
    with pytest.raises(ValueError, match=word):
        build("mcmc", params)


def test_kinit_alias():
    assert build("mcmc", {"kInit": 3}).params["initK"] == 3
