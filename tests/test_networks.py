"""Networks: backprop against numerical gradients, determinism, and clear errors."""

import numpy as np
import pytest

from nnlib.datasets import one_hot
from nnlib.gradients import relative_error
from nnlib.networks import MLP, TwoLayerNet


def rng(seed: int = 2) -> np.random.Generator:
    # One generator per test, so a test's data does not depend on which tests ran before it.
    return np.random.default_rng(seed)


def assert_backprop_matches(net, x, t):
    analytic = net.gradient(x, t)
    numeric = net.numerical_gradient(x, t)
    assert analytic.keys() == net.params.keys() == numeric.keys()
    for key in analytic:
        assert analytic[key].shape == net.params[key].shape
        err = relative_error(analytic[key], numeric[key])
        assert err < 1e-7, f"{key}: relative error {err:.2e}"


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("labels", ["index", "one-hot"])
def test_two_layer_net_backprop(n, activation, labels):
    gen = rng()
    net = TwoLayerNet(6, 5, 4, activation, weight_init=0.5, seed=n, weight_decay=0.01)
    x = gen.standard_normal((n, 6))
    idx = gen.integers(0, 4, n)
    assert_backprop_matches(net, x, idx if labels == "index" else one_hot(idx, 4))


@pytest.mark.parametrize(
    ("sizes", "activations", "loss"),
    [
        ([2, 3, 2], ["sigmoid", "sigmoid"], "sum_squared_error"),
        ([2, 10, 1], ["sigmoid", "sigmoid"], "sum_squared_error"),
        ([4, 6, 5, 3], ["tanh", "relu", "softmax"], "cross_entropy"),
        ([3, 4, 4, 4, 2], "sigmoid", "mean_squared_error"),
        ([5, 2], ["identity"], "mean_squared_error"),
    ],
)
@pytest.mark.parametrize("n", [1, 4])
def test_mlp_backprop(sizes, activations, loss, n):
    gen = rng()
    net = MLP(sizes, activations, loss=loss, weight_decay=0.1, seed=3)
    x = gen.standard_normal((n, sizes[0]))
    if loss == "cross_entropy":
        t = gen.integers(0, sizes[-1], n)
    else:
        t = gen.random((n, sizes[-1]))
    assert_backprop_matches(net, x, t)


def test_two_layer_net_is_a_two_layer_mlp():
    gen = rng()
    net = TwoLayerNet(4, 3, 2, "relu", weight_init="he", seed=7)
    mlp = MLP([4, 3, 2], ["relu", "softmax"], weight_init="he", seed=7)
    x, t = gen.standard_normal((5, 4)), gen.integers(0, 2, 5)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], mlp.params[key])
    assert net.loss(x, t) == mlp.loss(x, t)


def test_predict_gives_probabilities_and_accuracy_counts():
    gen = rng()
    net = TwoLayerNet(3, 4, 5, seed=0)
    x = gen.standard_normal((7, 3))
    p = net.predict(x)
    assert p.shape == (7, 5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    t = np.argmax(p, axis=1)
    assert net.accuracy(x, t) == 1.0
    assert net.accuracy(x, one_hot(t, 5)) == 1.0
    assert net.accuracy(x, t, batch_size=2) == 1.0


def test_same_seed_same_weights_different_seed_different():
    a, b, c = (TwoLayerNet(5, 4, 3, seed=s) for s in (1, 1, 2))
    for key in a.params:
        np.testing.assert_array_equal(a.params[key], b.params[key])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_float32_network_stays_float32():
    gen = rng()
    net = TwoLayerNet(5, 4, 3, seed=0, dtype=np.float32)
    x = gen.standard_normal((2, 5)).astype(np.float32)
    grads = net.gradient(x, np.array([0, 2]))
    assert all(g.dtype == np.float32 for g in grads.values())


def test_weight_init_scales():
    assert np.std(TwoLayerNet(400, 300, 10, weight_init=0.01).params["W1"]) == pytest.approx(
        0.01, rel=0.02
    )
    he = MLP([400, 300, 10], "relu", weight_init="he").params["W1"]
    assert np.std(he) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    with pytest.raises(ValueError, match="weight_init"):
        MLP([2, 2], weight_init="zeros")


@pytest.mark.parametrize(
    ("x", "t", "message"),
    [
        (np.zeros((10, 6)), np.zeros(7, dtype=int), "x has 10 rows but t has 7"),
        (np.zeros((10, 5)), np.zeros(10, dtype=int), r"x must have shape \(N, 6\).*\(10, 5\)"),
        (np.zeros((2, 6)), np.array([0, 4]), "label 4 is outside the classes 0..3"),
        (np.zeros((2, 6)), np.zeros((2, 3)), "do not fit predictions"),
    ],
)
def test_bad_input_names_the_problem(x, t, message):
    net = TwoLayerNet(6, 5, 4)
    for method in (net.loss, net.gradient, net.accuracy):
        with pytest.raises(ValueError, match=message):
            method(x, t)


def test_bad_configuration():
    with pytest.raises(ValueError, match="softmax output goes with"):
        MLP([2, 3, 2], ["sigmoid", "softmax"], loss="sum_squared_error")
    with pytest.raises(ValueError, match="2 layers need 2 activations"):
        MLP([2, 3, 2], ["sigmoid"])
    with pytest.raises(ValueError, match="activation must be"):
        TwoLayerNet(2, 3, 2, activation="softmax")


def test_accuracy_with_one_output_column_thresholds_at_one_half():
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = np.array([[0.0], [1.0], [1.0], [0.0]])
    net = MLP([2, 3, 1], ["sigmoid", "sigmoid"], loss="sum_squared_error", seed=0)
    predicted = (net.predict(x)[:, 0] > 0.5).astype(float)
    expected = float(np.mean(predicted == t[:, 0]))
    assert net.accuracy(x, t) == expected
    assert net.accuracy(x, t[:, 0]) == expected
    assert net.accuracy(x, 1 - t) == 1 - expected


def test_weight_decay_gradient_is_lambda_w():
    """The ridge term adds exactly λW/n to each weight's gradient and nothing to the biases."""
    gen = rng(11)
    x, t = gen.standard_normal((6, 5)), gen.integers(0, 3, 6)
    plain = MLP([5, 4, 3], "tanh", seed=2)
    decayed = MLP([5, 4, 3], "tanh", seed=2, weight_decay=0.3)
    g0, g1 = plain.gradient(x, t), decayed.gradient(x, t)
    for key in ("W1", "W2"):
        np.testing.assert_allclose(g1[key] - g0[key], 0.3 * decayed.params[key], atol=1e-15)
    for key in ("b1", "b2"):
        np.testing.assert_array_equal(g1[key], g0[key])
    assert_backprop_matches(decayed, x, t)
    # a summed loss divides by the batch size
    summed = MLP([5, 4, 3], "tanh", loss="sum_squared_error", seed=2, weight_decay=0.3)
    y = gen.random((6, 3))
    ridge = (
        summed.gradient(x, y)["W1"]
        - MLP([5, 4, 3], "tanh", loss="sum_squared_error", seed=2).gradient(x, y)["W1"]
    )
    np.testing.assert_allclose(ridge, 0.3 / 6 * summed.params["W1"], atol=1e-15)


@pytest.mark.parametrize("lam", [-0.1, float("nan")])
def test_negative_weight_decay_is_refused(lam):
    with pytest.raises(ValueError, match=r"weight_decay \(λ\) must be >= 0"):
        MLP([3, 4, 2], weight_decay=lam)
    with pytest.raises(ValueError, match="weight_decay"):
        TwoLayerNet(3, 4, 2, weight_decay=lam)


class FixedMaskMLP(MLP):
    """An MLP whose dropout masks are the same at every forward pass (for the gradient check)."""

    def forward(self, x, train=False):
        self.dropout_rng = np.random.default_rng(42)
        return super().forward(x, train)


@pytest.mark.parametrize("dropout", [0.5, [0.3, 0.6], [0.0, 0.4]])
def test_mlp_dropout_backprop_with_fixed_masks(dropout):
    gen = rng(12)
    net = FixedMaskMLP([4, 6, 5, 3], ["relu", "tanh", "softmax"], dropout=dropout, seed=1)
    x, t = gen.standard_normal((5, 4)) + 0.5, gen.integers(0, 3, 5)
    assert_backprop_matches(net, x, t)
    # and the mask really changes the loss: training mode differs from evaluation mode
    assert net.loss(x, t, train=True) != net.loss(x, t, train=False)


def test_mlp_dropout_only_while_training_and_reproducible():
    gen = rng(13)
    x, t = gen.standard_normal((8, 4)), gen.integers(0, 3, 8)
    plain = MLP([4, 10, 3], "relu", seed=3)
    dropped = MLP([4, 10, 3], "relu", dropout=0.5, seed=3)
    for key in plain.params:  # dropout draws from its own stream: same initial weights
        np.testing.assert_array_equal(plain.params[key], dropped.params[key])
    np.testing.assert_array_equal(plain.predict(x), dropped.predict(x))
    assert plain.accuracy(x, t) == dropped.accuracy(x, t)
    assert plain.loss(x, t, train=False) == dropped.loss(x, t, train=False)
    twin = MLP([4, 10, 3], "relu", dropout=0.5, seed=3)
    losses = [dropped.loss(x, t) for _ in range(3)]
    assert losses == [twin.loss(x, t) for _ in range(3)], "same seed, same masks"
    assert len(set(losses)) == 3, "a fresh mask at every training-mode pass"
    n_steps = len(dropped.forward(x, train=True)[1])
    assert n_steps == len(plain.forward(x, train=True)[1]) + 1, "one dropout layer on the tape"


@pytest.mark.parametrize(
    ("dropout", "message"),
    [
        (1.0, r"p must be in \[0, 1\), got 1.0"),
        (-0.2, r"got -0.2"),
        ([0.5], "one probability per hidden layer"),
        ([0.5, 1.2], r"got 1.2"),
    ],
)
def test_bad_dropout_is_refused(dropout, message):
    with pytest.raises(ValueError, match=message):
        MLP([3, 4, 4, 2], "relu", dropout=dropout)


# ----------------------------------------------------------------------------- batch norm in MLP


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("n", [4, 16])
def test_mlp_with_batchnorm_backprop(activation, n):
    gen = rng()
    net = MLP([6, 5, 4, 3], activation, batchnorm=True, weight_decay=0.1, seed=4)
    # γ and β away from their initial 1 and 0, so that their gradients are checked in general
    for key, p in net.params.items():
        if key.startswith(("gamma", "beta")):
            p += 0.3 * gen.standard_normal(p.shape)
    x, t = gen.standard_normal((n, 6)), gen.integers(0, 3, n)
    assert_backprop_matches(net, x, t)


def test_mlp_batchnorm_parameters_and_state():
    net = MLP([6, 5, 4, 3], "relu", batchnorm=True)
    assert sorted(net.params) == sorted(
        ["W1", "W2", "W3", "b3", "gamma1", "beta1", "gamma2", "beta2"]
    )
    np.testing.assert_array_equal(net.params["gamma1"], np.ones(5))
    np.testing.assert_array_equal(net.params["beta2"], np.zeros(4))
    assert sorted(net.bn_state) == [1, 2]  # running averages: not parameters
    np.testing.assert_array_equal(net.bn_state[2]["running_var"], np.ones(4))


def test_mlp_batchnorm_trains_the_running_averages_and_uses_them_to_predict():
    from nnlib.training import train

    gen = rng()
    x = 5.0 + 3.0 * gen.standard_normal((200, 4))
    t = (x[:, 0] > 5.0).astype(int)
    net = MLP([4, 8, 2], "relu", batchnorm=True, seed=0, weight_init="he")
    train(net, x, t, lr=0.1, epochs=5, batch_size=20, progress=False)
    # the running mean of z₁ = x W₁ estimates its mean over the data
    z1 = x @ net.params["W1"]
    np.testing.assert_allclose(net.bn_state[1]["running_mean"], z1.mean(axis=0), atol=0.5)
    before = {k: v.copy() for k, v in net.bn_state[1].items()}
    # evaluation: one sample at a time gives the batch's predictions, and the state is untouched
    p_all = net.predict(x[:10])
    p_one = np.vstack([net.predict(x[i : i + 1]) for i in range(10)])
    np.testing.assert_allclose(p_one, p_all, rtol=1e-12)
    for k in before:
        np.testing.assert_array_equal(net.bn_state[1][k], before[k])
    # training mode and evaluation mode differ (batch statistics against running ones)
    loss_train, _ = net.loss_and_gradient(x[:10], t[:10], need_gradient=False, train=True)
    loss_eval, _ = net.loss_and_gradient(x[:10], t[:10], need_gradient=False, train=False)
    assert loss_train != loss_eval
    assert net.accuracy(x, t) > 0.9


def test_mlp_batchnorm_bad_momentum():
    with pytest.raises(ValueError, match="bn_momentum"):
        MLP([2, 3, 2], batchnorm=True, bn_momentum=1.0)
