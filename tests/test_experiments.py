"""The experiment scripts behind notebook claims run (in --quick mode) and say what they found.

Their full runs take minutes and are cited by command in the notebooks; here each script only
has to run end to end without a warning, so that the command a notebook cites keeps working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


def run_quick(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NNLIB_PROGRESS": "0", "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-W", "error", *args, "--quick"]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_xor_late_jump_quick():
    proc = run_quick("experiments/xor_late_jump.py", "all")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1].removeprefix("RESULT "))
    assert result["seed_script"]["fixed_falling_throughout"] is True
    assert "search" in result


@pytest.mark.slow
def test_late_jump_search_quick():
    proc = run_quick("experiments/late_jump_search.py")
    # exit status 1 would mean a run learned and then blew up: the notebook's claim is wrong
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 learned and then blew up" in proc.stdout
