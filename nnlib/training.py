"""Mini-batch training: batches, update rules, learning-rate schedules, and the loop.

The loop is the four steps of the course: draw a mini-batch, compute the
gradient, step against it, repeat. It records what the notebooks plot and
stops with a helpful message the moment the loss stops being a number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from nnlib._checks import as_float_array, check_finite, check_not_empty, check_same_batch

# The update rules live in nnlib.optimizers; the early lessons import these two from here.
from nnlib.optimizers import (  # noqa: F401  (re-exported)
    SGD,
    Momentum,
    Optimizer,
    _check_sign,
    clip_grad_norm,
    momentum_step,
    sgd_step,
)
from nnlib.progress import progress_bar

Schedule = Callable[[float, int], float]
"""A learning-rate schedule: (base lr, iteration from 0) -> lr for that iteration."""


class DivergenceError(FloatingPointError):
    """The loss became NaN or infinite: the weights blew up.

    Attributes: ``iteration`` and ``lr`` where it happened, and ``history``,
    the History recorded up to (and including) that iteration.
    """

    def __init__(
        self, iteration: int, lr: float, loss: float, history: History, param: str | None = None
    ) -> None:
        self.iteration, self.lr, self.loss, self.history = iteration, lr, loss, history
        what = (
            f"{param} became non-finite after the last step" if param else f"the loss became {loss}"
        )
        super().__init__(
            f"training diverged: {what} at iteration {iteration} "
            f"with learning rate {lr:g}. The steps overshoot the minimum and grow each time. "
            f"Try a smaller learning rate (for example {lr / 10:g}), a decaying schedule, "
            f"or smaller initial weights."
        )


def iterate_minibatches(
    x: np.ndarray,
    t: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    shuffle: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of mini-batches ``(x[idx], t[idx])``, every sample exactly once.

    x: (N, ...); t: (N, ...). The last batch is smaller when batch_size does not
    divide N. Shuffling permutes indices, not the data: no copy of x per epoch.
    """
    check_same_batch(x, t)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start : start + batch_size]
        yield np.take(x, idx, axis=0), np.take(t, idx, axis=0)  # take: a faster gather than x[idx]


def constant() -> Schedule:
    """lr_k = lr: the same rate at every iteration."""
    return lambda lr, k: lr


def step_decay(drop: float = 0.5, every: int = 1000) -> Schedule:
    """lr_k = lr · drop^⌊k / every⌋: halve (by default) every ``every`` iterations."""
    return lambda lr, k: lr * drop ** (k // every)


def exponential_decay(rate: float = 0.96, every: int = 100) -> Schedule:
    """lr_k = lr · rate^(k / every): a smooth decay by ``rate`` per ``every`` iterations."""
    return lambda lr, k: lr * rate ** (k / every)


def inverse_time_decay(k0: float = 1000.0) -> Schedule:
    """lr_k = lr / (1 + k / k0): the 1/t decay of stochastic approximation theory."""
    return lambda lr, k: lr / (1.0 + k / k0)


@dataclass
class History:
    """What ``train`` records.

    loss, lr: one entry per iteration (mini-batch loss, learning rate used).
    train_acc, test_acc: one entry per epoch (test_acc empty without a test set).
    val_acc: one entry per epoch (empty without a validation set).
    best_epoch: with early stopping, the epoch (counted from 1) whose weights the net
        was given back, the one of the highest validation accuracy, ``val_acc[best_epoch - 1]``;
        0 without early stopping.
    """

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    iterations_per_epoch: int = 0
    val_acc: list[float] = field(default_factory=list)
    best_epoch: int = 0


def _optimizer_for(
    optimizer: Optimizer | None, lr: float | None, momentum: float, sign: int
) -> tuple[Optimizer, float]:
    """The update rule ``train`` uses and its base learning rate, from its arguments."""
    if optimizer is None:
        if lr is None:
            raise ValueError("pass a learning rate lr=..., or an optimizer=...")
        if momentum:
            return Momentum(lr, momentum, sign=sign), lr
        return SGD(lr, sign=sign), lr
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be one of nnlib.optimizers' rules, got {optimizer!r}")
    if lr is not None or momentum or sign != -1:
        raise ValueError(
            "with an optimizer, set the learning rate and momentum on the optimizer "
            "(e.g. Adam(lr=1e-3)), not on train(), and keep sign=-1"
        )
    return optimizer, optimizer.lr


def _is_count(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_train_args(
    x: np.ndarray,
    t: np.ndarray,
    x_test: np.ndarray | None,
    t_test: np.ndarray | None,
    x_val: np.ndarray | None,
    t_val: np.ndarray | None,
    epochs: int,
    batch_size: int,
    sign: int,
    early_stopping: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Refuse bad settings before the first step, with a ValueError naming the argument.

    (The learning rate and momentum are checked by the update rule that uses them.)

    Returns x as a floating-point array, t as an array, and x_test, t_test as given.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not _is_count(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    _check_sign(sign)
    x, t = as_float_array(x, "x"), np.asarray(t)
    sets = [("x", "t", x, t)]
    for x_name, t_name, xs, ts in (
        ("x_test", "t_test", x_test, t_test),
        ("x_val", "t_val", x_val, t_val),
    ):
        if (xs is None) != (ts is None):
            raise ValueError(f"pass both {x_name} and {t_name}, or neither")
        if xs is not None:
            # not converted: accuracy converts it chunk by chunk (a float64 copy of MNIST is 63 MB)
            sets.append((x_name, t_name, np.asarray(xs), np.asarray(ts)))
    for x_name, t_name, xs, ts in sets:
        check_same_batch(xs, ts, x_name, t_name)
        if xs.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"{x_name} has shape {xs.shape} but x has shape {x.shape}: "
                f"its rows must have the width of training rows, {x.shape[1:]}"
            )
        check_not_empty(xs, x_name)
        check_finite(xs, x_name)
        if ts.dtype.kind in "fc":  # one-hot or soft labels; integer labels cannot be NaN
            check_finite(ts, t_name)
    if early_stopping is not None:
        if x_val is None:
            raise ValueError("early_stopping watches a validation set: pass x_val and t_val too")
        if not _is_count(early_stopping) or early_stopping < 1:
            raise ValueError(
                f"early_stopping is a patience of at least 1 epoch, got {early_stopping!r}"
            )
    return x, t, x_test, t_test


def train(
    net,
    x: np.ndarray,
    t: np.ndarray,
    *,
    lr: float | None = None,
    epochs: int,
    batch_size: int,
    schedule: Schedule | None = None,
    momentum: float = 0.0,
    optimizer: Optimizer | None = None,
    x_test: np.ndarray | None = None,
    t_test: np.ndarray | None = None,
    seed: int = 0,
    sign: int = -1,
    eval_train: bool = True,
    progress: bool | None = None,
    x_val: np.ndarray | None = None,
    t_val: np.ndarray | None = None,
    early_stopping: int | None = None,
    clip_norm: float | None = None,
) -> History:
    """Train ``net`` by mini-batch gradient descent and return its History.

    net: anything with ``params``, ``loss_and_gradient(x, t)`` and ``accuracy(x, t)``
        (``MLP``, ``TwoLayerNet``).
    x: (N, D) inputs; t: labels for the same N rows.
    lr: the base learning rate; ``schedule`` (see step_decay, …) varies it per iteration.
    momentum: 0 for plain SGD, e.g. 0.9 for SGD with momentum.
    optimizer: an update rule from ``nnlib.optimizers`` (``Adam(lr=1e-3)``, …) instead of
        ``lr``/``momentum``; its ``lr`` is the base rate, and a schedule sets it per iteration.
    x_test, t_test: evaluated after every epoch when given.
    seed: seeds the shuffling, so the same seed gives the same run.
    sign: −1 descends; +1 ascends (the sign-flip experiment).
    eval_train: record the accuracy on the whole training set after every epoch.
    progress: draw a progress bar (None: unless NNLIB_PROGRESS=0).
    x_val, t_val: a validation set, evaluated after every epoch (``History.val_acc``).
    early_stopping: a patience in epochs (needs x_val): stop when the validation accuracy
        has not beaten its best for that many epochs, and give the net back the weights of
        its best epoch (``History.best_epoch``). None trains every epoch and keeps the last weights.
    clip_norm: when given, every gradient is clipped to this global norm before the
        step (``nnlib.optimizers.clip_grad_norm``).

    Raises ``DivergenceError`` as soon as the loss is NaN or infinite.
    """
    x, t, x_test, t_test = _check_train_args(
        x, t, x_test, t_test, x_val, t_val, epochs, batch_size, sign, early_stopping
    )
    optimizer, lr = _optimizer_for(optimizer, lr, momentum, sign)
    if clip_norm is not None:
        clip_grad_norm({}, clip_norm)  # checks clip_norm now, not at the first step
    schedule = schedule or constant()
    rng = np.random.default_rng(seed)
    history = History(iterations_per_epoch=-(-len(x) // batch_size))
    best_acc, best_params = -np.inf, None
    k = 0
    bar = progress_bar(
        total=epochs * history.iterations_per_epoch, desc="training", enabled=progress
    )
    with bar:
        for epoch in range(1, epochs + 1):
            for xb, tb in iterate_minibatches(x, t, batch_size, rng):
                lr_k = schedule(lr, k)
                # Overflow inside a diverging step is expected; the finite check below reports it.
                with np.errstate(over="ignore", invalid="ignore"):
                    loss, grads = net.loss_and_gradient(xb, tb)
                history.loss.append(loss)
                history.lr.append(lr_k)
                if not np.isfinite(loss):
                    raise DivergenceError(k, lr_k, loss, history)
                if clip_norm is not None:
                    clip_grad_norm(grads, clip_norm)
                optimizer.lr = lr_k
                optimizer.update(net.params, grads)
                k += 1
                bar.update(1)
            with np.errstate(over="ignore", invalid="ignore"):
                if eval_train:
                    history.train_acc.append(net.accuracy(x, t))
                if x_test is not None:
                    history.test_acc.append(net.accuracy(x_test, t_test))
                if x_val is not None:
                    history.val_acc.append(net.accuracy(x_val, t_val))
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
            if early_stopping is not None:
                if history.val_acc[-1] > best_acc:  # strictly: a tie keeps the earlier epoch
                    best_acc, history.best_epoch = history.val_acc[-1], epoch
                    best_params = {key: p.copy() for key, p in net.params.items()}
                elif epoch - history.best_epoch >= early_stopping:
                    break
    # The loss is checked before each step, so the very last step is checked here.
    for key, p in net.params.items():
        if not np.all(np.isfinite(p)):
            raise DivergenceError(k - 1, lr_k, history.loss[-1], history, param=key)
    if best_params is not None:
        for key, p in best_params.items():
            net.params[key][...] = p  # in place: whoever holds the arrays sees the best weights
    return history
