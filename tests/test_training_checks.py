"""Bad settings and degenerate data are refused up front, with a message naming the problem.

Items 6-9 of issue 15: a ``train`` that returns NaN weights, NaN labels blamed
on the learning rate, empty batches, and softmax at infinite logits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnlib import losses
from nnlib.activations import softmax
from nnlib.networks import MLP, TwoLayerNet
from nnlib.training import DivergenceError, train

X = np.random.default_rng(0).standard_normal((12, 2))
T = np.arange(12) % 3
T_ONE_HOT = np.eye(3)[T]


def run(x=X, t=T, **kwargs):
    options = {"lr": 0.1, "epochs": 1, "batch_size": 4, "progress": False, **kwargs}
    return train(TwoLayerNet(2, 5, 3, seed=0), x, t, **options)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": np.nan}, "lr must be a finite number > 0, got nan"),
        ({"lr": np.inf}, "lr must be a finite number > 0"),
        ({"lr": 0}, "lr must be a finite number > 0"),
        ({"lr": "0.1"}, "lr must be a finite number"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        ({"momentum": -0.5}, "momentum"),
        ({"momentum": np.nan}, "momentum"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"epochs": 2.5}, "epochs must be a positive integer"),
        ({"epochs": True}, "epochs must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": 4.0}, "batch_size must be a positive integer"),
    ],
)
def test_train_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(**kwargs)


def test_negative_lr_points_at_sign():
    with pytest.raises(ValueError, match=r"sign=\+1"):
        run(lr=-0.1)


def test_numpy_scalars_are_accepted():
    history = run(lr=np.float32(0.1), epochs=np.int64(2), batch_size=np.int32(4), momentum=0.5)
    assert len(history.loss) == 6


def test_non_finite_weights_after_the_last_step_are_reported():
    # One step so large that W overflows while the loss (computed before the step) is finite.
    net = TwoLayerNet(2, 5, 3, "relu", seed=0)
    with (
        pytest.raises(DivergenceError, match="W1 became non-finite after the last step") as info,
        pytest.warns(RuntimeWarning, match="overflow"),  # from the update itself, then the error
    ):
        train(net, X * 1e20, T, lr=1e300, epochs=1, batch_size=12, progress=False)
    assert info.value.iteration == 0
    assert len(info.value.history.loss) == 1


def test_nan_in_one_hot_labels_is_named():
    t = T_ONE_HOT.copy()
    t[3, 1] = np.nan
    with pytest.raises(ValueError, match="t contains 1 non-finite"):
        run(t=t)


def test_test_set_is_checked_like_the_training_set():
    with pytest.raises(ValueError, match="x_test contains 6 non-finite"):
        run(x_test=np.full((3, 2), np.nan), t_test=T[:3])
    t_test = T_ONE_HOT[:3].copy()
    t_test[0, 0] = np.inf
    with pytest.raises(ValueError, match="t_test contains 1 non-finite"):
        run(x_test=X[:3], t_test=t_test)
    with pytest.raises(ValueError, match="x_test has 3 rows but t_test has 2"):
        run(x_test=X[:3], t_test=T[:2])
    with pytest.raises(ValueError, match="x_test is an empty batch"):
        run(x_test=X[:0], t_test=T[:0])


@pytest.mark.parametrize("eval_train", [True, False])
def test_empty_training_set(eval_train):
    with pytest.raises(ValueError, match=r"x is an empty batch \(shape \(0, 2\)\)"):
        run(x=X[:0], t=T[:0], eval_train=eval_train)


def test_accuracy_and_losses_of_an_empty_batch():
    net = TwoLayerNet(2, 5, 3)
    with pytest.raises(ValueError, match="empty batch"):
        net.accuracy(X[:0], T[:0])
    y, t = np.zeros((0, 3)), np.zeros((0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" on the way
        for loss in (
            losses.sum_squared_error,
            losses.sum_squared_error_grad,
            losses.mean_squared_error,
            losses.mean_squared_error_grad,
            losses.cross_entropy_error,
            losses.cross_entropy_error_grad,
            losses.softmax_cross_entropy,
        ):
            with pytest.raises(ValueError, match="empty batch"):
                loss(y, t)
        with pytest.raises(ValueError, match="empty batch"):
            losses.cross_entropy_error(y, np.zeros(0, dtype=int))


@pytest.mark.parametrize("dtype", [int, np.int32, np.uint8, bool, np.complex128])
def test_mlp_refuses_non_float_dtype(dtype):
    with pytest.raises(ValueError, match="dtype must be floating-point"):
        MLP([2, 3, 2], dtype=dtype)


@pytest.mark.parametrize("std", [np.nan, np.inf, -0.1])
def test_mlp_refuses_bad_numeric_weight_init(std):
    with pytest.raises(ValueError, match="weight_init"):
        MLP([2, 3, 2], weight_init=std)
    with pytest.raises(ValueError, match="weight_init"):
        TwoLayerNet(2, 3, 2, weight_init=std)


def test_zero_weight_init_is_still_allowed():
    # the symmetry demonstration: every hidden unit starts (and stays) the same
    assert not MLP([2, 3, 2], weight_init=0.0).params["W1"].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_at_plus_infinity_is_its_limit(dtype):
    z = np.array([[np.inf, 1.0, np.inf], [np.inf, -np.inf, 0.0], [1.0, 2.0, 3.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = softmax(z)
    assert p.dtype == dtype
    np.testing.assert_array_equal(p[0], [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(p[1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[2], softmax(np.array([1.0, 2.0, 3.0])), rtol=1e-6)
    np.testing.assert_array_equal(softmax(np.array([0.0, -np.inf])), [1.0, 0.0])
    np.testing.assert_array_equal(softmax(z.T, axis=0), p.T)


def test_softmax_of_all_minus_infinity_is_an_error():
    with pytest.raises(ValueError, match="all -inf is undefined"):
        softmax(np.array([[0.0, 1.0], [-np.inf, -np.inf]]))
