"""Helpers shared by the benchmark scripts: data, memory, timing, the RESULT line.

Every script prints human-readable lines first and, as its very last line,
``RESULT `` followed by one JSON object, so that a tool (or tests/test_benchmarks.py)
can read the numbers without parsing prose.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

# The scripts run as `python benchmarks/x.py`: make the repository's nnlib importable even
# when it was not pip-installed (it is, editable, in the course's requirements.txt).
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from nnlib.memory import peak_memory_mb  # noqa: E402  (needs the path above)
from nnlib.mnist import load_mnist  # noqa: E402

MnistArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_mnist_arrays(dtype: type = np.float32, n_train: int | None = None) -> MnistArrays:
    """x_train, t_train, x_test, t_test: pixels in [0, 1] as ``dtype``, labels as class indices.

    n_train keeps only the first n_train training images (quick modes); the test
    set is always the full 10,000 images. Index labels (load_mnist's default) are
    what F.cross_entropy takes too, so both sides of a comparison get the same labels.
    """
    (x_train, t_train), (x_test, t_test) = load_mnist(dtype=dtype)
    if n_train is not None:
        # Copies, so that the full 188 MB array can be freed.
        x_train, t_train = x_train[:n_train].copy(), t_train[:n_train].copy()
    return x_train, t_train, x_test, t_test


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (10^6 bytes); nan where unknown."""
    peak = peak_memory_mb()
    return float("nan") if peak is None else peak


def machine_info() -> dict[str, Any]:
    """What the numbers depend on: versions, cores, and how busy the machine was.

    The load average is recorded because timings taken on a loaded machine are
    meaningless (OpenBLAS threads spin when the cores are oversubscribed).
    """
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
    }
    try:
        info["blas"] = np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (TypeError, KeyError):  # numpy < 1.26 has no mode="dicts"
        info["blas"] = None
    if hasattr(os, "getloadavg"):
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    return info


def median_time(fn: Callable[[], object], repeats: int, number: int = 1) -> float:
    """Median over ``repeats`` blocks of the seconds one call of ``fn`` takes.

    Each block times ``number`` calls together (for calls too short to time one by one).
    The median rather than the minimum: it is what a student sees on a typical run.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def rounded(value: float | None, digits: int = 4) -> float | None:
    """``value`` rounded to ``digits`` significant digits (None stays None), for the JSON."""
    if value is None:
        return None
    return float(f"{value:.{digits}g}")


def torch_train(
    torch: Any,
    model: Any,
    optimizer: Any,
    x: Any,
    t: Any,
    orders: list[np.ndarray],
    batch_size: int,
) -> float:
    """Seconds for the epochs of idiomatic PyTorch training, one per sample order in ``orders``.

    x, t: torch tensors (the training set); each order is a permutation of its rows, walked
    through in batches of ``batch_size``, as ``nnlib.train`` walks its own.
    """
    functional = torch.nn.functional
    start = time.perf_counter()
    for order in orders:
        perm = torch.from_numpy(order)
        for first in range(0, len(order), batch_size):
            idx = perm[first : first + batch_size]
            optimizer.zero_grad()
            loss = functional.cross_entropy(model(x[idx]), t[idx])
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def torch_accuracy(torch: Any, model: Any, x: np.ndarray, t: np.ndarray) -> float:
    """Fraction of the rows of x (numpy) whose largest output of ``model`` is the label t."""
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(dim=1).numpy()
    return float(np.mean(predicted == t))


def print_result(result: dict[str, Any]) -> None:
    """Print the machine-readable last line: ``RESULT {...}``."""
    print("RESULT " + json.dumps(result, sort_keys=False), flush=True)
