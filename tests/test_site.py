"""tools/build_site.py: the course site loads offline in headless Chromium.

Chromium is driven over the Chrome DevTools Protocol with ``websocket-client`` (a dependency of
jupyter_server, so no extra requirement). Locally the browser tests skip when Chromium is missing;
in CI (``CI=true``) they fail instead, so the site can't go untested silently.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import websocket

from tools import build_site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LOCAL_SCHEMES = {"file", "data", "blob", "about"}

# Runs in each page after its load event: what the test needs to know about images and links.
PAGE_REPORT_JS = """
(async () => {
  const images = [...document.images];
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return {
    readyState: document.readyState,
    title: document.title,
    images: images.map((img) => ({src: img.src.slice(0, 100), width: img.naturalWidth})),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    ids: [...document.querySelectorAll("[id]")].map((el) => el.id),
  };
})()
"""


# --- fixture notebooks --------------------------------------------------------------------------


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> str:
    """Base64 of a plain-colour PNG (what a notebook stores for ``image/png``)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(png).decode()


def _code(source: str, outputs: list, tags: list[str] | None = None):
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
    cell.outputs, cell.execution_count = outputs, 1
    return cell


def _figure(png: str):
    return nbformat.v4.new_output("display_data", {"image/png": png, "text/plain": "<Figure>"})


def _write_fixture_course(folder: Path) -> dict[str, str]:
    """Three small executed lessons; returns each one's expected thumbnail (base64 PNG or '')."""
    folder.mkdir()
    (folder / "figures").mkdir()
    (folder / "figures" / "neuron.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40">'
        '<circle cx="30" cy="20" r="15" fill="teal"/></svg>'
    )
    first, cover = _png(120, 80, (200, 60, 60)), _png(160, 100, (40, 120, 200))
    md = nbformat.v4.new_markdown_cell
    lesson1 = nbformat.v4.new_notebook()
    lesson1.cells = [
        md("# 01 · Gradient descent\n\nWe roll downhill on $L(w) = (w - 3)^2$, step by step."),
        _code("plot_loss()", [_figure(first)]),
        md("## Learning rate\n\nToo large and it diverges. Next: [the neuron](03_neuron.ipynb)."),
        _code("plot_steps()", [_figure(cover)], tags=["thumbnail"]),
    ]
    lesson2 = nbformat.v4.new_notebook()
    lesson2.metadata["course"] = {"summary": "Numbers only: no figure in this one."}
    lesson2.cells = [md("# Losses\n\nThis paragraph is replaced by the metadata summary.")]
    lesson3 = nbformat.v4.new_notebook()
    widget = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    lesson3.cells = [
        md("# The *neuron*\n\n![a neuron](figures/neuron.svg)\n\nA [weighted sum](#Sum), a bend."),
        md("## Sum\n\nBack to [gradient descent](01_gradient_descent.ipynb#Learning-rate)."),
        _code(
            "interact(f, w=(0, 1))",
            [
                nbformat.v4.new_output(
                    "display_data",
                    {
                        "application/vnd.jupyter.widget-view+json": widget,
                        "text/plain": "interactive",
                    },
                )
            ],
            tags=["interactive"],
        ),
        _code("plot_neuron()", [_figure(_png(90, 90, (30, 160, 90)))]),
    ]
    for name, nb in [
        ("01_gradient_descent", lesson1),
        ("02_losses", lesson2),
        ("03_neuron", lesson3),
    ]:
        nbformat.validate(nb)
        nbformat.write(nb, folder / f"{name}.ipynb")
    return {"01": cover, "02": "", "03": lesson3.cells[3].outputs[0].data["image/png"]}


# --- Chromium over the DevTools protocol --------------------------------------------------------


def _find_chromium() -> str | None:
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


class Chromium:
    """A headless Chromium with one tab, driven over the DevTools protocol (no network use)."""

    def __init__(self, executable: str, workdir: Path) -> None:
        profile = workdir / "profile"
        profile.mkdir(parents=True)
        self.log_path = workdir / "chromium.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                executable,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ws: websocket.WebSocket | None = None
        self.events: list[dict] = []
        self._next_id = 0
        try:
            port, path = self._devtools_address(profile / "DevToolsActivePort")
            self.ws = websocket.create_connection(
                f"ws://127.0.0.1:{port}{path}", timeout=30, suppress_origin=True
            )
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            for domain in ("Page", "Network", "Runtime"):
                self.send(f"{domain}.enable", session=self.session)
        except BaseException:
            self.close()
            raise

    def _devtools_address(self, port_file: Path, timeout: float = 30) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited: {self.log_path.read_text(errors='replace')}")
            lines = port_file.read_text().split("\n") if port_file.exists() else []
            if len(lines) >= 2 and lines[1]:
                return lines[0], lines[1]
            time.sleep(0.05)
        raise TimeoutError("Chromium did not open its DevTools port")

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result; events received meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def open(self, url: str, timeout: float = 30) -> dict:
        """Load ``url`` in the tab, wait for its load event, return the page report."""
        self.events.clear()
        self.send("Page.navigate", session=self.session, url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            self.events.append(json.loads(self.ws.recv()))
        result = self.send(
            "Runtime.evaluate",
            session=self.session,
            expression=PAGE_REPORT_JS,
            awaitPromise=True,
            returnByValue=True,
        )
        report = result["result"]["value"]
        report["requests"] = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        report["exceptions"] = [
            e["params"]["exceptionDetails"].get("text", "")
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]
        return report

    def screenshot(self, url: str, path: Path) -> None:
        """Save a 1280×900 screenshot of ``url`` as PNG."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=self.session,
            width=1280,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.open(url)
        data = self.send("Page.captureScreenshot", session=self.session, format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        """Close the browser (politely, then by force) and release the log file."""
        if self.ws is not None:
            try:
                self.send("Browser.close")
            except (websocket.WebSocketException, OSError, RuntimeError):
                pass
            self.ws.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    executable = _find_chromium()
    if executable is None:
        message = "Chromium not found: install it with `apt-get install chromium` (or set CHROMIUM)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message + " -- required in CI")
        pytest.skip(message)
    browser = Chromium(executable, tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.close()


def _check_site(site: Path, browser: Chromium) -> dict[str, dict]:
    """Open every page of ``site``; assert it loads offline with images and links intact."""
    pages = sorted(p.name for p in site.glob("*.html"))
    assert "index.html" in pages
    reports = {name: browser.open((site / name).as_uri()) for name in pages}
    for name, report in reports.items():
        assert report["readyState"] == "complete", name
        assert report["title"], f"{name} has no title"
        assert not report["exceptions"], f"{name}: JavaScript errors {report['exceptions']}"
        external = [u for u in report["requests"] if urlsplit(u).scheme not in LOCAL_SCHEMES]
        assert not external, f"{name} loads from the network: {external}"
        broken = [img["src"] for img in report["images"] if img["width"] == 0]
        assert not broken, f"{name}: images that do not decode: {broken}"
        for link in report["links"]:
            url = urlsplit(link)
            if url.scheme != "file":
                continue  # links to the web are the authors' business
            target = Path(unquote(url.path))
            assert target.is_file(), f"{name} links to a missing file: {link}"
            assert site.resolve() in target.resolve().parents, f"{name} links out of the site"
            if url.fragment and target.name in reports:
                ids = reports[target.name]["ids"]  # nbconvert ids may be percent-encoded
                assert {url.fragment, unquote(url.fragment)} & set(ids), (
                    f"{name}: no #{url.fragment} in {target.name}"
                )
    index_links = {Path(unquote(urlsplit(u).path)).name for u in reports["index.html"]["links"]}
    assert index_links >= set(pages) - {"index.html"}, "the course map misses a lesson"
    return reports


def test_fixture_site(tmp_path: Path, chromium: Chromium) -> None:
    """A three-lesson fixture course: thumbnails, summaries, links, embedded figures."""
    thumbs = _write_fixture_course(tmp_path / "notebooks")
    site = tmp_path / "site"
    lessons = build_site.build_site(tmp_path / "notebooks", site)

    assert [(lesson.number, lesson.title) for lesson in lessons] == [
        ("01", "Gradient descent"),
        ("02", "Losses"),
        ("03", "The neuron"),
    ]
    assert lessons[0].summary == "We roll downhill on L(w) = (w − 3)², step by step."  # no raw $
    assert lessons[1].summary == "Numbers only: no figure in this one."
    for number, png in thumbs.items():
        thumb = site / "thumbs" / f"{number}.png"
        assert (thumb.read_bytes() if thumb.exists() else b"") == base64.b64decode(png)

    reports = _check_site(site, chromium)

    lesson3 = reports["03_neuron.html"]
    assert len(lesson3["images"]) == 2  # the markdown SVG (embedded) and the figure
    links = {Path(urlsplit(u).path).name for u in lesson3["links"]}
    assert {"02_losses.html", "index.html", "01_gradient_descent.html"} <= links
    assert "04_" not in " ".join(links)  # the last lesson has no "next"
    page = (site / "03_neuron.html").read_text()
    assert "Interactive output (a widget): run the notebook in Jupyter" in page
    assert "<script src=" not in page or "_mathjax/" in page  # nothing from a CDN
    assert len(reports["index.html"]["images"]) == 2  # lesson 02 has no figure

    screenshot = tmp_path / "index.png"
    chromium.screenshot((site / "index.html").as_uri(), screenshot)
    assert screenshot.stat().st_size > 1000
    print(f"screenshot of the fixture course map: {screenshot}")  # shown with pytest -s


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/*.ipynb yet")
def test_course_site(tmp_path: Path, chromium: Chromium, capsys: pytest.CaptureFixture) -> None:
    """The real course, built with the command line, loads offline page by page."""
    site = tmp_path / "site"
    assert build_site.main([str(site), "--notebooks", str(ROOT / "notebooks")]) == 0
    assert f"{len(NOTEBOOKS)} page(s)" in capsys.readouterr().out
    reports = _check_site(site, chromium)
    assert len(reports) == len(NOTEBOOKS) + 1
    screenshot = tmp_path / "index.png"
    chromium.screenshot((site / "index.html").as_uri(), screenshot)
    with capsys.disabled():
        print(f"\nscreenshot of the course map: {screenshot}")


def test_math_to_text() -> None:
    """The course map cannot typeset LaTeX, so summaries show it as plain Unicode."""
    assert (
        build_site.math_to_text(r"the learning rate $\eta = 10^{-3}$")
        == "the learning rate η = 10⁻³"
    )
    assert build_site.math_to_text(r"$x_0^2 + x_1^2$ costs \$5") == r"x₀² + x₁² costs \$5"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_course_map_summary(path: Path) -> None:
    """Each lesson's line on the course map is a real one-line summary.

    Not a sentence cut at a colon (the first line of a list), no raw LaTeX, not just the title.
    Set ``metadata.course.summary`` in the notebook when its first sentence is not a summary.
    """
    lesson, _ = build_site.read_lesson(path)
    summary = lesson.summary
    assert len(summary.split()) >= 6, f"{path.name}: summary too short: {summary!r}"
    assert not summary.rstrip().endswith(":"), f"{path.name}: summary ends in a colon: {summary!r}"
    assert "$" not in summary and "\\" not in summary, f"{path.name}: raw LaTeX: {summary!r}"
    assert summary.rstrip().endswith((".", "!", "?", ")", "…")), f"{path.name}: {summary!r}"


def test_refuses_foreign_folder(tmp_path: Path) -> None:
    """A rebuild clears its own earlier output, but never a folder it did not build."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not built by this tool"):
        build_site.build_site(tmp_path / "no-notebooks", tmp_path)
    site = tmp_path / "site"
    build_site.build_site(tmp_path / "no-notebooks", site)
    (site / "stale.html").write_text("old")
    build_site.build_site(tmp_path / "no-notebooks", site)
    assert not (site / "stale.html").exists()
    assert (site / "index.html").exists()
