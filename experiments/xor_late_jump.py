"""Late jumps of the loss on the XOR cloud: the runs that are too long for notebook 03.

Notebook 03 (section 13) asks whether the loss of the 50-neuron XOR network "suddenly increases in
the last steps", as the seed article (001) reports. Two experiments are too slow for the notebook's
time budget; this script runs them and prints what it finds:

    python experiments/xor_late_jump.py search        # 10 seeds x 2 inits x 5 rates, ~3 min
    python experiments/xor_late_jump.py seed-script   # the seed's script, buggy and fixed, ~2 min
    python experiments/xor_late_jump.py all           # both

``--quick`` runs a few seconds of each (a smoke test). Times are for a quiet machine.

search
    The correct gradient (``nnlib.MLP``, summed squared error, λ = 1e-4), full batch on the
    notebook's cloud (``xor_cloud(300, seed=0)``), 50 sigmoid hidden units, 3000 iterations, for
    seeds 0-9, two initialisations (the seed's uniform / sqrt(fan-in), and nnlib's Xavier
    normal) and learning rates 0.02 to 0.3 (``--seeds`` and ``--iters`` change the first two).
    For each run it measures every climb of the loss
    above its running minimum, and reports the largest climb that starts after the loss has
    converged (running minimum below 5), and the lowest running minimum from which any climb
    larger than 1 starts.

seed-script
    The seed's own script with the settings of its 50-neuron animation: its data (300 points of
    ``np.random.RandomState(0)``, of which its loop uses the first 50), its weights
    (``np.random.seed(2017)``, uniform / sqrt(fan-in), no biases), learning rate 0.003,
    λ = 1e-4, and its gradient, whose ridge term is the scalar λ·ΣW² (the bug of notebook 03,
    section 9). It logs the seed's loss every 1000 iterations until the loss is NaN, then
    runs the same script with the one-line fix (λW/N) for a million iterations.

The last line is ``RESULT`` and one JSON object, as in benchmarks/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as `python experiments/xor_late_jump.py`
    sys.path.insert(0, str(REPO_ROOT))

from nnlib.datasets import xor_cloud  # noqa: E402  (needs the path above)
from nnlib.labels import one_hot  # noqa: E402
from nnlib.metrics import late_rise  # noqa: E402
from nnlib.networks import MLP  # noqa: E402
from nnlib.training import sgd_step  # noqa: E402

LAM = 1e-4  # the seed's reg_coeff
CONVERGED = 5.0  # a loss below this counts as converged (it starts near 77 on the cloud)
BIG_CLIMB = 1.0  # a climb larger than this is a jump


def climbs(loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every iteration k: how far the loss is above its running minimum, and that minimum."""
    running_min = np.minimum.accumulate(loss)
    return loss - running_min, running_min


def search_run(seed: int, init: str, lr: float, iters: int) -> np.ndarray:
    """One full-batch run of the 2-50-2 network with the correct gradient; its loss history."""
    x, t = xor_cloud(300, seed=0)
    T = one_hot(t, 2)
    net = MLP(
        [2, 50, 2],
        ["sigmoid", "sigmoid"],
        loss="sum_squared_error",
        weight_decay=LAM,
        weight_init="xavier",
        seed=seed,
    )
    if init == "uniform":  # the seed's: uniform in [-1, 1) / sqrt(fan_in), as notebook 03
        rng = np.random.default_rng(seed)
        net.params["W1"][...] = rng.uniform(-1, 1, (2, 50)) / np.sqrt(2)
        net.params["W2"][...] = rng.uniform(-1, 1, (50, 2)) / np.sqrt(50)
    history = []
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iters):
            loss, grads = net.loss_and_gradient(x, T)
            history.append(loss)
            if not np.isfinite(loss):
                break
            sgd_step(net.params, grads, lr)
    return np.array(history)


def search(seeds: int, lrs: list[float], iters: int) -> dict:
    rows, worst_converged, lowest_big_start, worst_late = [], 0.0, np.inf, 0.0
    worst_late_converged = 0.0
    for init in ("uniform", "xavier"):
        for lr in lrs:
            converged_climb, big_start, late, late_converged, n_converged = 0.0, np.inf, 0.0, 0.0, 0
            for seed in range(seeds):
                loss = search_run(seed, init, lr, iters)
                climb, running_min = climbs(loss)
                after = running_min < CONVERGED
                n_converged += bool(after.any())
                if after.any():
                    converged_climb = max(converged_climb, float(climb[after].max()))
                big = climb > BIG_CLIMB
                if big.any():
                    big_start = min(big_start, float(running_min[big].min()))
                late = max(late, late_rise(loss))
                if after.any():
                    late_converged = max(late_converged, late_rise(loss))
            rows.append(
                {
                    "init": init,
                    "lr": lr,
                    "converged_runs": n_converged,
                    "largest_climb_after_converging": converged_climb,
                    "lowest_start_of_a_big_climb": big_start,
                    "largest_late_rise": late,
                    "largest_late_rise_of_a_converged_run": late_converged,
                }
            )
            print(
                f"{init:8s} lr {lr:<5g}: {n_converged:2d}/{seeds} runs reach a loss below "
                f"{CONVERGED:g}; largest climb after that {converged_climb:.3f}; climbs > "
                f"{BIG_CLIMB:g} start no lower than {big_start:.1f}; largest late rise {late:.3f} "
                f"({late_converged:.3f} in runs that fell below {CONVERGED:g} at some point)",
                flush=True,
            )
            worst_converged = max(worst_converged, converged_climb)
            lowest_big_start = min(lowest_big_start, big_start)
            worst_late = max(worst_late, late)
            worst_late_converged = max(worst_late_converged, late_converged)
    print(
        f"all {2 * len(lrs) * seeds} runs: the largest climb after converging is "
        f"{worst_converged:.3f}; every climb larger than {BIG_CLIMB:g} starts from a loss of "
        f"{lowest_big_start:.1f} or more (late_rise, which cannot tell thrashing from a jump, "
        f"reaches {worst_late:.3f}; {worst_late_converged:.3f} in runs that fell below "
        f"{CONVERGED:g} at some point)"
    )
    return {
        "rows": rows,
        "largest_climb_after_converging": worst_converged,
        "lowest_start_of_a_big_climb": lowest_big_start,
        "largest_late_rise": worst_late,
        "largest_late_rise_of_a_converged_run": worst_late_converged,
    }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))  # the seed's formula; overflow near the end is expected


def seed_script(iters_buggy: int, iters_fixed: int, log_every: int = 1000) -> dict:
    """The seed's 50-neuron script, with its ridge-term bug and with the fix."""
    data = np.random.RandomState(0).randn(300, 2)
    labels = np.logical_xor(data[:, 0] > 0, data[:, 1] > 0).astype(int)
    x, T = data[:50], one_hot(labels, 2)[:50]  # its loop uses the first 50 points
    n, lr = len(x), 0.003

    def run(fixed: bool, iters: int) -> tuple[np.ndarray, np.ndarray]:
        np.random.seed(2017)  # noqa: NPY002 (the seed's legacy generator, on purpose)
        w1 = (2.0 * np.random.random((2, 50)) - 1.0) / np.sqrt(2)  # noqa: NPY002
        w2 = (2.0 * np.random.random((50, 2)) - 1.0) / np.sqrt(50)  # noqa: NPY002
        logged_at, logged = [], []
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(iters):
                h1 = _sigmoid(x @ w1)
                h2 = _sigmoid(h1 @ w2)
                if k % log_every == 0:  # the seed's loss, with its W2-twice penalty
                    loss = np.sum((T - h2) ** 2) / (2 * n) + LAM * 2 * np.sum(w2**2) / (2 * n)
                    logged_at.append(k)
                    logged.append(loss)
                    if not np.isfinite(loss):
                        break
                delta2 = (h2 - T) * h2 * (1 - h2)
                delta1 = (delta2 @ w2.T) * h1 * (1 - h1)
                ridge1, ridge2 = (
                    (LAM * w1 / n, LAM * w2 / n)
                    if fixed
                    else (LAM * np.sum(w1**2), LAM * np.sum(w2**2))
                )
                w2 = w2 - lr * (h1.T @ delta2 + ridge2)
                w1 = w1 - lr * (x.T @ delta1 + ridge1)
        return np.array(logged_at), np.array(logged)

    at, loss = run(fixed=False, iters=iters_buggy)
    finite = np.isfinite(loss)
    lowest = int(at[np.argmin(np.where(finite, loss, np.inf))])
    first_nan = int(at[~finite][0]) if not finite.all() else None
    print(
        f"seed's script: lowest logged loss {np.min(loss[finite]):.3f} at iteration {lowest:,}; "
        + (f"NaN by iteration {first_nan:,}" if first_nan is not None else "no NaN yet")
    )
    _, loss_f = run(fixed=True, iters=iters_fixed)
    falling = bool(np.all(np.diff(loss_f) < 0))
    print(
        f"with the fix: {iters_fixed:,} iterations, loss {loss_f[0]:.3f} -> {loss_f[-1]:.4f}, "
        f"{'falling at every logged point' if falling else 'NOT falling at every logged point'}"
    )
    return {
        "buggy_lowest_at": lowest,
        "buggy_lowest_loss": float(np.min(loss[finite])),
        "buggy_nan_by": first_nan,
        "fixed_iterations": iters_fixed,
        "fixed_final_loss": float(loss_f[-1]),
        "fixed_falling_throughout": falling,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=["search", "seed-script", "all"])
    parser.add_argument("--quick", action="store_true", help="a few seconds of each")
    parser.add_argument("--seeds", type=int, default=10, help="search: seeds 0 .. SEEDS-1")
    parser.add_argument("--iters", type=int, default=3000, help="search: iterations per run")
    args = parser.parse_args(argv)
    start, result = time.perf_counter(), {}
    if args.experiment in ("search", "all"):
        if args.quick:
            result["search"] = search(seeds=2, lrs=[0.06, 0.3], iters=300)
        else:
            result["search"] = search(args.seeds, [0.02, 0.06, 0.1, 0.2, 0.3], args.iters)
    if args.experiment in ("seed-script", "all"):
        iters = (3000, 3000) if args.quick else (200_000, 1_000_000)
        result["seed_script"] = seed_script(*iters)
    result["seconds"] = round(time.perf_counter() - start, 1)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
