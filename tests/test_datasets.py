"""Toy data sets and one_hot."""

import numpy as np
import pytest

from nnlib.datasets import moons, one_hot, spirals, xor, xor_cloud


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([0, 2]), 3), [[1, 0, 0], [0, 0, 1]])
    assert one_hot(np.array([1]), 2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match=r"label 3 is outside the classes 0\.\.2"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="integer class indices"):
        one_hot(np.array([0.5]), 3)
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        one_hot(np.zeros((2, 2), dtype=int), 3)


def test_xor():
    x, t = xor()
    assert x.shape == (4, 2)
    np.testing.assert_array_equal(t, [0, 1, 1, 0])


def test_xor_cloud_labels_are_the_quadrants_and_seeded():
    x, t = xor_cloud(300, seed=0)
    assert x.shape == (300, 2) and t.shape == (300,)
    np.testing.assert_array_equal(t, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(int))
    np.testing.assert_array_equal(xor_cloud(300, seed=0)[0], x)
    assert 0.4 < t.mean() < 0.6


@pytest.mark.parametrize("make", [lambda: spirals(50, 3), lambda: moons(100)])
def test_2d_sets(make):
    x, t = make()
    assert x.ndim == 2 and x.shape[1] == 2 and len(x) == len(t)
    assert np.all(np.isfinite(x))
    counts = np.bincount(t)
    assert counts.min() == counts.max()
