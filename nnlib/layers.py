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


# ----------------------------------------------------------------------------- convolution
# Images are (N, C, H, W), filters (F, C, KH, KW): the layout of the frameworks.
# A convolution layer is, as in every framework, a cross-correlation: filter and
# input window are multiplied entry by entry and summed, without flipping the filter.


def conv_output_size(size: int, kernel: int, stride: int = 1, pad: int = 0) -> int:
    """(size + 2·pad − kernel) / stride + 1: how many positions a kernel takes along one axis.

    Raises a ValueError when the kernel is larger than the padded input or when the
    stride does not tile it (the last window would hang over the edge).
    """
    if kernel < 1 or stride < 1 or pad < 0:
        raise ValueError(f"need kernel >= 1, stride >= 1, pad >= 0; got {kernel}, {stride}, {pad}")
    padded = size + 2 * pad
    if kernel > padded:
        raise ValueError(f"a kernel of {kernel} is larger than the padded input of {padded}")
    if (padded - kernel) % stride:
        raise ValueError(
            f"stride {stride} does not tile a padded input of {padded} with a kernel of "
            f"{kernel}: ({padded} - {kernel}) is not a multiple of {stride}"
        )
    return (padded - kernel) // stride + 1


def _conv_geometry(
    x_shape: tuple[int, ...], kernel: tuple[int, int], stride: int, pad: int, name: str
) -> tuple[int, int]:
    """(OH, OW) of a kernel sliding over x (N, C, H, W), or a ValueError naming the shapes."""
    if len(x_shape) != 4:
        raise ValueError(f"{name}: x must be (N, C, H, W), got shape {x_shape}")
    try:
        return (
            conv_output_size(x_shape[2], kernel[0], stride, pad),
            conv_output_size(x_shape[3], kernel[1], stride, pad),
        )
    except ValueError as err:
        raise ValueError(
            f"{name}: x {x_shape} with a {kernel[0]}x{kernel[1]} kernel, stride {stride}, "
            f"pad {pad}: {err}"
        ) from None


def im2col(x: np.ndarray, KH: int, KW: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Every KH×KW window of every image, as columns: cols (N, C·KH·KW, OH·OW).

    x: (N, C, H, W). Column p of cols[n] is the window whose top-left corner is
    output position p = i·OW + j, at (i·stride, j·stride) of the zero-padded image;
    its rows run over (c, kh, kw) in that order, the order of W.reshape(F, -1)'s columns::

                    p = 0    p = 1   …   p = OH·OW − 1      (output positions)
        (0, 0, 0)   x[0,0,0] x[0,0,s]    …
        (0, 0, 1)   x[0,0,1] x[0,0,s+1]  …
           ⋮
        (C−1, KH−1, KW−1)                 …   x[C−1, H'−1, W'−1]

    so that a convolution is one matrix product per image, W.reshape(F, −1) @ cols[n],
    and its output (F, OH·OW) is already in (F, OH, OW) order. Each pixel is copied
    up to KH·KW times: that is the memory price of the single product.
    """
    OH, OW = _conv_geometry(np.shape(x), (KH, KW), stride, pad, "im2col")
    N, C = x.shape[:2]
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # A view (N, C, OH, OW, KH, KW) on x's own memory: no copy yet.
    windows = np.lib.stride_tricks.sliding_window_view(x, (KH, KW), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    # The one copy: runs of OW pixels stay contiguous, which numpy copies fast.
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * KH * KW, OH * OW)


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    KH: int,
    KW: int,
    stride: int = 1,
    pad: int = 0,
) -> np.ndarray:
    """The adjoint of im2col: add every column back onto the pixels it was copied from.

    cols: (N, C·KH·KW, OH·OW), laid out as im2col returns them; x_shape: (N, C, H, W).
    Returns dx (N, C, H, W). A pixel that sat in several windows receives the sum
    of its copies' gradients. One slice addition per kernel offset (kh, kw), each
    adding a whole (N, C, OH, OW) block: KH·KW numpy calls, no loop over pixels.
    """
    N, C, H, W = x_shape
    OH, OW = _conv_geometry(tuple(x_shape), (KH, KW), stride, pad, "col2im")
    if np.shape(cols) != (N, C * KH * KW, OH * OW):
        raise ValueError(
            f"col2im: cols has shape {np.shape(cols)}, expected {(N, C * KH * KW, OH * OW)} "
            f"for x {tuple(x_shape)} and a {KH}x{KW} kernel"
        )
    cols = cols.reshape(N, C, KH, KW, OH, OW)
    dx = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for kh in range(KH):
        for kw in range(KW):
            dx[:, :, kh : kh + stride * OH : stride, kw : kw + stride * OW : stride] += cols[
                :, :, kh, kw
            ]
    return dx[:, :, pad : pad + H, pad : pad + W] if pad else dx


def conv_forward(
    x: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, Cache]:
    """out[n, f, i, j] = b[f] + Σ_{c,kh,kw} W[f, c, kh, kw] · xp[n, c, i·s + kh, j·s + kw].

    xp is x zero-padded by ``pad`` on each side. x: (N, C, H, W); W: (F, C, KH, KW);
    b: (F,). Returns out (N, F, OH, OW), OH = (H + 2·pad − KH)/stride + 1 (same for OW),
    and the cache. Computed as im2col then one matrix product per image.
    """
    if np.ndim(W) != 4 or np.ndim(x) != 4 or np.shape(x)[1] != np.shape(W)[1]:
        raise ValueError(
            f"conv_forward: x {np.shape(x)} and W {np.shape(W)} do not fit: need x (N, C, H, W) "
            f"and W (F, C, KH, KW) with the same number of channels C"
        )
    F, _, KH, KW = W.shape
    if np.shape(b) != (F,):
        raise ValueError(f"conv_forward: b has shape {np.shape(b)}, W {W.shape} needs ({F},)")
    OH, OW = _conv_geometry(x.shape, (KH, KW), stride, pad, "conv_forward")
    cols = im2col(x, KH, KW, stride, pad)
    out = np.matmul(W.reshape(F, -1), cols)  # (F, CKK) @ (N, CKK, P): N products, (N, F, P)
    out += b[:, None]
    return out.reshape(len(x), F, OH, OW), (x.shape, cols, W, stride, pad)


def conv_backward(
    dout: np.ndarray, cache: Cache, *, need_dx: bool = True
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of conv_forward.

    dout: ∂E/∂out (N, F, OH, OW). With W2 = W.reshape(F, −1) and cols = im2col(x):

      db = Σ_{n,i,j} dout[n, :, i, j]              (F,)  the bias is added at every position
      dW = Σ_n dout[n] @ cols[n]ᵀ, reshaped        (F, C, KH, KW)
      dx = col2im(W2ᵀ @ dout[n] for every n)       (N, C, H, W)

    the affine layer's three formulas, per image, plus col2im to return each
    column's gradient to the pixels it was copied from. need_dx=False returns None
    for dx (the first layer's input is the data).
    """
    x_shape, cols, W, stride, pad = cache
    F, _, KH, KW = W.shape
    OH, OW = _conv_geometry(x_shape, (KH, KW), stride, pad, "conv_backward")
    _check_dout(dout, (x_shape[0], F, OH, OW), "conv")
    dout = dout.reshape(x_shape[0], F, OH * OW)
    db = dout.sum(axis=(0, 2))
    # N products dout[n] @ cols[n]ᵀ (the transpose is a view BLAS reads as it is),
    # then their sum: faster than one big product that would first copy both operands.
    dW = np.matmul(dout, cols.transpose(0, 2, 1)).sum(axis=0).reshape(W.shape)
    dx = None
    if need_dx:
        dcols = np.matmul(W.reshape(F, -1).T, dout)  # (N, C·KH·KW, P)
        dx = col2im(dcols, x_shape, KH, KW, stride, pad)
    return dx, dW, db


# ----------------------------------------------------------------------------- max pooling


def max_pool_forward(x: np.ndarray, size: int = 2, stride: int = 2) -> tuple[np.ndarray, Cache]:
    """out[n, c, i, j] = max of x[n, c] over the size×size window at (i·stride, j·stride).

    x: (N, C, H, W); returns out (N, C, OH, OW), OH = (H − size)/stride + 1, and the cache.
    The cache keeps, per output, which of the size² window positions held the
    maximum (uint8, numbered row by row within the window). On a tie the *first*
    of them in that order wins (top row before bottom row, left before right), so
    the gradient of a window whose maximum is repeated goes to its top-left copy,
    deterministically.
    """
    OH, OW = _conv_geometry(np.shape(x), (size, size), stride, 0, "max_pool_forward")
    # Entry k = (kh, kw) of every window at once is a strided view (N, C, OH, OW) of x:
    # size² elementwise maxima over whole arrays, never a reduction over a tiny axis
    # (numpy's reductions over an axis of 4 are ten times slower).
    entries = [
        x[:, :, kh : kh + stride * OH : stride, kw : kw + stride * OW : stride]
        for kh in range(size)
        for kw in range(size)
    ]
    out = entries[0].copy()
    for entry in entries[1:]:
        np.maximum(out, entry, out=out)
    # arg = index of the first entry equal to the max, without a loop over windows:
    # arg = m0·(1 + m1·(1 + m2·(…))), where m_k = 1 if entry k is *not* the max.
    arg = np.zeros(out.shape, dtype=np.uint8)
    for entry in reversed(entries[:-1]):
        arg = (entry != out).view(np.uint8) * (arg + np.uint8(1))
    return out, (x.shape, arg, size, stride)


def max_pool_backward(dout: np.ndarray, cache: Cache) -> np.ndarray:
    """dx: each output's gradient goes to the one input that was its maximum; 0 elsewhere.

    dout: (N, C, OH, OW); returns dx (N, C, H, W). Where windows overlap (stride <
    size) an input that is the maximum of several windows collects all their
    gradients; where they do not cover the input (stride > size) dx is 0.
    """
    x_shape, arg, size, stride = cache
    _check_dout(dout, arg.shape, "max_pool")
    OH, OW = arg.shape[2:]
    tiles = size == stride  # every input in exactly one window: write, do not add
    dx = (np.empty if tiles else np.zeros)(x_shape, dtype=dout.dtype)
    for k in range(size * size):
        kh, kw = divmod(k, size)
        target = dx[:, :, kh : kh + stride * OH : stride, kw : kw + stride * OW : stride]
        if tiles:
            np.multiply(dout, arg == k, out=target)
        else:
            target += dout * (arg == k)
    return dx


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
