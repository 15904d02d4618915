"""Seconds of training until the improved recipe of notebook 04 reaches 97% and 98% on MNIST.

    python benchmarks/time_to_accuracy.py           # seeds 0, 1, 2; at most 10 epochs each
    python benchmarks/time_to_accuracy.py --quick   # seed 0, 200 iterations (CI)

The recipe: 784-300-10, ReLU, He initialisation, batch 128, lr 0.1, momentum 0.9,
float32, and lr × 0.1 after 4 epochs (notebook 04's step decay). The loop is written
here with nnlib's own pieces (iterate_minibatches, loss_and_gradient, momentum_step)
rather than nnlib.train, so that the test accuracy can be measured every
``--eval-every`` iterations, in the middle of an epoch. The clock runs only during
training steps: evaluations are not counted.
A threshold counts as reached at the first evaluation at or above it, so the time
is late by at most eval-every iterations (about a tenth of a second at 100).

The last line is ``RESULT {json}`` with, for 97% and 98%, the seconds per seed
(null when not reached), their median and their maximum (null if any seed missed).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np
from _common import load_mnist_arrays, machine_info, peak_rss_mb, print_result, rounded

from nnlib.networks import TwoLayerNet
from nnlib.training import iterate_minibatches, momentum_step, step_decay

THRESHOLDS = (0.97, 0.98)


def key(threshold: float) -> str:
    """0.97 -> "97"."""
    return f"{round(threshold * 100)}"


def run_seed(
    seed: int,
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Train one network until the last threshold or the iteration budget; when was each hit."""
    x, t, x_test, t_test = data
    net = TwoLayerNet(784, args.hidden, 10, "relu", "he", seed=seed, dtype=np.float32)
    rng = np.random.default_rng(seed)  # the shuffling, seeded like nnlib.train's
    velocity: dict[str, np.ndarray] = {}
    schedule = step_decay(drop=0.1, every=args.decay_every)
    reached: dict[str, float | None] = {key(th): None for th in THRESHOLDS}  # training seconds
    reached_at: dict[str, int | None] = {key(th): None for th in THRESHOLDS}  # iterations
    curve: list[tuple[int, float, float]] = []  # (iteration, training seconds, test accuracy)
    train_s, k = 0.0, 0
    done = False
    while not done:
        start = time.perf_counter()
        for xb, tb in iterate_minibatches(x, t, args.batch_size, rng):
            _, grads = net.loss_and_gradient(xb, tb)
            momentum_step(net.params, grads, velocity, schedule(args.lr, k), args.momentum)
            k += 1
            if k % args.eval_every == 0 or k == args.max_iterations:
                train_s += time.perf_counter() - start  # stop the clock for the evaluation
                acc = net.accuracy(x_test, t_test)
                curve.append((k, round(train_s, 3), round(acc, 4)))
                for th in THRESHOLDS:
                    if acc >= th and reached[key(th)] is None:
                        reached[key(th)], reached_at[key(th)] = train_s, k
                done = reached[key(THRESHOLDS[-1])] is not None or k >= args.max_iterations
                if done:
                    break
                start = time.perf_counter()
        else:
            train_s += time.perf_counter() - start  # the end of an epoch between evaluations
    row = {
        "seconds_to": {name: rounded(s) for name, s in reached.items()},
        "iterations_to": reached_at,
        "iterations": k,
        "epochs": round(k / -(-len(x) // args.batch_size), 2),
        "final_test_accuracy": curve[-1][2],
        "train_s": rounded(train_s),
        "curve": curve,
    }
    shown = ", ".join(
        f"{name}% after {s:.2f} s ({reached_at[name]} iterations)"
        if s is not None
        else f"{name}% not reached"
        for name, s in reached.items()
    )
    print(f"seed {seed}: {shown} ({k} iterations, final test accuracy {curve[-1][2]:.4f})")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 0, 200 iterations")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--eval-every", type=int, default=100, help="iterations between tests")
    parser.add_argument("--max-epochs", type=float, default=10)
    parser.add_argument(
        "--decay-after-epochs", type=float, default=4, help="lr x 0.1 after this, as notebook 04"
    )
    args = parser.parse_args()
    data = load_mnist_arrays(np.float32)
    steps_per_epoch = -(-len(data[0]) // args.batch_size)
    args.decay_every = max(1, round(args.decay_after_epochs * steps_per_epoch))
    args.max_iterations = round(args.max_epochs * steps_per_epoch)
    if args.quick:
        args.seeds, args.max_iterations = [0], 200
    print(
        f"784-{args.hidden}-10 ReLU, He init, batch {args.batch_size}, lr {args.lr}, "
        f"momentum {args.momentum}, float32; test accuracy every {args.eval_every} iterations; "
        f"at most {args.max_iterations} iterations; seeds {args.seeds}"
    )

    runs = {str(seed): run_seed(seed, data, args) for seed in args.seeds}
    result: dict[str, Any] = {}
    for th in THRESHOLDS:
        times = [run["seconds_to"][key(th)] for run in runs.values()]
        hit = [s for s in times if s is not None]
        all_hit = len(hit) == len(times)
        summary = {
            "per_seed": times,
            "median": rounded(statistics.median(hit)) if all_hit else None,
            "max": max(hit) if all_hit else None,
            "reached": f"{len(hit)}/{len(times)}",
            # Iterations do not depend on the machine's speed: a slow seed shows here.
            "iterations_per_seed": [run["iterations_to"][key(th)] for run in runs.values()],
        }
        result[f"seconds_to_{key(th)}"] = summary
        print(
            f"{key(th)}%: median {summary['median']} s, max {summary['max']} s "
            f"(reached by {summary['reached']} seeds; iterations {summary['iterations_per_seed']})"
        )
    print("target: 98% within 3 s of training")
    result.update(
        {
            "runs": runs,
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "config": {
                "hidden": args.hidden,
                "activation": "relu",
                "weight_init": "he",
                "batch_size": args.batch_size,
                "lr": args.lr,
                "decay_after_epochs": args.decay_after_epochs,
                "momentum": args.momentum,
                "dtype": "float32",
                "eval_every": args.eval_every,
                "max_iterations": args.max_iterations,
                "seeds": args.seeds,
            },
            "machine": machine_info(),
        }
    )
    print_result(result)


if __name__ == "__main__":
    main()
