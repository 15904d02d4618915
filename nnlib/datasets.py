"""Small data sets the course builds itself, label helpers, and the MNIST loaders.

The toy sets are generated, not downloaded, so they are always there and the
same for every student with the same seed.
"""

from __future__ import annotations

import numpy as np

from nnlib.mnist import load_fashion_mnist, load_mnist

__all__ = ["load_fashion_mnist", "load_mnist", "moons", "one_hot", "spirals", "xor", "xor_cloud"]


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


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The four corners of XOR: x (4, 2) float64, t (4,) int labels 0, 1, 1, 0."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = np.array([0, 1, 1, 0])
    return x, t


def xor_cloud(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """XOR as a cloud: n points from a 2-D standard normal, labelled by quadrant.

    The label is 1 when the two coordinates have different signs (quadrants II
    and IV), else 0. Returns x (n, 2) float64 and t (n,) int.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    t = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return x, t


def spirals(
    n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: no line separates any two of them.

    Returns x (n_per_class·n_classes, 2) float64 and t (same N,) int in 0..n_classes−1.
    """
    rng = np.random.default_rng(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    t = np.repeat(np.arange(n_classes), n_per_class)
    theta = (
        t * 2 * np.pi / n_classes + r * 4.0 + noise * rng.standard_normal(n_per_class * n_classes)
    )
    x = np.column_stack([r * np.sin(theta), r * np.cos(theta)])
    return x, t


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles with Gaussian noise.

    Returns x (n, 2) float64 and t (n,) int: 0 for the upper moon, 1 for the lower.
    """
    rng = np.random.default_rng(seed)
    n0 = n // 2
    angle0 = np.linspace(0, np.pi, n0)
    angle1 = np.linspace(0, np.pi, n - n0)
    upper = np.column_stack([np.cos(angle0), np.sin(angle0)])
    lower = np.column_stack([1 - np.cos(angle1), 0.5 - np.sin(angle1)])
    x = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    t = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n - n0, dtype=np.int64)])
    return x, t
