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


# ----------------------------------------------------------------------------- batch normalisation
# Batch norm standardises each feature over the batch, then lets the network rescale it:
#   μ = mean_rows(x),  σ² = mean_rows((x − μ)²)  (the biased variance, as in the frameworks),
#   x̂ = (x − μ) / √(σ² + ε),  out = γ x̂ + β.
# Whatever the weights before it do, each feature enters the next layer with mean β and
# standard deviation γ, so the scale of the signal can no longer drift with depth.


def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    state: dict[str, np.ndarray],
    train: bool,
    momentum: float = 0.9,
    eps: float = 1e-5,
) -> tuple[np.ndarray, Cache]:
    """out = γ · (x − μ) / √(σ² + ε) + β, per feature (column). x: (N, D); γ, β: (D,).

    Training mode (train=True) uses the batch's mean μ and biased variance σ², and
    updates the running averages in ``state`` (the keys ``running_mean`` and
    ``running_var``, (D,), created at 0 and 1 when missing):

        running ← momentum · running + (1 − momentum) · batch statistic.

    ``momentum`` is the weight of the *old* value, as in CS231n and Keras (0.9 or 0.99).
    PyTorch's ``momentum`` is the weight of the *new* one: its default 0.1 is our 0.9.
    (PyTorch also stores the unbiased variance, N/(N − 1) σ², in ``running_var``;
    here it is σ², the one the batch was normalised with.)

    Evaluation mode (train=False) uses the running averages instead, so that a
    prediction does not depend on the other samples of the batch; ``state`` is read only.
    Returns out (N, D) and the cache.
    """
    x = np.asarray(x)
    if x.ndim != 2 or np.shape(gamma) != (x.shape[1],) or np.shape(beta) != (x.shape[1],):
        raise ValueError(
            f"batchnorm_forward: x {x.shape}, gamma {np.shape(gamma)} and beta {np.shape(beta)} "
            "do not fit: need x (N, D), gamma (D,), beta (D,)"
        )
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"batchnorm_forward: momentum must be in [0, 1), got {momentum}")
    if not eps > 0:
        raise ValueError(f"batchnorm_forward: eps must be > 0, got {eps}")
    if "running_mean" not in state:
        state["running_mean"] = np.zeros(x.shape[1], dtype=x.dtype)
        state["running_var"] = np.ones(x.shape[1], dtype=x.dtype)
    if train:
        if len(x) < 2:
            raise ValueError(
                f"batchnorm_forward: training mode needs a batch of at least 2 samples, got "
                f"{len(x)}: the variance of one sample is 0 and x̂ would be 0 for every input. "
                "Use a larger batch, or train=False to use the running averages"
            )
        mu = x.mean(axis=0)
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        state["running_mean"] = momentum * state["running_mean"] + (1.0 - momentum) * mu
        state["running_var"] = momentum * state["running_var"] + (1.0 - momentum) * var
    else:
        xc = x - state["running_mean"]
        var = state["running_var"]
    std = np.sqrt(var + eps)
    x_hat = xc / std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, std, train)


def batchnorm_backward(dout: np.ndarray, cache: Cache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of batch normalisation: (dx (N, D), dgamma (D,), dbeta (D,)).

    dβ = Σ_rows dout and dγ = Σ_rows dout ⊙ x̂, as for any scale and shift. For x, with
    d = dout ⊙ γ (the gradient reaching x̂), training mode gives

        dx = (d − mean_rows(d) − x̂ · mean_rows(d ⊙ x̂)) / √(σ² + ε):

    μ and σ² depend on every row, so each sample's gradient loses the part shared
    by the batch (the mean) and the part along x̂ (the spread). Evaluation mode
    treats the running μ and σ² as constants: dx = d / √(σ² + ε).
    """
    x_hat, gamma, std, train = cache
    _check_dout(dout, x_hat.shape, "batchnorm")
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    d = dout * gamma
    if train:
        d = d - d.mean(axis=0) - x_hat * np.mean(d * x_hat, axis=0)
    return d / std, dgamma, dbeta
