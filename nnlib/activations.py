"""Activation functions and their derivatives.

Every ``*_grad(z)`` takes the pre-activation ``z`` (not the activation) and
returns the elementwise derivative dφ/dz, the same shape as ``z``: this is the
σ'(z) of the backprop equations. All functions work on arrays of any shape and
keep the input's floating dtype (float32 stays float32).
"""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(-z)), elementwise; any shape.

    This form loses no precision anywhere: for very negative z, e^(-z) is huge
    and its reciprocal is still exact to the last digit. Its one flaw is that
    e^(-z) overflows to inf below z ≈ -709 (float64) or -88 (float32); then
    1 / (1 + inf) = 0, the right answer, but numpy warns. We silence exactly
    that overflow warning, nothing else.
    """
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(z)))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    """σ'(z) = σ(z) (1 − σ(z)), elementwise; any shape. At most 1/4, at z = 0."""
    s = sigmoid(z)
    return s * (1.0 - s)


def relu(z: np.ndarray) -> np.ndarray:
    """ReLU(z) = max(z, 0), elementwise; any shape."""
    return np.maximum(z, 0)


def relu_grad(z: np.ndarray) -> np.ndarray:
    """ReLU'(z) = 1 where z > 0, else 0 (the kink at 0 gets 0, as in most libraries)."""
    z = np.asarray(z)
    return (z > 0).astype(z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64)


def tanh(z: np.ndarray) -> np.ndarray:
    """tanh(z) = (e^z − e^(-z)) / (e^z + e^(-z)), elementwise; numpy's is already stable."""
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 − tanh(z)², elementwise; any shape."""
    return 1.0 - np.tanh(z) ** 2


def identity(z: np.ndarray) -> np.ndarray:
    """identity(z) = z: the output layer of a regression network."""
    return np.asarray(z)


def identity_grad(z: np.ndarray) -> np.ndarray:
    """identity'(z) = 1, elementwise; any shape."""
    z = np.asarray(z)
    return np.ones_like(z, dtype=z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(z)_k = e^(z_k) / Σ_j e^(z_j) over ``axis`` (the classes, last by default).

    z: (N, C) or (C,) logits. Returns probabilities of the same shape, each row
    summing to 1. Subtracting the row maximum first changes nothing
    mathematically (it cancels) but keeps every exponent ≤ 0, so logits of
    1e4 do not overflow.

    Infinite logits: a row holding +inf gets its limit, the probability shared
    equally by its +inf entries (softmax([inf, 1]) = [1, 0]). A row of only −inf
    has no limit (it depends on how the entries go to −inf): ValueError.
    A NaN logit gives a row of NaN.
    """
    z = np.asarray(z)
    m = np.max(z, axis=axis, keepdims=True)
    if np.all(np.isfinite(m)):  # the usual case: one cheap check on the row maxima
        e = np.exp(z - m)
    else:
        if np.any(m == -np.inf):
            raise ValueError(
                "softmax of a row whose logits are all -inf is undefined: no class has any score"
            )
        with np.errstate(invalid="ignore"):  # inf − inf in the rows replaced just below
            shifted = z - m
        limit = np.where(z == np.inf, 0.0, -np.inf).astype(shifted.dtype)
        shifted = np.where(m == np.inf, limit, shifted)
        e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z)_k = z_k − max(z) − log Σ_j e^(z_j − max(z)), over ``axis``.

    z: (N, C) or (C,). Never takes log(0): the largest term of the sum is e^0 = 1.
    """
    z = np.asarray(z)
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# name -> (φ, φ'), so networks can be configured with a string.
ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_grad),
    "relu": (relu, relu_grad),
    "tanh": (tanh, tanh_grad),
    "identity": (identity, identity_grad),
}

# name -> φ'(z) written in terms of a = φ(z). Backprop (BP2) needs φ' of every
# hidden layer at every step, and the forward pass has already computed a:
# σ' = a(1 − a) costs one multiply where σ'(z) would compute σ all over again.
GRAD_FROM_OUTPUT = {
    "sigmoid": lambda a: a * (1.0 - a),
    "relu": lambda a: a > 0,  # a bool mask; multiplying by it keeps delta's dtype
    "tanh": lambda a: 1.0 - a * a,
    "identity": lambda a: np.ones_like(a),
}
