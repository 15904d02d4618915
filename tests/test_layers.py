"""Layer pairs: every backward against a numerical gradient, and clear errors on bad shapes.

The check for a layer with output ``out = f(inputs)``: take a random upstream gradient
``dout`` and the scalar E = Σ out ⊙ dout, whose gradient with respect to each input is
exactly what ``*_backward(dout, cache)`` must return.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnlib import layers
from nnlib.gradients import numerical_gradient, relative_error
from nnlib.networks import MLP


def check_layer(forward, inputs: list[np.ndarray], backward, seed: int = 0) -> None:
    """Analytic gradients of ``backward`` against central differences of Σ out ⊙ dout."""
    out, cache = forward(*inputs)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    analytic = backward(dout, cache)
    analytic = analytic if isinstance(analytic, tuple) else (analytic,)
    assert len(analytic) == len(inputs)
    for i, (a, x) in enumerate(zip(analytic, inputs, strict=True)):
        assert a.shape == x.shape, f"input {i}: gradient shape {a.shape} != input shape {x.shape}"

        def energy(_: np.ndarray, i: int = i) -> float:
            return float(np.sum(forward(*inputs)[0] * dout))  # reads inputs[i], nudged in place

        err = relative_error(a, numerical_gradient(energy, inputs[i]))
        assert err < 1e-7, f"input {i}: relative error {err:.2e}"


@pytest.mark.parametrize("x_shape", [(4, 5), (1, 5), (3, 1, 1, 5), (2, 3, 2, 2)])
def test_affine_gradients(x_shape):
    gen = np.random.default_rng(1)
    d = int(np.prod(x_shape[1:]))
    x = gen.standard_normal(x_shape)
    W = gen.standard_normal((d, 3))
    b = gen.standard_normal(3)
    check_layer(layers.affine_forward, [x, W, b], layers.affine_backward)


def test_affine_without_dx():
    gen = np.random.default_rng(2)
    x, W, b = gen.standard_normal((4, 5)), gen.standard_normal((5, 3)), gen.standard_normal(3)
    out, cache = layers.affine_forward(x, W, b)
    dout = gen.standard_normal(out.shape)
    dx, dW, db = layers.affine_backward(dout, cache, need_dx=False)
    full = layers.affine_backward(dout, cache)
    assert dx is None
    np.testing.assert_array_equal(dW, full[1])
    np.testing.assert_array_equal(db, full[2])


@pytest.mark.parametrize("name", ["sigmoid", "relu", "tanh", "identity"])
@pytest.mark.parametrize("shape", [(4, 6), (1, 1), (2, 3, 4)])
def test_activation_gradients(name, shape):
    forward, backward = layers.ACTIVATION_LAYERS[name]
    z = np.random.default_rng(3).standard_normal(shape) * 3
    if name == "relu":
        z[np.abs(z) < 1e-3] = 0.5  # keep central differences away from the kink
    check_layer(forward, [z], backward)


def test_sigmoid_layer_is_silent_at_extreme_inputs():
    a, cache = layers.sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(a, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(layers.sigmoid_backward(np.ones(3), cache), [0.0, 0.25, 0.0])


def test_affine_rejects_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"x \(4, 5\).*W \(4, 3\)"):
        layers.affine_forward(np.zeros((4, 5)), np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"b \(4,\)"):
        layers.affine_forward(np.zeros((4, 5)), np.zeros((5, 3)), np.zeros(4))


def test_backward_rejects_a_dout_of_the_wrong_shape():
    _, cache = layers.affine_forward(np.zeros((4, 5)), np.zeros((5, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"dout has shape \(4, 2\).*\(4, 3\)"):
        layers.affine_backward(np.zeros((4, 2)), cache)
    _, cache = layers.relu_forward(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="relu_backward"):
        layers.relu_backward(np.zeros(4), cache)


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
def test_layer_pairs_reproduce_the_mlp(activation):
    """An MLP is its layers: composing the pairs by hand gives its loss and gradients exactly."""
    from nnlib.losses import softmax_cross_entropy

    gen = np.random.default_rng(4)
    net = MLP([6, 5, 4, 3], activation, seed=1)
    x, t = gen.standard_normal((7, 6)), gen.integers(0, 3, 7)
    forward, backward = layers.ACTIVATION_LAYERS[activation]
    p = net.params
    z1, c1 = layers.affine_forward(x, p["W1"], p["b1"])
    a1, ca1 = forward(z1)
    z2, c2 = layers.affine_forward(a1, p["W2"], p["b2"])
    a2, ca2 = forward(z2)
    z3, c3 = layers.affine_forward(a2, p["W3"], p["b3"])
    loss, dz3 = softmax_cross_entropy(z3, t)
    da2, dW3, db3 = layers.affine_backward(dz3, c3)
    da1, dW2, db2 = layers.affine_backward(backward(da2, ca2), c2)
    _, dW1, db1 = layers.affine_backward(backward(da1, ca1), c1)
    net_loss, grads = net.loss_and_gradient(x, t)
    assert loss == net_loss
    by_hand = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    for key, g in by_hand.items():
        np.testing.assert_array_equal(grads[key], g)


# ----------------------------------------------------------------------------- dropout


def fixed_mask_dropout(p: float, seed: int = 5):
    """dropout_forward in training mode, a fresh generator per call: the same mask every time."""
    return lambda x: layers.dropout_forward(x, p, np.random.default_rng(seed), True)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(4, 6), (1, 1), (2, 3, 4)])
def test_dropout_gradient_with_a_fixed_mask(p, shape):
    x = np.random.default_rng(6).standard_normal(shape)
    check_layer(fixed_mask_dropout(p), [x], layers.dropout_backward)


def test_dropout_drops_and_scales():
    x = np.random.default_rng(7).standard_normal((50, 40)) + 3.0  # no zeros of its own
    out, _ = fixed_mask_dropout(0.25)(x)
    kept = out != 0
    np.testing.assert_allclose(out[kept], x[kept] / 0.75)
    assert 0.2 < 1 - kept.mean() < 0.3, "about a quarter of the units are dropped"


def test_dropout_is_the_identity_in_evaluation_mode():
    x = np.random.default_rng(8).standard_normal((5, 7))
    gen = np.random.default_rng(0)
    state = gen.bit_generator.state
    out, cache = layers.dropout_forward(x, 0.5, gen, train=False)
    assert out is x
    assert gen.bit_generator.state == state, "evaluation mode draws no random numbers"
    dout = np.ones_like(x)
    assert layers.dropout_backward(dout, cache) is dout
    out, _ = layers.dropout_forward(x, 0.0, gen, train=True)
    assert out is x, "p = 0 drops nothing"


def test_inverted_dropout_keeps_the_mean_activation():
    """E[out] = x: over many units the training-mode mean matches the evaluation-mode mean."""
    a = np.random.default_rng(9).random((2000, 100))  # activations, all positive like ReLU's
    for p in (0.2, 0.5, 0.8):
        train_out, _ = layers.dropout_forward(a, p, np.random.default_rng(10), True)
        eval_out, _ = layers.dropout_forward(a, p, np.random.default_rng(10), False)
        assert abs(train_out.mean() / eval_out.mean() - 1) < 0.01, f"p = {p}"
        # without the 1/(1 - p) the mean would shrink by (1 - p)
        assert abs((train_out * (1 - p)).mean() / eval_out.mean() - (1 - p)) < 0.01


def test_dropout_keeps_float32():
    x = np.ones((3, 4), dtype=np.float32)
    out, cache = layers.dropout_forward(x, 0.5, np.random.default_rng(0), True)
    assert out.dtype == np.float32
    assert layers.dropout_backward(np.ones_like(x), cache).dtype == np.float32


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan"), "0.5"])
def test_dropout_rejects_a_bad_probability(p):
    with pytest.raises(ValueError, match=r"p must be .*\[0, 1\)"):
        layers.dropout_forward(np.ones(3), p, np.random.default_rng(0), True)


def test_dropout_backward_rejects_a_dout_of_the_wrong_shape():
    _, cache = layers.dropout_forward(np.ones((2, 3)), 0.5, np.random.default_rng(0), True)
    with pytest.raises(ValueError, match=r"dropout_backward: dout has shape \(3, 2\)"):
        layers.dropout_backward(np.ones((3, 2)), cache)
