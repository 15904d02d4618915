"""Numerical derivatives, gradient descent and gradient checking.

Numerical gradients are slow (two loss evaluations per parameter) but
obviously right, so they are the reference every backprop gradient is
checked against.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_derivative(f: Callable[[float], float], x: float, h: float = 1e-4) -> float:
    """f'(x) ≈ (f(x + h) − f(x − h)) / (2h), the central difference.

    Its error shrinks like h² (the forward difference's only like h) until
    round-off, which grows like ε/h, takes over: h = 1e-4 balances the two for
    typical functions in float64.
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-4
) -> np.ndarray:
    """∂f/∂x_i for every entry of ``x``, by central differences. x: any shape, floating.

    ``x`` is nudged *in place*, one entry at a time, and each entry is put back
    exactly as it was (the stored value, not x + h − h, which need not round
    back). Changing in place is what lets ``f`` ignore its argument and read
    the parameters of a network instead. Returns an array of x's shape.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"numerical_gradient needs a floating-point numpy array to nudge in place, "
            f"got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}"
        )
    grad = np.zeros_like(x)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)  # views, so writes reach x
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be nudged in place")
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + h
        f_plus = f(x)
        flat_x[i] = original - h
        f_minus = f(x)
        flat_x[i] = original
        flat_g[i] = (f_plus - f_minus) / (2 * h)
    return grad


def gradient_descent(
    f: Callable[[np.ndarray], float],
    init_x: np.ndarray,
    lr: float = 0.01,
    step_num: int = 100,
    grad: Callable[[np.ndarray], np.ndarray] | None = None,
    sign: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat x ← x − lr · ∇f(x) for ``step_num`` steps.

    init_x: starting point, any shape (copied, never changed).
    grad: the analytic gradient; by default the numerical gradient of ``f``.
    sign: −1 descends; +1 climbs (gradient ascent).
    Returns ``(x, history)``: the last point, and every point visited, shape
    (step_num + 1, *init_x.shape), the start included.
    """
    if sign not in (-1, 1):
        raise ValueError(f"sign must be -1 (descent) or +1 (ascent), got {sign}")
    x = np.array(init_x, dtype=np.float64)
    grad_fn = grad if grad is not None else (lambda p: numerical_gradient(f, p))
    history = [x.copy()]
    for _ in range(step_num):
        x += sign * lr * grad_fn(x)
        history.append(x.copy())
    return x, np.array(history)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / max(‖a‖ + ‖b‖, tiny): 0 when equal, 1 when opposite. Any equal shapes.

    Norms over the whole array rather than a maximum over entries: an entry
    whose true gradient is 1e-12 would otherwise show a huge relative error
    from round-off alone.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    denom = max(float(np.linalg.norm(a) + np.linalg.norm(b)), np.finfo(np.float64).tiny)
    return float(np.linalg.norm(a - b) / denom)


def gradient_check(
    f: Callable[[np.ndarray], float], x: np.ndarray, analytic: np.ndarray, h: float = 1e-5
) -> float:
    """Relative error between ``analytic`` and the numerical gradient of f at x.

    Use float64: below about 1e-7 the analytic gradient is right; around 1e-2
    or worse it has a bug. x: any shape; analytic: same shape.
    """
    return relative_error(numerical_gradient(f, x, h), analytic)
