"""Update rules: the first steps against values worked out by hand, Adam against PyTorch,
clipping, and clear errors on bad settings.

The hand-worked runs use one parameter θ₀ = 1 and the fixed gradients 1, −2, 0.5 (the
gradient does not depend on θ here, so every number below can be checked on paper).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnlib.networks import MLP
from nnlib.optimizers import SGD, AdaGrad, Adam, Momentum, RMSProp, clip_grad_norm
from nnlib.training import train

GRADIENTS = (1.0, -2.0, 0.5)


def three_steps(opt) -> list[float]:
    """θ after each of three updates from θ₀ = 1 with the gradients 1, −2, 0.5."""
    params = {"theta": np.array([1.0])}
    path = []
    for g in GRADIENTS:
        opt.update(params, {"theta": np.array([g])})
        path.append(float(params["theta"][0]))
    return path


def test_sgd_first_three_steps():
    # θ ← θ − 0.1 g: 1 − 0.1 = 0.9; 0.9 + 0.2 = 1.1; 1.1 − 0.05 = 1.05
    np.testing.assert_allclose(three_steps(SGD(lr=0.1)), [0.9, 1.1, 1.05], rtol=1e-14)


def test_sgd_sign_plus_one_climbs():
    np.testing.assert_allclose(three_steps(SGD(lr=0.1, sign=1)), [1.1, 0.9, 0.95], rtol=1e-14)


def test_momentum_first_three_steps():
    # v ← 0.9 v − 0.1 g, θ ← θ + v
    # v₁ = −0.1,                θ₁ = 0.9
    # v₂ = −0.09 + 0.2 = 0.11,  θ₂ = 1.01
    # v₃ = 0.099 − 0.05 = 0.049, θ₃ = 1.059
    np.testing.assert_allclose(
        three_steps(Momentum(lr=0.1, momentum=0.9)), [0.9, 1.01, 1.059], rtol=1e-14
    )


def test_adagrad_first_three_steps():
    # h ← h + g²: 1, 5, 5.25;  θ ← θ − 0.1 g / (√h + ε)
    eps = 1e-7
    t1 = 1 - 0.1 * 1 / (1 + eps)  # 0.9
    t2 = t1 + 0.1 * 2 / (math.sqrt(5) + eps)  # + 0.0894…
    t3 = t2 - 0.1 * 0.5 / (math.sqrt(5.25) + eps)  # − 0.0218…
    assert abs(t3 - 0.96762094) < 1e-8
    np.testing.assert_allclose(three_steps(AdaGrad(lr=0.1, eps=eps)), [t1, t2, t3], rtol=1e-14)


def test_rmsprop_first_three_steps():
    # h ← 0.9 h + 0.1 g²: 0.1, 0.09 + 0.4 = 0.49, 0.441 + 0.025 = 0.466
    eps = 1e-7
    t1 = 1 - 0.1 * 1 / (math.sqrt(0.1) + eps)  # − 0.316…: a big first step (h is 10x too small)
    t2 = t1 + 0.1 * 2 / (0.7 + eps)  # √0.49 = 0.7
    t3 = t2 - 0.1 * 0.5 / (math.sqrt(0.466) + eps)
    assert abs(t3 - 0.89624175) < 1e-8
    np.testing.assert_allclose(
        three_steps(RMSProp(lr=0.1, decay_rate=0.9, eps=eps)), [t1, t2, t3], rtol=1e-14
    )


def test_adam_first_three_steps():
    # m ← 0.9 m + 0.1 g: 0.1, −0.11, −0.049;  v ← 0.999 v + 0.001 g²: 0.001, 0.004999, 0.005244001
    # m̂ = m / (1 − 0.9ᵗ), v̂ = v / (1 − 0.999ᵗ);  θ ← θ − 0.1 m̂ / (√v̂ + ε)
    eps = 1e-8
    t1 = 1 - 0.1 * 1 / (1 + eps)  # m̂ = g, v̂ = g²: a step of lr
    t2 = t1 + 0.1 * (0.11 / 0.19) / (math.sqrt(0.004999 / 0.001999) + eps)
    t3 = t2 + 0.1 * (0.049 / 0.271) / (math.sqrt(0.005244001 / 0.002997001) + eps)
    assert abs(t3 - 0.95027942) < 1e-8
    adam = Adam(lr=0.1, beta1=0.9, beta2=0.999, eps=eps)
    np.testing.assert_allclose(three_steps(adam), [t1, t2, t3], rtol=1e-14)
    # the paper's m and v are there too, from the sums kept internally
    np.testing.assert_allclose(adam.m["theta"], [-0.049], rtol=1e-13)
    np.testing.assert_allclose(adam.v["theta"], [0.005244001], rtol=1e-13)


def test_adam_defaults_are_the_papers():
    adam = Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps) == (0.001, 0.9, 0.999, 1e-8)


def reference_adam(theta, grads, lr, b1, b2, eps):
    """Algorithm 1 of Kingma and Ba written out plainly, ε added to √v̂ (PyTorch's form)."""
    theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return theta


def test_adam_where_eps_matters():
    # |g| far below ε: the step is lr · g / ε, not lr. |g| far above: about lr.
    eps, lr = 1e-8, 0.001
    for g, first_step in [(1e-12, lr * 1e-12 / (1e-12 + eps)), (1e-3, lr * 1e-3 / (1e-3 + eps))]:
        params = {"w": np.array([0.0])}
        Adam(lr=lr, eps=eps).update(params, {"w": np.array([g])})
        np.testing.assert_allclose(-params["w"], [first_step], rtol=1e-12)
    assert first_step == pytest.approx(lr, rel=1e-4)
    # a zero gradient moves nothing and gives no 0/0
    params = {"w": np.array([2.0])}
    with np.errstate(all="raise"):
        Adam().update(params, {"w": np.array([0.0])})
    assert params["w"][0] == 2.0
    # many steps, gradients from 1e-11 to 1e-6 (around ε) and a sign change: same as Algorithm 1
    gen = np.random.default_rng(0)
    scales = np.logspace(-11, -6, 12)
    grads = [scales * gen.standard_normal(12) for _ in range(50)]
    theta0 = gen.standard_normal(12)
    params = {"w": theta0.copy()}
    adam = Adam(lr=0.01, eps=1e-8)
    for g in grads:
        adam.update(params, {"w": g})
    expected = reference_adam(theta0, grads, 0.01, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(params["w"] - theta0, expected - theta0, rtol=1e-10)
    # the smallest gradients really were in ε's regime: their steps are far below lr per step
    assert np.all(np.abs(params["w"] - theta0)[:3] < 0.01 * 50 * 0.05)


def test_adam_bias_correction_makes_the_first_step_lr():
    # Without the correction the first step would be lr · 0.1 g / √(0.001 g²) ≈ 3.16 lr.
    params = {"w": np.array([0.0, 0.0])}
    Adam(lr=0.01).update(params, {"w": np.array([5.0, -0.002])})
    np.testing.assert_allclose(params["w"], [-0.01, 0.01], rtol=1e-5)


def test_optimizers_keep_float32():
    for opt in (SGD(), Momentum(), AdaGrad(), RMSProp(), Adam()):
        params = {"W": np.ones((3, 2), dtype=np.float32)}
        opt.update(params, {"W": np.full((3, 2), 0.5, dtype=np.float32)})
        assert params["W"].dtype == np.float32, opt


# ----------------------------------------------------------------------------- against PyTorch


def torch_or_skip():
    return pytest.importorskip(
        "torch", reason="PyTorch is not installed: the comparison with torch.optim is skipped"
    )


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: Adam(lr=0.01), lambda torch, ps: torch.optim.Adam(ps, lr=0.01)),
        (
            lambda: Adam(lr=0.003, beta1=0.5, beta2=0.99, eps=1e-6),
            lambda torch, ps: torch.optim.Adam(ps, lr=0.003, betas=(0.5, 0.99), eps=1e-6),
        ),
        (
            lambda: Momentum(lr=0.05, momentum=0.9),
            lambda torch, ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
        ),
        (
            lambda: AdaGrad(lr=0.1, eps=1e-7),
            lambda torch, ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-7),
        ),
        (
            lambda: RMSProp(lr=0.01, decay_rate=0.99, eps=1e-7),
            lambda torch, ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.99, eps=1e-7),
        ),
    ],
    ids=["adam", "adam-betas", "momentum", "adagrad", "rmsprop"],
)
def test_same_parameters_as_torch_optim(ours, theirs):
    torch = torch_or_skip()
    gen = np.random.default_rng(1)
    shapes = {"W1": (5, 4), "b1": (4,), "W2": (4, 1)}
    params = {k: gen.standard_normal(s) for k, s in shapes.items()}
    tensors = {
        k: torch.tensor(p.copy(), dtype=torch.float64, requires_grad=True)
        for k, p in params.items()
    }
    opt, topt = ours(), theirs(torch, list(tensors.values()))
    for _ in range(30):
        # gradients over ten orders of magnitude, ε's regime included
        grads = {
            k: gen.standard_normal(s) * 10.0 ** gen.integers(-10, 1) for k, s in shapes.items()
        }
        opt.update(params, grads)
        for k, tensor in tensors.items():
            tensor.grad = torch.from_numpy(grads[k].copy())
        topt.step()
    for k, p in params.items():
        np.testing.assert_allclose(p, tensors[k].detach().numpy(), rtol=1e-11, atol=1e-14)


# ----------------------------------------------------------------------------- clipping


def test_clip_grad_norm_scales_all_gradients_together():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}  # global norm 5
    before = {k: g.copy() for k, g in grads.items()}
    assert clip_grad_norm(grads, max_norm=1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.8]])
    # same direction, length max_norm
    assert math.sqrt(sum(np.sum(g**2) for g in grads.values())) == pytest.approx(1.0)
    # under the threshold: returned, untouched
    grads = {k: g.copy() for k, g in before.items()}
    assert clip_grad_norm(grads, max_norm=10.0) == pytest.approx(5.0)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_grad_norm_in_float32_does_not_overflow():
    grads = {"W": np.full((10, 10), 1e30, dtype=np.float32)}  # Σg² = 1e62 overflows float32
    with np.errstate(all="raise"):
        norm = clip_grad_norm(grads, max_norm=2.0)
    assert norm == pytest.approx(1e31, rel=1e-6)
    assert grads["W"].dtype == np.float32
    np.testing.assert_allclose(grads["W"], 0.2, rtol=1e-6)


def test_clip_grad_norm_leaves_nan_alone_and_reports_it():
    grads = {"W": np.array([1.0, np.nan])}
    assert math.isnan(clip_grad_norm(grads, 1.0))
    assert grads["W"][0] == 1.0


def test_train_clips_and_learns_where_it_blew_up():
    # A ReLU net at lr = 30: the first steps throw the loss to 1e100 and leave dead units.
    gen = np.random.default_rng(0)
    x = gen.standard_normal((200, 4))
    t = (x[:, 0] * x[:, 1] > 0).astype(int)

    def run(**kw):
        net = MLP([4, 32, 32, 2], "relu", seed=1)
        return train(net, x, t, lr=30.0, epochs=20, batch_size=20, progress=False, **kw)

    history = run()
    assert max(history.loss) > 1e10 and history.train_acc[-1] < 0.6
    history = run(clip_norm=0.03)  # every step at most 30 · 0.03 = 0.9 long
    assert max(history.loss) < 10 and history.train_acc[-1] > 0.9


# ----------------------------------------------------------------------------- bad settings


@pytest.mark.parametrize("cls", [SGD, Momentum, AdaGrad, RMSProp, Adam])
@pytest.mark.parametrize("lr", [-0.1, 0.0, float("nan"), float("inf"), "0.1", True])
def test_bad_learning_rate_is_named(cls, lr):
    with pytest.raises(ValueError, match="lr"):
        cls(lr=lr)


@pytest.mark.parametrize(
    "cls, name",
    [(Momentum, "momentum"), (RMSProp, "decay_rate"), (Adam, "beta1"), (Adam, "beta2")],
)
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, float("nan"), None, True])
def test_beta_outside_zero_one_is_named(cls, name, value):
    with pytest.raises(ValueError, match=name):
        cls(**{name: value})


@pytest.mark.parametrize("cls", [AdaGrad, RMSProp, Adam])
@pytest.mark.parametrize("eps", [0.0, -1e-8, float("nan"), float("inf")])
def test_non_positive_eps_is_named(cls, eps):
    with pytest.raises(ValueError, match="eps"):
        cls(eps=eps)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("nan"), float("inf"), None])
def test_non_positive_max_norm_is_named(max_norm):
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm({"W": np.ones(3)}, max_norm)


def test_train_checks_clip_norm_before_training():
    net = MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="max_norm"):
        train(net, np.zeros((4, 2)), np.zeros(4, int), lr=0.1, epochs=1, batch_size=2, clip_norm=0)


def test_boundary_values_are_accepted():
    Momentum(momentum=0.0)
    Adam(beta1=0.0, beta2=0.0)
    RMSProp(decay_rate=0.0)
