"""The benchmark scripts run in --quick mode and end with a parseable ``RESULT {json}`` line.

Nothing here asserts a time: timings belong to a quiet machine, not to a test. What is
checked is that each script runs, reports every number the README promises, and that
the comparisons it makes are sound (nnlib and torch trained on the same batches;
backprop agrees with the numerical gradient).

The scripts run with one BLAS thread: on a busy CI machine OpenBLAS threads that spin
for a core can make even --quick take minutes, and the numbers are not used here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from nnlib.mnist import DATASETS, default_data_dir
from tests.conftest import REPO_ROOT

BENCHMARKS = REPO_ROOT / "benchmarks"


def mnist_missing() -> str | None:
    """Why MNIST cannot be had without the internet, or None when it can."""
    spec = DATASETS["mnist"]
    folder = default_data_dir() / spec.name
    cached = (folder / f"{spec.name}.npz").is_file() or all(
        (folder / f.name).is_file() for f in spec.files
    )
    if cached or os.environ.get(spec.mirror_env, "").strip():
        return None
    return f"MNIST is neither cached in {folder} nor served by ${spec.mirror_env}"


needs_mnist = pytest.mark.skipif(mnist_missing() is not None, reason=str(mnist_missing()))


def run_quick(script: str) -> dict[str, Any]:
    """Run ``benchmarks/<script> --quick``; check its exit code and return its RESULT."""
    env = {
        **os.environ,
        "NNLIB_PROGRESS": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "NO_PROXY": "127.0.0.1,localhost",  # a proxy set for the internet must not see loopback
        "no_proxy": "127.0.0.1,localhost",
    }
    # -W error: like the tests, the scripts must not trigger a single warning.
    command = [sys.executable, "-W", "error", str(BENCHMARKS / script), "--quick"]
    proc = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    output = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, output
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT "), output
    result = json.loads(last.removeprefix("RESULT "))
    assert isinstance(result, dict), output
    return result


def is_positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and value > 0


@pytest.mark.slow
@needs_mnist
def test_mnist_train() -> None:
    result = run_quick("mnist_train.py")
    per_activation = ["sigmoid", "relu"]
    keys = [
        "nnlib_s_per_epoch",
        "torch_s_per_epoch",
        "ratio_vs_torch",
        "floor_s_per_epoch",
        "ratio_vs_floor",
        "test_accuracy",
        "peak_rss_mb",
    ]
    for row in [result, *(result[a] for a in per_activation)]:
        assert set(keys) <= set(row), sorted(row)
        for key in ("nnlib_s_per_epoch", "floor_s_per_epoch", "ratio_vs_floor", "peak_rss_mb"):
            assert is_positive(row[key]), (key, row[key])
        assert 0.0 <= row["test_accuracy"] <= 1.0
        with_torch = result["torch_version"] is not None
        assert (row["torch_s_per_epoch"] is not None) == with_torch
        assert (row["ratio_vs_torch"] is not None) == with_torch
    if result["torch_version"] is not None:
        for activation in per_activation:
            # Same initial weights, same batches: the weights end up equal up to round-off.
            assert result[activation]["same_batches_rel_diff"] < 1e-4, result[activation]


@pytest.mark.slow
@needs_mnist
def test_conv_train() -> None:
    result = run_quick("conv_train.py")
    for key in ("nnlib_s_per_epoch", "peak_rss_mb"):
        assert is_positive(result[key]), (key, result[key])
    assert set(result["split"]) == {"im2col_s", "gemm_s", "col2im_s", "rest_s"}
    for key in ("im2col_s", "gemm_s", "col2im_s"):
        assert is_positive(result["split"][key]), result["split"]
    assert 0.0 <= result["test_accuracy"] <= 1.0
    with_torch = result["torch_version"] is not None
    assert (result["ratio_vs_torch"] is not None) == with_torch
    if with_torch:
        # Same network, initial weights and batches: the same accuracy, up to round-off.
        assert abs(result["test_accuracy"] - result["torch_test_accuracy"]) < 0.01, result


@pytest.mark.slow
@needs_mnist
def test_time_to_accuracy() -> None:
    result = run_quick("time_to_accuracy.py")
    for key in ("seconds_to_97", "seconds_to_98"):
        summary = result[key]
        assert {"per_seed", "median", "max", "reached", "iterations_per_seed"} <= set(summary)
        assert len(summary["per_seed"]) == len(result["config"]["seeds"])
    run = result["runs"]["0"]
    assert run["curve"], run  # the test accuracy was measured at least once
    assert 0.5 < run["final_test_accuracy"] <= 1.0  # 200 steps of this recipe reach ~95%


@pytest.mark.slow
@needs_mnist
def test_gradients() -> None:
    result = run_quick("gradients.py")
    for key in ("numerical_s", "backprop_s", "ratio", "numerical_s_per_entry"):
        assert is_positive(result[key]), (key, result[key])
    assert result["n_params"] == 784 * 100 + 100 + 100 * 10 + 10
    assert result["relative_error"] < 1e-6  # backprop agrees with central differences


@pytest.mark.slow
@needs_mnist
def test_autograd() -> None:
    result = run_quick("autograd.py")
    assert is_positive(result["ratio"]) and result["target_ratio"] == 1.3
    for activation in ("sigmoid", "relu"):
        row = result[activation]
        for key in ("hand_s_per_epoch", "engine_s_per_epoch", "ratio", "cpu_ratio"):
            assert is_positive(row[key]), (key, row[key])
        # Same initial weights, same batches, the same float32 arithmetic: the same network.
        assert row["weights_rel_diff"] < 1e-6, row
        assert row["hand_test_accuracy"] == row["engine_test_accuracy"], row
        steps = row["step_us"]
        assert steps["graph_nodes"] == 10  # 4 parameters, 6 operations; the input x is a constant
        for key in ("hand_step", "engine_step", "engine_forward", "python_engine_step"):
            assert is_positive(steps[key]), (key, steps[key])


def test_notebooks_collect_only() -> None:
    result = run_quick("notebooks.py")
    notebooks = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
    assert result["mode"] == "collect-only"
    assert result["count"] == len(notebooks)
    assert {"total_s", "max_s", "slowest", "all_passed", "notebooks"} <= set(result)
    for nb in notebooks:
        row = result["notebooks"][f"notebooks/{nb.name}"]
        assert isinstance(row["cells"], int) and row["cells"] > 0, (nb.name, row)


@pytest.mark.slow
@needs_mnist
def test_optimizers():
    result = run_quick("optimizers.py")
    assert is_positive(result["adam_ratio_vs_sgd"])
    for rule in ("sgd", "momentum", "rmsprop", "adam"):
        row = result[rule]
        for key in ("s_per_step", "ratio_vs_sgd", "update_s"):
            assert is_positive(row[key]), (rule, key, row[key])
        assert isinstance(row["final_loss"], float) and row["final_loss"] < 10, (rule, row)
    assert result["sgd"]["ratio_vs_sgd"] == 1.0
    assert result["config"]["layers"] == [784, 100, 10]
