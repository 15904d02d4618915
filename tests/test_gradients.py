"""Numerical derivatives and gradient descent: the seed cases of notebook 01."""

import numpy as np
import pytest

from nnlib.gradients import (
    gradient_check,
    gradient_descent,
    numerical_derivative,
    numerical_gradient,
    relative_error,
)


def f2(x):
    return float(np.sum(x**2))


def test_numerical_derivative_central_difference():
    assert numerical_derivative(lambda x: 0.01 * x**2 + 0.1 * x, 5.0) == pytest.approx(
        0.2, abs=1e-9
    )
    assert numerical_derivative(np.sin, 1.0) == pytest.approx(np.cos(1.0), abs=1e-8)


@pytest.mark.parametrize("shape", [(1,), (2,), (3, 4), (2, 3, 2)])
def test_numerical_gradient_of_any_shape_restores_x_exactly(shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    before = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    assert np.array_equal(x, before)  # bit for bit, not merely close
    assert grad.shape == shape
    assert relative_error(grad, np.sin(x) + x * np.cos(x)) < 1e-7


def test_numerical_gradient_rejects_integer_arrays():
    with pytest.raises(ValueError, match="floating-point"):
        numerical_gradient(f2, np.array([1, 2]))


def test_seed_gradient_descent_converges_with_lr_0_1():
    x, history = gradient_descent(f2, np.array([-3.0, 4.0]), lr=0.1, step_num=100)
    assert np.all(np.abs(x) < 1e-8)
    np.testing.assert_allclose(x, [-6.11110793e-10, 8.14814391e-10], rtol=1e-6)
    assert history.shape == (101, 2)
    np.testing.assert_array_equal(history[0], [-3.0, 4.0])


def test_seed_gradient_descent_diverges_with_lr_10():
    x, _ = gradient_descent(f2, np.array([-3.0, 4.0]), lr=10.0, step_num=100)
    assert np.linalg.norm(x) > 1e10
    # The seed's numbers: the numerical gradient stalls once x ± h rounds to x.
    np.testing.assert_allclose(x, [-2.58983747e13, -1.29524862e12], rtol=1e-6)
    x_true, _ = gradient_descent(
        f2, np.array([-3.0, 4.0]), lr=10.0, step_num=100, grad=lambda v: 2 * v
    )
    assert np.linalg.norm(x_true) > 1e127


def test_tiny_learning_rate_barely_moves_and_ascent_climbs():
    x, _ = gradient_descent(f2, np.array([-3.0, 4.0]), lr=1e-10, step_num=100)
    assert np.allclose(x, [-3.0, 4.0], atol=1e-6)
    x_up, _ = gradient_descent(f2, np.array([-3.0, 4.0]), lr=0.1, step_num=10, sign=+1)
    assert np.linalg.norm(x_up) > 5 * 5


def test_gradient_descent_does_not_change_init():
    init = np.array([-3.0, 4.0])
    gradient_descent(f2, init, lr=0.1, step_num=3)
    np.testing.assert_array_equal(init, [-3.0, 4.0])


def test_relative_error_and_gradient_check():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.ones(3), -np.ones(3)) == pytest.approx(1.0)
    x = np.array([1.0, -2.0, 0.5])
    assert gradient_check(f2, x, 2 * x) < 1e-9
    assert gradient_check(f2, x, 2 * x + 1e-3) > 1e-5
    with pytest.raises(ValueError, match="equal shapes"):
        relative_error(np.zeros(2), np.zeros(3))
