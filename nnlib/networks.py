"""Fully connected networks: ``MLP`` for any depth and ``TwoLayerNet``, its two-layer case.

At the end of the file, ``ConvNet``: the convolutional network of lesson 10, built
from the same layer pairs and backpropagated by the same tape (``MLP.backward``).

Conventions (the same as in the notebooks):

* a batch is a matrix with one sample per *row*: x is (N, D);
* layer l has weights ``W{l}`` (n_{l−1}, n_l) and bias ``b{l}`` (n_l,), so
  z_l = a_{l−1} W_l + b_l and a_l = φ_l(z_l), with a_0 = x;
* ``params`` and the gradients are dicts with the same keys ``W1, b1, W2, …``.

The network is a stack of the layer pairs of ``nnlib.layers`` (affine, then an
activation, …, then affine), and backprop (``loss_and_gradient``) runs their
backward functions in reverse order. Written out, that is the four equations,
in batch form (δ_l = ∂E/∂z_l):

  BP1  δ_L = ∂E/∂a_L ⊙ φ_L'(z_L)     (for softmax + cross-entropy: (softmax(z_L) − t)/N)
  BP2  δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ φ_l'(z_l)     affine_backward's dx, then φ's backward
  BP3  ∂E/∂b_l = Σ_rows δ_l                      affine_backward's db
  BP4  ∂E/∂W_l = a_{l−1}ᵀ δ_l                    affine_backward's dW
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnlib import layers, losses
from nnlib._checks import as_float_array, check_not_empty, check_same_batch
from nnlib.activations import ACTIVATIONS, softmax
from nnlib.gradients import numerical_gradient
from nnlib.metrics import accuracy

Step = tuple[Callable, Any, tuple[str, ...]]
"""One layer on the tape: (its backward function, its cache, the names of its parameters)."""


def _affine_backward_no_dx(dout: np.ndarray, cache: Any) -> tuple[None, np.ndarray, np.ndarray]:
    return layers.affine_backward(dout, cache, need_dx=False)


# With batch norm after it, an affine layer has no bias: batch norm subtracts the mean
# of every column, so a bias would have no effect (its gradient is exactly 0) and β
# plays its role. The tape then records only W's gradient.
def _weight_backward(dout: np.ndarray, cache: Any) -> tuple[np.ndarray, np.ndarray]:
    return layers.affine_backward(dout, cache)[:2]


def _weight_backward_no_dx(dout: np.ndarray, cache: Any) -> tuple[None, np.ndarray]:
    return layers.affine_backward(dout, cache, need_dx=False)[:2]


# Loss name -> (E(y, t), dE/dy). Cross-entropy is handled apart, fused with softmax.
_SQUARED_LOSSES = {
    "sum_squared_error": (losses.sum_squared_error, losses.sum_squared_error_grad),
    "mean_squared_error": (losses.mean_squared_error, losses.mean_squared_error_grad),
}
LOSSES = ("cross_entropy", *_SQUARED_LOSSES)


def init_weight_std(weight_init: str | float, fan_in: int, activation: str) -> float:
    """Standard deviation of a layer's initial weights.

    ``"he"``: √(2/fan_in), keeps the variance of ReLU activations constant from
    layer to layer; ``"xavier"``: √(1/fan_in), the same for sigmoid and tanh;
    ``"auto"``: He for ReLU, Xavier otherwise; a number: that std (the book's
    TwoLayerNet uses 0.01).
    """
    if isinstance(weight_init, (int, float)):
        if not (np.isfinite(weight_init) and weight_init >= 0):
            raise ValueError(f"a numeric weight_init is a std: finite and >= 0, got {weight_init}")
        return float(weight_init)
    if weight_init == "auto":
        weight_init = "he" if activation == "relu" else "xavier"
    if weight_init == "he":
        return float(np.sqrt(2.0 / fan_in))
    if weight_init == "xavier":
        return float(np.sqrt(1.0 / fan_in))
    raise ValueError(f"weight_init must be 'he', 'xavier', 'auto' or a number, got {weight_init!r}")


def _dropout_rates(dropout: float | Sequence[float], n_hidden: int) -> list[float]:
    """One dropout probability per hidden layer, each checked to be in [0, 1)."""
    rates = [dropout] * n_hidden if np.ndim(dropout) == 0 else list(dropout)
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout needs one probability per hidden layer ({n_hidden}), "
            f"got {len(rates)}: {rates}"
        )
    for p in rates:
        layers._check_dropout_p(p)
    return [float(p) for p in rates]


class MLP:
    """A multilayer perceptron of any depth, trained by backprop.

    layer_sizes: [n_0, n_1, …, n_L], input size first, output size last.
    activations: one name per layer (L of them: hidden layers then the output),
        or one name for all hidden layers, the output then being softmax for
        cross-entropy and identity otherwise. Names: sigmoid, relu, tanh,
        identity, and softmax (output only, with cross-entropy).
    loss: ``"cross_entropy"`` (softmax output; labels one-hot or indices),
        ``"sum_squared_error"`` (½Σ, summed over the batch) or ``"mean_squared_error"``.
    weight_decay: λ ≥ 0 of the ridge term λ/(2n)·Σ_l ΣW_l², n being the batch size
        for the summed loss and 1 for the averaged ones (biases are not penalised).
    dropout: p in [0, 1), the probability of dropping a hidden unit while training
        (inverted dropout after each hidden activation, ``layers.dropout_forward``);
        one number for every hidden layer or one per hidden layer; 0 for none.
    seed: seeds ``np.random.default_rng``; the same seed gives the same weights and
        the same dropout masks (drawn from the net's own generator, ``dropout_rng``).
    dtype: float64 for gradient checks, float32 for speed on MNIST.
    batchnorm: insert batch normalisation (``layers.batchnorm_forward``) after each
        hidden affine layer, before its activation: z_l = a_{l−1} W_l, then
        γ_l ẑ_l + β_l, then φ_l. Its parameters ``gamma{l}`` (ones) and ``beta{l}``
        (zeros) are in ``params`` and are trained like the weights; those layers
        have no ``b{l}`` (β takes its place). The running averages used in
        evaluation mode are not parameters: they live in ``bn_state[l]``.
    bn_momentum: the weight of the old running average (see batchnorm_forward).
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activations: str | Sequence[str] = "sigmoid",
        *,
        loss: str = "cross_entropy",
        weight_init: str | float = "auto",
        weight_decay: float = 0.0,
        dropout: float | Sequence[float] = 0.0,
        seed: int = 0,
        dtype: type = np.float64,
        batchnorm: bool = False,
        bn_momentum: float = 0.9,
    ) -> None:
        if len(layer_sizes) < 2 or any(int(n) < 1 for n in layer_sizes):
            raise ValueError(f"layer_sizes needs at least two positive sizes, got {layer_sizes}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if np.dtype(dtype).kind != "f":  # integer weights cannot take a gradient step
            raise ValueError(f"dtype must be floating-point (np.float32, np.float64), got {dtype}")
        n_layers = len(layer_sizes) - 1
        if isinstance(activations, str):
            output = "softmax" if loss == "cross_entropy" else "identity"
            activations = [activations] * (n_layers - 1) + [output]
        activations = list(activations)
        if len(activations) != n_layers:
            raise ValueError(
                f"{n_layers} layers need {n_layers} activations, "
                f"got {len(activations)}: {activations}"
            )
        for name in activations[:-1]:
            if name not in ACTIVATIONS:
                raise ValueError(
                    f"hidden activation must be one of {list(ACTIVATIONS)}, got {name!r}"
                )
        if (activations[-1] == "softmax") != (loss == "cross_entropy"):
            raise ValueError(
                f"a softmax output goes with loss='cross_entropy' and only with it; "
                f"got output {activations[-1]!r} with loss {loss!r}"
            )
        if activations[-1] != "softmax" and activations[-1] not in ACTIVATIONS:
            raise ValueError(f"unknown output activation {activations[-1]!r}")

        self.layer_sizes = [int(n) for n in layer_sizes]
        self.activations = activations
        self.loss_name = loss
        if not weight_decay >= 0:  # also refuses NaN
            raise ValueError(f"weight_decay (λ) must be >= 0, got {weight_decay}")
        self.weight_decay = float(weight_decay)
        self.dropout = _dropout_rates(dropout, n_layers - 1)
        # A stream of its own, so that dropout does not change the initial weights.
        self.dropout_rng = np.random.default_rng([seed, 1])
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        for l in range(1, n_layers + 1):
            n_in, n_out = self.layer_sizes[l - 1], self.layer_sizes[l]
            std = init_weight_std(weight_init, n_in, activations[l - 1])
            self.params[f"W{l}"] = (std * rng.standard_normal((n_in, n_out))).astype(self.dtype)
            self.params[f"b{l}"] = np.zeros(n_out, dtype=self.dtype)
        self.batchnorm = bool(batchnorm)
        if not 0.0 <= bn_momentum < 1.0:
            raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")
        self.bn_momentum = float(bn_momentum)
        self.bn_state: dict[int, dict[str, np.ndarray]] = {}
        if self.batchnorm:
            for l in range(1, n_layers):
                n = self.layer_sizes[l]
                del self.params[f"b{l}"]
                self.params[f"gamma{l}"] = np.ones(n, dtype=self.dtype)
                self.params[f"beta{l}"] = np.zeros(n, dtype=self.dtype)
                self.bn_state[l] = {
                    "running_mean": np.zeros(n, dtype=self.dtype),
                    "running_var": np.ones(n, dtype=self.dtype),
                }

    @property
    def n_layers(self) -> int:
        """L, the number of weight layers."""
        return len(self.layer_sizes) - 1

    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim != 2 or x.shape[1] != self.layer_sizes[0]:
            raise ValueError(
                f"x must have shape (N, {self.layer_sizes[0]}) for this network, got {x.shape}"
            )
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, train: bool = False) -> tuple[np.ndarray, list[Step]]:
        """z_L, the output layer's pre-activation (N, n_L), and the tape for ``backward``.

        The network is a stack of layers, affine → φ → affine → φ → … → affine;
        each forward pass records on the tape its backward function, its cache
        and the names of its parameters, in the order the layers ran.

        train: True while training (``loss_and_gradient``), False for ``predict`` and
        ``accuracy``. Layers that behave differently in the two modes (dropout,
        batch normalisation) read it; the plain MLP computes the same either way.
        """
        a = self._check_x(x)
        tape: list[Step] = []
        for l in range(1, self.n_layers + 1):
            if l in self.bn_state:
                W = self.params[f"W{l}"]
                z, cache = layers.affine_forward(a, W, np.zeros(W.shape[1], dtype=W.dtype))
                backward = _weight_backward if l > 1 else _weight_backward_no_dx
                tape.append((backward, cache, (f"W{l}",)))
                z, cache = layers.batchnorm_forward(
                    z,
                    self.params[f"gamma{l}"],
                    self.params[f"beta{l}"],
                    self.bn_state[l],
                    train,
                    self.bn_momentum,
                )
                tape.append((layers.batchnorm_backward, cache, (f"gamma{l}", f"beta{l}")))
            else:
                z, cache = layers.affine_forward(a, self.params[f"W{l}"], self.params[f"b{l}"])
                # Layer 1's input is the data: its gradient would be wasted work.
                backward = layers.affine_backward if l > 1 else _affine_backward_no_dx
                tape.append((backward, cache, (f"W{l}", f"b{l}")))
            if l < self.n_layers:
                forward_act, backward_act = layers.ACTIVATION_LAYERS[self.activations[l - 1]]
                a, cache = forward_act(z)
                tape.append((backward_act, cache, ()))
                if train and self.dropout[l - 1]:
                    a, cache = layers.dropout_forward(
                        a, self.dropout[l - 1], self.dropout_rng, True
                    )
                    tape.append((layers.dropout_backward, cache, ()))
        return z, tape

    @staticmethod
    def backward(dz_out: np.ndarray, tape: list[Step]) -> dict[str, np.ndarray]:
        """Backprop: run the tape's backward functions in reverse order.

        dz_out: ∂E/∂z_L (N, n_L). Each layer turns the gradient of its output into
        the gradient of its input (and of its parameters, stored under their
        names): the chain rule, one layer at a time. Returns the parameter gradients.
        """
        grads: dict[str, np.ndarray] = {}
        dout = dz_out
        for backward, cache, keys in reversed(tape):
            if keys:
                dout, *dparams = backward(dout, cache)
                grads.update(zip(keys, dparams, strict=True))
            else:
                dout = backward(dout, cache)
        return grads

    def _output(self, z_out: np.ndarray) -> np.ndarray:
        if self.activations[-1] == "softmax":
            return softmax(z_out)
        return ACTIVATIONS[self.activations[-1]][0](z_out)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's output a_L, (N, n_L): class probabilities for a softmax output."""
        return self._output(self.forward(x)[0])

    def _weights(self) -> list[np.ndarray]:
        return [self.params[f"W{l}"] for l in range(1, self.n_layers + 1)]

    def _penalty_n(self, batch_size: int) -> int:
        return batch_size if self.loss_name == "sum_squared_error" else 1

    def _data_loss_and_dz(self, z_out: np.ndarray, t: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss without the ridge term, and ∂E/∂z_L (BP1)."""
        if self.loss_name == "cross_entropy":
            return losses.softmax_cross_entropy(z_out, t)
        t = as_float_array(t, "t")
        forward_out, backward_out = layers.ACTIVATION_LAYERS[self.activations[-1]]
        y, cache = forward_out(z_out)
        loss_fn, loss_grad = _SQUARED_LOSSES[self.loss_name]
        return loss_fn(y, t), backward_out(loss_grad(y, t), cache)

    def loss(self, x: np.ndarray, t: np.ndarray, train: bool = True) -> float:
        """E(x, t) plus the ridge term. x: (N, n_0); t: labels for the output (see class doc).

        train: the mode of ``forward`` (True: the loss that training minimises).
        """
        return self.loss_and_gradient(x, t, need_gradient=False, train=train)[0]

    def loss_and_gradient(
        self, x: np.ndarray, t: np.ndarray, need_gradient: bool = True, train: bool = True
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient for every parameter, by backprop (one forward, one backward).

        Returns ``(loss, grads)``, grads having the keys and shapes of ``params``.
        train: the mode of ``forward``; training calls this in training mode.
        """
        check_same_batch(x, t)
        z_out, tape = self.forward(x, train=train)
        loss, dz_out = self._data_loss_and_dz(z_out, t)
        n_pen = self._penalty_n(len(z_out))
        if self.weight_decay:  # Σ W² over every weight costs ~7% of a step: skip it when λ = 0
            loss += losses.l2_penalty(self._weights(), self.weight_decay, n_pen)
        if not need_gradient:
            return loss, {}
        grads = self.backward(dz_out, tape)
        if self.weight_decay:
            for l in range(1, self.n_layers + 1):
                W = self.params[f"W{l}"]
                grads[f"W{l}"] += losses.l2_penalty_grad(W, self.weight_decay, n_pen)
        return loss, grads

    def gradient(self, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
        """∂E/∂θ for every parameter θ, by backprop: a dict shaped like ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def numerical_gradient(
        self, x: np.ndarray, t: np.ndarray, h: float = 1e-5
    ) -> dict[str, np.ndarray]:
        """∂E/∂θ by central differences, entry by entry: slow, but the reference for backprop.

        Meaningful in float64 only: in float32 the differences drown in round-off. With
        dropout, every pass draws new masks: reseed ``dropout_rng`` before each pass to compare.
        """

        def loss_of_params(_: np.ndarray) -> float:
            return self.loss(x, t)  # reads self.params, which numerical_gradient nudges

        return {key: numerical_gradient(loss_of_params, p, h) for key, p in self.params.items()}

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 10_000) -> float:
        """Fraction of samples whose largest output is the true class.

        x: (N, n_0); t: one-hot (N, n_L) or class indices (N,). Evaluated in
        chunks of ``batch_size`` rows so that a big test set needs little memory.
        """
        check_same_batch(x, t)
        check_not_empty(x, "x")
        t = np.asarray(t)
        correct = 0.0
        for start in range(0, len(x), batch_size):
            z_out, _ = self.forward(x[start : start + batch_size])
            # argmax of z equals argmax of softmax(z); one output column needs the real output
            y = self._output(z_out) if z_out.shape[1] == 1 else z_out
            correct += accuracy(y, t[start : start + batch_size]) * len(z_out)
        return correct / len(x)


class TwoLayerNet(MLP):
    """input → hidden (sigmoid or ReLU) → softmax output, with cross-entropy loss.

    The network of "Deep Learning from Scratch" (chapters 4 and 5), with the
    same names: ``params`` W1 (input_size, hidden_size), b1, W2 (hidden_size,
    output_size), b2; ``predict``, ``loss``, ``accuracy``, ``numerical_gradient``
    and ``gradient``. weight_init defaults to the book's std of 0.01.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        activation: str = "sigmoid",
        weight_init: str | float = 0.01,
        *,
        weight_decay: float = 0.0,
        dropout: float = 0.0,
        seed: int = 0,
        dtype: type = np.float64,
    ) -> None:
        if activation not in ("sigmoid", "relu", "tanh"):
            raise ValueError(f"activation must be 'sigmoid', 'relu' or 'tanh', got {activation!r}")
        super().__init__(
            [input_size, hidden_size, output_size],
            [activation, "softmax"],
            loss="cross_entropy",
            weight_init=weight_init,
            weight_decay=weight_decay,
            dropout=dropout,
            seed=seed,
            dtype=dtype,
        )


def _conv_backward_no_dx(dout: np.ndarray, cache: Any) -> tuple[None, np.ndarray, np.ndarray]:
    return layers.conv_backward(dout, cache, need_dx=False)


class ConvNet:
    """A small convolutional network for images: the lesson-10 CNN.

    For each ``(filters, size, pad)`` in ``convs``: a convolution (stride 1) with
    ``filters`` kernels of size×size and zero padding ``pad``, a max-pool of
    ``pool``×``pool`` (stride ``pool``), and ReLU. Then affine → ReLU (``hidden``
    units) → affine (``n_classes``) → softmax with cross-entropy::

        x (N, C, H, W) → [conv → max-pool → relu] × len(convs) → affine → relu → affine → softmax

    Pooling comes *before* ReLU: the two commute (ReLU is monotone, so the max of
    the ReLUs is the ReLU of the max), and ReLU then runs on pool² times fewer
    numbers. The network is the same function as conv → relu → pool.

    params: ``W1, b1, …`` in layer order, conv filters (F, C, KH, KW) and biases (F,)
    first, then the two affine layers (D, M) and (M,). He initialisation (fan-in
    C·KH·KW for a conv layer). dtype: float64 for gradient checks, float32 for speed.
    Has the interface ``train`` needs: ``params``, ``loss_and_gradient``, ``accuracy``.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (1, 28, 28),
        convs: Sequence[tuple[int, int, int]] = ((16, 5, 0),),
        hidden: int = 100,
        n_classes: int = 10,
        *,
        pool: int = 2,
        seed: int = 0,
        dtype: type = np.float64,
    ) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)}")
        self.input_shape = tuple(int(n) for n in input_shape)
        self.convs = [tuple(int(v) for v in conv) for conv in convs]
        self.pool = int(pool)
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}

        def add(shape: tuple[int, ...], fan_in: int) -> None:
            l = len(self.params) // 2 + 1
            std = init_weight_std("he", fan_in, "relu")
            self.params[f"W{l}"] = (std * rng.standard_normal(shape)).astype(self.dtype)
            self.params[f"b{l}"] = np.zeros(shape[0] if len(shape) == 4 else shape[1], self.dtype)

        C, H, W = self.input_shape
        for F, size, pad in self.convs:
            # Raises a ValueError naming the sizes when a layer does not fit its input.
            H = layers.conv_output_size(layers.conv_output_size(H, size, 1, pad), pool, pool)
            W = layers.conv_output_size(layers.conv_output_size(W, size, 1, pad), pool, pool)
            add((F, C, size, size), C * size * size)
            C = F
        add((C * H * W, hidden), C * H * W)
        add((hidden, n_classes), hidden)
        self.feature_shape = (C, H, W)
        """(C, H, W) of the last pooled feature maps, the input of the first affine layer."""

    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim == 2 and x.shape[1] == int(np.prod(self.input_shape)):
            x = x.reshape(len(x), *self.input_shape)  # flattened images are accepted too
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"x must have shape (N, {', '.join(map(str, self.input_shape))}) "
                f"for this network, got {x.shape}"
            )
        return x.astype(self.dtype, copy=False)

    def forward(self, x: np.ndarray, train: bool = False) -> tuple[np.ndarray, list[Step]]:
        """The logits (N, n_classes) and the tape for ``backward`` (as ``MLP.forward``).

        x: (N, C, H, W), or (N, C·H·W) flattened. train: the mode flag of ``MLP.forward``;
        no layer here behaves differently in the two modes.
        """
        a = self._check_x(x)
        tape: list[Step] = []
        for l, (_, _, pad) in enumerate(self.convs, start=1):
            z, cache = layers.conv_forward(a, self.params[f"W{l}"], self.params[f"b{l}"], 1, pad)
            backward = layers.conv_backward if l > 1 else _conv_backward_no_dx
            tape.append((backward, cache, (f"W{l}", f"b{l}")))
            p, cache = layers.max_pool_forward(z, self.pool, self.pool)
            tape.append((layers.max_pool_backward, cache, ()))
            a, cache = layers.relu_forward(p)
            tape.append((layers.relu_backward, cache, ()))
        l = len(self.convs) + 1
        for last in (False, True):
            z, cache = layers.affine_forward(a, self.params[f"W{l}"], self.params[f"b{l}"])
            tape.append((layers.affine_backward, cache, (f"W{l}", f"b{l}")))
            if not last:
                a, cache = layers.relu_forward(z)
                tape.append((layers.relu_backward, cache, ()))
            l += 1
        return z, tape

    backward = staticmethod(MLP.backward)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (N, n_classes)."""
        return softmax(self.forward(x)[0])

    def loss(self, x: np.ndarray, t: np.ndarray, train: bool = True) -> float:
        """The mean cross-entropy on (x, t); t: class indices (N,) or one-hot (N, n_classes)."""
        return self.loss_and_gradient(x, t, need_gradient=False, train=train)[0]

    def loss_and_gradient(
        self, x: np.ndarray, t: np.ndarray, need_gradient: bool = True, train: bool = True
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The loss and its gradient for every parameter: one forward, one backward pass."""
        check_same_batch(x, t)
        z_out, tape = self.forward(x, train=train)
        loss, dz_out = losses.softmax_cross_entropy(z_out, t)
        return loss, (self.backward(dz_out, tape) if need_gradient else {})

    def accuracy(self, x: np.ndarray, t: np.ndarray, batch_size: int = 1_000) -> float:
        """Fraction of images whose largest logit is the true class, in chunks of batch_size.

        The chunks bound the memory: the im2col copy of 10,000 images would be ~600 MB.
        """
        check_same_batch(x, t)
        t = np.asarray(t)
        correct = 0.0
        for start in range(0, len(x), batch_size):
            z_out, _ = self.forward(x[start : start + batch_size])
            correct += accuracy(z_out, t[start : start + batch_size]) * len(z_out)
        return correct / len(x)
