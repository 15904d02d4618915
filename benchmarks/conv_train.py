"""How fast nnlib trains the CNN of notebook 10, against PyTorch, and where the time goes.

    python benchmarks/conv_train.py            # one epoch on 50,000 MNIST images, 3 repeats
    python benchmarks/conv_train.py --quick    # one epoch on 2,000 images, 1 repeat (CI)

The network is notebook 10's ``ConvNet``: conv 5x5 (16) → max-pool → ReLU → conv 5x5 (32)
→ max-pool → ReLU → affine 100 → ReLU → affine 10, Adam (lr 0.002), batch 50, float32.
It reports, per epoch:

* nnlib's seconds per epoch (``nnlib.train`` itself, no evaluation inside the timed part);
* when PyTorch is importable, the same network (nn.Conv2d, nn.MaxPool2d, nn.Linear,
  F.cross_entropy, torch.optim.Adam) from the same initial weights, on the same batches,
  and the ratio nnlib / torch. Both sides use the same number of threads (BLAS and torch's
  intra-op pool: ``OPENBLAS_NUM_THREADS``, 1 unless set, as in the notebooks' tests);
* the split of nnlib's epoch: im2col and col2im (timed inside the real epoch by wrapping
  ``nnlib.layers.im2col``/``col2im``), GEMM (every matrix product of a step replayed
  alone at the real shapes and dtype, times the steps) and the rest (elementwise layers,
  pooling, the batch gather, Adam, Python), which is the epoch minus those three;
* the test accuracy after the epoch for both sides (the same network should land
  within a few tenths of a point), and the peak resident memory (before torch is imported).

Wall and CPU seconds are both reported: on a busy machine the wall time of each side depends on
what else runs at that moment, while the CPU time (``time.process_time``) is close to what a quiet
machine's wall time would be (one thread per side). The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is imported
THREADS = int(os.environ["OPENBLAS_NUM_THREADS"])

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    load_mnist_arrays,
    machine_info,
    median_time,
    peak_rss_mb,
    print_result,
    rounded,
    torch_accuracy,
    torch_train,
)

from nnlib import layers  # noqa: E402
from nnlib.networks import ConvNet, _conv_backward_no_dx  # noqa: E402
from nnlib.optimizers import Adam  # noqa: E402
from nnlib.training import train  # noqa: E402

CONVS = ((16, 5, 0), (32, 5, 0))
HIDDEN, BATCH, LR, SEED = 100, 50, 2e-3, 0  # notebook 10's recipe (its first epoch)


def make_net() -> ConvNet:
    return ConvNet((1, 28, 28), convs=CONVS, hidden=HIDDEN, dtype=np.float32, seed=SEED)


def time_nnlib(x: np.ndarray, t: np.ndarray) -> tuple[float, ConvNet, dict[str, float]]:
    """Seconds for one epoch of nnlib.train, the trained net, and the seconds in im2col/col2im."""
    spent = {"im2col": 0.0, "col2im": 0.0}
    originals = {name: getattr(layers, name) for name in spent}

    def timed(name: str, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            spent[name] += time.perf_counter() - start
            return out

        return wrapper

    net = make_net()
    for name, fn in originals.items():  # conv_forward/backward look them up at call time
        setattr(layers, name, timed(name, fn))
    try:
        start = time.perf_counter()
        train(
            net,
            x,
            t,
            optimizer=Adam(lr=LR),
            epochs=1,
            batch_size=BATCH,
            seed=SEED,
            eval_train=False,
            progress=False,
        )
        seconds = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(layers, name, fn)
    return seconds, net, spent


def gemm_per_step(x: np.ndarray, repeats: int = 5, number: int = 20) -> float:
    """Seconds of one training step's matrix products alone, at the real shapes and dtype.

    Per conv layer: W2 @ cols (forward), dout @ colsᵀ (dW) and, but for the first layer,
    W2ᵀ @ dout (dcols); per affine layer: a @ W, aᵀ @ dout and dout @ Wᵀ. The operands
    come from a real forward pass, so shapes, dtypes and memory layouts are nnlib's own.
    """
    net = make_net()
    xb = x[:BATCH]
    _, tape = net.forward(xb)
    products: list[Callable[[], object]] = []
    for backward, cache, _ in tape:
        if backward in (layers.conv_backward, _conv_backward_no_dx):
            _, cols, W, _, _ = cache
            W2 = W.reshape(len(W), -1)
            out = np.matmul(W2, cols)
            products.append(lambda W2=W2, cols=cols: np.matmul(W2, cols))
            products.append(lambda out=out, cols=cols: np.matmul(out, cols.transpose(0, 2, 1)))
            if backward is layers.conv_backward:
                products.append(lambda W2=W2, out=out: np.matmul(W2.T, out))
        elif backward is layers.affine_backward:
            a, W = cache
            a2 = a.reshape(len(a), -1)
            z = a2 @ W
            products += [
                lambda a2=a2, W=W: a2 @ W,
                lambda a2=a2, z=z: a2.T @ z,
                lambda z=z, W=W: z @ W.T,
            ]

    def step() -> None:
        for product in products:
            product()

    return median_time(step, repeats=repeats, number=number)


class TorchSide:
    """The same CNN, Adam and batches in idiomatic PyTorch."""

    def __init__(self, x: np.ndarray, t: np.ndarray) -> None:
        import torch  # optional, and imported late so that its memory does not count for nnlib

        self.torch = torch
        torch.set_num_threads(THREADS)
        self.x = torch.from_numpy(x)
        self.t = torch.from_numpy(t.astype(np.int64))

    def make_model(self) -> Any:
        """nn layers holding nnlib's initial weights (nn.Linear stores W transposed)."""
        nn, net = self.torch.nn, make_net()
        (f1, k1, _), (f2, k2, _) = CONVS
        model = nn.Sequential(
            nn.Conv2d(1, f1, k1),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(f1, f2, k2),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(net.params["W3"].shape[0], HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, 10),
        )
        with self.torch.no_grad():
            for layer, l in ((model[0], 1), (model[3], 2), (model[7], 3), (model[9], 4)):
                W = net.params[f"W{l}"]
                W = W if W.ndim == 4 else W.T  # conv filters share the layout; Linear is (out, in)
                layer.weight.copy_(self.torch.from_numpy(np.ascontiguousarray(W)))
                layer.bias.copy_(self.torch.from_numpy(net.params[f"b{l}"]))
        return model

    def time_epoch(self, order: np.ndarray) -> tuple[float, Any]:
        model = self.make_model()
        optimizer = self.torch.optim.Adam(model.parameters(), lr=LR)
        return torch_train(self.torch, model, optimizer, self.x, self.t, [order], BATCH), model

    def accuracy(self, model: Any, x: np.ndarray, t: np.ndarray) -> float:
        return torch_accuracy(self.torch, model, x, t)


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    x, t, x_test, t_test = load_mnist_arrays(np.float32, n_train=args.n_train)
    x, x_test = x.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    n, steps = len(x), -(-len(x) // BATCH)
    print(
        f"MNIST {n} training images; ConvNet convs={CONVS}, hidden {HIDDEN}, Adam lr {LR}, "
        f"batch {BATCH}, one epoch of {steps} steps, float32, {THREADS} thread(s), "
        f"{args.repeats} repeat(s)"
    )
    time_nnlib(x[: 10 * BATCH], t[: 10 * BATCH])  # warm-up
    side = None
    if not args.no_torch:
        try:
            side = TorchSide(x, t)
        except ImportError:
            print(
                "PyTorch is not installed: nnlib only (pip install -r benchmarks/requirements.txt)"
            )
    order = np.random.default_rng(SEED).permutation(n)  # train()'s first epoch, replayed
    nnlib_runs, torch_runs, splits = [], [], []
    nnlib_cpu, torch_cpu = [], []  # CPU seconds: what a busy machine's wall time hides
    rss = None
    for _ in range(args.repeats):
        cpu = time.process_time()
        seconds, net, spent = time_nnlib(x, t)
        nnlib_cpu.append(time.process_time() - cpu)
        nnlib_runs.append(seconds)
        splits.append(spent)
        rss = rss or peak_rss_mb()
        if side is not None:
            cpu = time.process_time()
            seconds, model = side.time_epoch(order)
            torch_cpu.append(time.process_time() - cpu)
            torch_runs.append(seconds)
    gemm_s = gemm_per_step(x) * steps
    nnlib_s = float(np.median(nnlib_runs))
    torch_s = float(np.median(torch_runs)) if torch_runs else None
    im2col_s = float(np.median([s["im2col"] for s in splits]))
    col2im_s = float(np.median([s["col2im"] for s in splits]))
    split = {
        "im2col_s": rounded(im2col_s),
        "gemm_s": rounded(gemm_s),
        "col2im_s": rounded(col2im_s),
        "rest_s": rounded(nnlib_s - im2col_s - gemm_s - col2im_s),
    }
    result = {
        "nnlib_s_per_epoch": rounded(nnlib_s),
        "torch_s_per_epoch": rounded(torch_s),
        "ratio_vs_torch": rounded(nnlib_s / torch_s) if torch_s else None,
        "nnlib_cpu_s_per_epoch": rounded(float(np.median(nnlib_cpu))),
        "torch_cpu_s_per_epoch": rounded(float(np.median(torch_cpu))) if torch_cpu else None,
        "ratio_vs_torch_cpu": (
            rounded(float(np.median(nnlib_cpu) / np.median(torch_cpu))) if torch_cpu else None
        ),
        "split": split,
        "split_fraction": {k: rounded(v / nnlib_s, 2) for k, v in split.items()},
        "test_accuracy": rounded(net.accuracy(x_test, t_test)),
        "torch_test_accuracy": rounded(side.accuracy(model, x_test, t_test)) if side else None,
        "peak_rss_mb": round(rss, 1),
        "nnlib_runs_s": [rounded(s) for s in nnlib_runs],
        "torch_runs_s": [rounded(s) for s in torch_runs],
        "torch_version": side.torch.__version__ if side else None,
        "threads": THREADS,
        "config": {
            "convs": CONVS,
            "hidden": HIDDEN,
            "batch_size": BATCH,
            "lr": LR,
            "n_train": n,
            "steps_per_epoch": steps,
            "repeats": args.repeats,
        },
        "machine": machine_info(),
    }
    print(f"nnlib  {nnlib_s:.2f} s/epoch  runs {result['nnlib_runs_s']}")
    if torch_s:
        print(f"torch  {torch_s:.2f} s/epoch  runs {result['torch_runs_s']}")
        print(
            f"ratio nnlib / torch: {nnlib_s / torch_s:.2f} (wall), "
            f"{result['ratio_vs_torch_cpu']:.2f} (CPU time: {result['nnlib_cpu_s_per_epoch']} "
            f"vs {result['torch_cpu_s_per_epoch']} s)"
        )
    for key, value in split.items():
        print(f"  {key[:-2]:7s} {value:7.3f} s  {100 * value / nnlib_s:5.1f}%")
    print(
        f"test accuracy after one epoch: nnlib {result['test_accuracy']}, "
        f"torch {result['torch_test_accuracy']}; peak RSS {result['peak_rss_mb']} MB; "
        f"load average {result['machine'].get('load_average_1min')}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images, 1 repeat")
    parser.add_argument("--n-train", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n_train, args.repeats = 2_000, 1
    print_result(benchmark(args))


if __name__ == "__main__":
    main()
