import json

import numpy as np
import pytest

from qflow.algorithms import Algorithm, build

TRUE = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])


def stream(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([c + rng.normal(size=(n, 2)) for c in TRUE])
    return X[rng.permutation(len(X))]


def test_streaming_founds_one_cluster_per_blob():
    X = stream()
    algo = build("streaming", {"bufferSize": 50}, seed=0)
    algo.iterate(X)
    assert len(algo.centers) == 3 and algo.counts.sum() == len(X)
    labels = algo.predict(TRUE)
    assert len(set(labels)) == 3
    np.testing.assert_allclose(algo.centers[labels], TRUE, atol=0.5)


def test_streaming_consumes_only_new_rows():
    X = stream()
    algo = build("streaming", {}, seed=0)
    algo.iterate(X[:200])
    assert algo.seen == 200
    algo.iterate(X, new_from=200)
    assert algo.seen == len(X) == algo.counts.sum()
    algo.iterate(X, new_from=len(X))
    assert algo.seen == len(X)


def test_outlier_founds_singleton_after_out_after():
    X = stream(n=60)
    algo = build("streaming", {"outAfter": 10, "outRatio": 3.0}, seed=0)
    algo.iterate(X)
    k = len(algo.centers)
    far = np.array([[500.0, 500.0]])
    algo.iterate(np.concatenate([X, far]), new_from=len(X))
    assert algo.figures["outliers"] == 1 and len(algo.centers) == k + 1
    assert algo.counts[-1] == 1
    np.testing.assert_allclose(algo.centers[-1], far[0])
    # an outlier does not stretch the distance scale
    assert algo.figures["maxDistance"] < 100


def test_mu_controls_founding():
    X = stream()
    eager = build("streaming", {"mu": 0.05, "sigma": 0.0}, seed=0)
    eager.iterate(X)
    assert len(eager.centers) > 3


def test_state_round_trip_and_reproducible():
    X = stream()
    a = build("streaming", {}, seed=3)
    a.iterate(X[:100])
    b = Algorithm.from_state(json.loads(json.dumps(a.state())))
    a.iterate(X, new_from=100)
    b.iterate(X, new_from=100)
    np.testing.assert_array_equal(a.centers, b.centers)
    assert a.figures == b.figures


@pytest.mark.parametrize("params, word", [
    ({"outRatio": 0}, "'outRatio'"),
    ({"bufferSize": 0}, "'bufferSize'"),
    ({"mu": "x"}, "'mu'"),
    ({"k": 3}, "'k'"),
])
def test_bad_params(params, word):
    with pytest.raises(ValueError, match=word):
        build("streaming", params)
