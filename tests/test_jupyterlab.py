"""JupyterLab starts on the repository, lists the course notebooks and runs nnlib in a kernel.

The server runs as a subprocess with its own HOME, config, data and runtime folders (the user's
Jupyter setup is neither read nor changed), on a port the OS picks, with a random token. The test
talks to it like the JupyterLab front end does: REST for contents and kernels, the kernel's
websocket channel (``websocket-client``, a jupyter_server dependency) to execute code.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import websocket

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60  # seconds; a cold start on a 2-core CI machine takes a few

# One training step of the course's network, as a student would type it in a notebook.
TRAINING_STEP = (
    "import numpy as np, nnlib; from nnlib.networks import TwoLayerNet; "
    "net = TwoLayerNet(4, 5, 3, seed=0); x = np.ones((2, 4)); t = np.array([0, 2]); "
    "g = net.gradient(x, t); print(sorted(g))"
)
EXPECTED_OUTPUT = "['W1', 'W2', 'b1', 'b2']\n"


class LabServer:
    """A ``jupyter lab`` subprocess and a token-authenticated client for its REST API."""

    def __init__(self, workdir: Path) -> None:
        self.token = secrets.token_hex(16)
        self.runtime_dir = workdir / "runtime"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
        for name, folder in {
            "HOME": "home",
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "IPYTHONDIR": "ipython",
            "MPLCONFIGDIR": "matplotlib",
        }.items():
            (workdir / folder).mkdir(parents=True, exist_ok=True)
            env[name] = str(workdir / folder)
        env["MPLBACKEND"] = "Agg"
        self.log_path = workdir / "jupyterlab.log"
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0",  # the OS picks a free port; read back from the server file
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={ROOT}",
                *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = ""

    def log(self) -> str:
        """The server's output so far, for failure messages."""
        return self.log_path.read_text(errors="replace")[-5000:]

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the server has written its info file and ``/api/status`` answers."""
        info_file = self.runtime_dir / f"jpserver-{self.proc.pid}.json"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log()}")
            if not self.url and info_file.exists():
                try:
                    info = json.loads(info_file.read_text())
                except json.JSONDecodeError:  # still being written
                    info = {}
                if info.get("port"):
                    self.url = f"http://127.0.0.1:{info['port']}"
            if self.url:
                try:
                    self.request("GET", "/api/status")
                    return
                except (urllib.error.URLError, ConnectionError):
                    pass
            time.sleep(0.1)
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def request(self, method: str, path: str, body: dict | None = None) -> dict | list | None:
        """Call the REST API; return the decoded JSON reply (``None`` when empty)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as reply:
                text = reply.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            err.close()
            raise AssertionError(f"{method} {path}: HTTP {err.code} {detail}") from None
        return json.loads(text) if text else None

    def descendants(self) -> set[int]:
        """PIDs of the server's child processes (kernels), read from /proc."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            parents[int(stat.parent.name)] = int(fields[1])
        found, todo = set(), [self.proc.pid]
        while todo:
            pid = todo.pop()
            children = {child for child, parent in parents.items() if parent == pid}
            todo.extend(children - found)
            found |= children
        return found

    def stop(self) -> None:
        """Shut down through the API, then by signal if needed; always reap and close the log."""
        try:
            if self.url and self.proc.poll() is None:
                try:
                    self.request("POST", "/api/shutdown")
                except (AssertionError, urllib.error.URLError, ConnectionError):
                    pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
        finally:
            self._log.close()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has finished)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _execute(ws: websocket.WebSocket, session: str, code: str, timeout: float = 60) -> str:
    """Run ``code`` through the kernel's websocket; return its stdout, fail on an error."""
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "session": session,
                    "username": "test",
                    "version": "5.3",
                    "date": datetime.now(timezone.utc).isoformat(),
                },
                "parent_header": {},
                "metadata": {},
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
                "channel": "shell",
                "buffers": [],
            }
        )
    )
    stdout, replied, idle = [], False, False
    deadline = time.monotonic() + timeout
    while not (replied and idle):
        assert time.monotonic() < deadline, f"no answer to {code!r} within {timeout} s"
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stdout":
            stdout.append(content["text"])
        elif kind == "error":
            pytest.fail(f"{code!r} raised {content['ename']}: {content['evalue']}")
        elif kind == "execute_reply":
            assert content["status"] == "ok", content
            replied = True
        elif kind == "status" and content["execution_state"] == "idle":
            idle = True
    return "".join(stdout)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    server = LabServer(tmp_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def test_jupyterlab_runs_the_course(lab: LabServer) -> None:
    """Lab answers, lists notebooks/, and a kernel there imports nnlib and takes a gradient."""
    status = lab.request("GET", "/api/status")
    assert "started" in status

    root = lab.request("GET", "/api/contents")  # the root is the repository
    assert {"notebooks", "nnlib"} <= {item["name"] for item in root["content"]}
    listing = lab.request("GET", "/api/contents/notebooks")
    assert listing["type"] == "directory"
    listed = {item["name"] for item in listing["content"] if item["type"] == "notebook"}
    on_disk = {path.name for path in (ROOT / "notebooks").glob("*.ipynb")}
    assert on_disk <= listed, f"notebooks missing from JupyterLab: {on_disk - listed}"

    kernel = lab.request("POST", "/api/kernels", {"name": "python3", "path": "notebooks"})
    session = uuid.uuid4().hex
    ws = websocket.create_connection(
        f"ws://{lab.url.removeprefix('http://')}/api/kernels/{kernel['id']}/channels"
        f"?session_id={session}",
        header=[f"Authorization: token {lab.token}"],
        timeout=60,
        suppress_origin=True,
    )
    try:
        kernel_pids = lab.descendants()
        assert kernel_pids, "the kernel process did not start"
        assert _execute(ws, session, TRAINING_STEP) == EXPECTED_OUTPUT
    finally:
        ws.close()
    lab.request("DELETE", f"/api/kernels/{kernel['id']}")
    assert lab.request("GET", "/api/kernels") == []

    lab.stop()
    assert lab.proc.returncode is not None
    orphans = [pid for pid in kernel_pids if _alive(pid)]
    assert not orphans, f"kernel processes left running: {orphans}"
