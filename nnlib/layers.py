"""Layers as forward/backward pairs: the building blocks every network here is made of.

Each operation is two functions, in the style of CS231n:

* ``*_forward(inputs…) -> (out, cache)``: computes the output and keeps in
  ``cache`` exactly what the backward pass will need;
* ``*_backward(dout, cache) -> gradients``: given ∂E/∂out (same shape as
  ``out``), returns ∂E/∂input for every input, by the chain rule, using only
  the cache.

A network is then a list of layers: the forward pass calls each ``*_forward``
in turn and keeps the caches; the backward pass calls the ``*_backward``
functions in reverse order, feeding each one the gradient the next layer
returned. Softmax with cross-entropy, the usual last layer, is
``nnlib.losses.softmax_cross_entropy``: it returns the loss and ∂E/∂logits at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnlib.activations import sigmoid

Cache = Any
"""Whatever a forward pass keeps for its backward pass (arrays, usually a tuple)."""


def _check_dout(dout: np.ndarray, shape: tuple[int, ...], layer: str) -> None:
    if np.shape(dout) != shape:
        raise ValueError(
            f"{layer}_backward: dout has shape {np.shape(dout)}, "
            f"but the forward output had shape {shape}"
        )


# ----------------------------------------------------------------------------- affine


def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Cache]:
    """z = x W + b, one sample per row.

    x: (N, D), or (N, d1, …, dk) with d1·…·dk = D, which is flattened per sample
    (an image batch (N, C, H, W) feeds a fully connected layer this way).
    W: (D, M); b: (M,). Returns z (N, M) and the cache (x, W).
    """
    x2 = np.reshape(x, (len(x), -1)) if np.ndim(x) != 2 else x
    if np.ndim(W) != 2 or x2.shape[1] != W.shape[0] or np.shape(b) != (W.shape[1],):
        raise ValueError(
            f"affine_forward: x {np.shape(x)} (flattened to {x2.shape}), W {np.shape(W)} and "
            f"b {np.shape(b)} do not fit: need x (N, D), W (D, M), b (M,)"
        )
    z = x2 @ W
    z += b  # in place: one temporary fewer per layer and step
    return z, (x, W)


def affine_backward(
    dout: np.ndarray, cache: Cache, *, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of z = x W + b.

    dout: ∂E/∂z (N, M). Returns dx = dout Wᵀ (shaped like x), dW = xᵀ dout (D, M)
    and db = Σ_rows dout (M,): the bias is added to every row, so its gradient
    collects the gradient of every row. ``xᵀ dout`` also sums the per-sample
    outer products over the batch.

    need_dx=False returns None for dx: the first layer's input is the data,
    whose gradient nobody uses, and dout Wᵀ would be a fifth of a step's work.
    """
    x, W = cache
    _check_dout(dout, (len(x), W.shape[1]), "affine")
    x2 = np.reshape(x, (len(x), -1)) if np.ndim(x) != 2 else x
    dx = (dout @ W.T).reshape(np.shape(x)) if need_dx else None
    dW = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dW, db


# ----------------------------------------------------------------------------- activations
# Each backward uses the forward's *output*: for sigmoid σ' = a(1 − a) and for
# tanh 1 − a², so nothing is recomputed; ReLU needs only where a > 0.


def relu_forward(z: np.ndarray) -> tuple[np.ndarray, Cache]:
    """a = max(z, 0), elementwise; any shape. The cache is a."""
    a = np.maximum(z, 0)
    return a, a


def relu_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dz = dout where z > 0, else 0 (the kink at 0 gets 0); same shape as dout."""
    a = cache
    _check_dout(dout, a.shape, "relu")
    return dout * (a > 0)  # a bool mask keeps dout's dtype


def sigmoid_forward(z: np.ndarray) -> tuple[np.ndarray, Cache]:
    """a = σ(z) = 1 / (1 + e^(−z)), elementwise; any shape. The cache is a."""
    a = sigmoid(z)
    return a, a


def sigmoid_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dz = dout · σ'(z) = dout · a(1 − a); same shape as dout."""
    a = cache
    _check_dout(dout, a.shape, "sigmoid")
    return dout * (a * (1.0 - a))


def tanh_forward(z: np.ndarray) -> tuple[np.ndarray, Cache]:
    """a = tanh(z), elementwise; any shape. The cache is a."""
    a = np.tanh(z)
    return a, a


def tanh_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dz = dout · (1 − a²); same shape as dout."""
    a = cache
    _check_dout(dout, a.shape, "tanh")
    return dout * (1.0 - a * a)


def identity_forward(z: np.ndarray) -> tuple[np.ndarray, Cache]:
    """a = z: the output layer of a regression network. The cache is the shape."""
    return z, np.shape(z)


def identity_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dz = dout."""
    _check_dout(dout, cache, "identity")
    return dout


# name -> (forward, backward), so that networks can be configured with a string.
ACTIVATION_LAYERS = {
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "identity": (identity_forward, identity_backward),
}


# ----------------------------------------------------------------------------- dropout
# Inverted dropout (Srivastava et al., 2014): while training, each unit is kept with
# probability 1 − p and the survivors are scaled by 1/(1 − p), so that E[out] = x and
# the network needs no change at test time, where dropout is the identity.


def _check_dropout_p(p: float) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise ValueError(f"dropout probability p must be a number in [0, 1), got {p!r}")
    if not 0.0 <= p < 1.0:
        raise ValueError(
            f"dropout probability p must be in [0, 1), got {p}: p is the fraction of units "
            "dropped, and p = 1 would drop them all"
        )
    return float(p)


def dropout_forward(
    x: np.ndarray, p: float, rng: np.random.Generator, train: bool
) -> tuple[np.ndarray, Cache]:
    """Inverted dropout: out = x ⊙ m / (1 − p), m_i ~ Bernoulli(1 − p), while training.

    x: any shape; p in [0, 1): the probability of dropping a unit; rng: draws the mask
    (``np.random.default_rng``: the same seed gives the same mask).
    train: True applies the mask; False (evaluation) returns x itself, the identity.
    The scaling keeps every unit's expectation: E[out_i] = (1 − p) · x_i / (1 − p) = x_i.
    Returns out (shape of x) and the cache: the scaled mask m / (1 − p), or None for the identity.
    """
    p = _check_dropout_p(p)
    if not train or p == 0.0:
        return x, (None, np.shape(x))
    x = np.asarray(x)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    scaled_mask = (rng.random(x.shape) >= p).astype(dtype) / dtype.type(1.0 - p)
    return x * scaled_mask, (scaled_mask, x.shape)


def dropout_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dx = dout ⊙ m / (1 − p): a dropped unit passes no gradient, a kept one passes it scaled.

    The mask is a constant of the forward pass, so out = x ⊙ mask is linear in x.
    """
    scaled_mask, shape = cache
    _check_dout(dout, shape, "dropout")
    return dout if scaled_mask is None else dout * scaled_mask
