"""ruff check and ruff format are clean, on .py files and notebooks alike."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

RUFF = shutil.which("ruff")


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (python -m pip install ruff)")
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff(args):
    result = subprocess.run([RUFF, *args, "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
