"""Write the student edition of the course notebooks.

    python tools/student_copies.py notebooks/ student/

For every ``*.ipynb`` in the source folder, the copy in the destination folder has

* each cell tagged ``solution`` replaced by a short stub cell of the same kind that tells the
  student what to write (the worked solution's text does not survive anywhere);
* the outputs and execution counts of cells tagged ``exercise`` and ``check`` cleared, so the
  student sees neither a finished answer nor a passed self-check;
* everything else (other cells, their outputs, notebook metadata) unchanged.

Other files next to the notebooks (images, small data files) are copied as they are. The teacher's
notebooks are only read, never written. ``student/`` is gitignored: the edition is generated.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"
STUB_TAG = "solution-stub"

CODE_STUB = "# Your solution here: see the exercise above."
MARKDOWN_STUB = "*Your answer here: see the exercise above.*"

# Files and folders next to the notebooks that are never copied.
_SKIP_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


@dataclass
class CopyReport:
    """What happened to one notebook."""

    name: str
    solutions: int = 0
    cleared: int = 0


def cell_tags(cell: NotebookNode) -> list[str]:
    """Return the cell's tags (``metadata.tags``), an empty list when it has none."""
    return list(cell.get("metadata", {}).get("tags", []))


def _stub_cell(cell: NotebookNode) -> NotebookNode:
    """A cell of the same kind and id as the solution ``cell``, holding only the stub text."""
    tags = [tag for tag in cell_tags(cell) if tag != SOLUTION_TAG] + [STUB_TAG]
    metadata = {"tags": tags}
    if cell.cell_type == "code":
        stub = nbformat.v4.new_code_cell(source=CODE_STUB, metadata=metadata)
    else:
        stub = nbformat.v4.new_markdown_cell(source=MARKDOWN_STUB, metadata=metadata)
    if "id" in cell:
        stub["id"] = cell["id"]  # stable ids keep diffs between editions small
    elif "id" in stub:
        del stub["id"]  # nbformat < 4.5 notebooks must not have ids
    return stub


def make_student_notebook(nb: NotebookNode) -> tuple[NotebookNode, CopyReport]:
    """Return the student edition of ``nb`` (a new notebook; ``nb`` is left untouched)."""
    student = copy.deepcopy(nb)
    report = CopyReport(name="")  # the caller knows the file name
    cells = []
    for cell in student.cells:
        tags = cell_tags(cell)
        if SOLUTION_TAG in tags:
            cells.append(_stub_cell(cell))
            report.solutions += 1
            continue
        if cell.cell_type == "code" and (EXERCISE_TAG in tags or CHECK_TAG in tags):
            cell.outputs = []
            cell.execution_count = None
            report.cleared += 1
        cells.append(cell)
    student.cells = cells
    nbformat.validate(student)
    return student, report


def write_student_copies(src: Path, dest: Path) -> list[CopyReport]:
    """Write the student edition of every notebook in ``src`` into ``dest``.

    Raises ``ValueError`` if ``dest`` is ``src`` or inside it (that would overwrite or mix with the
    teacher's notebooks).
    """
    src, dest = Path(src).resolve(), Path(dest).resolve()
    if not src.is_dir():
        raise ValueError(f"{src} is not a folder of notebooks")
    if dest == src or src in dest.parents:
        raise ValueError(f"refusing to write student copies into the teacher's folder {src}")
    dest.mkdir(parents=True, exist_ok=True)
    reports = []
    for path in sorted(src.iterdir()):
        if path.name in _SKIP_NAMES:
            continue
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
            student, report = make_student_notebook(nb)
            report.name = path.name
            nbformat.write(student, dest / path.name)
            reports.append(report)
        elif path.is_dir():
            shutil.copytree(
                path,
                dest / path.name,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(*_SKIP_NAMES),
            )
        else:
            shutil.copy2(path, dest / path.name)
    return reports


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="folder with the teacher's notebooks")
    parser.add_argument("dest", type=Path, help="folder for the student copies (created)")
    args = parser.parse_args(argv)
    try:
        reports = write_student_copies(args.src, args.dest)
    except ValueError as err:
        parser.error(str(err))
    for r in reports:
        print(f"{r.name}: {r.solutions} solution(s) stubbed, {r.cleared} cell(s) cleared")
    print(f"{len(reports)} student notebook(s) written to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
