"""Shared pytest set-up.

nnlib promises no warnings (no overflow from sigmoid, no log(0) from
cross-entropy), so every test under tests/ turns warnings into errors.
Notebooks under nbval are left alone: their stderr is compared instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# One BLAS thread for the notebooks' kernels (they inherit this environment) and the tests.
# The stored outputs were computed this way (tools/execute_notebooks.py does the same), and
# a thread count that differs from the one the outputs were made with may change the order
# of a matrix product's sums, and so the last digits. One thread is also what keeps the
# course fast on a busy 2-core machine: OpenBLAS threads that compete for cores slow small
# matrix products down tens of times. Set the variable yourself to override it.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
