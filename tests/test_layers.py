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


# ----------------------------------------------------------------------------- batch normalisation


def bn_layer(state: dict, train: bool, momentum: float = 0.9, eps: float = 1e-5):
    """batchnorm_forward as a function of (x, gamma, beta) only, for check_layer."""
    return lambda x, gamma, beta: layers.batchnorm_forward(
        x, gamma, beta, state, train, momentum, eps
    )


@pytest.mark.parametrize("n", [2, 64])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_gradients(n, train):
    gen = np.random.default_rng(n)
    # At n = 2 every x̂ is ±√(σ²/(σ² + ε)): with ε = 1e-5 the output hardly depends on x
    # and dx is ~1e-5. A large ε makes dx sizeable, so that a wrong ε term would show.
    eps = 0.5 if n == 2 else 1e-5
    x = 2.0 * gen.standard_normal((n, 5)) + 0.3
    gamma, beta = gen.standard_normal(5), gen.standard_normal(5)
    state = {"running_mean": gen.standard_normal(5), "running_var": gen.random(5) + 0.5}
    layer = bn_layer(state, train, eps=eps)
    check_layer(layer, [x, gamma, beta], layers.batchnorm_backward)


def test_batchnorm_normalises_each_feature_in_training_mode():
    gen = np.random.default_rng(0)
    x = 3.0 * gen.standard_normal((64, 4)) + np.array([1.0, -2.0, 5.0, 0.0])
    gamma, beta = np.array([1.0, 2.0, 0.5, 1.0]), np.array([0.0, 1.0, -1.0, 3.0])
    out, _ = layers.batchnorm_forward(x, gamma, beta, {}, train=True)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    # biased variance: the std of out is γ √(σ²/(σ² + ε)), γ to 1e-5
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-5)


def test_batchnorm_running_averages_follow_the_documented_momentum():
    # running ← momentum · running + (1 − momentum) · batch (CS231n, Keras);
    # PyTorch's momentum is the other weight: its 0.1 is this 0.9.
    gen = np.random.default_rng(1)
    x1, x2 = gen.standard_normal((8, 3)) + 2.0, gen.standard_normal((8, 3)) - 1.0
    g, b = np.ones(3), np.zeros(3)
    state: dict = {}
    layers.batchnorm_forward(x1, g, b, state, train=True, momentum=0.9)
    np.testing.assert_allclose(state["running_mean"], 0.1 * x1.mean(axis=0))  # from 0
    np.testing.assert_allclose(state["running_var"], 0.9 * 1.0 + 0.1 * x1.var(axis=0))  # from 1
    mean1, var1 = state["running_mean"].copy(), state["running_var"].copy()
    layers.batchnorm_forward(x2, g, b, state, train=True, momentum=0.9)
    np.testing.assert_allclose(state["running_mean"], 0.9 * mean1 + 0.1 * x2.mean(axis=0))
    np.testing.assert_allclose(state["running_var"], 0.9 * var1 + 0.1 * x2.var(axis=0))
    # evaluation mode reads the state and leaves it alone
    before = {k: v.copy() for k, v in state.items()}
    out, _ = layers.batchnorm_forward(x1, 2 * g, b + 1, state, train=False)
    for k in state:
        np.testing.assert_array_equal(state[k], before[k])
    expected = 2 * (x1 - state["running_mean"]) / np.sqrt(state["running_var"] + 1e-5) + 1
    np.testing.assert_allclose(out, expected)
    # …and each sample's output does not depend on the rest of the batch
    one, _ = layers.batchnorm_forward(x1[:1], 2 * g, b + 1, state, train=False)
    np.testing.assert_allclose(one, out[:1])


def test_batchnorm_running_mean_converges_to_the_population_mean():
    gen = np.random.default_rng(2)
    state: dict = {}
    for _ in range(300):
        x = gen.normal(loc=[3.0, -1.0], scale=[2.0, 0.5], size=(50, 2))
        layers.batchnorm_forward(x, np.ones(2), np.zeros(2), state, train=True)
    np.testing.assert_allclose(state["running_mean"], [3.0, -1.0], atol=0.15)
    np.testing.assert_allclose(state["running_var"], [4.0, 0.25], rtol=0.15)


def test_batchnorm_momentum_is_pytorchs_one_minus():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: comparison skipped")
    gen = np.random.default_rng(3)
    bn = torch.nn.BatchNorm1d(4, momentum=0.1, dtype=torch.float64)
    state: dict = {}
    for _ in range(3):
        x = gen.standard_normal((16, 4)) * 2 + 1
        ours, _ = layers.batchnorm_forward(x, np.ones(4), np.zeros(4), state, True, momentum=0.9)
        theirs = bn(torch.from_numpy(x)).detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(state["running_mean"], bn.running_mean.numpy(), rtol=1e-12)
    # torch's running_var averages the unbiased N/(N − 1) σ²; ours averages σ² itself
    assert np.all(state["running_var"] < bn.running_var.numpy())


def test_batchnorm_refuses_a_batch_of_one_in_training_mode():
    state: dict = {}
    with pytest.raises(ValueError, match="at least 2 samples"):
        layers.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), state, train=True)
    # evaluation mode is fine with one sample
    out, _ = layers.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), state, train=False)
    assert out.shape == (1, 3)


def test_batchnorm_rejects_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match=r"gamma \(4,\)"):
        layers.batchnorm_forward(np.ones((5, 3)), np.ones(4), np.zeros(3), {}, train=True)
    with pytest.raises(ValueError, match="need x"):
        layers.batchnorm_forward(np.ones(5), np.ones(5), np.zeros(5), {}, train=True)
    _, cache = layers.batchnorm_forward(np.eye(3), np.ones(3), np.zeros(3), {}, train=True)
    with pytest.raises(ValueError, match="batchnorm_backward"):
        layers.batchnorm_backward(np.ones((2, 3)), cache)
