import json

import numpy as np

from qflow.algorithms import Assembly

BASE = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
COUNTS = [100, 80, 60, 40]


def test_first_frame_labels_and_appear():
    asm = Assembly()
    assert asm.coalesce(BASE, COUNTS) == [0, 1, 2, 3]
    assert asm.appeared == [0, 1, 2, 3] and asm.disappeared == []
    assert set(asm.known) == {0, 1, 2, 3}


def test_labels_survive_slow_drift():
    asm = Assembly()
    first = asm.coalesce(BASE, COUNTS)
    rng = np.random.default_rng(0)
    centres = BASE.copy()
    for _ in range(50):
        centres = centres + np.array([0.3, 0.2]) + 0.05 * rng.normal(size=centres.shape)
        assert asm.coalesce(centres, COUNTS) == first
        assert asm.appeared == [] and asm.disappeared == []
    # after 50 frames the centres moved ~18 units, more than their spacing
    assert np.linalg.norm(centres - BASE, axis=1).min() > 10


def test_labels_follow_a_permutation():
    asm = Assembly()
    asm.coalesce(BASE, COUNTS)
    perm = [2, 0, 3, 1]
    labels = asm.coalesce(BASE[perm] + 0.1, np.array(COUNTS)[perm])
    assert labels == perm


def test_appear_and_disappear_and_reappear():
    asm = Assembly()
    asm.coalesce(BASE, COUNTS)
    extra = np.array([[30.0, 30.0]])
    labels = asm.coalesce(np.concatenate([BASE, extra]), COUNTS + [10])
    assert labels[:4] == [0, 1, 2, 3] and labels[4] == 4 and asm.appeared == [4]
    labels = asm.coalesce(BASE[[0, 1, 3]], [100, 80, 40])
    assert labels == [0, 1, 3]
    assert sorted(asm.disappeared) == [2, 4]
    assert asm.known[2][1] == 0 and asm.known[4][1] == 0
    np.testing.assert_allclose(asm.known[2][0], BASE[2])
    labels = asm.coalesce(BASE, COUNTS)
    assert labels == [0, 1, 2, 3] and asm.reappeared == [2] and asm.appeared == []


def test_state_round_trip():
    asm = Assembly()
    asm.coalesce(BASE, COUNTS)
    copy = Assembly.from_state(json.loads(json.dumps(asm.state())))
    assert copy.coalesce(BASE[::-1], COUNTS[::-1]) == [3, 2, 1, 0]


def test_drift_with_permutation_and_varying_counts():
    rng = np.random.default_rng(1)
    asm = Assembly()
    first = asm.coalesce(BASE, COUNTS)
    centres = BASE.copy()
    for _ in range(50):
        centres = centres + np.array([0.3, 0.2]) + 0.05 * rng.normal(size=centres.shape)
        perm = rng.permutation(4)
        counts = (np.array(COUNTS) * rng.uniform(0.5, 1.5, 4)).astype(int)
        labels = asm.coalesce(centres[perm], counts[perm])
        assert [labels[list(perm).index(i)] for i in range(4)] == first
