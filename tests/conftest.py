"""Shared pytest set-up.

nnlib promises no warnings (no overflow from sigmoid, no log(0) from
cross-entropy), so every test under tests/ turns warnings into errors.
Notebooks under nbval are left alone: their stderr is compared instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
