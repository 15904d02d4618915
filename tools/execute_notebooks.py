"""Re-execute notebooks in place, top to bottom, each in one fresh kernel (for authors).

    python tools/execute_notebooks.py                 # every notebook in notebooks/
    python tools/execute_notebooks.py notebooks/03_xor_backprop.ipynb

Run it after editing a notebook, then commit the notebook with its outputs:
``python -m pytest`` compares those stored outputs (nbval), so a notebook that
was not re-executed after a change fails CI. Progress bars are switched off
(NNLIB_PROGRESS=0) so that no carriage-return noise lands in the outputs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO_ROOT = Path(__file__).resolve().parents[1]


def execute(path: Path, timeout: int = 600) -> float:
    """Execute the notebook at ``path`` in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    os.environ.setdefault("NNLIB_PROGRESS", "0")
    # The same BLAS set-up as the tests (conftest.py), so stored and fresh outputs agree.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    paths = [Path(a) for a in argv] or sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
