"""Activations: values, derivatives against numerical ones, and no overflow at extreme inputs."""

import numpy as np
import pytest

from nnlib import activations as A
from nnlib.gradients import numerical_gradient, relative_error


def rng(seed: int = 0) -> np.random.Generator:
    # One generator per test, so a test's data does not depend on which tests ran before it.
    return np.random.default_rng(seed)


SHAPES = [(1,), (1, 1), (7,), (3, 5), (2, 3, 4)]
PAIRS = [
    (A.sigmoid, A.sigmoid_grad),
    (A.relu, A.relu_grad),
    (A.tanh, A.tanh_grad),
    (A.identity, A.identity_grad),
]


def elementwise_numerical_derivative(f, z, h=1e-6):
    """dφ/dz entry by entry, through nnlib's numerical_gradient of Σ φ(z)."""
    return numerical_gradient(lambda v: float(np.sum(f(v))), z.copy(), h)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("f", "f_grad"), PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_grad_matches_numerical(f, f_grad, shape):
    gen = rng()
    z = gen.standard_normal(shape)
    if f is A.relu:  # keep away from the kink at 0, where no derivative exists
        z = np.where(np.abs(z) < 1e-3, 0.5, z)
    assert relative_error(f_grad(z), elementwise_numerical_derivative(f, z)) < 1e-7


def test_known_values():
    assert A.sigmoid(np.array(0.0)) == 0.5
    assert A.sigmoid_grad(np.array(0.0)) == 0.25
    np.testing.assert_allclose(A.sigmoid(np.array([-1.0, 1.0])), [0.26894142, 0.73105858])
    np.testing.assert_array_equal(A.relu(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(A.relu_grad(np.array([-2.0, 0.0, 3.0])), [0.0, 0.0, 1.0])


def test_sigmoid_extreme_inputs_are_finite_and_silent():
    z = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 1000.0])
    s = A.sigmoid(z)  # warnings are errors in this suite
    assert np.all(np.isfinite(s))
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(s[2], np.exp(-30.0) / (1 + np.exp(-30.0)), rtol=1e-14)
    assert np.all(np.isfinite(A.sigmoid_grad(z)))
    assert np.all(np.isfinite(A.sigmoid(z.astype(np.float32))))


def test_softmax_rows_sum_to_one_and_survive_huge_logits():
    gen = rng()
    for scale in (1.0, 1e4, -1e4):
        z = scale * gen.standard_normal((4, 10))
        p = A.softmax(z)
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(axis=-1), 1.0)
        assert np.all(np.isfinite(A.log_softmax(z)))
    np.testing.assert_allclose(
        A.softmax(np.array([1010.0, 1000.0, 990.0])),
        [9.99954600e-01, 4.53978686e-05, 2.06106005e-09],
        rtol=1e-6,
    )


def test_log_softmax_is_log_of_softmax():
    gen = rng()
    z = gen.standard_normal((5, 3))
    np.testing.assert_allclose(A.log_softmax(z), np.log(A.softmax(z)))


def test_float32_stays_float32():
    gen = rng()
    z = gen.standard_normal((3, 4)).astype(np.float32)
    for f, f_grad in PAIRS:
        assert f(z).dtype == np.float32
        assert f_grad(z).dtype == np.float32
    assert A.softmax(z).dtype == np.float32


@pytest.mark.parametrize("name", list(A.ACTIVATIONS))
def test_grad_from_output_matches_grad(name):
    phi, phi_grad = A.ACTIVATIONS[name]
    z = rng().standard_normal((4, 6))
    np.testing.assert_allclose(A.GRAD_FROM_OUTPUT[name](phi(z)) * 1.0, phi_grad(z), rtol=1e-12)
