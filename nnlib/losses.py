"""Loss functions and their gradients.

Conventions, chosen so that the gradients come out clean:

* ``sum_squared_error`` is ½·Σ(y − t)² over every entry: the ½ cancels the 2 of
  the derivative, so dE/dy = y − t. It is *summed*, not averaged, so it grows
  with the batch size, and a learning rate tuned for one batch size is too
  large for a bigger one.
* ``mean_squared_error`` is Σ(y − t)² / (number of entries): no ½, averaged
  over the batch *and* the outputs, so the right learning rate does not depend
  on either; its gradient is 2(y − t) / size.
* ``cross_entropy_error`` and ``softmax_cross_entropy`` average over the batch.
* ``l2_penalty`` is λ/(2n)·Σ‖W‖²; with n = batch size it matches a loss that is
  summed over the batch, with n = 1 a loss that is averaged (the book's weight decay).

Labels ``t`` are accepted one-hot (same shape as ``y``) or as integer class
indices (shape ``y.shape[:-1]``) wherever classes are involved.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nnlib._checks import as_float_array, check_not_empty, label_format

# Probabilities are clipped to at least this before the log: -log(1e-12) ≈ 27.6,
# so a confidently wrong prediction costs a lot but never infinity.
PROB_EPS = 1e-12


def _check_same_shape(y: np.ndarray, t: np.ndarray) -> None:
    if np.shape(y) != np.shape(t):
        raise ValueError(
            f"predictions y {np.shape(y)} and targets t {np.shape(t)} must have the same shape"
        )
    check_not_empty(y, "y")


def sum_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = ½ Σ (y − t)², summed over every entry. y, t: same shape, e.g. (N, C)."""
    y, t = as_float_array(y, "y"), as_float_array(t, "t")
    _check_same_shape(y, t)
    return float(0.5 * np.sum((y - t) ** 2))


def sum_squared_error_grad(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dE/dy = y − t for E = ½ Σ (y − t)². Same shape as y."""
    y, t = as_float_array(y, "y"), as_float_array(t, "t")
    _check_same_shape(y, t)
    return y - t


def mean_squared_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = Σ (y − t)² / y.size: averaged over the batch and the outputs. y, t: same shape."""
    y, t = as_float_array(y, "y"), as_float_array(t, "t")
    _check_same_shape(y, t)
    return float(np.mean((y - t) ** 2))


def mean_squared_error_grad(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dE/dy = 2 (y − t) / y.size for E = mean((y − t)²). Same shape as y."""
    y, t = as_float_array(y, "y"), as_float_array(t, "t")
    _check_same_shape(y, t)
    return 2.0 * (y - t) / y.size


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """E = −(1/N) Σ_n Σ_k t_nk log y_nk: the mean cross-entropy over the batch.

    y: (N, C) probabilities (rows summing to 1), or (C,) for one sample.
    t: one-hot (N, C) or class indices (N,) (or (C,) / a scalar for one sample).
    Probabilities are clipped to ``PROB_EPS`` first, so a 0 gives a large finite
    loss instead of log(0) = −inf.
    """
    y = as_float_array(y, "y")
    fmt = label_format(y, t)
    check_not_empty(y, "y")
    y2 = y.reshape(1, -1) if y.ndim == 1 else y.reshape(-1, y.shape[-1])
    log_y = np.log(np.clip(y2, PROB_EPS, 1.0))
    if fmt == "one-hot":
        t2 = as_float_array(t, "t").reshape(y2.shape)
        return float(-np.sum(t2 * log_y) / len(y2))
    idx = np.asarray(t, dtype=np.intp).reshape(-1)
    return float(-np.mean(log_y[np.arange(len(y2)), idx]))


def cross_entropy_error_grad(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """dE/dy = −t / (N·y) for the mean cross-entropy (clipped like the loss). Shape of y."""
    y = as_float_array(y, "y")
    fmt = label_format(y, t)
    check_not_empty(y, "y")
    n = 1 if y.ndim == 1 else int(np.prod(y.shape[:-1]))
    if fmt == "one-hot":
        t1 = as_float_array(t, "t")
    else:
        t1 = np.zeros_like(y)
        np.put_along_axis(t1, np.asarray(t, dtype=np.intp)[..., None], 1.0, axis=-1)
    return -t1 / (n * np.clip(y, PROB_EPS, 1.0))


def softmax_cross_entropy(logits: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits), and its gradient with respect to the logits.

    logits: (N, C) scores; t: one-hot (N, C) or class indices (N,).
    Returns ``(loss, dlogits)`` with dlogits of shape (N, C):
    dE/dz = (softmax(z) − t) / N. Fusing the two steps is both simpler (the
    division by y cancels) and stable: log p = (z − max z) − log Σ e^(z − max z)
    is computed directly, never as log(0).
    """
    z = as_float_array(logits, "logits")
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {z.shape}")
    fmt = label_format(z, t)
    check_not_empty(z, "logits")
    n = len(z)
    # log softmax and softmax from one exponential: log p = shifted − log Σe, p = e / Σe
    shifted = z - z.max(axis=1, keepdims=True)
    dlogits = np.exp(shifted)
    sum_e = dlogits.sum(axis=1, keepdims=True)
    log_sum_e = np.log(sum_e)
    dlogits /= sum_e
    if fmt == "one-hot":
        t1 = np.asarray(t, dtype=z.dtype)
        loss = -np.sum(t1 * (shifted - log_sum_e)) / n
        dlogits -= t1
    else:
        # only the true class's log p enters the loss: no need for the whole log p matrix
        rows, idx = np.arange(n), np.asarray(t, dtype=np.intp)
        loss = (np.sum(log_sum_e) - np.sum(shifted[rows, idx])) / n
        dlogits[rows, idx] -= 1.0
    dlogits /= n
    return float(loss), dlogits


def l2_penalty(weights: np.ndarray | Iterable[np.ndarray], lam: float, n: int = 1) -> float:
    """R = λ/(2n) · Σ_W Σ W², the ridge term added to the loss.

    weights: one weight matrix or several (biases are usually left out).
    n: the batch size for a summed loss, 1 for an averaged loss.
    """
    if isinstance(weights, np.ndarray):
        weights = [weights]
    return float(lam / (2 * n) * sum(np.sum(np.square(w)) for w in weights))


def l2_penalty_grad(W: np.ndarray, lam: float, n: int = 1) -> np.ndarray:
    """dR/dW = λ W / n for R = λ/(2n) Σ W². Same shape as W."""
    return (lam / n) * np.asarray(W)
