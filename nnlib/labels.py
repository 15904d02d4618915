"""Label formats: class indices and one-hot rows.

The lowest floor of nnlib's data side: both the toy data sets and the MNIST
loader turn class indices into one-hot rows, so the function lives here, where
neither has to import the other.
"""

from __future__ import annotations

import numpy as np


def one_hot(t: np.ndarray, num_classes: int, dtype: type = np.float64) -> np.ndarray:
    """Class indices (N,) -> one-hot rows (N, num_classes): row n is 1 at column t[n].

    Raises a ValueError naming the label when one lies outside 0..num_classes−1.
    """
    t = np.asarray(t)
    if t.ndim != 1:
        raise ValueError(f"one_hot expects class indices of shape (N,), got shape {t.shape}")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"one_hot expects integer class indices, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        bad = t.min() if t.min() < 0 else t.max()
        raise ValueError(f"label {int(bad)} is outside the classes 0..{num_classes - 1}")
    out = np.zeros((t.size, num_classes), dtype=dtype)
    out[np.arange(t.size), t] = 1
    return out
