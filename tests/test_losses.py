"""Losses: conventions, gradients against numerical ones, stability and clear errors."""

import numpy as np
import pytest

from nnlib import losses as L
from nnlib.activations import softmax
from nnlib.datasets import one_hot
from nnlib.gradients import numerical_gradient, relative_error


def rng(seed: int = 1) -> np.random.Generator:
    # One generator per test, so a test's data does not depend on which tests ran before it.
    return np.random.default_rng(seed)


BATCHES = [1, 2, 7]


def check(loss, y, t, analytic):
    numeric = numerical_gradient(lambda v: loss(v, t), y.copy(), h=1e-6)
    assert relative_error(analytic, numeric) < 1e-7


def test_book_example():
    t = one_hot(np.array([2]), 10)[0]
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    assert L.sum_squared_error(y, t) == pytest.approx(0.0975)
    assert L.cross_entropy_error(y, t) == pytest.approx(0.510825624, rel=1e-6)
    y_wrong = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
    assert L.sum_squared_error(y_wrong, t) == pytest.approx(0.5975)
    assert L.cross_entropy_error(y_wrong, t) == pytest.approx(2.302584, rel=1e-6)


@pytest.mark.parametrize("n", BATCHES)
def test_squared_error_grads(n):
    gen = rng()
    y, t = gen.standard_normal((n, 4)), gen.standard_normal((n, 4))
    check(L.sum_squared_error, y, t, L.sum_squared_error_grad(y, t))
    check(L.mean_squared_error, y, t, L.mean_squared_error_grad(y, t))
    assert L.mean_squared_error(y, t) == pytest.approx(np.mean((y - t) ** 2))


@pytest.mark.parametrize("n", BATCHES)
@pytest.mark.parametrize("labels", ["index", "one-hot"])
def test_cross_entropy_grads(n, labels):
    gen = rng()
    y = softmax(gen.standard_normal((n, 5)))
    idx = gen.integers(0, 5, n)
    t = idx if labels == "index" else one_hot(idx, 5)
    check(L.cross_entropy_error, y, t, L.cross_entropy_error_grad(y, t))
    logits = gen.standard_normal((n, 5))
    loss, dlogits = L.softmax_cross_entropy(logits, t)
    assert loss == pytest.approx(L.cross_entropy_error(softmax(logits), t))
    check(lambda z, tt: L.softmax_cross_entropy(z, tt)[0], logits, t, dlogits)


def test_one_hot_and_index_labels_agree():
    gen = rng()
    y = softmax(gen.standard_normal((6, 3)))
    idx = gen.integers(0, 3, 6)
    assert L.cross_entropy_error(y, idx) == pytest.approx(L.cross_entropy_error(y, one_hot(idx, 3)))


@pytest.mark.parametrize("n", BATCHES)
def test_l2_penalty_grad(n):
    gen = rng()
    W = gen.standard_normal((3, 4))
    assert L.l2_penalty([W, 2 * W], 0.1, n) == pytest.approx(0.1 / (2 * n) * 5 * np.sum(W**2))
    check(lambda w, _: L.l2_penalty(w, 0.3, n), W, None, L.l2_penalty_grad(W, 0.3, n))


def test_cross_entropy_of_exact_zero_and_one_is_finite():
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    loss = L.cross_entropy_error(y, np.array([0, 0]))
    assert np.isfinite(loss)
    assert loss == pytest.approx(-np.log(L.PROB_EPS) / 2)
    assert np.all(np.isfinite(L.cross_entropy_error_grad(y, np.array([0, 0]))))
    assert L.cross_entropy_error(np.array([[0.0, 1.0]]), np.array([1])) == pytest.approx(
        0, abs=1e-12
    )


def test_softmax_cross_entropy_extreme_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    loss, d = L.softmax_cross_entropy(logits, np.array([1, 1]))
    assert np.isfinite(loss) and np.all(np.isfinite(d))
    assert loss == pytest.approx(1e4)


@pytest.mark.parametrize(
    ("y", "t", "message"),
    [
        (np.zeros((100, 10)), np.zeros(32, dtype=int), "100 rows but t has 32"),
        (np.zeros((4, 10)), np.array([0, 1, 10, 2]), "label 10 is outside the classes 0..9"),
        (np.zeros((4, 10)), np.array([0, 1, -1, 2]), "label -1 is outside"),
        (np.zeros((4, 10)), np.zeros((4, 9)), "do not fit predictions"),
        (np.zeros((4, 10)), np.array([0.5, 1, 2, 3]), "whole numbers"),
    ],
)
def test_bad_labels_name_the_problem(y, t, message):
    with pytest.raises(ValueError, match=message):
        L.cross_entropy_error(y + 0.1, t)
    if y.ndim == 2:
        with pytest.raises(ValueError, match=message):
            L.softmax_cross_entropy(y, t)


def test_squared_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(3,\)"):
        L.sum_squared_error(np.zeros((3, 2)), np.zeros(3))
