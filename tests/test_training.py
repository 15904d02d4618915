"""Training loop: batches, update rules, schedules, divergence and determinism."""

import numpy as np
import pytest

from nnlib.datasets import spirals, xor_cloud
from nnlib.networks import MLP, TwoLayerNet
from nnlib.training import (
    DivergenceError,
    constant,
    exponential_decay,
    inverse_time_decay,
    iterate_minibatches,
    momentum_step,
    sgd_step,
    step_decay,
    train,
)


def test_minibatches_cover_every_sample_once():
    x = np.arange(10.0).reshape(10, 1)
    t = np.arange(10)
    batches = list(iterate_minibatches(x, t, 4, np.random.default_rng(0)))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(10))
    for xb, tb in batches:
        np.testing.assert_array_equal(xb[:, 0], tb)
    ordered = list(iterate_minibatches(x, t, 5, np.random.default_rng(0), shuffle=False))
    np.testing.assert_array_equal(ordered[0][1], [0, 1, 2, 3, 4])


def test_sgd_step_descends_and_ascends():
    params = {"W": np.array([1.0, -2.0])}
    grads = {"W": np.array([0.5, 0.5])}
    sgd_step(params, grads, lr=0.1)
    np.testing.assert_allclose(params["W"], [0.95, -2.05])
    sgd_step(params, grads, lr=0.1, sign=+1)
    np.testing.assert_allclose(params["W"], [1.0, -2.0])
    with pytest.raises(ValueError, match="sign"):
        sgd_step(params, grads, lr=0.1, sign=0)


def test_momentum_accumulates_velocity():
    params, velocity = {"W": np.zeros(1)}, {}
    for _ in range(3):
        momentum_step(params, {"W": np.ones(1)}, velocity, lr=1.0, momentum=0.5)
    np.testing.assert_allclose(velocity["W"], [-1.75])
    np.testing.assert_allclose(params["W"], [-(1 + 1.5 + 1.75)])


def test_schedules():
    assert constant()(0.1, 500) == 0.1
    assert step_decay(0.5, 100)(1.0, 99) == 1.0
    assert step_decay(0.5, 100)(1.0, 250) == 0.25
    assert exponential_decay(0.5, 10)(1.0, 20) == pytest.approx(0.25)
    assert inverse_time_decay(100)(1.0, 100) == pytest.approx(0.5)


def test_train_learns_spirals_and_records_history():
    x, t = spirals(60, 3, seed=0)
    net = MLP([2, 40, 3], "relu", seed=0)
    h = train(net, x, t, lr=0.5, epochs=60, batch_size=30, x_test=x, t_test=t, progress=False)
    assert len(h.loss) == len(h.lr) == 60 * 6 == 60 * h.iterations_per_epoch
    assert len(h.train_acc) == len(h.test_acc) == 60
    assert np.mean(h.loss[-6:]) < 0.5 * np.mean(h.loss[:6])
    assert h.train_acc[-1] > 0.9


def test_schedule_is_applied_per_iteration():
    x, t = xor_cloud(40, seed=1)
    net = TwoLayerNet(2, 8, 2, seed=0)
    h = train(
        net, x, t, lr=1.0, epochs=4, batch_size=10, schedule=step_decay(0.5, 4), progress=False
    )
    assert h.lr == [1.0] * 4 + [0.5] * 4 + [0.25] * 4 + [0.125] * 4


def test_same_seed_same_history():
    x, t = xor_cloud(100, seed=0)

    def run(seed):
        net = TwoLayerNet(2, 10, 2, "relu", weight_init="he", seed=seed)
        h = train(
            net, x, t, lr=0.3, epochs=5, batch_size=16, seed=seed, momentum=0.9, progress=False
        )
        return net, h

    (n1, h1), (n2, h2), (_, h3) = run(0), run(0), run(1)
    assert h1.loss == h2.loss and h1.train_acc == h2.train_acc
    for key in n1.params:
        np.testing.assert_array_equal(n1.params[key], n2.params[key])
    assert h1.loss != h3.loss


def test_divergence_is_caught_with_advice():
    x, t = spirals(50, 3, seed=0)
    net = MLP([2, 50, 50, 3], "relu", seed=0)
    with pytest.raises(DivergenceError, match="smaller learning rate") as info:
        train(net, x * 1000, t, lr=1e3, epochs=50, batch_size=50, progress=False)
    err = info.value
    assert err.lr == 1e3 and err.iteration >= 0
    assert not np.isfinite(err.history.loss[-1])
    assert len(err.history.loss) == err.iteration + 1


def test_gradient_ascent_raises_the_loss():
    x, t = xor_cloud(100, seed=0)
    net = TwoLayerNet(2, 10, 2, seed=0, weight_init=0.5)
    h = train(net, x, t, lr=0.1, epochs=10, batch_size=100, sign=+1, progress=False)
    assert h.loss[-1] > h.loss[0]


@pytest.mark.parametrize(
    ("x", "t", "kwargs", "message"),
    [
        (np.zeros((5, 2)), np.zeros(4, dtype=int), {}, "x has 5 rows but t has 4"),
        (np.array([[0.0, np.nan]] * 4), np.zeros(4, dtype=int), {}, "x contains 4 non-finite"),
        (np.array([[0.0, np.inf]] * 4), np.zeros(4, dtype=int), {}, "non-finite"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), {"x_test": np.zeros((4, 2))}, "both x_test"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), {"batch_size": 0}, "batch_size"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), {"sign": 0, "momentum": 0.9}, "sign"),
    ],
)
def test_bad_training_input(x, t, kwargs, message):
    net = TwoLayerNet(2, 3, 2)
    options = {"lr": 0.1, "epochs": 1, "batch_size": 2, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        train(net, x, t, **options)


def test_train_with_an_optimizer_object():
    from nnlib.optimizers import SGD, Adam, Momentum

    x, t = spirals(30, seed=1)

    def run(**kwargs):
        net = MLP([2, 8, 3], "tanh", seed=3)
        history = train(net, x, t, epochs=3, batch_size=10, seed=5, progress=False, **kwargs)
        return net, history

    # the optimizer objects give exactly the runs of the lr/momentum arguments
    for args, opt in [({"lr": 0.3}, SGD(0.3)), ({"lr": 0.1, "momentum": 0.9}, Momentum(0.1))]:
        a, ha = run(**args)
        b, hb = run(optimizer=opt)
        assert ha.loss == hb.loss
        for key in a.params:
            np.testing.assert_array_equal(a.params[key], b.params[key])
    # a schedule drives the optimizer's lr
    adam = Adam(lr=0.01)
    _, history = run(optimizer=adam, schedule=step_decay(0.5, every=10))
    last = len(history.lr) - 1
    assert history.lr[0] == 0.01 and history.lr[-1] == pytest.approx(0.01 * 0.5 ** (last // 10))
    assert history.loss[-1] < history.loss[0]


def test_train_refuses_an_optimizer_with_lr_or_momentum():
    from nnlib.optimizers import Adam

    x, t = xor_cloud(20)
    net = MLP([2, 3, 2], "tanh")
    with pytest.raises(ValueError, match="on the optimizer"):
        train(net, x, t, lr=0.1, optimizer=Adam(), epochs=1, batch_size=4)
    with pytest.raises(ValueError, match="lr="):
        train(net, x, t, epochs=1, batch_size=4)


def _val_problem():
    x, t = spirals(40, 3, noise=0.3, seed=2)
    xv, tv = spirals(40, 3, noise=0.3, seed=3)
    return x, t, xv, tv


def test_validation_accuracy_is_recorded_every_epoch():
    x, t, xv, tv = _val_problem()
    net = MLP([2, 20, 3], "relu", seed=0)
    h = train(net, x, t, lr=0.3, epochs=7, batch_size=20, x_val=xv, t_val=tv, progress=False)
    assert len(h.val_acc) == 7 and h.best_epoch == 0
    assert h.val_acc[-1] == net.accuracy(xv, tv)
    assert train(MLP([2, 3, 3]), x, t, lr=0.1, epochs=2, batch_size=20).val_acc == []


def test_early_stopping_restores_exactly_the_best_epochs_weights():
    x, t, xv, tv = _val_problem()
    options = dict(lr=1.0, momentum=0.9, batch_size=10, seed=4, progress=False)
    net = MLP([2, 60, 60, 3], "relu", seed=1)
    h = train(net, x, t, epochs=60, x_val=xv, t_val=tv, early_stopping=5, **options)
    best = h.best_epoch
    assert h.val_acc[best - 1] == max(h.val_acc), "the best epoch has the highest accuracy"
    assert h.val_acc.index(max(h.val_acc)) == best - 1, "ties go to the earliest epoch"
    assert len(h.val_acc) == best + 5 < 60, "stopped after 5 epochs without progress"
    assert len(h.loss) == len(h.val_acc) * h.iterations_per_epoch
    # the same run, stopped by hand after the best epoch, has the very same weights
    rerun = MLP([2, 60, 60, 3], "relu", seed=1)
    train(rerun, x, t, epochs=best, **options)
    for key in net.params:
        np.testing.assert_array_equal(net.params[key], rerun.params[key])
    assert net.accuracy(xv, tv) == max(h.val_acc)


def test_early_stopping_keeps_the_arrays_and_handles_a_last_best_epoch():
    x, t, xv, tv = _val_problem()
    net = MLP([2, 20, 3], "relu", seed=0)
    arrays = dict(net.params)
    h = train(net, x, t, lr=0.05, epochs=3, batch_size=40, x_val=xv, t_val=tv, early_stopping=10)
    assert all(net.params[key] is arrays[key] for key in arrays), "restored in place"
    assert 1 <= h.best_epoch <= 3 == len(h.val_acc)
    assert net.accuracy(xv, tv) == h.val_acc[h.best_epoch - 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x_val": np.zeros((3, 2))}, "both x_val and t_val"),
        (
            {"x_val": np.zeros((3, 5)), "t_val": np.zeros(3, int)},
            r"x_val has shape \(3, 5\).*\(4, 2\)",
        ),
        (
            {"x_val": np.zeros((3, 2)), "t_val": np.zeros(2, int)},
            "x_val has 3 rows but t_val has 2",
        ),
        ({"early_stopping": 3}, "pass x_val and t_val"),
        ({"x_val": np.zeros((3, 2)), "t_val": np.zeros(3, int), "early_stopping": 0}, "at least 1"),
        ({"x_val": np.zeros((3, 2)), "t_val": np.zeros(3, int), "early_stopping": 2.5}, "patience"),
    ],
)
def test_bad_validation_input(kwargs, message):
    net = TwoLayerNet(2, 3, 2)
    options = {"lr": 0.1, "epochs": 1, "batch_size": 2, "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        train(net, np.zeros((4, 2)), np.zeros(4, dtype=int), **options)
