"""Input checks shared by the whole library.

A student who passes labels of the wrong shape should read "t has 32 rows but y
has 100", not a broadcasting traceback from deep inside numpy. Every public
function that takes predictions and labels goes through these few helpers.
"""

from __future__ import annotations

import numpy as np


def as_float_array(x: object, name: str) -> np.ndarray:
    """``x`` as a floating-point array (integers become float64), or a ValueError naming it."""
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise a ValueError naming ``x`` when it holds NaN or inf."""
    # min and max propagate NaN and show ±inf, and need no array-sized temporary
    # (a training set is tens of MB); count the culprits only when there are some.
    if np.size(x) and not (np.isfinite(np.min(x)) and np.isfinite(np.max(x))):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf)")


def check_same_batch(x: np.ndarray, t: np.ndarray, x_name: str = "x", t_name: str = "t") -> None:
    """Raise a ValueError when ``x`` and ``t`` do not have the same number of rows."""
    if np.ndim(x) == 0 or np.ndim(t) == 0:
        raise ValueError(f"{x_name} and {t_name} must be arrays with a batch axis")
    if len(x) != len(t):
        raise ValueError(
            f"{x_name} has {len(x)} rows but {t_name} has {len(t)}: "
            f"shapes {np.shape(x)} and {np.shape(t)} do not describe the same batch"
        )


def label_format(y: np.ndarray, t: np.ndarray) -> str:
    """Tell how the labels ``t`` describe the classes of the scores ``y``.

    y: (N, C) or (C,) scores or probabilities.
    t: same shape as y (one-hot or soft labels) -> ``"one-hot"``;
       shape y.shape[:-1] of integers in [0, C) -> ``"index"``.
    Anything else raises a ValueError that names both shapes.
    """
    y_shape, t_shape = np.shape(y), np.shape(t)
    if len(y_shape) == 0:
        raise ValueError("y must have a class axis (shape (N, C) or (C,)), got a scalar")
    if y_shape[:1] != t_shape[:1] and len(y_shape) == 2 and len(t_shape) >= 1:
        raise ValueError(
            f"y has {y_shape[0]} rows but t has {t_shape[0]}: "
            f"predictions {y_shape} and labels {t_shape} are not the same batch"
        )
    if t_shape == y_shape:
        return "one-hot"
    if t_shape == y_shape[:-1]:
        t = np.asarray(t)
        num_classes = y_shape[-1]
        if not (np.issubdtype(t.dtype, np.integer) or np.all(np.mod(t, 1) == 0)):
            raise ValueError(
                f"class-index labels t must be whole numbers, got dtype {t.dtype}; "
                "pass integer class indices of shape (N,) or one-hot labels of shape (N, C)"
            )
        if t.size and (t.min() < 0 or t.max() >= num_classes):
            bad = t.min() if t.min() < 0 else t.max()
            raise ValueError(
                f"label {int(bad)} is outside the classes 0..{num_classes - 1} "
                f"(y has {num_classes} columns)"
            )
        return "index"
    raise ValueError(
        f"labels t of shape {t_shape} do not fit predictions y of shape {y_shape}: "
        f"expected one-hot labels of shape {y_shape} or class indices of shape {y_shape[:-1]}"
    )


def class_indices(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The labels ``t`` as integer class indices, shape y.shape[:-1], whatever their format."""
    if label_format(y, t) == "one-hot":
        return np.argmax(t, axis=-1)
    return np.asarray(t).astype(np.intp, copy=False)


def check_not_empty(x: np.ndarray, name: str) -> None:
    """Raise a ValueError when ``x`` holds no sample (a mean over nothing is undefined)."""
    if np.size(x) == 0:
        raise ValueError(
            f"{name} is an empty batch (shape {np.shape(x)}): there is no sample to compute on"
        )
