"""Small data sets the course builds itself, label helpers, and the MNIST loaders.

The toy sets are generated, not downloaded, so they are always there and the
same for every student with the same seed.
"""

from __future__ import annotations

import numpy as np

from nnlib._checks import check_same_batch
from nnlib.labels import one_hot
from nnlib.mnist import load_fashion_mnist, load_mnist

__all__ = [
    "load_fashion_mnist",
    "load_mnist",
    "moons",
    "one_hot",
    "spirals",
    "train_val_split",
    "xor",
    "xor_cloud",
]


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


def train_val_split(
    x: np.ndarray, t: np.ndarray, n_val: int, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split a training set into ``(x_train, t_train), (x_val, t_val)`` by a seeded shuffle.

    x: (N, ...), t: (N, ...). The validation set is ``n_val`` rows drawn at random
    (``np.random.default_rng(seed)``), the training set the other N − n_val, each
    in the original order. The same seed gives the same split on every machine.

    Why: every choice (learning rate, epochs, λ, architecture) is made on the
    validation set, so that the test set, looked at once at the very end, still
    measures data the model and its designer have never seen.
    """
    check_same_batch(x, t)
    n = len(x)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)):
        raise ValueError(f"n_val must be a whole number of samples, got {n_val!r}")
    if not 0 < n_val < n:
        raise ValueError(f"n_val must be between 1 and {n - 1} for {n} samples, got {n_val}")
    is_val = np.zeros(n, dtype=bool)
    is_val[np.random.default_rng(seed).permutation(n)[:n_val]] = True
    return (x[~is_val], t[~is_val]), (x[is_val], t[is_val])
