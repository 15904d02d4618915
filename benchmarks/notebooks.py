"""How long every notebook takes under nbval, the way the test suite runs it.

    python benchmarks/notebooks.py                  # every notebooks/*.ipynb, one at a time
    python benchmarks/notebooks.py notebooks/04_*.ipynb
    python benchmarks/notebooks.py --suite          # also time the whole `python -m pytest`
    python benchmarks/notebooks.py --quick          # collect only: no notebook is executed (CI)

Each notebook runs as ``python -m pytest <notebook> -q -p no:cacheprovider`` from the
repository root, in its own process, so the --nbval options of pyproject.toml apply
(fresh kernel, outputs compared). Reported per notebook: the wall-clock seconds,
whether it passed, and the peak resident memory of the pytest process and the
kernel it started (the largest of the two; os.wait4 reports it for the child and
the grandchildren it reaped).

--quick only collects the notebooks (``--collect-only``): CI already runs every
notebook once under nbval, and running them again here would double the suite's
time. Collecting still checks that every notebook is found and parsed by nbval,
and counts its cells; the times in the RESULT are then null.

The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, machine_info, print_result, rounded

NOTEBOOK_TARGET_S = 60.0
COURSE_TARGET_S = 240.0


def find_notebooks(paths: list[str]) -> list[Path]:
    """The notebooks to time: those given, else every notebooks/*.ipynb, in name order."""
    if paths:
        return [Path(p).resolve() for p in paths]
    return sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def run_pytest(args: list[str]) -> tuple[int, float, float, str]:
    """Run ``python -m pytest ARGS`` from the repository root.

    Returns (exit code, wall seconds, peak RSS in MB, the output).
    ``-c pyproject.toml`` names the configuration that the repository's notebooks get
    anyway, so that a notebook outside the repository is run with the same options.
    os.wait4 instead of subprocess.run: it also returns the child's resource usage,
    whose ru_maxrss covers the child and the descendants it waited for (the kernel).
    """
    config = ["-c", str(REPO_ROOT / "pyproject.toml")]
    command = [sys.executable, "-m", "pytest", *config, *args, "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "NNLIB_PROGRESS": "0"}
    with tempfile.TemporaryFile("w+") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        log.seek(0)
        output = log.read()
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KB
    return proc.returncode, seconds, usage.ru_maxrss * scale / 1e6, output


def last_lines(text: str, count: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def collect(notebooks: list[Path]) -> dict[str, Any]:
    """--quick: have nbval collect every notebook and count its cells; execute nothing."""
    if not notebooks:
        return {}
    # With -q twice, --collect-only prints one "path: number of items" line per file.
    code, seconds, _, output = run_pytest(["--collect-only", "-q", *map(str, notebooks)])
    counts: dict[str, Any] = {}
    for nb in notebooks:
        match = re.search(rf"^{re.escape(relative(nb))}: (\d+)$", output, re.M)
        counts[relative(nb)] = {
            "seconds": None,
            "passed": None,
            "cells": int(match.group(1)) if match else None,
            "peak_rss_mb": None,
        }
    for name, row in counts.items():
        print(f"{name:50s} {row['cells']} cells")
    print(f"collected {len(notebooks)} notebook(s) in {seconds:.1f} s (exit code {code})")
    if code != 0:
        raise SystemExit(f"nbval could not collect the notebooks:\n{last_lines(output, 30)}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/*.ipynb")
    parser.add_argument("--quick", action="store_true", help="collect only, execute nothing")
    parser.add_argument("--suite", action="store_true", help="also time `python -m pytest`")
    args = parser.parse_args()
    notebooks = find_notebooks(args.notebooks)
    print(f"{len(notebooks)} notebook(s): " + ", ".join(nb.name for nb in notebooks))

    if args.quick:
        results = collect(notebooks)
    else:
        results = {}
        for nb in notebooks:
            code, seconds, rss, output = run_pytest([str(nb)])
            results[relative(nb)] = {
                "seconds": rounded(seconds),
                "passed": code == 0,
                "cells": None,
                "peak_rss_mb": round(rss, 1),
            }
            flag = "" if seconds <= NOTEBOOK_TARGET_S else f"  (over {NOTEBOOK_TARGET_S:.0f} s)"
            status = "passed" if code == 0 else f"FAILED (exit {code})\n{last_lines(output)}"
            print(f"{nb.name:45s} {seconds:7.1f} s  {rss:6.0f} MB  {status}{flag}")

    times = [r["seconds"] for r in results.values() if r["seconds"] is not None]
    total = sum(times) if times else None
    slowest = max(results, key=lambda k: results[k]["seconds"]) if times else None
    suite_s = None
    if args.suite:
        code, suite_s, _, output = run_pytest([])
        print(f"whole suite (python -m pytest): {suite_s:.1f} s, exit code {code}")
        print(last_lines(output))
    if total is not None:
        print(
            f"total {total:.1f} s over {len(times)} notebook(s); slowest {slowest} "
            f"(targets: each under {NOTEBOOK_TARGET_S:.0f} s, "
            f"the course under {COURSE_TARGET_S:.0f} s)"
        )
    print_result(
        {
            "total_s": rounded(total),
            "max_s": rounded(max(times)) if times else None,
            "slowest": slowest,
            "all_passed": all(r["passed"] for r in results.values()) if times else None,
            "count": len(results),
            "suite_s": rounded(suite_s),
            "mode": "collect-only" if args.quick else "executed",
            "notebooks": results,
            "machine": machine_info(),
        }
    )


if __name__ == "__main__":
    main()
