"""nnlib.mnist against hostile mirrors and shared, read-only, full or tampered caches.

Issue 15, items 1-5. Loopback mirrors misbehave on purpose (tests/mnist_server.py),
several real processes share one cache, and a folder is made read-only for real:
permission bits do not stop root (CI runs as root), so as root the process
switches its effective user to ``nobody`` for the duration of the load.
"""

from __future__ import annotations

import errno
import gzip
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import nnlib.mnist as mnist
from nnlib.mnist import DataDirError, DownloadError
from tests import test_mnist
from tests.conftest import REPO_ROOT
from tests.mnist_server import MirrorServer, Route, TinyDataset
from tests.test_mnist import NAMES, files_in, gz_files, raw

# The fixtures of test_mnist.py; pytest finds them by the names they were defined with.
_quiet_and_fast = test_mnist._quiet_and_fast
server = test_mnist.server
tiny = test_mnist.tiny

NOBODY = 65534  # uid and gid of the user "nobody" on Linux


def fill(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


# ----------------------------------------------------------------------------- 1. shared cache

CHILD = """
import sys
import time
import nnlib.mnist as mnist
from tests.mnist_server import TinyDataset

url, data_dir = sys.argv[1:]
tiny = TinyDataset.generate()
verify = mnist._verified_idx_bytes


def verify_as_slowly_as_mnist(payload, file, *, source):
    if source.startswith(data_dir):
        time.sleep(0.3)  # checking the real 47 MB file takes this long: the others catch up
    return verify(payload, file, source=source)


mnist._verified_idx_bytes = verify_as_slowly_as_mnist
spec = tiny.spec((url,))
print("ready", flush=True)
sys.stdin.readline()  # all processes start loading at the same moment
(x, t), (xt, tt) = mnist._load(spec, normalize=False, flatten=False, data_dir=data_dir)
assert (x[:, 0] == tiny.x_train).all() and (t == tiny.t_train).all()
assert (xt[:, 0] == tiny.x_test).all() and (tt == tiny.t_test).all()
print("verified", flush=True)
"""


def test_concurrent_loads_on_a_bad_cached_file(server, tiny, tmp_path, n_processes=4):
    server.serve("a", gz_files(tiny))
    folder = fill(tmp_path / "tiny", {NAMES[0]: gzip.compress(b"corrupt"), **gz_files(tiny)})
    (folder / NAMES[0]).write_bytes(gzip.compress(b"corrupt"))  # the other three are good
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "NNLIB_PROGRESS": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, server.url("a"), str(tmp_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
            env=env,
        )
        for _ in range(n_processes)
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready", child.stderr.read()
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        results = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill()  # no-op for those that finished
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert out.strip() == "verified"
    assert (folder / NAMES[0]).read_bytes() == tiny.gz(NAMES[0])
    assert files_in(tmp_path) == sorted(f"tiny/{n}" for n in (*NAMES, "tiny.npz"))
    server.requests.clear()
    raw(tiny.spec((server.url("a"),)), tmp_path)  # the npz they left is complete and verified
    assert server.requests == []


@pytest.mark.parametrize("other_process", ["removes it", "replaces it with a good copy"])
def test_bad_cached_file_changed_by_another_process_meanwhile(
    server, tiny, tmp_path, monkeypatch, other_process
):
    """Between our reading the bad file and our removing it, another process acts on it."""
    server.serve("a", gz_files(tiny))
    folder = fill(tmp_path / "tiny", gz_files(tiny))
    (folder / NAMES[0]).write_bytes(gzip.compress(b"corrupt"))
    real_verify = mnist._verified_idx_bytes

    def verify_while_another_process_acts(payload, file, *, source):
        if source == str(folder / NAMES[0]):
            if other_process == "removes it":
                (folder / NAMES[0]).unlink()
            else:  # what another process's download does: a new file renamed into place
                (folder / ".good").write_bytes(tiny.gz(NAMES[0]))
                os.replace(folder / ".good", folder / NAMES[0])
        return real_verify(payload, file, source=source)

    monkeypatch.setattr(mnist, "_verified_idx_bytes", verify_while_another_process_acts)
    np.testing.assert_array_equal(raw(tiny.spec((server.url("a"),)), tmp_path)[0], tiny.x_train)
    assert (folder / NAMES[0]).read_bytes() == tiny.gz(NAMES[0])


def test_oversized_cached_file_is_not_read_whole(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    folder = fill(tmp_path / "tiny", gz_files(tiny))
    (folder / NAMES[1]).write_bytes(b"\x1f\x8b" + bytes(10**6))  # far more than 20 labels
    with pytest.raises(DownloadError, match=r"is larger than train-labels-idx1-ubyte\.gz can be"):
        raw(tiny.spec((server.url("missing"),)), tmp_path)


# ----------------------------------------------------------------------------- 2. read-only, full


@pytest.fixture
def shared_root() -> Iterator[Path]:
    """A data folder that the user "nobody" may enter (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="nnlib-shared-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        for path in (root, *root.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(root)


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` cannot be written by this process inside the block, even as root.

    Root ignores permission bits, so root also switches its effective user and
    group to nobody (seteuid: reversible, unlike setuid) until the block ends.
    """
    folder.chmod(0o555)
    switched = False
    try:
        if os.geteuid() == 0:
            try:
                os.setegid(NOBODY)
                os.seteuid(NOBODY)
                switched = True
            except OSError as err:
                pytest.skip(f"cannot switch to the user nobody here: {err}")
        try:
            (folder / ".probe").touch()
        except PermissionError:
            pass
        else:
            (folder / ".probe").unlink()
            pytest.skip(f"{folder} stays writable: cannot test a read-only folder here")
        yield
    finally:
        if switched:
            os.seteuid(0)
            os.setegid(0)
        folder.chmod(0o755)


def test_read_only_folder_with_good_files_loads_with_one_warning(
    server, tiny, tmp_path, shared_root, caplog
):
    spec = tiny.spec((server.url("a"),))  # serves nothing: the cache must be enough
    raw(spec, fill(tmp_path / "warm" / "tiny", gz_files(tiny)).parent)  # imports done as root
    folder = fill(shared_root / "tiny", gz_files(tiny))

    with read_only(folder), caplog.at_level(logging.WARNING, logger="nnlib.mnist"):
        x, *_ = raw(spec, shared_root)
    np.testing.assert_array_equal(x, tiny.x_train)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "could not write the fast cache" in warnings[0]
    assert str(folder / "tiny.npz") in warnings[0]
    assert "NNLIB_DATA_DIR" in warnings[0]
    assert server.requests == []
    assert files_in(shared_root) == sorted(f"tiny/{n}" for n in NAMES)


@pytest.mark.parametrize("content", ["empty", "bad file", "no folder"])
def test_read_only_folder_that_needs_a_download_says_so(
    server, tiny, tmp_path, shared_root, content
):
    server.serve("a", gz_files(tiny))
    spec = tiny.spec((server.url("a"), server.url("b")))
    raw(spec, tmp_path)  # imports done as root
    server.requests.clear()
    if content == "no folder":  # the data folder would have to be created in a read-only one
        guarded, folder = shared_root, shared_root / "tiny"
    else:
        guarded = folder = fill(shared_root / "tiny", {})
    if content == "bad file":
        (folder / NAMES[0]).write_bytes(gzip.compress(b"not the data"))

    with read_only(guarded), pytest.raises(DataDirError) as info:
        raw(spec, shared_root)
    message = str(info.value)
    assert f"the data folder {folder} is not writable" in message
    assert "NNLIB_DATA_DIR" in message and "data_dir=" in message
    assert not isinstance(info.value, DownloadError)
    assert info.value.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    assert server.requests == []  # nothing downloaded just to be thrown away
    if content == "bad file":
        assert f"{folder / NAMES[0]}: " in message and "could not be removed" in message


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG])
def test_full_disk_is_a_local_error_not_a_mirror_failure(server, tiny, tmp_path, monkeypatch, code):
    server.serve("a", gz_files(tiny))
    server.serve("b", gz_files(tiny))

    def full(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", full)  # where a full disk shows at the latest
    with pytest.raises(DataDirError, match="the disk is full") as info:
        raw(tiny.spec((server.url("a"), server.url("b"))), tmp_path)
    assert info.value.errno == code
    assert str(tmp_path / "tiny") in str(info.value)
    assert server.requests == [f"/a/{NAMES[0]}"]  # not retried, no other mirror
    assert files_in(tmp_path) == []  # no temporary file left behind


def test_full_disk_for_the_npz_still_loads(server, tiny, tmp_path, monkeypatch, caplog):
    fill(tmp_path / "tiny", gz_files(tiny))

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with caplog.at_level(logging.WARNING, logger="nnlib.mnist"):
        np.testing.assert_array_equal(raw(tiny.spec((server.url("a"),)), tmp_path)[1], tiny.t_train)
    assert "the disk is full" in caplog.text
    assert files_in(tmp_path) == sorted(f"tiny/{n}" for n in NAMES)


# ----------------------------------------------------------------------------- 3. size bound


@pytest.mark.parametrize(
    "route",
    [
        Route(b"\x1f\x8b" + b"x" * 4096, send_length=False, endless=True),
        Route(b"\x1f\x8b" + b"x" * 100, content_length=10**12),
    ],
    ids=["endless body", "huge Content-Length"],
)
def test_oversized_body_is_abandoned(server, tiny, tmp_path, route):
    server.routes[f"/huge/{NAMES[0]}"] = route
    server.serve("good", gz_files(tiny))
    spec = tiny.spec((server.url("huge"), server.url("good")))

    np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    assert [p for p in server.requests if p.endswith(NAMES[0])] == [
        f"/huge/{NAMES[0]}",  # not retried
        f"/good/{NAMES[0]}",
    ]
    with pytest.raises(DownloadError) as info:
        raw(tiny.spec((server.url("huge"),)), tmp_path / "again")
    bound = mnist._max_download_bytes(spec.train_images)
    assert f"{bound:,}" in str(info.value)
    mnist_images = mnist.DATASETS["mnist"].train_images
    assert mnist_images.size < mnist._max_download_bytes(mnist_images) < 1.02 * mnist_images.size


def test_uncompressed_file_fits_the_bound(tiny):
    spec = tiny.spec(("http://unused/",))
    for file in spec.files:
        assert len(tiny.idx[file.name]) <= mnist._max_download_bytes(file)
        assert len(tiny.gz(file.name)) <= mnist._max_download_bytes(file)


# ----------------------------------------------------------------------------- 4. speed limit


@pytest.fixture
def speed_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """1 KB/s over 1 s instead of 30 s: the same rule, quick enough for a test."""
    monkeypatch.delenv("NNLIB_SPEED_LIMIT", raising=False)
    monkeypatch.delenv("NNLIB_SPEED_TIME", raising=False)
    monkeypatch.setattr(mnist, "SPEED_LIMIT_BPS", 1024)
    monkeypatch.setattr(mnist, "SPEED_TIME_S", 1.0)


def trickle(body: bytes) -> Route:
    return Route(body, chunk_bytes=20, chunk_delay_s=0.05)  # 400 bytes/s


def test_slow_mirror_is_abandoned_for_the_next(server, tiny, tmp_path, speed_rule):
    server.routes[f"/slow/{NAMES[0]}"] = trickle(tiny.gz(NAMES[0]))  # would take ~40 s
    server.serve("good", gz_files(tiny))
    spec = tiny.spec((server.url("slow"), server.url("good")))

    start = time.perf_counter()
    np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    assert time.perf_counter() - start < 10  # about 1 s (the rule) plus the rest
    assert [p for p in server.requests if p.endswith(NAMES[0])] == [
        f"/slow/{NAMES[0]}",  # not retried: it would be as slow again
        f"/good/{NAMES[0]}",
    ]


def test_slow_mirror_message_and_timing(server, tiny, tmp_path, speed_rule):
    server.routes[f"/slow/{NAMES[0]}"] = trickle(tiny.gz(NAMES[0]))
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="too slow") as info:
        raw(tiny.spec((server.url("slow"),)), tmp_path)
    elapsed = time.perf_counter() - start
    assert 1.0 <= elapsed < 5.0
    assert "NNLIB_SPEED_LIMIT" in str(info.value)
    assert files_in(tmp_path) == []


def test_speed_rule_from_the_environment(server, tiny, tmp_path, monkeypatch, speed_rule):
    server.routes[f"/slow/{NAMES[0]}"] = trickle(tiny.gz(NAMES[0]))
    server.routes[f"/slow/{NAMES[3]}"] = trickle(tiny.gz(NAMES[3]))  # 0.1 s at this speed
    server.serve("slow", {n: tiny.gz(n) for n in NAMES[1:3]})
    monkeypatch.setenv("NNLIB_SPEED_LIMIT", "100000")  # the variables beat the module's values
    monkeypatch.setenv("NNLIB_SPEED_TIME", "0.2")
    start = time.perf_counter()
    with pytest.raises(DownloadError, match=r"below the limit of 100,000 bytes/s over 0\.2 s"):
        raw(tiny.spec((server.url("slow"),)), tmp_path)
    assert time.perf_counter() - start < 1.0

    server.routes[f"/slow/{NAMES[0]}"] = Route(tiny.gz(NAMES[0]))
    monkeypatch.setenv("NNLIB_SPEED_LIMIT", "0")  # 0 switches the rule off
    np.testing.assert_array_equal(raw(tiny.spec((server.url("slow"),)), tmp_path)[3], tiny.t_test)

    monkeypatch.setenv("NNLIB_SPEED_LIMIT", "1 KB")
    with pytest.raises(ValueError, match="NNLIB_SPEED_LIMIT must be a number"):
        raw(tiny.spec((server.url("slow"),)), tmp_path / "again")


# ----------------------------------------------------------------------------- 5. smaller ones


def npz_bytes(arrays: dict[str, bytes]) -> bytes:
    """An .npz (a zip of .npy files) from raw .npy bytes, which may lie in their headers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, npy in arrays.items():
            archive.writestr(f"{key}.npy", npy)
    return buffer.getvalue()


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def built_npz(tiny: TinyDataset, spec: mnist.DatasetSpec) -> dict[str, bytes]:
    return {
        "x_train": npy(tiny.x_train),
        "t_train": npy(tiny.t_train),
        "x_test": npy(tiny.x_test),
        "t_test": npy(tiny.t_test),
        "sha256": npy(np.array([f.sha256 for f in spec.files])),
    }


def test_npz_claiming_a_huge_array_is_rebuilt(server, tiny, tmp_path, caplog):
    spec = tiny.spec((server.url("a"),))
    folder = fill(tmp_path / "tiny", gz_files(tiny))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header,
        {"descr": "|u1", "fortran_order": False, "shape": (2**45,)},  # 32 TiB
    )
    (folder / "tiny.npz").write_bytes(
        npz_bytes({**built_npz(tiny, spec), "x_train": header.getvalue() + b"\x00" * 64})
    )
    with caplog.at_level(logging.WARNING, logger="nnlib.mnist"):
        np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    assert "x_train is uint8 (35184372088832,)" in caplog.text
    assert server.requests == []
    assert mnist._read_npz(spec, folder) is not None  # rebuilt


def test_npz_with_altered_pixels_is_not_trusted(server, tiny, tmp_path, caplog):
    spec = tiny.spec((server.url("a"),))
    folder = fill(tmp_path / "tiny", gz_files(tiny))
    altered = tiny.x_train.copy()
    altered[3, 14, 14] ^= 1  # one bit; the recorded source hashes are all right
    (folder / "tiny.npz").write_bytes(npz_bytes({**built_npz(tiny, spec), "x_train": npy(altered)}))

    with caplog.at_level(logging.WARNING, logger="nnlib.mnist"):
        np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    assert f"its copy of {NAMES[0]} does not have the published SHA-256" in caplog.text
    assert mnist._read_npz(spec, folder) is not None  # rebuilt from the verified .gz


def test_stale_temporary_files_are_removed(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    folder = fill(tmp_path / "tiny", {})
    two_hours_ago = time.time() - 7200
    names = {
        "stale": [f".{NAMES[0]}.k1ll3d.tmp", ".tiny.npz.k1ll3d.tmp"],
        "young": [f".{NAMES[1]}.wr1t1ng.tmp"],  # another process may be writing it now
        "not ours": [".notes.txt.old.tmp", "backup.tmp"],
    }
    for kind, paths in names.items():
        for name in paths:
            (folder / name).write_bytes(b"half")
            if kind != "young":
                os.utime(folder / name, (two_hours_ago, two_hours_ago))

    raw(tiny.spec((server.url("a"),)), tmp_path)
    left = {p.name for p in folder.iterdir()}
    assert not left & set(names["stale"])
    assert set(names["young"] + names["not ours"]) <= left


@pytest.mark.parametrize("mirror", ["data/mnist", "/srv/mnist", "ftp://example.org/mnist"])
def test_a_mirror_that_is_not_a_url_is_not_retried(tiny, tmp_path, monkeypatch, mirror):
    monkeypatch.setattr(mnist, "RETRY_DELAY_S", 30.0)  # a retry would show in the time
    monkeypatch.setenv("NNLIB_TEST_TINY_MIRROR", mirror)
    start = time.perf_counter()
    with pytest.raises(DownloadError, match=r"not an http:// or https:// URL") as info:
        raw(tiny.spec(("http://unused/",)), tmp_path)
    assert time.perf_counter() - start < 5
    assert len(info.value.failures) == 1


def test_redirect_loop_is_not_retried(server, tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "RETRY_DELAY_S", 30.0)
    path = f"/loop/{NAMES[0]}"
    server.routes[path] = Route(status=302, headers={"Location": path})
    with pytest.raises(DownloadError, match="redirect loop") as info:
        raw(tiny.spec((server.url("loop"),)), tmp_path)
    assert len(info.value.failures) == 1
    assert len(server.requests) == 31  # requests' own limit of 30 redirects, once


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", b"<html><body>Please sign in</body></html>"),
        ("application/octet-stream", b"\n  <!DOCTYPE html><html>Proxy login</html>"),
    ],
)
def test_html_page_is_named_as_such(server, tiny, tmp_path, content_type, body):
    server.routes[f"/portal/{NAMES[0]}"] = Route(body, content_type=content_type)
    with pytest.raises(DownloadError, match="served an HTML page") as info:
        raw(tiny.spec((server.url("portal"),)), tmp_path)
    assert "captive portal" in str(info.value)
    assert len(server.requests) == 1
    assert files_in(tmp_path) == []


def test_local_dirs_and_default_speed_rule_are_documented():
    readme = (REPO_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for needle in ("NNLIB_SPEED_LIMIT", "NNLIB_SPEED_TIME", "read-only", "trust"):
        assert needle in readme
    assert (mnist.SPEED_LIMIT_BPS, mnist.SPEED_TIME_S) == (1024, 30.0)


def test_mirror_server_stops_endless_bodies():
    with MirrorServer() as mirror:
        mirror.routes["/x"] = Route(b"x" * 10, send_length=False, endless=True)
    assert mirror._stopping.is_set()
