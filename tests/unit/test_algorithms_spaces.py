import numpy as np
import pytest

from qflow.algorithms import SPACES, build
from qflow.algorithms.spaces import make_space


def test_registry():
    assert set(SPACES) == {"euclid", "cosinus", "dtw"}


def test_euclid_dist_and_centroid():
    sp = make_space("euclid")
    X = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(sp.dist(X, X), [[0, 5], [5, 0]], atol=1e-12)
    np.testing.assert_allclose(sp.centroid(X, [1, 3]), [2.25, 3.0])


def test_cosine_clusters_by_direction():
    rng = np.random.default_rng(0)
    angles = np.concatenate([rng.normal(0.2, 0.05, 100), rng.normal(1.3, 0.05, 100)])
    radii = rng.uniform(0.1, 50, 200)  # norms vary wildly: only direction may matter
    X = np.c_[radii * np.cos(angles), radii * np.sin(angles)]
    algo = build("kmeans", {"k": 2, "space": "cosinus"}, seed=0)
    for _ in range(20):
        algo.iterate(X)
    labels = algo.predict(X)
    assert len(set(labels[:100])) == 1 and len(set(labels[100:])) == 1 and labels[0] != labels[-1]
    np.testing.assert_allclose(np.linalg.norm(algo.centers, axis=1), 1.0)
    expected = sorted([0.2, 1.3])
    assert sorted(np.arctan2(algo.centers[:, 1], algo.centers[:, 0])) == pytest.approx(expected, abs=0.03)


def test_cosine_distance_values():
    sp = make_space("cosinus")
    d = sp.dist(np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]]), np.array([[5.0, 0.0]]))
    np.testing.assert_allclose(d[:, 0], [0.0, 1.0, 2.0], atol=1e-12)


def test_dtw_shift_invariance_and_window():
    t = np.linspace(0, 4 * np.pi, 40)
    a, b = np.sin(t), np.sin(t - 0.6)
    free = make_space("dtw")
    assert free.dist(a[None], b[None])[0, 0] < 0.5 * np.abs(a - b).sum()
    # a zero-width band forbids any warping: pointwise L1
    rigid = make_space("dtw", window=0)
    assert rigid.dist(a[None], b[None])[0, 0] == pytest.approx(np.abs(a - b).sum())
    narrow = make_space("dtw", window=1).dist(a[None], b[None])[0, 0]
    assert free.dist(a[None], b[None])[0, 0] <= narrow <= np.abs(a - b).sum()


def test_dtw_multivariate_and_inner_cosinus():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 10, 2))
    sp = make_space("dtw", inner="euclid")
    assert sp.dist(X, X).shape == (3, 3)
    np.testing.assert_allclose(np.diag(sp.dist(X, X)), 0.0, atol=1e-12)
    cos = make_space("dtw", inner="cosinus")
    assert cos.dist(X, 5 * X)[0, 0] == pytest.approx(0.0, abs=1e-12)


def series(seed=0, n=12, length=32):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, length)
    shifts = rng.uniform(-0.5, 0.5, size=n)
    sines = np.array([np.sin(t + s) for s in shifts])
    squares = np.array([np.sign(np.sin(t + s)) for s in shifts])
    return np.concatenate([sines, squares]) + 0.05 * rng.normal(size=(2 * n, length))


@pytest.mark.parametrize("window", [None, 4])
def test_dtw_groups_sines_and_squares(window):
    X = series()
    # seeds of different phase (k-means++ may otherwise pick a local optimum
    # splitting by phase): DTW must still group by shape
    params = {"space": "dtw", "init": "given", "centers": X[[0, 20]].tolist()}
    if window is not None:
        params["window"] = window
    algo = build("kmeans", params, seed=1)
    for _ in range(5):
        algo.iterate(X)
    labels = algo.predict(X)
    assert len(set(labels[:12])) == 1 and len(set(labels[12:])) == 1 and labels[0] != labels[-1]
    assert algo.centers.shape == (2, 32)


def test_dba_centroid_keeps_shape():
    t = np.linspace(0, 2 * np.pi, 40)
    X = np.array([np.sin(t + s) for s in (-0.7, 0.0, 0.7)])
    dba = make_space("dtw").centroid(X)
    mean = X.mean(axis=0)
    # the pointwise mean of out-of-phase sines loses amplitude; DBA keeps it
    assert np.ptp(dba) > np.ptp(mean)
    assert np.ptp(dba) == pytest.approx(2.0, abs=0.15)


def test_bad_inner_space_and_window():
    with pytest.raises(ValueError, match="innerSpace"):
        build("kmeans", {"space": "dtw", "innerSpace": "manhattan"})
    with pytest.raises(ValueError, match="window"):
        build("kmeans", {"space": "dtw", "window": -2})
