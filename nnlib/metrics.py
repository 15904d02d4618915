"""How good are the predictions: accuracy and the confusion matrix."""

from __future__ import annotations

import numpy as np

from nnlib._checks import check_same_batch, class_indices


def accuracy(y: np.ndarray, t: np.ndarray) -> float:
    """Fraction of rows whose predicted class is the true class.

    y: (N, C) scores or probabilities, the class being the largest; t: one-hot
    (N, C) or class indices (N,). With a single output column, y (N, 1) is the
    probability of class 1 (predicted where y > 0.5) and t holds 0/1, shape
    (N,) or (N, 1): an argmax over one column would call every sample class 0.
    """
    if np.ndim(y) == 2 and np.shape(y)[1] == 1:
        t = np.asarray(t).reshape(-1)
        check_same_batch(y, t, "y", "t")
        return float(np.mean((np.asarray(y)[:, 0] > 0.5) == (t > 0.5)))
    return float(np.mean(np.argmax(y, axis=-1) == class_indices(y, t)))


def confusion_matrix(t: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): entry [i, j] is how often class i was predicted as j.

    t, y_pred: class indices, shape (N,).
    """
    t, y_pred = np.asarray(t, dtype=np.intp), np.asarray(y_pred, dtype=np.intp)
    if t.shape != y_pred.shape:
        raise ValueError(f"t {t.shape} and y_pred {y_pred.shape} must have the same shape")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, y_pred), 1)
    return cm


def late_rise(loss: np.ndarray) -> float:
    """How far the loss climbs back above its running minimum in the second half of training.

    loss: (K,) one value per iteration. Returns max_k (E_k − min_{j≤k} E_j) over the
    second half: 0 when the loss never goes back up there, inf when any value is NaN
    or inf (a run that blew up has risen as far as it can). A late rise flags a run
    that looked converged and then lost its minimum, e.g. as the curvature grows past 2/lr.
    """
    loss = np.asarray(loss, dtype=float)
    if loss.ndim != 1 or loss.size < 2:
        raise ValueError(f"loss must be a 1-D history of at least 2 values, got shape {loss.shape}")
    if not np.all(np.isfinite(loss)):
        return float("inf")
    second_half = loss[len(loss) // 2 :]
    return float(np.max(second_half - np.minimum.accumulate(second_half)))
