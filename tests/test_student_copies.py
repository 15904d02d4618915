"""tools/student_copies.py: the student edition hides solutions and leaves everything else alone."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from tools import student_copies

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NOTEBOOK_IDS = [p.name for p in NOTEBOOKS]
# A number as written: 0.115, 6.25e-4, 79,510, −2. Leading zeros of a decimal are part of it.
NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+−]?\d+)?(?![\w])")
NOT_DONE = "not done yet"


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _code(source: str, tags: list[str], outputs: list | None = None, count: int | None = 1):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
    cell.outputs = outputs or []
    cell.execution_count = count
    return cell


def _fixture_notebook() -> NotebookNode:
    """A small executed lesson that follows the exercise conventions."""
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIA"
        "X8jx0gAAAABJRU5ErkJggg=="
    )
    out = nbformat.v4.new_output
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Sigmoid\n\nWe write the logistic function."),
        _code("import numpy as np", [], count=1),
        _code(
            "x = np.linspace(-3, 3, 7)\nx",
            [],
            [out("execute_result", {"text/plain": "array([-3, ..., 3])"}, execution_count=2)],
            count=2,
        ),
        nbformat.v4.new_markdown_cell("**Exercise 1.** Write `sigmoid(z)`."),
        _code(
            "def sigmoid(z):\n    ...  # your code\n\nsigmoid(0.0)",
            ["exercise"],
            [out("execute_result", {"text/plain": "0.5"}, execution_count=3)],
            count=3,
        ),
        _code(
            "assert abs(sigmoid(0.0) - 0.5) < 1e-12\nprint('all good')",
            ["check"],
            [out("stream", name="stdout", text="all good\n")],
            count=4,
        ),
        _code(
            "# Worked solution: squash with the exponential.\n"
            "def sigmoid(z):\n"
            "    return 1.0 / (1.0 + np.exp(-z))",
            ["solution"],
            count=5,
        ),
        nbformat.v4.new_markdown_cell(
            "The derivative is $\\sigma(z)(1-\\sigma(z))$, because the quotient rule gives it.",
            metadata={"tags": ["solution"], "jupyter": {"source_hidden": True}},
        ),
        _code(
            "import matplotlib.pyplot as plt\nplt.plot(x, sigmoid(x))",
            ["nbval-ignore-output"],
            [out("display_data", {"image/png": png, "text/plain": "<Figure>"})],
            count=6,
        ),
    ]
    nbformat.validate(nb)
    return nb


def _solution_lines(teacher: NotebookNode) -> list[str]:
    """Lines that occur only in the teacher's solution cells (the text that must not leak).

    Lines that also appear outside solution cells (shared skeleton like ``def f(x):``) and very
    short lines (``)``, ``return``) are not solution text.
    """
    public = "\n".join(_cell_text(c) for c in teacher.cells if "solution" not in _tags(c))
    lines = []
    for cell in teacher.cells:
        if "solution" in _tags(cell):
            for line in cell.source.splitlines():
                line = line.strip()
                if len(line) >= 6 and line not in public:
                    lines.append(line)
    return lines


def _cell_text(cell: NotebookNode) -> str:
    """A cell's source and every text it shows in its outputs."""
    parts = [cell.source]
    for output in cell.get("outputs", []):
        parts.append(str(output.get("text", "")))
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                parts.append(value if isinstance(value, str) else str(value))
    return "\n".join(parts)


def _check_student_copy(teacher: NotebookNode, student: NotebookNode) -> None:
    """Assert that ``student`` is the student edition of ``teacher``."""
    nbformat.validate(student)
    assert student.metadata == teacher.metadata
    assert len(student.cells) == len(teacher.cells)

    student_text = "\n".join(_cell_text(c) for c in student.cells)
    leaked = [line for line in _solution_lines(teacher) if line in student_text]
    assert not leaked, f"solution text in the student copy: {leaked}"

    for t_cell, s_cell in zip(teacher.cells, student.cells, strict=True):
        tags = _tags(t_cell)
        assert s_cell.get("id") == t_cell.get("id")
        if "solution" in tags:
            assert s_cell.cell_type == t_cell.cell_type
            assert "solution" not in _tags(s_cell)
            assert "Your" in s_cell.source
            if s_cell.cell_type == "code":
                assert s_cell.outputs == [] and s_cell.execution_count is None
        elif t_cell.cell_type == "code" and ({"exercise", "check"} & set(tags)):
            assert s_cell.outputs == [] and s_cell.execution_count is None
            assert s_cell.source == t_cell.source
            assert s_cell.metadata == t_cell.metadata
        else:
            assert s_cell == t_cell


def _digests(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_fixture_notebook(tmp_path: Path) -> None:
    """A fixture lesson: stubs for both solution cells, cleared exercise/check, rest unchanged."""
    src, dest = tmp_path / "notebooks", tmp_path / "student"
    src.mkdir()
    nbformat.write(_fixture_notebook(), src / "01_sigmoid.ipynb")
    (src / "figures").mkdir()
    (src / "figures" / "net.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    before = _digests(list(src.rglob("*.*")))

    reports = student_copies.write_student_copies(src, dest)

    assert [(r.name, r.solutions, r.cleared) for r in reports] == [("01_sigmoid.ipynb", 2, 2)]
    assert _digests(list(src.rglob("*.*"))) == before
    assert (dest / "figures" / "net.svg").exists()
    teacher = nbformat.read(src / "01_sigmoid.ipynb", as_version=4)
    student = nbformat.read(dest / "01_sigmoid.ipynb", as_version=4)
    _check_student_copy(teacher, student)
    # The leak check is not vacuous: the worked solution's lines are found in the teacher's copy.
    assert "return 1.0 / (1.0 + np.exp(-z))" in _solution_lines(teacher)
    assert student.cells[6].source == student_copies.CODE_STUB


def test_refuses_to_overwrite_teacher_notebooks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="teacher"):
        student_copies.write_student_copies(tmp_path, tmp_path)
    with pytest.raises(ValueError, match="teacher"):
        student_copies.write_student_copies(tmp_path, tmp_path / "student")


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/*.ipynb yet")
def test_course_notebooks(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """The command line on the real course: valid copies, no solution text, sources untouched."""
    before = _digests(NOTEBOOKS)
    assert student_copies.main([str(ROOT / "notebooks"), str(tmp_path)]) == 0
    assert f"{len(NOTEBOOKS)} student notebook(s) written" in capsys.readouterr().out
    assert _digests(NOTEBOOKS) == before, "the teacher's notebooks changed on disk"
    for path in NOTEBOOKS:
        teacher = nbformat.read(path, as_version=4)
        student = nbformat.read(tmp_path / path.name, as_version=4)
        _check_student_copy(teacher, student)


# --- no answer in the student copy, and every copy runs ------------------------------------------


def _numbers(text: str) -> set[float]:
    """The distinctive numbers of ``text``: those with two or more significant digits.

    0.115, 6.25e-4, 79,510 and 0.27 identify an answer; 0.1, 1.0, 100 and 90 are everywhere in a
    lesson and identify none.
    """
    found = set()
    for token in NUMBER.findall(text):
        value = abs(float(token.replace(",", "").replace("−", "-")))
        digits = f"{value:.12e}".split("e")[0].replace(".", "").rstrip("0")
        if len(digits) >= 2:
            found.add(value)
    return found


def _statement(teacher: NotebookNode) -> str:
    """The exercises as the student sees them: exercise cells, markdown that names an exercise."""
    return "\n".join(
        c.source
        for c in teacher.cells
        if student_copies.SOLUTION_TAG not in _tags(c)
        and (
            student_copies.EXERCISE_TAG in _tags(c)
            or (c.cell_type == "markdown" and re.search(r"\bExercise\b", c.source))
        )
    )


def solution_leaks(teacher: NotebookNode, student: NotebookNode) -> list[str]:
    """Text and numbers of the teacher's solution cells that survive in the student copy.

    Text: every line of a solution cell (6+ characters) that appears nowhere else in the teacher's
    notebook. Numbers: the distinctive ones (see ``_numbers``) of solution markdown and solution
    outputs, the answers, unless the lesson shows them anyway: in the exercise statement (a
    constant such as the 0.02 of a schedule to write) or in its body, outside exercise, check and
    solution cells. So a check that prints or compares with an answer is caught.
    """
    solutions = [c for c in teacher.cells if student_copies.SOLUTION_TAG in _tags(c)]
    student_text = "\n".join(_cell_text(c) for c in student.cells)
    leaks = [f"text: {line!r}" for line in _solution_lines(teacher) if line in student_text]
    answers = set()
    for cell in solutions:
        answers |= _numbers(cell.source if cell.cell_type == "markdown" else "")
        answers |= _numbers(_cell_text(cell).removeprefix(cell.source))
    # What the lesson shows anyway (its statement, its body and their outputs) is no secret.
    special = {student_copies.SOLUTION_TAG, student_copies.CHECK_TAG, student_copies.EXERCISE_TAG}
    body = [c for c in teacher.cells if not special & set(_tags(c))]
    answers -= _numbers(_statement(teacher) + "\n".join(_cell_text(c) for c in body))
    for i, cell in enumerate(student.cells):
        for number in sorted(answers & _numbers(_cell_text(cell))):
            leaks.append(f"number {number:g} in cell {i}: {cell.source[:60]!r}")
    return leaks


def test_leak_check_finds_a_planted_answer() -> None:
    """An answer printed by a check, or left in solution prose, is reported."""
    teacher = _fixture_notebook()
    teacher.cells[7].source += " At z = 0 it is 0.25."
    student, _ = student_copies.make_student_notebook(teacher)
    assert solution_leaks(teacher, student) == []
    student.cells[5].source += "\nprint('the slope at 0 is 0.25')"
    assert [leak.split(" in ")[0] for leak in solution_leaks(teacher, student)] == ["number 0.25"]
    student.cells[5].source = "# Worked solution: squash with the exponential."
    assert solution_leaks(teacher, student) == [
        "text: '# Worked solution: squash with the exponential.'"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_no_solution_leaks(path: Path) -> None:
    """Neither a solution's text nor its numbers appear anywhere in the student copy."""
    teacher = nbformat.read(path, as_version=4)
    student, _ = student_copies.make_student_notebook(teacher)
    leaks = solution_leaks(teacher, student)
    assert not leaks, f"{path.name}: the student copy gives answers away:\n" + "\n".join(leaks)


def _run(student: NotebookNode, folder: Path) -> NotebookNode:
    """Execute ``student`` top to bottom in a fresh kernel, as "Run All" would, errors kept."""
    NotebookClient(
        student,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return student


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=NOTEBOOK_IDS)
def test_student_copy_runs(path: Path, tmp_path: Path) -> None:
    """A student copy runs with no error, each check says "not done yet" for its empty stub, and
    nothing it prints gives an answer away.

    The kernel inherits this process's environment (NNLIB_DATA_DIR, the MNIST mirror, one BLAS
    thread from conftest.py), so the data comes from where the notebooks' own tests get it.
    """
    student_copies.write_student_copies(path.parent, tmp_path)
    student = _run(nbformat.read(tmp_path / path.name, as_version=4), tmp_path)
    errors = [
        f"cell {i} ({o.get('ename')}: {o.get('evalue')}): {c.source[:80]!r}"
        for i, c in enumerate(student.cells)
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: the student copy fails under Run All:\n" + "\n".join(errors)
    silent = [
        f"cell {i}: {c.source[:80]!r}"
        for i, c in enumerate(student.cells)
        if student_copies.CHECK_TAG in _tags(c) and NOT_DONE not in _cell_text(c).lower()
    ]
    assert not silent, f"{path.name}: checks that do not say {NOT_DONE!r} for an empty stub:\n" + (
        "\n".join(silent)
    )
    leaks = solution_leaks(nbformat.read(path, as_version=4), student)
    assert not leaks, f"{path.name}: run, the student copy prints answers:\n" + "\n".join(leaks)
