"""Update rules: how a gradient becomes a step.

Two forms of the same ideas:

* the functions ``sgd_step`` and ``momentum_step``, which the early lessons call
  directly inside their own loops;
* classes with the interface of "Deep Learning from Scratch" (ch06):
  ``opt = Adam(lr=0.001)`` once, then ``opt.update(params, grads)`` every step,
  changing the arrays of ``params`` in place. Each keeps its own state (velocity,
  running averages) per parameter name.

Each rule is derived from the one before it:

* SGD:       θ ← θ − η g
* Momentum:  v ← μ v − η g;  θ ← θ + v                       (a running sum of steps)
* AdaGrad:   h ← h + g²;  θ ← θ − η g / (√h + ε)             (per-weight step sizes)
* RMSProp:   h ← ρ h + (1 − ρ) g²;  θ ← θ − η g / (√h + ε)   (AdaGrad that forgets)
* Adam:      m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²;
             m̂ = m / (1 − β₁ᵗ);  v̂ = v / (1 − β₂ᵗ);  θ ← θ − η m̂ / (√v̂ + ε)
             (momentum and RMSProp together, with the bias of the zero start removed)

and ``clip_grad_norm``, which shortens an exploding gradient before any of them steps.
"""

from __future__ import annotations

import math

import numpy as np

Params = dict[str, np.ndarray]


def _check_sign(sign: int) -> None:
    if sign not in (-1, 1):
        raise ValueError(f"sign must be -1 (descent) or +1 (ascent), got {sign}")


def _check_lr(lr: float) -> float:
    is_number = isinstance(lr, (int, float, np.floating, np.integer)) and not isinstance(lr, bool)
    if not is_number or not math.isfinite(lr) or lr <= 0:
        hint = (
            " To climb the loss instead (gradient ascent), keep lr positive and pass sign=+1."
            if is_number and lr < 0
            else ""
        )
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}.{hint}")
    return float(lr)


def _check_beta(value: float, name: str) -> float:
    if isinstance(value, bool) or not (
        isinstance(value, (int, float, np.floating, np.integer)) and 0.0 <= value < 1.0
    ):
        raise ValueError(
            f"{name} must be in [0, 1), got {value!r}: at 1 or more the running average "
            "never forgets, and the steps can grow without bound"
        )
    return float(value)


def _check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not (
        isinstance(eps, (int, float, np.floating, np.integer)) and math.isfinite(eps) and eps > 0
    ):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return float(eps)


def sgd_step(params: Params, grads: Params, lr: float, sign: int = -1) -> None:
    """θ ← θ + sign · lr · ∂E/∂θ for every key, in place.

    params, grads: dicts of arrays with the same keys and shapes.
    sign = −1 is gradient descent (the gradient points uphill, so we step
    against it); sign = +1 is gradient ascent, which climbs the loss.
    """
    _check_sign(sign)
    for key, p in params.items():
        p += (sign * lr) * grads[key]


def momentum_step(
    params: Params,
    grads: Params,
    velocity: Params,
    lr: float,
    momentum: float = 0.9,
    sign: int = -1,
) -> None:
    """v ← μ v + sign · lr · ∂E/∂θ, then θ ← θ + v, in place (``velocity`` starts empty).

    The velocity averages recent gradients, so the zig-zag across a narrow
    valley cancels out while the steady slope along it adds up.
    """
    _check_sign(sign)
    for key, p in params.items():
        v = velocity.get(key)
        if v is None:
            v = velocity[key] = np.zeros_like(p)
        v *= momentum
        v += (sign * lr) * grads[key]
        p += v


class Optimizer:
    """The common interface: ``lr`` (read and set by schedules) and ``update(params, grads)``."""

    def __init__(self, lr: float) -> None:
        self.lr = _check_lr(lr)

    def update(self, params: Params, grads: Params) -> None:
        """One step for every parameter, in place. params, grads: same keys and shapes."""
        raise NotImplementedError

    def _state(self, store: Params, key: str, like: np.ndarray) -> np.ndarray:
        s = store.get(key)
        if s is None:
            s = store[key] = np.zeros_like(like)
        return s

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not isinstance(v, dict))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """θ ← θ − lr · g (sign=+1: θ ← θ + lr · g, which climbs the loss, as in lesson 06)."""

    def __init__(self, lr: float = 0.01, sign: int = -1) -> None:
        super().__init__(lr)
        _check_sign(sign)
        self.sign = sign

    def update(self, params: Params, grads: Params) -> None:
        sgd_step(params, grads, self.lr, self.sign)


class Momentum(Optimizer):
    """v ← μ v − lr · g;  θ ← θ + v. The book's ``Momentum(lr=0.01, momentum=0.9)``."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, sign: int = -1) -> None:
        super().__init__(lr)
        self.momentum = _check_beta(momentum, "momentum")
        _check_sign(sign)
        self.sign = sign
        self.velocity: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        momentum_step(params, grads, self.velocity, self.lr, self.momentum, self.sign)


class AdaGrad(Optimizer):
    """h ← h + g²;  θ ← θ − lr · g / (√h + ε).

    Each weight gets its own step size, which shrinks as its squared gradients
    add up: steep directions slow down early, flat ones keep moving.
    """

    def __init__(self, lr: float = 0.01, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.eps = _check_eps(eps)
        self.h: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        for key, p in params.items():
            g = grads[key]
            h = self._state(self.h, key, p)
            h += g * g
            p -= self.lr * g / (np.sqrt(h) + self.eps)


class RMSProp(Optimizer):
    """h ← ρ h + (1 − ρ) g²;  θ ← θ − lr · g / (√h + ε).

    AdaGrad with a memory of about 1/(1 − ρ) steps, so the step size does not
    shrink to nothing over a long run.
    """

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99, eps: float = 1e-7) -> None:
        super().__init__(lr)
        self.decay_rate = _check_beta(decay_rate, "decay_rate")
        self.eps = _check_eps(eps)
        self.h: Params = {}

    def update(self, params: Params, grads: Params) -> None:
        rho = self.decay_rate
        for key, p in params.items():
            g = grads[key]
            h = self._state(self.h, key, p)
            h *= rho
            h += (1.0 - rho) * g * g
            p -= self.lr * g / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015, Algorithm 1), in the form of ``torch.optim.Adam``.

    m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g²  (running mean of g and of g²),
    θ ← θ − lr · m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ).

    m and v start at 0, so early on they are too small by the factors 1 − βᵗ;
    dividing by them removes that bias (at t = 1, m̂ = g and v̂ = g² exactly, so
    the first step is lr · g / (|g| + ε), about lr in every coordinate). ε is
    added to √v̂, as PyTorch does; it only matters where |g| is near ε or below.
    Defaults are the paper's.

    How it is computed (the same numbers, up to round-off, in fewer passes over
    memory: Adam's extra cost per step is its few passes over the parameters):
    ``m_sum`` and ``v_sum`` hold the weighted *sums* S ← β S + g and
    Q ← β₂ Q + g², so m = (1 − β₁) S and v = (1 − β₂) Q. The step
    lr · m̂ / (√v̂ + ε) is then c · S / (√Q + ε'), with the scalars
    c = lr · (1 − β₁)/(1 − β₁ᵗ) · √((1 − β₂ᵗ)/(1 − β₂)) and ε' = ε √((1 − β₂ᵗ)/(1 − β₂)).
    Seen this way the bias correction is plain averaging: (1 − βᵗ)/(1 − β) =
    1 + β + … + βᵗ⁻¹ is the sum of the weights, and m̂ = S / (that sum).
    ``m`` and ``v`` (properties) give the paper's m and v.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
    ) -> None:
        super().__init__(lr)
        self.beta1 = _check_beta(beta1, "beta1")
        self.beta2 = _check_beta(beta2, "beta2")
        self.eps = _check_eps(eps)
        self.t = 0
        self.m_sum: Params = {}
        self.v_sum: Params = {}
        self._buffer: Params = {}

    @property
    def m(self) -> Params:
        """The paper's m (running mean of g) for every parameter: (1 − β₁) · m_sum."""
        return {key: (1.0 - self.beta1) * s for key, s in self.m_sum.items()}

    @property
    def v(self) -> Params:
        """The paper's v (running mean of g²) for every parameter: (1 − β₂) · v_sum."""
        return {key: (1.0 - self.beta2) * q for key, q in self.v_sum.items()}

    def update(self, params: Params, grads: Params) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        scale = math.sqrt((1.0 - b2**self.t) / (1.0 - b2))  # √v̂ = √Q / scale
        step = -self.lr * (1.0 - b1) / (1.0 - b1**self.t) * scale
        eps = self.eps * scale
        for key, p in params.items():
            g = grads[key]
            s = self._state(self.m_sum, key, p)
            q = self._state(self.v_sum, key, p)
            buf = self._state(self._buffer, key, p)  # one scratch array: no temporaries
            s *= b1
            s += g
            np.multiply(g, g, out=buf)
            q *= b2
            q += buf
            np.sqrt(q, out=buf)
            buf += eps
            np.divide(s, buf, out=buf)
            buf *= step
            p += buf


# ----------------------------------------------------------------------------- clipping


def clip_grad_norm(grads: Params, max_norm: float) -> float:
    """Scale all gradients together so that their global norm is at most ``max_norm``, in place.

    ‖g‖ = √(Σ over every array and entry of g²), the norm of all gradients seen as
    one long vector. When ‖g‖ > max_norm every array is multiplied by max_norm / ‖g‖:
    the step keeps its *direction* and only loses length, so one exploding batch
    cannot throw the weights far away. Returns ‖g‖ before clipping (plot it to see
    the explosions). A NaN or infinite norm is returned and nothing is scaled:
    there is no direction left to keep, and ``train`` stops on the loss.
    """
    if isinstance(max_norm, bool) or not (
        isinstance(max_norm, (int, float, np.floating, np.integer))
        and math.isfinite(max_norm)
        and max_norm > 0
    ):
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    # float64 sums: a float32 sum of squares of large gradients could overflow.
    total = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))
    if math.isfinite(total) and total > max_norm:
        factor = max_norm / total
        for g in grads.values():
            g *= factor
    return total
