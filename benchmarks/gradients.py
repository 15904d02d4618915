"""One numerical gradient against one backprop gradient: how much faster is backprop?

    python benchmarks/gradients.py           # 784-100-10, batch 100, 500 sampled entries
    python benchmarks/gradients.py --quick   # 50 sampled entries (CI)

The network is nnlib's TwoLayerNet (sigmoid, the book's 0.01 initialisation) in
float64, the only precision in which central differences mean anything, on the
first 100 MNIST training images.

A full numerical gradient nudges all 79,510 parameters, two losses each: minutes.
So the script nudges a uniform random sample of entries (``--entries``) exactly the
way numerical_gradient does, by calling nnlib.gradients.numerical_gradient on a
one-entry view of each sampled parameter entry, and extrapolates the time per entry
to every parameter. Backprop (``net.gradient``) is timed over many calls. The
agreement is the relative error between the two on the sampled entries.

The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import machine_info, median_time, print_result, rounded

from nnlib.gradients import numerical_gradient, relative_error
from nnlib.mnist import load_mnist
from nnlib.networks import TwoLayerNet


def load_batch(batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``batch_size`` training images in float64, pixels in [0, 1], and their labels.

    Loaded as uint8 and converted here: MNIST in float64 would take 376 MB for 100 rows.
    """
    (x, t), _ = load_mnist(normalize=False)
    return x[:batch_size].astype(np.float64) / 255.0, t[:batch_size].copy()


def sample_entries(net: TwoLayerNet, count: int, seed: int) -> list[tuple[str, int]]:
    """``count`` distinct (parameter name, flat index) pairs, uniform over all parameters."""
    names = list(net.params)
    sizes = np.array([net.params[name].size for name in names])
    flat = np.random.default_rng(seed).choice(sizes.sum(), size=count, replace=False)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    which = np.searchsorted(offsets, flat, side="right") - 1
    return [(names[w], int(i - offsets[w])) for w, i in zip(which, flat, strict=True)]


def sampled_numerical_gradient(
    net: TwoLayerNet, x: np.ndarray, t: np.ndarray, entries: list[tuple[str, int]], h: float
) -> tuple[np.ndarray, float]:
    """∂E/∂θ at the sampled entries by central differences, and the seconds it took.

    numerical_gradient nudges its array in place; a one-entry view of a parameter
    is such an array, so each call nudges exactly one entry of the network, the way
    ``TwoLayerNet.numerical_gradient`` does for every entry.
    """

    def loss(_: np.ndarray) -> float:
        return net.loss(x, t)  # reads net.params, which numerical_gradient nudges

    values = np.empty(len(entries))
    start = time.perf_counter()
    for j, (name, i) in enumerate(entries):
        entry = net.params[name].reshape(-1)[i : i + 1]  # a view: nudging it nudges the net
        values[j] = numerical_gradient(loss, entry, h)[0]
    return values, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 sampled entries")
    parser.add_argument("--entries", type=int, default=500, help="parameter entries to nudge")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--activation", default="sigmoid", choices=["sigmoid", "relu", "tanh"])
    parser.add_argument("--h", type=float, default=1e-5, help="step of the central differences")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    backprop_calls = 1000
    if args.quick:
        args.entries, backprop_calls = 50, 100

    x, t = load_batch(args.batch_size)
    net = TwoLayerNet(784, args.hidden, 10, args.activation, seed=args.seed, dtype=np.float64)
    n_params = sum(p.size for p in net.params.values())
    entries = sample_entries(net, args.entries, args.seed)
    print(
        f"784-{args.hidden}-10 {args.activation}, float64, batch {args.batch_size}: "
        f"{n_params:,} parameters; numerical gradient on {len(entries)} sampled entries"
    )

    numerical, numerical_s = sampled_numerical_gradient(net, x, t, entries, args.h)
    per_entry_s = numerical_s / len(entries)
    full_numerical_s = per_entry_s * n_params

    net.gradient(x, t)  # warm-up: the first call allocates and wakes the BLAS threads
    repeats = 10
    backprop_s = median_time(
        lambda: net.gradient(x, t), repeats=repeats, number=backprop_calls // repeats
    )
    grads = net.gradient(x, t)
    analytic = np.array([grads[name].reshape(-1)[i] for name, i in entries])
    rel_err = relative_error(numerical, analytic)
    max_abs = float(np.max(np.abs(numerical - analytic)))

    print(
        f"numerical: {per_entry_s * 1e3:.3f} ms per entry -> {full_numerical_s:.1f} s "
        f"for all {n_params:,} (extrapolated)"
    )
    print(f"backprop:  {backprop_s * 1e3:.3f} ms per gradient (median over {backprop_calls})")
    print(f"backprop is {full_numerical_s / backprop_s:,.0f} times faster")
    print(
        f"agreement on the sampled entries: relative error {rel_err:.2e}, "
        f"max |difference| {max_abs:.2e} (float64 backprop is right below about 1e-7)"
    )
    print_result(
        {
            "numerical_s": rounded(full_numerical_s),
            "numerical_s_per_entry": rounded(per_entry_s),
            "numerical_sampled_entries": len(entries),
            "numerical_sampled_s": rounded(numerical_s),
            "backprop_s": rounded(backprop_s),
            "ratio": rounded(full_numerical_s / backprop_s),
            "relative_error": rounded(rel_err, 3),
            "max_abs_difference": rounded(max_abs, 3),
            "n_params": n_params,
            "config": {
                "hidden": args.hidden,
                "batch_size": args.batch_size,
                "activation": args.activation,
                "dtype": "float64",
                "h": args.h,
                "seed": args.seed,
                "backprop_calls": backprop_calls,
            },
            "machine": machine_info(),
        }
    )


if __name__ == "__main__":
    main()
