"""Automatic differentiation, define-by-run: the machinery inside ``loss.backward()``.

Every operation computes its output *and* records how to send a gradient back
to its inputs (its local backward rule). The records form a graph, built while
the forward pass runs. ``backward()`` then visits the graph once, from the
output back to the inputs, in reverse topological order, and applies the chain
rule at every node: ∂E/∂input += ∂out/∂input · ∂E/∂out.

The ``+=`` is the heart of it. A value used twice (fan-out) influences the
loss along two paths, and its gradient is the *sum* of both; writing ``=``
keeps the last path only, a bug that a gradient check catches at once.

* ``Value``: one number, with micrograd's interface (``data``, ``grad``,
  ``+ - * / **``, ``relu``, ``tanh``, ``exp``, ``log``, ``sigmoid``, ``backward``).
* ``Tensor``: the same engine on numpy arrays, with what a multilayer
  perceptron needs: ``@``, elementwise arithmetic with broadcasting, ``relu``,
  ``sigmoid``, ``tanh``, ``exp``, ``log``, ``sum``, ``mean`` and a fused
  ``softmax_cross_entropy``.
* ``zero_grad(tensors)``: gradients accumulate across ``backward()`` calls,
  as in PyTorch, so a training step starts by resetting them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from nnlib.activations import sigmoid as _sigmoid
from nnlib.losses import softmax_cross_entropy as _softmax_cross_entropy

__all__ = ["Tensor", "Value", "topological_order", "zero_grad"]


def topological_order(root: Any) -> list[Any]:
    """Every node that ``root`` depends on (``root`` included), each after all of its parents.

    root: a ``Value`` or ``Tensor`` (anything with a ``_parents`` tuple).
    A depth-first search with an explicit stack instead of recursion, so that a
    graph a million operations deep does not hit Python's recursion limit.
    Each node appears once, however many paths lead to it.
    """
    order: list[Any] = []
    visited = {root}  # nodes hash by identity: neither class defines __eq__
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for p in parents:  # descend into the first parent not seen yet
            if p not in visited:
                visited.add(p)
                stack.append((p, iter(p._parents)))
                break
        else:  # every parent is in order already: node can follow them
            stack.pop()
            order.append(node)
    return order


# ----------------------------------------------------------------------------- Value

Number = int | float


class Value:
    """One number in a computational graph, with the gradient of the output with respect to it.

    data: the number (float); grad: ∂E/∂data, filled in by ``E.backward()`` (0 before).
    Arithmetic with plain numbers works on either side: ``2 * v``, ``v - 1``, ``1 / v``.
    """

    __slots__ = ("_backward", "_parents", "data", "grad", "op")

    def __init__(self, data: Number, _parents: tuple[Value, ...] = (), op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._parents = _parents
        self._backward: Callable[[float], None] | None = None
        self.op = op  # the operation that made this value, for printing graphs

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # Each operation makes the output Value and a closure, ``backward(g)`` with
    # g = ∂E/∂out, that adds ∂E/∂input = ∂out/∂input · g to every input's grad.

    def __add__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward(g: float) -> None:
            self.grad += g  # ∂(a + b)/∂a = 1
            other.grad += g

        out._backward = backward
        return out

    def __mul__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward(g: float) -> None:
            self.grad += other.data * g  # ∂(ab)/∂a = b
            other.grad += self.data * g

        out._backward = backward
        return out

    def __truediv__(self, other: Value | Number) -> Value:
        other = _as_value(other)
        out = Value(self.data / other.data, (self, other), "/")

        def backward(g: float) -> None:
            self.grad += g / other.data  # ∂(a/b)/∂a = 1/b
            other.grad -= g * self.data / other.data**2  # ∂(a/b)/∂b = −a/b²

        out._backward = backward
        return out

    def __pow__(self, other: Value | Number) -> Value:
        if not isinstance(other, Value):  # a constant exponent: the power rule
            n = float(other)
            out = Value(self.data**n, (self,), f"**{n:g}")

            def backward(g: float) -> None:
                self.grad += n * self.data ** (n - 1) * g

            out._backward = backward
            return out
        return _power(self, other)

    def __rpow__(self, base: Number) -> Value:
        return _power(_as_value(base), self)

    def __neg__(self) -> Value:
        return self * -1.0

    def __radd__(self, other: Number) -> Value:
        return self + other

    def __sub__(self, other: Value | Number) -> Value:
        return self + (-_as_value(other))

    def __rsub__(self, other: Number) -> Value:
        return _as_value(other) + (-self)

    def __rmul__(self, other: Number) -> Value:
        return self * other

    def __rtruediv__(self, other: Number) -> Value:
        return _as_value(other) / self

    def _unary(self, y: float, dy_dx: float, op: str) -> Value:
        """A Value y = f(self) whose backward adds f'(x) · g: every one-input function."""
        out = Value(y, (self,), op)

        def backward(g: float) -> None:
            self.grad += dy_dx * g

        out._backward = backward
        return out

    def relu(self) -> Value:
        """max(x, 0); derivative 1 for x > 0, else 0."""
        return self._unary(max(self.data, 0.0), float(self.data > 0), "relu")

    def tanh(self) -> Value:
        """tanh(x); derivative 1 − tanh(x)²."""
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^(−x)); derivative σ(1 − σ). No overflow at any x."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # e^(−x) would overflow for x < −709; e^x just underflows to 0
            e = math.exp(x)
            s = e / (1.0 + e)
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def exp(self) -> Value:
        """e^x; its derivative is itself. inf (not an exception) beyond x ≈ 709."""
        try:
            y = math.exp(self.data)
        except OverflowError:
            y = math.inf
        return self._unary(y, y, "exp")

    def log(self) -> Value:
        """ln x for x > 0; derivative 1/x."""
        if self.data <= 0:
            raise ValueError(f"log needs a positive number, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def backward(self) -> None:
        """Fill in ``grad`` of every Value this one depends on: ∂self/∂v.

        Gradients *accumulate* (``+=``): call it once per fresh graph, or reset
        the grads of reused leaves to 0 first (``zero_grad``).
        """
        order = topological_order(self)
        self.grad = 1.0  # ∂E/∂E
        for v in reversed(order):  # every node after all the nodes that use it
            if v._backward is not None:
                v._backward(v.grad)


def _as_value(x: Value | Number) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return Value(x)
    raise TypeError(f"a Value combines with Values and numbers, not {type(x).__name__}")


def _power(base: Value, exponent: Value) -> Value:
    """base ** exponent with both in the graph (base ≥ 0: a^b is real, and ∂/∂b = a^b ln a)."""
    a, b = base.data, exponent.data
    if a < 0:
        raise ValueError(f"{a} ** Value: a negative base needs a constant (plain number) exponent")
    out = Value(a**b, (base, exponent), "**")

    def backward(g: float) -> None:
        base.grad += b * a ** (b - 1) * g if a > 0 or b >= 1 else math.nan  # the power rule
        exponent.grad += out.data * math.log(a) * g if a > 0 else 0.0  # 0^b ln 0 → 0 for b > 0

    out._backward = backward
    return out


# ----------------------------------------------------------------------------- Tensor


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g (the broadcast shape) back to ``shape``: over the leading axes numpy added,
    and over every axis where ``shape`` has a 1 that numpy stretched.

    An input that broadcasting copied to k places influences the output in k
    places: its gradient is the sum of those k gradients (fan-out again).
    """
    if g.shape == shape:
        return g
    if g.shape[1:] == shape:  # the common case: a bias (M,) added to every row of (N, M)
        return g.sum(axis=0)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes).reshape(shape)


# op -> (forward, ∂E/∂a, ∂E/∂b) for out = a (op) b; each rule takes (g, a, b, out), with
# g = ∂E/∂out in the broadcast shape, and _unbroadcast sums its result back to the input's shape.
_BINARY: dict[str, tuple[Callable[..., np.ndarray], ...]] = {
    "+": (np.add, lambda g, a, b, out: g, lambda g, a, b, out: g),
    "-": (np.subtract, lambda g, a, b, out: g, lambda g, a, b, out: -g),
    "*": (np.multiply, lambda g, a, b, out: g * b, lambda g, a, b, out: g * a),
    "/": (np.true_divide, lambda g, a, b, out: g / b, lambda g, a, b, out: -(g / b) * out),
}


class Tensor:
    """A numpy array in a computational graph, with the gradient of a scalar output.

    data: the array (any shape; integers become float64, float32 stays float32).
    grad: ∂E/∂data, an array of data's shape, after ``E.backward()``. A tensor
        made by the user starts with zeros there; one made by an operation with None.
    requires_grad: False for constants such as the input batch: no gradient is
        computed for them, and an operation whose inputs are all constants builds no graph.

    Plain numbers and numpy arrays mix in as constants, on either side:
    ``x @ W``, ``2 * t``, ``t - y``. Shapes broadcast as in numpy, and the
    backward of a broadcast sums over the axes that were stretched.
    """

    __slots__ = ("_backward", "_owned", "_parents", "data", "grad", "op", "requires_grad")
    __array_ufunc__ = None  # makes ``ndarray @ Tensor`` call Tensor.__rmatmul__

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        a = np.asarray(data, dtype=dtype)
        if not np.issubdtype(a.dtype, np.floating):
            if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
                raise ValueError(f"a Tensor holds numbers, got dtype {a.dtype}")
            a = a.astype(np.float64)
        self.data = a
        self.requires_grad = bool(requires_grad)
        self.grad = np.zeros_like(a) if requires_grad else None
        self._owned = True  # grad is this tensor's own array: safe to add into in place
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Callable[[np.ndarray], None] | None = None
        self.op = ""

    @classmethod
    def _result(
        cls, data: np.ndarray, parents: tuple[Tensor, ...], op: str
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The output of an operation, and those of its inputs that need a gradient.

        When no input needs one, the output is a constant and no graph is kept.
        """
        out = object.__new__(cls)  # skips __init__'s checks: data is already a float array
        out.data = np.asarray(data)  # a 0-d result of numpy arithmetic is a scalar, not an array
        out.grad = None
        out._owned = False
        out._backward = None
        out.op = op
        live = tuple(p for p in parents if p.requires_grad)
        out.requires_grad = bool(live)
        out._parents = live
        return out, live

    def _accumulate(self, g: np.ndarray) -> None:
        """grad += g, without copying g when it is the first contribution.

        The first g is kept as it is (it may be shared with a sibling input, as
        in ``a + b``), so a second contribution makes a new array rather than
        writing into a shared one; from then on the array is ours to add into.
        """
        if self.grad is None:
            self.grad = g
        elif self._owned:
            self.grad += g
        else:
            self.grad = self.grad + g
            self._owned = True

    # -- properties

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data`` (and of ``grad``)."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``: float32 or float64."""
        return self.data.dtype

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        return float(self.data)

    def __repr__(self) -> str:
        return f"Tensor(shape={self.data.shape}, dtype={self.data.dtype}, op={self.op!r})"

    # -- backward

    def backward(self, grad: np.ndarray | None = None) -> None:
        """Add ∂self/∂t to ``t.grad`` for every tensor t this one depends on.

        grad: ∂E/∂self, the upstream gradient, of self's shape. It may be left
        out only for a one-element tensor (a loss), where it is 1.
        """
        if not self.requires_grad:
            raise ValueError(
                "backward() on a tensor that does not depend on any tensor with "
                "requires_grad=True: there is nothing to differentiate"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without an upstream gradient needs a scalar (a loss), but this "
                    f"tensor has shape {self.data.shape}: reduce it first (.sum() or .mean()), "
                    f"or pass backward(grad) with an array of shape {self.data.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(grad, dtype=self.data.dtype)
            if grad.shape != self.data.shape:
                raise ValueError(
                    f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                    f"{self.data.shape}; they must be equal"
                )
        order = topological_order(self)
        self._accumulate(grad)
        for node in reversed(order):  # each node after every node that uses it
            if node._backward is not None and node.grad is not None:
                node._backward(node.grad)

    # -- elementwise arithmetic, with broadcasting

    def _binary(self, other: Any, op: str) -> Tensor:
        """self (op) other, elementwise with broadcasting; the rules are in ``_BINARY``."""
        a = self
        b = other if isinstance(other, Tensor) else _constant(other, self.data.dtype)
        forward, rule_a, rule_b = _BINARY[op]
        try:
            data = forward(a.data, b.data)
        except ValueError:
            raise ValueError(
                f"cannot apply {op} to tensors of shapes {a.data.shape} and {b.data.shape}: they "
                "do not broadcast (trailing dimensions must be equal, or one of them 1)"
            ) from None
        out, live = Tensor._result(data, (a, b), op)
        if live:

            def backward(g: np.ndarray) -> None:
                # Only the inputs that need it get a gradient: x in x @ W + b, say, does not.
                if a.requires_grad:
                    a._accumulate(_unbroadcast(rule_a(g, a.data, b.data, data), a.data.shape))
                if b.requires_grad:
                    b._accumulate(_unbroadcast(rule_b(g, a.data, b.data, data), b.data.shape))

            out._backward = backward
        return out

    def __add__(self, other: Any) -> Tensor:
        return self._binary(other, "+")

    def __sub__(self, other: Any) -> Tensor:
        return self._binary(other, "-")

    def __mul__(self, other: Any) -> Tensor:
        return self._binary(other, "*")

    def __truediv__(self, other: Any) -> Tensor:
        return self._binary(other, "/")

    def __radd__(self, other: Any) -> Tensor:
        return self + other

    def __rsub__(self, other: Any) -> Tensor:
        return _constant(other, self.data.dtype) - self

    def __rmul__(self, other: Any) -> Tensor:
        return self * other

    def __rtruediv__(self, other: Any) -> Tensor:
        return _constant(other, self.data.dtype) / self

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __pow__(self, n: float) -> Tensor:
        """x ** n for a constant exponent n; derivative n x^(n−1)."""
        if isinstance(n, Tensor) or np.ndim(n) != 0:
            raise TypeError("Tensor ** n takes a constant number n")
        n = float(n)
        x = self.data
        return self._unary(x**n, lambda g: g * (n * x ** (n - 1)), f"**{n:g}")

    # -- matrix product

    def __matmul__(self, other: Any) -> Tensor:
        other = other if isinstance(other, Tensor) else _constant(other, self.data.dtype)
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _matmul(_constant(other, self.data.dtype), self)

    # -- elementwise functions

    def _unary(self, data: np.ndarray, rule: Callable[[np.ndarray], np.ndarray], op: str) -> Tensor:
        """y = f(self) whose backward adds rule(g) = f'(x) ⊙ g to self's grad."""
        out, live = Tensor._result(np.asarray(data), (self,), op)
        if live:
            out._backward = lambda g: self._accumulate(rule(g))
        return out

    def relu(self) -> Tensor:
        """max(x, 0), elementwise; derivative 1 where x > 0, else 0."""
        y = np.maximum(self.data, 0)
        return self._unary(y, lambda g: g * (y > 0), "relu")

    def sigmoid(self) -> Tensor:
        """σ(x), elementwise, without overflow warnings; derivative σ(1 − σ)."""
        y = _sigmoid(self.data)

        def rule(g: np.ndarray) -> np.ndarray:
            d = 1.0 - y
            d *= y  # in place: one temporary array instead of three
            d *= g
            return d

        return self._unary(y, rule, "sigmoid")

    def tanh(self) -> Tensor:
        """tanh(x), elementwise; derivative 1 − tanh(x)²."""
        y = np.tanh(self.data)
        return self._unary(y, lambda g: g * (1.0 - y * y), "tanh")

    def exp(self) -> Tensor:
        """e^x, elementwise; its derivative is itself."""
        y = np.exp(self.data)
        return self._unary(y, lambda g: g * y, "exp")

    def log(self) -> Tensor:
        """ln x, elementwise (x > 0); derivative 1/x."""
        x = self.data
        return self._unary(np.log(x), lambda g: g / x, "log")

    # -- reductions

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Σ over ``axis`` (all axes by default). Backward: every summed entry gets g."""
        shape = self.data.shape

        def rule(g: np.ndarray) -> np.ndarray:
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            full = np.empty(shape, dtype=self.data.dtype)
            full[...] = g  # broadcast back, into an array of our own
            return full

        return self._unary(self.data.sum(axis=axis, keepdims=keepdims), rule, "sum")

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """The mean over ``axis`` (all axes by default). Backward: each entry gets g / count."""
        data = self.data.mean(axis=axis, keepdims=keepdims)
        count = self.data.size // max(np.size(data), 1)
        shape = self.data.shape

        def rule(g: np.ndarray) -> np.ndarray:
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            full = np.empty(shape, dtype=self.data.dtype)
            full[...] = g / count
            return full

        return self._unary(data, rule, "mean")

    # -- the loss

    def softmax_cross_entropy(self, t: np.ndarray) -> Tensor:
        """Mean cross-entropy of softmax(self), as one operation. self: logits (N, C).

        t: class indices (N,) or one-hot rows (N, C). Fusing softmax with the
        loss gives the simple and stable gradient (softmax(z) − t) / N, computed
        during the forward pass (``nnlib.losses.softmax_cross_entropy``); the
        backward only scales it by the upstream gradient.
        """
        if isinstance(t, Tensor):
            t = t.data
        loss, dlogits = _softmax_cross_entropy(self.data, t)
        data = np.asarray(loss, dtype=self.data.dtype)
        return self._unary(data, lambda g: dlogits if g == 1 else dlogits * g, "cross_entropy")


def _constant(x: Any, dtype: np.dtype) -> Tensor:
    """A number or array as a Tensor that needs no gradient (numbers take ``dtype``)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":  # the common case, e.g. the batch
        return Tensor._result(x, (), "")[0]  # no checks, no grad: a constant has no parents
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return Tensor(np.asarray(x, dtype=dtype), requires_grad=False)
    return Tensor(x, requires_grad=False)


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b for 2-D a (N, K) and b (K, M). Backward: ∂E/∂a = g bᵀ, ∂E/∂b = aᵀ g."""
    if a.data.ndim != 2 or b.data.ndim != 2 or a.data.shape[1] != b.data.shape[0]:
        raise ValueError(
            f"matmul needs shapes (N, K) and (K, M), got {a.data.shape} and {b.data.shape}"
        )
    out, live = Tensor._result(a.data @ b.data, (a, b), "@")
    if live:

        def backward(g: np.ndarray) -> None:
            if a.requires_grad:
                a._accumulate(g @ b.data.T)
            if b.requires_grad:
                b._accumulate(a.data.T @ g)

        out._backward = backward
    return out


def zero_grad(tensors: Iterable[Tensor | Value]) -> None:
    """Reset the gradient of every tensor (or Value) to zero, in place where possible.

    Gradients accumulate across ``backward()`` calls, so a training loop calls
    this before each step's backward (PyTorch's ``optimizer.zero_grad()``).
    """
    for t in tensors:
        if isinstance(t, Value):
            t.grad = 0.0
        elif t.grad is None or not t._owned:
            t.grad = np.zeros_like(t.data)
            t._owned = True
        else:
            t.grad.fill(0)
