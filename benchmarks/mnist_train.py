"""How fast nnlib trains a TwoLayerNet on MNIST, against PyTorch and against the BLAS floor.

    python benchmarks/mnist_train.py            # 784-100-10, sigmoid and ReLU, 10 epochs, 3 repeats
    python benchmarks/mnist_train.py --quick    # 1 epoch on 5,000 images, 1 repeat (CI)

For each activation it reports, per epoch of plain SGD (batch 100, lr 0.1, float32):

* nnlib's seconds per epoch and samples per second, timing ``nnlib.train`` itself
  (eval_train=False, no test set: only the epochs of SGD steps are timed);
* the floor: the time of one step's five matrix products alone, at the same shapes and
  dtype, times the steps per epoch; and nnlib's ratio to it;
* when PyTorch is importable, the same network in idiomatic torch (nn.Linear,
  F.cross_entropy, torch.optim.SGD) from the same initial weights and on the same
  batches, and the ratio nnlib / torch. nnlib and torch runs alternate, R times
  each, and the median of each side is kept, so that a drift in the machine's speed
  hits both sides alike;
* the test accuracy (evaluated after the timed part) and the peak resident memory.

The last line is ``RESULT {json}``: one object per activation under "sigmoid" and
"relu", and at the top level the worst case over the activations (largest times,
ratios and memory, smallest accuracy), which is what the targets are checked against.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from _common import (
    load_mnist_arrays,
    machine_info,
    median_time,
    peak_rss_mb,
    print_result,
    rounded,
    torch_accuracy,
    torch_train,
)

from nnlib.networks import TwoLayerNet
from nnlib.training import train

INPUT, OUTPUT = 784, 10


@dataclass
class Config:
    """The training set-up shared by nnlib, torch and the floor."""

    hidden: int = 100
    batch_size: int = 100
    lr: float = 0.1
    epochs: int = 10
    weight_init: str | float = 0.01  # TwoLayerNet's default, the book's
    seed: int = 0
    dtype: type = np.float32


def make_net(activation: str, cfg: Config) -> TwoLayerNet:
    """A fresh nnlib network: the same seed always gives the same initial weights."""
    return TwoLayerNet(
        INPUT,
        cfg.hidden,
        OUTPUT,
        activation,
        cfg.weight_init,
        seed=cfg.seed,
        dtype=cfg.dtype,
    )


def batch_orders(n: int, cfg: Config) -> list[np.ndarray]:
    """The sample order of every epoch, drawn exactly as ``nnlib.train`` draws it.

    train() seeds ``np.random.default_rng(seed)`` once and takes one permutation per
    epoch (via iterate_minibatches); replaying that here gives torch the same batches.
    ``same_batches_rel_diff`` checks it (a change of train()'s shuffling would show there).
    """
    rng = np.random.default_rng(cfg.seed)
    return [rng.permutation(n) for _ in range(cfg.epochs)]


def time_nnlib(
    activation: str, x: np.ndarray, t: np.ndarray, cfg: Config
) -> tuple[float, TwoLayerNet]:
    """Seconds for cfg.epochs epochs of nnlib.train, and the trained network."""
    net = make_net(activation, cfg)
    start = time.perf_counter()
    train(
        net,
        x,
        t,
        lr=cfg.lr,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        eval_train=False,
        progress=False,
    )
    return time.perf_counter() - start, net


def matmul_floor_per_step(x: np.ndarray, cfg: Config, repeats: int, number: int) -> float:
    """Seconds of one training step's matrix products alone, at the real shapes and dtype.

    Forward: x @ W1, a1 @ W2; backward: a1ᵀ @ δ2 (BP4), δ2 @ W2ᵀ (BP2), xᵀ @ δ1 (BP4),
    with the transposes as views, as nnlib writes them. No network can do its step in
    less, so ``floor × steps per epoch`` is a lower bound for an epoch.
    """
    rng = np.random.default_rng(1)
    b, h = cfg.batch_size, cfg.hidden
    xb = np.ascontiguousarray(x[:b])  # a batch from iterate_minibatches is a fresh copy too
    w1 = (0.01 * rng.standard_normal((INPUT, h))).astype(cfg.dtype)
    w2 = (0.01 * rng.standard_normal((h, OUTPUT))).astype(cfg.dtype)
    a1 = rng.random((b, h)).astype(cfg.dtype)
    delta2 = (0.01 * rng.standard_normal((b, OUTPUT))).astype(cfg.dtype)
    delta1 = (0.01 * rng.standard_normal((b, h))).astype(cfg.dtype)

    def products() -> None:
        xb @ w1
        a1 @ w2
        a1.T @ delta2
        delta2 @ w2.T
        xb.T @ delta1

    return median_time(products, repeats=repeats, number=number)


class TorchSide:
    """The same network and the same SGD in idiomatic PyTorch, as a student would write it."""

    def __init__(self, x: np.ndarray, t: np.ndarray) -> None:
        import torch  # imported here: torch is optional, and its memory must not count for nnlib

        self.torch = torch
        self.x = torch.from_numpy(x)  # shares x's memory: no copy of the training set
        self.t = torch.from_numpy(t.astype(np.int64))  # F.cross_entropy wants int64 classes

    def make_model(self, activation: str, net: TwoLayerNet) -> Any:
        """nn.Linear layers holding nnlib's initial weights (nn.Linear stores W transposed)."""
        nn = self.torch.nn
        act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        model = nn.Sequential(
            nn.Linear(INPUT, net.layer_sizes[1]), act(), nn.Linear(net.layer_sizes[1], OUTPUT)
        )
        with self.torch.no_grad():
            for layer, l in ((model[0], 1), (model[2], 2)):
                layer.weight.copy_(self.torch.from_numpy(net.params[f"W{l}"].T.copy()))
                layer.bias.copy_(self.torch.from_numpy(net.params[f"b{l}"].copy()))
        return model

    def time_training(
        self, activation: str, orders: list[np.ndarray], cfg: Config
    ) -> tuple[float, Any]:
        """Seconds for the epochs given by ``orders``, and the trained model."""
        torch = self.torch
        model = self.make_model(activation, make_net(activation, cfg))
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        seconds = torch_train(torch, model, optimizer, self.x, self.t, orders, cfg.batch_size)
        return seconds, model

    def accuracy(self, model: Any, x: np.ndarray, t: np.ndarray) -> float:
        return torch_accuracy(self.torch, model, x, t)

    def weights_rel_diff(self, model: Any, net: TwoLayerNet) -> float:
        """‖W_torch − W_nnlib‖ / ‖W_nnlib‖ over both weight matrices, after training."""
        diff = norm = 0.0
        for layer, l in ((model[0], 1), (model[2], 2)):
            w_torch = layer.weight.detach().numpy().T.astype(np.float64)
            w_nnlib = net.params[f"W{l}"].astype(np.float64)
            diff += float(np.sum((w_torch - w_nnlib) ** 2))
            norm += float(np.sum(w_nnlib**2))
        return float(np.sqrt(diff / norm))


def same_batches_rel_diff(
    activation: str, x: np.ndarray, t: np.ndarray, cfg: Config, n: int = 2_000
) -> float:
    """Relative difference of nnlib's and torch's weights after one epoch on n images.

    Same initial weights and same batches: round-off only, about 1e-7. Different batches
    (train() shuffling otherwise than batch_orders) give 1e-2 or more after these 20
    steps. The final weights of the timed runs drift further apart than this in float32
    (ReLU's kinks amplify round-off), so this short run is the clean check.
    """
    check_cfg = Config(**{**cfg.__dict__, "epochs": 1})
    x, t = x[:n], t[:n]
    _, net = time_nnlib(activation, x, t, check_cfg)
    side = TorchSide(x, t)
    _, model = side.time_training(activation, batch_orders(n, check_cfg), check_cfg)
    return side.weights_rel_diff(model, net)


def torch_side_or_none(x: np.ndarray, t: np.ndarray, wanted: bool) -> TorchSide | None:
    if not wanted:
        return None
    try:
        return TorchSide(x, t)
    except ImportError:
        print("PyTorch is not installed: nnlib only (pip install -r benchmarks/requirements.txt)")
        return None


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    cfg = Config(
        hidden=args.hidden,
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=args.epochs,
        seed=args.seed,
    )
    x, t, x_test, t_test = load_mnist_arrays(np.float32, n_train=args.n_train)
    n = len(x)
    steps_per_epoch = -(-n // cfg.batch_size)
    print(
        f"MNIST {n} training images; {INPUT}-{cfg.hidden}-{OUTPUT}, batch {cfg.batch_size}, "
        f"lr {cfg.lr}, {cfg.epochs} epoch(s) of {steps_per_epoch} steps, float32, "
        f"{args.repeats} repeat(s)"
    )

    # Warm-up, one epoch per activation, before torch is imported: it wakes the BLAS
    # threads, and the peak memory measured here is nnlib's (data + training) alone.
    warm_cfg = Config(**{**cfg.__dict__, "epochs": 1})
    rss: dict[str, float] = {}
    for activation in args.activations:
        time_nnlib(activation, x, t, warm_cfg)
        rss[activation] = peak_rss_mb()

    side = torch_side_or_none(x, t, wanted=not args.no_torch)
    if side is not None:
        print(f"torch {side.torch.__version__}, {side.torch.get_num_threads()} threads")
        for activation in args.activations:  # warm-up: the first torch steps allocate
            side.time_training(activation, batch_orders(n, warm_cfg)[:1], warm_cfg)

    orders = batch_orders(n, cfg)
    result: dict[str, Any] = {}
    for activation in args.activations:
        nnlib_runs, torch_runs, floor_runs = [], [], []
        for _ in range(args.repeats):
            seconds, net = time_nnlib(activation, x, t, cfg)
            nnlib_runs.append(seconds / cfg.epochs)
            if side is not None:
                seconds, model = side.time_training(activation, orders, cfg)
                torch_runs.append(seconds / cfg.epochs)
            floor_runs.append(
                matmul_floor_per_step(x, cfg, repeats=3, number=steps_per_epoch) * steps_per_epoch
            )
        nnlib_s = float(np.median(nnlib_runs))
        floor_s = float(np.median(floor_runs))
        torch_s = float(np.median(torch_runs)) if torch_runs else None
        row: dict[str, Any] = {
            "nnlib_s_per_epoch": rounded(nnlib_s),
            "nnlib_samples_per_s": round(n / nnlib_s),
            "torch_s_per_epoch": rounded(torch_s),
            "torch_samples_per_s": round(n / torch_s) if torch_s else None,
            "ratio_vs_torch": rounded(nnlib_s / torch_s) if torch_s else None,
            "floor_s_per_epoch": rounded(floor_s),
            "ratio_vs_floor": rounded(nnlib_s / floor_s),
            "test_accuracy": rounded(net.accuracy(x_test, t_test)),
            "torch_test_accuracy": None,
            "weights_rel_diff_vs_torch": None,
            "same_batches_rel_diff": None,
            "peak_rss_mb": round(rss[activation], 1),
            "nnlib_runs_s_per_epoch": [rounded(s) for s in nnlib_runs],
            "torch_runs_s_per_epoch": [rounded(s) for s in torch_runs],
            "floor_runs_s_per_epoch": [rounded(s) for s in floor_runs],
        }
        if side is not None:
            row["torch_test_accuracy"] = rounded(side.accuracy(model, x_test, t_test))
            row["weights_rel_diff_vs_torch"] = rounded(side.weights_rel_diff(model, net), 2)
            row["same_batches_rel_diff"] = rounded(same_batches_rel_diff(activation, x, t, cfg), 2)
        result[activation] = row
        report(activation, row)

    rows = [result[a] for a in args.activations]
    worst: dict[str, Any] = {
        key: max_or_none(row[key] for row in rows)
        for key in (
            "nnlib_s_per_epoch",
            "torch_s_per_epoch",
            "ratio_vs_torch",
            "floor_s_per_epoch",
            "ratio_vs_floor",
            "peak_rss_mb",
        )
    }
    worst["test_accuracy"] = min(row["test_accuracy"] for row in rows)
    return {
        **worst,
        **result,
        "peak_rss_mb_with_torch": round(peak_rss_mb(), 1),
        "torch_version": side.torch.__version__ if side else None,
        "torch_threads": side.torch.get_num_threads() if side else None,
        "config": {
            **{k: v for k, v in cfg.__dict__.items() if k != "dtype"},
            "dtype": "float32",
            "n_train": n,
            "steps_per_epoch": steps_per_epoch,
            "repeats": args.repeats,
            "activations": args.activations,
        },
        "machine": machine_info(),
    }


def max_or_none(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def report(activation: str, row: dict[str, Any]) -> None:
    """Human-readable lines for one activation."""
    print(f"\n{activation}:")
    print(
        f"  nnlib  {row['nnlib_s_per_epoch']:.4f} s/epoch  "
        f"{row['nnlib_samples_per_s']:>9,} samples/s  runs {row['nnlib_runs_s_per_epoch']}"
    )
    if row["torch_s_per_epoch"] is not None:
        print(
            f"  torch  {row['torch_s_per_epoch']:.4f} s/epoch  "
            f"{row['torch_samples_per_s']:>9,} samples/s  runs {row['torch_runs_s_per_epoch']}"
        )
        print(f"  nnlib / torch = {row['ratio_vs_torch']:.3f}   (target: at most 0.6)")
    print(
        f"  floor  {row['floor_s_per_epoch']:.4f} s/epoch (5 matmuls per step); "
        f"nnlib / floor = {row['ratio_vs_floor']:.3f}   (target: at most 1.5)"
    )
    if row["torch_test_accuracy"] is None:
        print(f"  test accuracy {row['test_accuracy']:.4f}")
    else:
        diff, check = row["weights_rel_diff_vs_torch"], row["same_batches_rel_diff"]
        print(
            f"  test accuracy {row['test_accuracy']:.4f} (torch {row['torch_test_accuracy']:.4f})"
        )
        print(f"  weights nnlib vs torch: {diff:.1e} after training, {check:.1e} after 20 steps")
        if check > 1e-4:
            print("  WARNING: nnlib and torch did not get the same batches")
    print(f"  peak RSS (nnlib, before torch is imported) {row['peak_rss_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch, 5,000 images, 1 repeat")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per side")
    parser.add_argument("--n-train", type=int, default=None, help="first N training images")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--activations", nargs="+", default=["sigmoid", "relu"], choices=["sigmoid", "relu", "tanh"]
    )
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.repeats, args.n_train = 1, 1, args.n_train or 5_000
    print_result(benchmark(args))


if __name__ == "__main__":
    main()
