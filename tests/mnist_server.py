"""Test helpers for nnlib.mnist: small IDX files and a loopback HTTP mirror.

The mirror runs on 127.0.0.1 (a free port) in a background thread, counts the
requests it gets, and can misbehave on purpose: any status code and headers, a
``Content-Length`` larger than the body followed by a closed connection, no
``Content-Length`` at all, a body sent slowly, or a body repeated forever.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import numpy as np

from nnlib.mnist import DatasetSpec, IdxFile


def idx_images(x: np.ndarray) -> bytes:
    """uint8 images (N, rows, cols) -> IDX bytes (magic 0x00000803, big-endian header)."""
    header = np.array([0x803, *x.shape], dtype=">u4").tobytes()
    return header + np.ascontiguousarray(x, dtype=np.uint8).tobytes()


def idx_labels(t: np.ndarray) -> bytes:
    """uint8 labels (N,) -> IDX bytes (magic 0x00000801)."""
    header = np.array([0x801, t.shape[0]], dtype=">u4").tobytes()
    return header + np.ascontiguousarray(t, dtype=np.uint8).tobytes()


@dataclass
class TinyDataset:
    """A small MNIST-like data set: the arrays, their IDX bytes and a matching spec."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    idx: dict[str, bytes] = field(default_factory=dict)  # file name -> decompressed bytes

    @classmethod
    def generate(cls, n_train: int = 20, n_test: int = 10, seed: int = 0) -> TinyDataset:
        rng = np.random.default_rng(seed)
        data = cls(
            x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            t_train=rng.integers(0, 10, n_train, dtype=np.uint8),
            x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            t_test=rng.integers(0, 10, n_test, dtype=np.uint8),
        )
        data.x_train[0] = 255  # one all-white image: normalize must give exactly 1.0
        data.x_test[0] = 0
        data.idx = {
            "train-images-idx3-ubyte.gz": idx_images(data.x_train),
            "train-labels-idx1-ubyte.gz": idx_labels(data.t_train),
            "t10k-images-idx3-ubyte.gz": idx_images(data.x_test),
            "t10k-labels-idx1-ubyte.gz": idx_labels(data.t_test),
        }
        return data

    def gz(self, name: str) -> bytes:
        """The gzipped file as a mirror would serve it (fixed mtime: reproducible)."""
        return gzip.compress(self.idx[name], mtime=0)

    def spec(self, mirrors: tuple[str, ...], **changes: Any) -> DatasetSpec:
        """A DatasetSpec for these files, with the hashes of their decompressed bytes."""

        def idx_file(name: str, kind: Literal["images", "labels"], count: int) -> IdxFile:
            return IdxFile(name, kind, count, hashlib.sha256(self.idx[name]).hexdigest())

        n_train, n_test = len(self.t_train), len(self.t_test)
        spec = DatasetSpec(
            name="tiny",
            title="Tiny-MNIST",
            train_images=idx_file("train-images-idx3-ubyte.gz", "images", n_train),
            train_labels=idx_file("train-labels-idx1-ubyte.gz", "labels", n_train),
            test_images=idx_file("t10k-images-idx3-ubyte.gz", "images", n_test),
            test_labels=idx_file("t10k-labels-idx1-ubyte.gz", "labels", n_test),
            mirrors=mirrors,
            mirror_env="NNLIB_TEST_TINY_MIRROR",
        )
        return replace(spec, **changes)


@dataclass
class Route:
    """What the mirror answers for one path."""

    body: bytes = b""
    status: int = 200
    content_length: int | None = None  # None: the true length; larger: a cut transfer
    send_length: bool = True  # False: no Content-Length; the body ends when the connection closes
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)  # extra headers, e.g. Location
    chunk_bytes: int = 64 * 1024  # the body is sent in pieces of this size...
    chunk_delay_s: float = 0.0  # ...with this pause between them: a slow mirror
    endless: bool = False  # send the body again and again until the client hangs up


class MirrorServer:
    """A threaded HTTP server on 127.0.0.1 serving ``routes``; use it as a context manager.

    Paths without a route get a 404. ``requests`` records every path asked for.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends endless bodies when the test is over
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0: the server closes the connection after each response, which is
            # what makes a too-large Content-Length look like a cut transfer.
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                with mirror._lock:
                    mirror.requests.append(self.path)
                route = mirror.routes.get(self.path, Route(b"not found", 404))
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.send_length:
                    length = route.content_length
                    self.send_header(
                        "Content-Length", str(len(route.body) if length is None else length)
                    )
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self._send_body(route)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on us, as it should with a hostile mirror

            def _send_body(self, route: Route) -> None:
                while True:
                    for start in range(0, len(route.body), route.chunk_bytes):
                        if start and route.chunk_delay_s:
                            time.sleep(route.chunk_delay_s)
                        if mirror._stopping.is_set():
                            return
                        self.wfile.write(route.body[start : start + route.chunk_bytes])
                        self.wfile.flush()
                    if not route.endless or mirror._stopping.is_set():
                        return

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, prefix: str) -> str:
        """Base URL of a 'mirror' living under ``/prefix/`` on this server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{prefix.strip('/')}/"

    def serve(self, prefix: str, files: dict[str, bytes], status: int = 200) -> None:
        """Serve each ``files`` body under ``/prefix/<name>``."""
        for name, body in files.items():
            self.routes[f"/{prefix.strip('/')}/{name}"] = Route(body, status)

    def __enter__(self) -> MirrorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
