"""What autograd costs: an MNIST epoch with nnlib's Tensor engine against nnlib.train's backprop.

    python benchmarks/autograd.py            # full MNIST, 1 epoch per run, 5 alternating repeats
    python benchmarks/autograd.py --quick    # 5,000 images, 1 repeat (CI)

The network is mnist_train.py's: TwoLayerNet 784-100-10, sigmoid and then ReLU, the book's
initial weights (std 0.01), plain SGD, batch 100, lr 0.1, float32, seed 0. Two sides, from the
same initial weights and on the same batches:

* **hand**: ``nnlib.train(..., eval_train=False)``, whose step is ``loss_and_gradient``
  (backprop written out by hand) and ``sgd_step``;
* **engine**: the loop a student writes with ``nnlib.autograd``: ``zero_grad``, the forward
  pass on Tensors (which records the graph), ``loss.backward()``, and the same SGD update.

Runs alternate (hand, engine, hand, engine, ...), and the median of each side is kept, so a
drift of the machine's speed hits both alike. The ratio engine / hand is the number the
target (at most 1.3) is about. ``weights_rel_diff`` checks that both trained the same network:
it is 0 when the engine's float32 arithmetic is the same as backprop's, operation by operation.

Where the rest of the time goes, per step on one fixed batch of 100 (median of blocks, µs):
the engine's forward (which builds the graph), its backward (topological sort included),
``zero_grad`` and the update, against the hand-written step; and the same two steps on a
network with one unit per layer and a batch of one, where the arrays cost nothing: what
remains there is Python, the price of graph nodes and closures, paid on every step.

The last line is ``RESULT {json}``: one object per activation, and at the top level the
worst case (the largest ratio).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import load_mnist_arrays, machine_info, median_time, print_result, rounded
from mnist_train import Config, make_net, time_nnlib

from nnlib.autograd import Tensor, topological_order, zero_grad
from nnlib.networks import TwoLayerNet
from nnlib.training import iterate_minibatches, sgd_step

TARGET_RATIO = 1.3


def engine_step(params: list[Tensor], activation: str, lr: float) -> Callable[..., float]:
    """The Tensor engine's SGD step on (xb, tb): params W1, b1, W2, b2 share the net's arrays."""
    W1, b1, W2, b2 = params

    def step(xb: np.ndarray, tb: np.ndarray) -> float:
        zero_grad(params)
        h = getattr(xb @ W1 + b1, activation)()
        loss = (h @ W2 + b2).softmax_cross_entropy(tb)
        loss.backward()
        for p in params:
            p.data += -lr * p.grad  # what sgd_step does: the same float32 arithmetic
        return loss.item()

    return step


def engine_params(net: TwoLayerNet) -> list[Tensor]:
    """W1, b1, W2, b2 as Tensors on the net's own arrays: the engine trains ``net`` in place."""
    return [Tensor(net.params[k]) for k in ("W1", "b1", "W2", "b2")]


def time_engine(
    activation: str, x: np.ndarray, t: np.ndarray, cfg: Config
) -> tuple[float, TwoLayerNet]:
    """Seconds for cfg.epochs epochs with the engine, on nnlib.train's batches, and the net."""
    net = make_net(activation, cfg)
    step = engine_step(engine_params(net), activation, cfg.lr)
    rng = np.random.default_rng(cfg.seed)  # train() draws its permutations this way
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        for xb, tb in iterate_minibatches(x, t, cfg.batch_size, rng):
            if not np.isfinite(step(xb, tb)):  # train() checks every loss too
                raise FloatingPointError("the engine's training diverged")
    return time.perf_counter() - start, net


def weights_rel_diff(a: TwoLayerNet, b: TwoLayerNet) -> float:
    """‖W_a − W_b‖ / ‖W_a‖ over every parameter: 0 for the same arithmetic."""
    diff = sum(float(np.sum((a.params[k] - b.params[k]) ** 2.0)) for k in a.params)
    norm = sum(float(np.sum(a.params[k] ** 2.0)) for k in a.params)
    return float(np.sqrt(diff / norm))


def step_breakdown(
    activation: str, xb: np.ndarray, tb: np.ndarray, cfg: Config, number: int
) -> dict[str, float]:
    """Microseconds per step of each part, on one batch (lr 0: the weights do not move)."""
    net = make_net(activation, cfg)
    params = engine_params(net)
    W1, b1, W2, b2 = params

    def forward() -> Tensor:
        return (getattr(xb @ W1 + b1, activation)() @ W2 + b2).softmax_cross_entropy(tb)

    def forward_backward() -> None:
        forward().backward()

    def update() -> None:
        for p in params:
            p.data += -0.0 * p.grad

    def hand_step() -> None:
        sgd_step(net.params, net.loss_and_gradient(xb, tb)[1], 0.0)

    loss = forward()
    parts = {
        "hand_step": hand_step,
        "engine_step": lambda: engine_step(params, activation, 0.0)(xb, tb),
        "engine_forward": forward,
        "engine_forward_backward": forward_backward,
        "engine_topological_sort": lambda: topological_order(loss),
        "engine_zero_grad": lambda: zero_grad(params),
        "engine_update": update,
    }
    us = {k: 1e6 * median_time(f, repeats=5, number=number) for k, f in parts.items()}
    us["engine_backward"] = us.pop("engine_forward_backward") - us["engine_forward"]

    # The same steps where the arrays cost nothing: what is left is Python.
    tiny_cfg = Config(**{**cfg.__dict__, "hidden": 1})
    tiny = TwoLayerNet(1, 1, 1, activation, tiny_cfg.weight_init, seed=0, dtype=cfg.dtype)
    tiny_step = engine_step(engine_params(tiny), activation, 0.0)
    x1, t1 = np.ones((1, 1), dtype=cfg.dtype), np.zeros(1, dtype=np.intp)
    us["python_engine_step"] = 1e6 * median_time(lambda: tiny_step(x1, t1), 5, number)
    us["python_hand_step"] = 1e6 * median_time(
        lambda: sgd_step(tiny.params, tiny.loss_and_gradient(x1, t1)[1], 0.0), 5, number
    )
    nodes = len(topological_order(loss))
    return {**{k: rounded(v, 3) for k, v in us.items()}, "graph_nodes": nodes}


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cfg = Config(epochs=args.epochs, seed=args.seed)
    x, t, x_test, t_test = load_mnist_arrays(np.float32, n_train=args.n_train)
    n = len(x)
    print(
        f"MNIST {n} training images; 784-{cfg.hidden}-10, batch {cfg.batch_size}, lr {cfg.lr}, "
        f"{cfg.epochs} epoch(s) per run, float32, {args.repeats} alternating repeat(s)"
    )
    warm = Config(**{**cfg.__dict__, "epochs": 1})
    result: dict[str, Any] = {}
    for activation in args.activations:
        time_nnlib(activation, x[:5000], t[:5000], warm)  # wake BLAS and the caches up
        time_engine(activation, x[:5000], t[:5000], warm)
        hand_runs, engine_runs, hand_cpu, engine_cpu = [], [], [], []
        for _ in range(args.repeats):
            cpu = time.process_time()
            seconds, net_hand = time_nnlib(activation, x, t, cfg)
            hand_cpu.append((time.process_time() - cpu) / cfg.epochs)
            hand_runs.append(seconds / cfg.epochs)
            cpu = time.process_time()
            seconds, net_engine = time_engine(activation, x, t, cfg)
            engine_cpu.append((time.process_time() - cpu) / cfg.epochs)
            engine_runs.append(seconds / cfg.epochs)
        hand_s, engine_s = float(np.median(hand_runs)), float(np.median(engine_runs))
        cpu_ratio = float(np.median(engine_cpu)) / float(np.median(hand_cpu))
        row: dict[str, Any] = {
            "hand_s_per_epoch": rounded(hand_s),
            "engine_s_per_epoch": rounded(engine_s),
            "ratio": rounded(engine_s / hand_s),
            # CPU seconds of this process: less disturbed by other jobs than the wall clock
            # (with one BLAS thread); a cross-check of the ratio on a busy machine.
            "cpu_ratio": rounded(cpu_ratio),
            "hand_runs_s_per_epoch": [rounded(s) for s in hand_runs],
            "engine_runs_s_per_epoch": [rounded(s) for s in engine_runs],
            "weights_rel_diff": rounded(weights_rel_diff(net_hand, net_engine), 2),
            "hand_test_accuracy": rounded(net_hand.accuracy(x_test, t_test)),
            "engine_test_accuracy": rounded(net_engine.accuracy(x_test, t_test)),
            "step_us": step_breakdown(
                activation, x[: cfg.batch_size].copy(), t[: cfg.batch_size], cfg, args.number
            ),
        }
        result[activation] = row
        report(activation, row)
    rows = [result[a] for a in args.activations]
    worst = max(row["ratio"] for row in rows)
    print(f"\nworst ratio engine / hand: {worst:.3f} (target: at most {TARGET_RATIO})")
    return {
        "ratio": worst,
        "target_ratio": TARGET_RATIO,
        "met": worst <= TARGET_RATIO,
        **result,
        "config": {
            **{k: v for k, v in cfg.__dict__.items() if k != "dtype"},
            "dtype": "float32",
            "n_train": n,
            "repeats": args.repeats,
            "activations": args.activations,
        },
        "machine": machine_info(),
    }


def report(activation: str, row: dict[str, Any]) -> None:
    """Human-readable lines for one activation."""
    us = row["step_us"]
    print(f"\n{activation}:")
    print(f"  hand   {row['hand_s_per_epoch']:.4f} s/epoch  runs {row['hand_runs_s_per_epoch']}")
    print(
        f"  engine {row['engine_s_per_epoch']:.4f} s/epoch  runs {row['engine_runs_s_per_epoch']}"
    )
    print(
        f"  engine / hand = {row['ratio']:.3f}   (target: at most {TARGET_RATIO}); "
        f"in CPU time of this process {row['cpu_ratio']:.3f}"
    )
    print(
        f"  same training: weights differ by {row['weights_rel_diff']:.1e}; test accuracy "
        f"{row['hand_test_accuracy']:.4f} (hand) and {row['engine_test_accuracy']:.4f} (engine)"
    )
    print(
        f"  one step, µs: hand {us['hand_step']:.0f}; engine {us['engine_step']:.0f} = forward "
        f"{us['engine_forward']:.0f} + backward {us['engine_backward']:.0f} (topological sort "
        f"{us['engine_topological_sort']:.1f}, {us['graph_nodes']} nodes) + zero_grad "
        f"{us['engine_zero_grad']:.0f} + update {us['engine_update']:.0f}"
    )
    print(
        f"  Python alone (1-1-1 network, batch of 1), µs per step: engine "
        f"{us['python_engine_step']:.0f}, hand {us['python_hand_step']:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 images, 1 repeat")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per side")
    parser.add_argument("--n-train", type=int, default=None, help="first N training images")
    parser.add_argument("--number", type=int, default=200, help="steps per timed block")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--activations", nargs="+", default=["sigmoid", "relu"], choices=["sigmoid", "relu", "tanh"]
    )
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.n_train, args.number = 1, args.n_train or 5_000, 20
    print_result(benchmark(args))


if __name__ == "__main__":
    main()
