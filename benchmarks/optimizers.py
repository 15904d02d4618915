"""What an update rule costs per training step: Adam, momentum, RMSProp against plain SGD.

    python benchmarks/optimizers.py            # 784-100-10 ReLU, 3 epochs, 5 alternating repeats
    python benchmarks/optimizers.py --quick    # 1 epoch on 5,000 images, 1 repeat (CI)

The network of mnist_train.py (784-100-10, batch 100, float32, He initialisation, ReLU)
is trained by ``nnlib.train`` with ``optimizer=SGD(0.1)``, ``Momentum``, ``RMSProp`` and
``Adam``, each from the same initial weights on the same batches (eval_train=False, no
test set: only the steps are timed). The rules take turns, R times each, and the median of
each is kept, so that a drift in the machine's speed hits them all alike.

Reported: seconds per step for each rule and its ratio to SGD (the target for Adam is
at most 1.15), and the time of ``update`` alone on the network's 79,510 parameters (the
part that differs; the rest of a step, forward and backward, is the same for all).

The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from _common import load_mnist_arrays, machine_info, median_time, print_result, rounded

from nnlib.networks import TwoLayerNet
from nnlib.optimizers import SGD, Adam, Momentum, Optimizer, RMSProp
from nnlib.training import train

RULES = {
    "sgd": lambda: SGD(lr=0.1),
    "momentum": lambda: Momentum(lr=0.01, momentum=0.9),
    "rmsprop": lambda: RMSProp(lr=0.001),
    "adam": lambda: Adam(lr=0.001),
}
HIDDEN, BATCH = 100, 100


def make_net() -> TwoLayerNet:
    return TwoLayerNet(784, HIDDEN, 10, "relu", "he", seed=0, dtype=np.float32)


def time_training(rule: str, x: np.ndarray, t: np.ndarray, epochs: int) -> tuple[float, float]:
    """Seconds per step of ``train`` with this rule, and the final mini-batch loss."""
    net = make_net()
    start = time.perf_counter()
    history = train(
        net,
        x,
        t,
        optimizer=RULES[rule](),
        epochs=epochs,
        batch_size=BATCH,
        seed=0,
        eval_train=False,
        progress=False,
    )
    seconds = time.perf_counter() - start
    return seconds / len(history.loss), history.loss[-1]


def time_update(opt: Optimizer, repeats: int, number: int) -> float:
    """Seconds of one ``opt.update`` on the 784-100-10 parameters (gradients of 0.01)."""
    net = make_net()
    grads = {key: np.full_like(p, 0.01) for key, p in net.params.items()}
    return median_time(lambda: opt.update(net.params, grads), repeats=repeats, number=number)


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    x, t, _, _ = load_mnist_arrays(np.float32, n_train=args.n_train)
    steps = args.epochs * -(-len(x) // BATCH)
    print(
        f"MNIST {len(x)} training images; 784-{HIDDEN}-10 ReLU, batch {BATCH}, float32, "
        f"{args.epochs} epoch(s) = {steps} steps per run, {args.repeats} alternating repeat(s)"
    )
    for rule in RULES:  # warm-up: first allocations, BLAS threads
        time_training(rule, x[: 10 * BATCH], t[: 10 * BATCH], 1)
    runs: dict[str, list[float]] = {rule: [] for rule in RULES}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):
        for rule in RULES:
            seconds, losses[rule] = time_training(rule, x, t, args.epochs)
            runs[rule].append(seconds)
    per_step = {rule: float(np.median(r)) for rule, r in runs.items()}
    updates = {
        rule: time_update(make(), repeats=args.update_repeats, number=200)
        for rule, make in RULES.items()
    }
    result: dict[str, Any] = {}
    for rule in RULES:
        ratio = per_step[rule] / per_step["sgd"]
        result[rule] = {
            "s_per_step": rounded(per_step[rule]),
            "ratio_vs_sgd": rounded(ratio),
            "update_s": rounded(updates[rule]),
            "runs_s_per_step": [rounded(r) for r in runs[rule]],
            "final_loss": rounded(losses[rule]),
        }
        print(
            f"{rule:>9}: {1e6 * per_step[rule]:7.0f} µs per step, {ratio:.3f} × SGD; "
            f"update alone {1e6 * updates[rule]:5.0f} µs"
        )
    adam_ratio = per_step["adam"] / per_step["sgd"]
    print(f"Adam / SGD per step: {adam_ratio:.3f}   (target: at most 1.15)")
    return {
        "adam_ratio_vs_sgd": rounded(adam_ratio),
        **result,
        "config": {
            "layers": [784, HIDDEN, 10],
            "batch_size": BATCH,
            "dtype": "float32",
            "n_train": len(x),
            "epochs": args.epochs,
            "repeats": args.repeats,
        },
        "machine": machine_info(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch, 5,000 images, 1 repeat")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per rule")
    parser.add_argument("--n-train", type=int, default=None, help="first N training images")
    args = parser.parse_args()
    args.update_repeats = 7
    if args.quick:
        args.epochs, args.repeats, args.n_train = 1, 1, args.n_train or 5_000
        args.update_repeats = 1
    print_result(benchmark(args))


if __name__ == "__main__":
    main()
