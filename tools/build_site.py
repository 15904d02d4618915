"""Build the course site: every executed notebook as an HTML page, plus a course map.

    python tools/build_site.py site/                         # from notebooks/
    python tools/build_site.py site/ --notebooks student/    # the student edition instead

The notebooks are rendered as committed (never re-executed) with nbconvert's ``lab`` template.
``site/index.html`` lists the lessons in order, each with a thumbnail figure (the output of a cell
tagged ``thumbnail``, else the notebook's first PNG output; saved as ``site/thumbs/NN.png``), its
title (the first markdown heading) and one line (``metadata.course.summary``, else the first
sentence after the heading), with inline math turned into plain text (``$\\eta$`` → η).
Every page gets previous / course map / next links.

The pages work offline: images are embedded and nothing is loaded from a CDN (no require.js, no
widget manager, no mermaid; widget outputs show a note, mermaid diagrams their source). Math is
typeset by a local MathJax 2 when the ``jupyter_server_mathjax`` package is installed (copied to
``site/_mathjax/``); otherwise it stays as LaTeX source, unless ``--mathjax-url`` names a MathJax
to load (for a site served online).
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbformat import NotebookNode

COURSE_TITLE = "Neural networks from scratch"
THUMBNAIL_TAG = "thumbnail"
MARKER = ".course-site"  # marks a folder this tool built, so a rebuild may clear it
MATHJAX_DIR = "_mathjax"
LOCAL_MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
SUMMARY_LENGTH = 200

# nbconvert's lab template with the network-loaded parts taken out and the course links added.
PAGE_TEMPLATE = r"""
{%- extends 'lab/index.html.j2' -%}
{% from 'mathjax.html.j2' import mathjax %}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
{%- if resources.mathjax_url -%}{{ mathjax(resources.mathjax_url) }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block extra_css %}<style type="text/css">{{ resources.course_css }}</style>{% endblock %}
{%- block body_header -%}
{{ super() }}
{{ resources.course_nav }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.course_nav }}
{{ super() }}
{% endblock body_footer %}
{% block output %}
{%- if 'application/vnd.jupyter.widget-view+json' in output.get('data', {}) -%}
<div class="jp-OutputArea-child"><div class="jp-OutputArea-output course-widget-note">
Interactive output (a widget): run the notebook in Jupyter to see it.
</div></div>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock output %}
"""

NAV_CSS = """
nav.course-nav { display: flex; justify-content: space-between; gap: 1em; flex-wrap: wrap;
  font: 14px/1.4 system-ui, sans-serif; margin: 0.5em 0 1.5em; padding: 0.6em 1em;
  background: #f3f5f8; border-radius: 6px; }
nav.course-nav a { color: #1a56a6; text-decoration: none; }
nav.course-nav a:hover { text-decoration: underline; }
nav.course-nav .missing { visibility: hidden; }
.course-widget-note { font-style: italic; color: #666; padding: 0.3em 0; }
"""

INDEX_CSS = """
body { font: 16px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
  color: #222; }
h1 { margin-bottom: 0.2em; }
.subtitle { color: #555; margin-top: 0; }
ol.lessons { list-style: none; padding: 0; }
ol.lessons li { display: flex; gap: 1.2em; align-items: center; padding: 0.8em 0;
  border-top: 1px solid #ddd; }
ol.lessons .thumb { flex: 0 0 200px; height: 130px; display: flex; align-items: center;
  justify-content: center; background: #f3f5f8; border-radius: 6px; overflow: hidden; }
ol.lessons .thumb img { max-width: 200px; max-height: 130px; }
ol.lessons .placeholder { font-size: 2.5em; color: #c5ccd6; }
ol.lessons h2 { font-size: 1.2em; margin: 0 0 0.2em; }
ol.lessons a { color: #1a56a6; text-decoration: none; }
ol.lessons a:hover { text-decoration: underline; }
ol.lessons p { margin: 0; color: #444; }
.number { color: #888; font-variant-numeric: tabular-nums; margin-right: 0.4em; }
"""


@dataclass
class Lesson:
    """One notebook of the course, as the site shows it."""

    source: Path
    number: str  # the file name's numeric prefix ("01"), else its stem
    title: str
    summary: str
    thumbnail: bytes | None  # PNG data

    @property
    def page(self) -> str:
        """File name of the lesson's page in the site."""
        return self.source.stem + ".html"

    @property
    def thumb_path(self) -> str:
        """Site-relative path of the thumbnail."""
        return f"thumbs/{self.number}.png"


# LaTeX commands that have a plain Unicode character, for one-line summaries.
_TEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "partial": "∂", "nabla": "∇",
    "cdot": "·", "times": "×", "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "ne": "≠", "neq": "≠", "to": "→", "rightarrow": "→", "leftarrow": "←", "infty": "∞",
    "sum": "Σ", "sqrt": "√", "pm": "±", "dots": "…", "ldots": "…", "odot": "⊙", "log": "log",
    "exp": "exp", "max": "max", "min": "min", "ln": "ln",
}  # fmt: skip
_SUPERSCRIPTS = str.maketrans("0123456789-+n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁿ")
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def math_to_text(markdown: str) -> str:
    """Inline LaTeX (``$...$``) → plain Unicode text, for places that cannot typeset it.

    ``$\\eta = 10^{-3}$`` becomes ``η = 10⁻³``; commands without a Unicode twin lose their
    backslash. The course map shows summaries as plain text, so it never shows a raw ``$``.
    """

    def convert(match: re.Match) -> str:
        tex = match.group(1)
        tex = re.sub(r"\\(?:mathrm|text|mathbf|operatorname)\{([^}]*)\}", r"\1", tex)
        tex = re.sub(r"\\([A-Za-z]+)", lambda m: _TEX_SYMBOLS.get(m.group(1), m.group(1)), tex)
        tex = re.sub(r"\^\{?([0-9n+-]+)\}?", lambda m: m.group(1).translate(_SUPERSCRIPTS), tex)
        tex = re.sub(r"_\{?([0-9]+)\}?", lambda m: m.group(1).translate(_SUBSCRIPTS), tex)
        tex = tex.replace("{", "").replace("}", "").replace("\\", "").replace("-", "−")
        return " ".join(tex.split())

    text = re.sub(r"\$\$(.+?)\$\$", convert, markdown, flags=re.S)
    return re.sub(r"(?<!\\)\$(.+?)(?<!\\)\$", convert, text, flags=re.S)


def _plain(markdown: str) -> str:
    """Markdown → one line of plain text (links keep their text, emphasis marks dropped)."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", markdown)  # images
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"(\*\*|__|\*|`)", "", text)
    return " ".join(text.split())


def _shorten(text: str, length: int = SUMMARY_LENGTH) -> str:
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",;:.") + " …"


def title_and_summary(nb: NotebookNode, fallback: str) -> tuple[str, str]:
    """The notebook's first markdown heading and the first sentence of the paragraph after it.

    ``metadata.course.summary``, when present, replaces the paragraph. ``fallback`` is the title of
    a notebook without a heading.
    """
    title, summary = "", ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source):
            block = block.strip()
            heading = re.match(r"#+\s+(.*)", block)
            if heading and not title:
                title = _plain(heading.group(1))
                rest = block.split("\n", 1)[1:]  # a paragraph may follow without a blank line
                block = rest[0].strip() if rest else ""
            if title and block and not block.startswith(("#", "|", "```", "<", "$$", "!")):
                summary = re.split(r"(?<=[.!?])\s+(?=[A-Z])", _plain(block))[0]  # one sentence
                break
        if title and summary:
            break
    course_meta = nb.metadata.get("course", {})
    summary = course_meta.get("summary", summary) if isinstance(course_meta, dict) else summary
    return title or fallback, _shorten(math_to_text(summary))


def find_thumbnail(nb: NotebookNode) -> bytes | None:
    """PNG bytes of the cover figure: a ``thumbnail``-tagged cell's output, else the first PNG."""
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code_cells if THUMBNAIL_TAG in c.get("metadata", {}).get("tags", [])]
    for cell in tagged + code_cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
    return None


def read_lesson(path: Path) -> tuple[Lesson, NotebookNode]:
    """Read a notebook and what the course map says about it."""
    nb = nbformat.read(path, as_version=4)
    number = re.match(r"\d*", path.stem).group() or path.stem
    title, summary = title_and_summary(nb, fallback=path.stem.replace("_", " "))
    if number.isdigit():  # "# 01 · Gradient descent": the course map shows the number already
        title = re.sub(rf"^0*{int(number)}\b\s*[·.:–—-]?\s*", "", title) or title
    return Lesson(path, number, title, summary, find_thumbnail(nb)), nb


def local_mathjax() -> Path | None:
    """The folder of a locally installed MathJax 2 (package ``jupyter_server_mathjax``), if any."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "MathJax.js").is_file() else None


def _nav(lessons: list[Lesson], i: int) -> str:
    """Previous / course map / next links for lesson ``i``."""

    def link(j: int, arrow_before: str, arrow_after: str) -> str:
        if not 0 <= j < len(lessons):
            return '<span class="missing"></span>'
        other = lessons[j]
        label = html.escape(f"{arrow_before}{other.number} {other.title}{arrow_after}".strip())
        return f'<a href="{html.escape(other.page)}">{label}</a>'

    return (
        '<nav class="course-nav">'
        f'<span class="prev">{link(i - 1, "← ", "")}</span>'
        f'<a class="index" href="index.html">Course map</a>'
        f'<span class="next">{link(i + 1, "", " →")}</span>'
        "</nav>"
    )


def _link_lessons(page: str, lessons: list[Lesson]) -> str:
    """Point links to other lessons' notebooks (``02_x.ipynb#part``) at their pages."""
    names = {lesson.source.name: lesson.page for lesson in lessons}

    def repl(match: re.Match) -> str:
        target = names.get(Path(match.group(2)).name)
        return match.group(0) if target is None else f"{match.group(1)}{target}{match.group(3)}"

    return re.sub(r'(href=")((?:\./)?[\w.-]+\.ipynb)([#"])', repl, page)


def _index_page(lessons: list[Lesson]) -> str:
    items = []
    for lesson in lessons:
        thumb = (
            f'<img src="{lesson.thumb_path}" alt="Figure from {html.escape(lesson.title)}">'
            if lesson.thumbnail
            else f'<span class="placeholder">{html.escape(lesson.number)}</span>'
        )
        items.append(
            f'<li><a class="thumb" href="{html.escape(lesson.page)}">{thumb}</a><div>'
            f'<h2><a href="{html.escape(lesson.page)}"><span class="number">'
            f"{html.escape(lesson.number)}</span>{html.escape(lesson.title)}</a></h2>"
            f"<p>{html.escape(lesson.summary)}</p></div></li>"
        )
    body = "\n".join(items) or "<li>No notebooks yet.</li>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{COURSE_TITLE}</title>
<style>{INDEX_CSS}</style>
</head>
<body>
<h1>{COURSE_TITLE}</h1>
<p class="subtitle">Course map: {len(lessons)} lessons, numpy only.</p>
<ol class="lessons">
{body}
</ol>
</body>
</html>
"""


def _prepare_dest(dest: Path) -> None:
    """Create ``dest``, or empty it if an earlier build made it; refuse any other folder."""
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER).exists():
            raise ValueError(f"{dest} is not empty and was not built by this tool")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER).write_text("Built by tools/build_site.py; deleted on the next build.\n")


def build_site(notebooks: Path, dest: Path, mathjax_url: str | None = None) -> list[Lesson]:
    """Render ``notebooks/*.ipynb`` and the course map into ``dest``; return the lessons.

    ``mathjax_url`` is the MathJax script the pages load; by default a local copy is used when
    available (see ``local_mathjax``), and no MathJax otherwise.
    """
    notebooks, dest = Path(notebooks), Path(dest)
    read = [read_lesson(path) for path in sorted(notebooks.glob("*.ipynb"))]
    lessons = [lesson for lesson, _ in read]
    _prepare_dest(dest)

    if mathjax_url is None and (mathjax := local_mathjax()) is not None:
        shutil.copytree(mathjax, dest / MATHJAX_DIR)
        mathjax_url = f"{MATHJAX_DIR}/MathJax.js?config={LOCAL_MATHJAX_CONFIG}"

    exporter = HTMLExporter(
        template_name="lab",
        template_file="course_page.html.j2",
        extra_loaders=[jinja2.DictLoader({"course_page.html.j2": PAGE_TEMPLATE})],
        embed_images=True,
    )
    exporter.mathjax_url = mathjax_url or ""
    (dest / "thumbs").mkdir()
    for i, (lesson, nb) in enumerate(read):
        resources = {
            "metadata": {
                "name": f"{lesson.title} · {COURSE_TITLE}",
                "path": str(lesson.source.parent),  # for embedding images the markdown links
            },
            "course_nav": _nav(lessons, i),
            "course_css": NAV_CSS,
        }
        page, _ = exporter.from_notebook_node(nb, resources=resources)
        (dest / lesson.page).write_text(_link_lessons(page, lessons), encoding="utf-8")
        if lesson.thumbnail:
            (dest / lesson.thumb_path).write_bytes(lesson.thumbnail)
    (dest / "index.html").write_text(_index_page(lessons), encoding="utf-8")
    return lessons


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="output folder, e.g. site/")
    parser.add_argument(
        "--notebooks", type=Path, default=Path(__file__).resolve().parents[1] / "notebooks"
    )
    parser.add_argument("--mathjax-url", help="MathJax 2 script URL (default: local or none)")
    args = parser.parse_args(argv)
    try:
        lessons = build_site(args.notebooks, args.dest, args.mathjax_url)
    except ValueError as err:
        parser.error(str(err))
    for lesson in lessons:
        print(f"{lesson.page}: {lesson.title}")
    print(f"{len(lessons)} page(s) and index.html written to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
