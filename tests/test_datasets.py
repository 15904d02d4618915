"""Toy data sets and one_hot."""

import numpy as np
import pytest

from nnlib.datasets import moons, one_hot, spirals, train_val_split, xor, xor_cloud


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


def test_train_val_split_is_a_seeded_partition():
    x = np.arange(200.0).reshape(100, 2)
    t = np.arange(100)
    (x_tr, t_tr), (x_val, t_val) = train_val_split(x, t, 30, seed=1)
    assert x_tr.shape == (70, 2) and x_val.shape == (30, 2)
    # every sample lands in exactly one part, rows and labels stay paired
    assert sorted(np.concatenate([t_tr, t_val]).tolist()) == list(range(100))
    np.testing.assert_array_equal(x_tr[:, 0], 2 * t_tr)
    np.testing.assert_array_equal(x_val[:, 0], 2 * t_val)
    # the same seed gives the same split; another seed another one
    np.testing.assert_array_equal(train_val_split(x, t, 30, seed=1)[1][1], t_val)
    assert not np.array_equal(train_val_split(x, t, 30, seed=2)[1][1], t_val)
    # shuffled, not the last rows
    assert not np.array_equal(t_val, np.arange(70, 100))


@pytest.mark.parametrize("n_val", [0, 100, -1, 2.5])
def test_train_val_split_rejects_bad_sizes(n_val):
    with pytest.raises(ValueError, match="n_val"):
        train_val_split(np.zeros((100, 2)), np.zeros(100), n_val)


def test_train_val_split_rejects_mismatched_rows():
    with pytest.raises(ValueError, match="rows"):
        train_val_split(np.zeros((100, 2)), np.zeros(99), 10)


def test_no_import_circle_between_datasets_and_mnist():
    # one_hot lives on a floor below both: the loader must not import the toy data sets
    import ast
    import inspect

    import nnlib.mnist

    tree = ast.parse(inspect.getsource(nnlib.mnist))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "nnlib.datasets" not in imported
