"""nnlib.mnist against a loopback mirror serving small generated IDX files.

No test here touches the internet. The last one loads the real MNIST only when
NNLIB_MNIST_MIRROR points at a mirror (CI serves a local copy).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import nnlib.mnist as mnist
from nnlib.mnist import DownloadError, MNISTIntegrityError, parse_idx
from tests.mnist_server import MirrorServer, Route, TinyDataset

NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def _quiet_and_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNLIB_PROGRESS", "0")
    for proxy in ("NO_PROXY", "no_proxy"):  # a proxy set for the internet must not see loopback
        monkeypatch.setenv(proxy, "127.0.0.1,localhost")
    monkeypatch.delenv("NNLIB_TEST_TINY_MIRROR", raising=False)
    monkeypatch.setattr(mnist, "RETRY_DELAY_S", 0.0)
    monkeypatch.setattr(mnist, "READ_TIMEOUT_S", 5.0)


@pytest.fixture
def server() -> Iterator[MirrorServer]:
    with MirrorServer() as mirror:
        yield mirror


@pytest.fixture(scope="module")
def tiny() -> TinyDataset:
    return TinyDataset.generate()


def gz_files(tiny: TinyDataset) -> dict[str, bytes]:
    return {name: tiny.gz(name) for name in NAMES}


def raw(spec: mnist.DatasetSpec, data_dir: Path) -> tuple[np.ndarray, ...]:
    """uint8 (N, 28, 28) images and labels, as stored."""
    (x, t), (xt, tt) = mnist._load(spec, normalize=False, flatten=False, data_dir=data_dir)
    return x[:, 0], t, xt[:, 0], tt


def files_in(folder: Path) -> list[str]:
    """Every file below ``folder`` (hidden temporary files included)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_download_verifies_and_caches(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    x, t, xt, tt = raw(tiny.spec((server.url("a"),)), tmp_path)

    np.testing.assert_array_equal(x, tiny.x_train)
    np.testing.assert_array_equal(t, tiny.t_train)
    np.testing.assert_array_equal(xt, tiny.x_test)
    np.testing.assert_array_equal(tt, tiny.t_test)
    assert files_in(tmp_path) == sorted(f"tiny/{n}" for n in (*NAMES, "tiny.npz"))
    assert len(server.requests) == 4


def test_cache_hit_makes_no_request(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    spec = tiny.spec((server.url("a"),))
    raw(spec, tmp_path)
    server.requests.clear()

    np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    for name in NAMES:  # the npz alone is enough
        (tmp_path / "tiny" / name).unlink()
    np.testing.assert_array_equal(raw(spec, tmp_path)[3], tiny.t_test)
    assert server.requests == []


def test_unreadable_npz_is_rebuilt_from_the_gz_files(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    spec = tiny.spec((server.url("a"),))
    raw(spec, tmp_path)
    server.requests.clear()
    npz = tmp_path / "tiny" / "tiny.npz"
    npz.write_bytes(npz.read_bytes()[:1000])  # truncated

    np.testing.assert_array_equal(raw(spec, tmp_path)[0], tiny.x_train)
    assert server.requests == []
    with np.load(npz, allow_pickle=False) as rebuilt:
        assert rebuilt["x_train"].shape == (20, 28, 28)


def test_npz_built_from_other_data_is_rebuilt(server, tiny, tmp_path):
    other = TinyDataset.generate(seed=1)
    server.serve("a", gz_files(other))
    raw(other.spec((server.url("a"),)), tmp_path)  # same name "tiny", other hashes
    server.serve("b", gz_files(tiny))
    for name in NAMES:
        (tmp_path / "tiny" / name).unlink()

    np.testing.assert_array_equal(raw(tiny.spec((server.url("b"),)), tmp_path)[0], tiny.x_train)


def test_npz_is_read_without_pickle(server, tiny, tmp_path, monkeypatch):
    server.serve("a", gz_files(tiny))
    spec = tiny.spec((server.url("a"),))
    raw(spec, tmp_path)
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    raw(spec, tmp_path)
    assert calls == [False]


def test_next_mirror_after_404_and_500(server, tiny, tmp_path):
    server.serve("broken", dict.fromkeys(NAMES, b"oops"), status=500)
    server.serve("good", gz_files(tiny))
    spec = tiny.spec((server.url("missing"), server.url("broken"), server.url("good")))

    np.testing.assert_array_equal(raw(spec, tmp_path)[1], tiny.t_train)
    first = [p for p in server.requests if p.endswith(NAMES[0])]
    # a 404 is not retried, a 500 is (once), then the next mirror
    assert first == [
        f"/missing/{NAMES[0]}",
        f"/broken/{NAMES[0]}",
        f"/broken/{NAMES[0]}",
        f"/good/{NAMES[0]}",
    ]


def test_mirror_env_replaces_the_list(server, tiny, tmp_path, monkeypatch):
    server.serve("env", gz_files(tiny))
    monkeypatch.setenv("NNLIB_TEST_TINY_MIRROR", server.url("env").rstrip("/"))  # no slash
    spec = tiny.spec((server.url("listed"),))

    raw(spec, tmp_path)
    assert all(p.startswith("/env/") for p in server.requests)


def test_corrupted_payload_is_refused_and_nothing_cached(server, tiny, tmp_path):
    files = gz_files(tiny)
    altered = bytearray(tiny.idx[NAMES[0]])
    altered[1000] ^= 1  # one pixel, one bit
    files[NAMES[0]] = gzip.compress(bytes(altered))
    server.serve("a", files)
    spec = tiny.spec((server.url("a"),))

    with pytest.raises(DownloadError) as info:
        raw(spec, tmp_path)
    message = str(info.value)
    assert NAMES[0] in message
    assert server.url("a") + NAMES[0] in message
    assert spec.train_images.sha256 in message
    assert hashlib.sha256(altered).hexdigest() in message
    assert files_in(tmp_path) == []
    assert len(server.requests) == 1  # a wrong hash is not retried on the same mirror


def test_transfer_cut_short_is_refused(server, tiny, tmp_path):
    body = tiny.gz(NAMES[0])
    server.routes[f"/a/{NAMES[0]}"] = Route(body[:300], content_length=len(body))

    with pytest.raises(DownloadError, match=NAMES[0]):
        raw(tiny.spec((server.url("a"),)), tmp_path)
    assert files_in(tmp_path) == []
    assert len(server.requests) == 2  # retried once


def test_truncated_gzip_is_refused(server, tiny, tmp_path):
    files = gz_files(tiny)
    files[NAMES[0]] = files[NAMES[0]][:-20]  # complete transfer of an incomplete gzip
    server.serve("a", files)

    with pytest.raises(DownloadError, match="not a complete gzip file"):
        raw(tiny.spec((server.url("a"),)), tmp_path)
    assert files_in(tmp_path) == []


def test_offline_message_says_what_to_do(server, tiny, tmp_path):
    spec = tiny.spec((server.url("a"), server.url("b")))
    with pytest.raises(DownloadError) as info:
        raw(spec, tmp_path)
    message = str(info.value)
    for name in NAMES:
        assert name in message
    assert str(tmp_path / "tiny") in message
    assert "NNLIB_TEST_TINY_MIRROR" in message
    assert "HTTP 404" in message
    assert [source for source, _ in info.value.failures] == [
        server.url("a") + NAMES[0],
        server.url("b") + NAMES[0],
    ]


def test_real_mnist_offline_message_names_its_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLIB_MNIST_MIRROR", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setattr(mnist, "ATTEMPTS_PER_MIRROR", 1)
    with pytest.raises(DownloadError, match="NNLIB_MNIST_MIRROR") as info:
        mnist.load_mnist(data_dir=tmp_path)
    assert str(tmp_path / "mnist") in str(info.value)
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_regzipped_or_uncompressed_copies_pass(server, tiny, tmp_path):
    files = {name: gzip.compress(tiny.idx[name], compresslevel=1, mtime=123) for name in NAMES}
    files[NAMES[1]] = tiny.idx[NAMES[1]]  # served without gzip at all
    assert files[NAMES[0]] != tiny.gz(NAMES[0])
    server.serve("a", files)

    np.testing.assert_array_equal(raw(tiny.spec((server.url("a"),)), tmp_path)[0], tiny.x_train)


def test_bad_file_in_the_cache_is_replaced(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / NAMES[0]).write_bytes(gzip.compress(b"not the data"))
    for name in NAMES[1:]:
        (folder / name).write_bytes(tiny.gz(name))  # good copies: used, not downloaded

    np.testing.assert_array_equal(raw(tiny.spec((server.url("a"),)), tmp_path)[0], tiny.x_train)
    assert server.requests == [f"/a/{NAMES[0]}"]
    assert (folder / NAMES[0]).read_bytes() == tiny.gz(NAMES[0])


def test_local_dir_is_used_instead_of_downloading(server, tiny, tmp_path):
    system = tmp_path / "usr-share-datasets"
    system.mkdir()
    for name in NAMES:
        (system / name).write_bytes(tiny.gz(name))
    spec = tiny.spec((server.url("a"),), local_dirs=(str(system),))

    np.testing.assert_array_equal(raw(spec, tmp_path / "data")[2], tiny.x_test)
    assert server.requests == []
    assert files_in(tmp_path / "data") == ["tiny/tiny.npz"]


def test_interrupted_write_leaves_no_file(server, tiny, tmp_path, monkeypatch):
    server.serve("a", gz_files(tiny))

    def interrupted(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        raw(tiny.spec((server.url("a"),)), tmp_path)
    assert files_in(tmp_path) == sorted(f"tiny/{n}" for n in NAMES)  # verified .gz only


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:6], "too short"),
        (lambda b: b"\x00\x00\x08\x01" + b[4:], "magic number 0x00000801"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b + b"\x00", "trailing garbage"),
    ],
)
def test_parse_idx_errors_name_the_file(tiny, damage, message):
    data = damage(tiny.idx[NAMES[0]])
    with pytest.raises(MNISTIntegrityError, match=message) as info:
        parse_idx(data, "images", name="train-images-idx3-ubyte.gz")
    assert "train-images-idx3-ubyte.gz" in str(info.value)


def test_parse_idx_checks_dimensions_and_count(tiny):
    from tests.mnist_server import idx_images

    with pytest.raises(MNISTIntegrityError, match="28×28"):
        parse_idx(idx_images(np.zeros((2, 28, 27), np.uint8)), "images")
    with pytest.raises(MNISTIntegrityError, match="holds 10 labels, expected 11"):
        parse_idx(tiny.idx[NAMES[3]], "labels", count=11)
    labels = parse_idx(tiny.idx[NAMES[3]], "labels", count=10)
    np.testing.assert_array_equal(labels, tiny.t_test)


def test_flags(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    spec = tiny.spec((server.url("a"),))

    (x, t), (xt, _) = mnist._load(spec, data_dir=tmp_path)  # the defaults
    assert (x.shape, x.dtype, xt.shape) == ((20, 784), np.float32, (10, 784))
    assert (t.shape, t.dtype) == ((20,), np.uint8)
    assert x.max() == 1.0 and xt.min() == 0.0  # exactly
    np.testing.assert_array_equal(x, tiny.x_train.reshape(20, 784).astype(np.float32) / 255)

    (x, t), _ = mnist._load(spec, flatten=False, one_hot_label=True, data_dir=tmp_path)
    assert x.shape == (20, 1, 28, 28)
    assert (t.shape, t.dtype) == ((20, 10), np.float32)
    np.testing.assert_array_equal(t.argmax(axis=1), tiny.t_train)

    (x, t), _ = mnist._load(spec, one_hot_label=True, dtype=np.float64, data_dir=tmp_path)
    assert x.dtype == t.dtype == np.float64

    (x, t), _ = mnist._load(spec, normalize=False, data_dir=tmp_path)
    assert x.dtype == np.uint8 and x.flags.writeable and t.flags.writeable
    np.testing.assert_array_equal(x, tiny.x_train.reshape(20, 784))

    with pytest.raises(ValueError, match="floating-point"):
        mnist._load(spec, dtype=np.int32, data_dir=tmp_path)


def test_first_load_returns_writable_arrays(server, tiny, tmp_path):
    server.serve("a", gz_files(tiny))
    (x, t), _ = mnist._load(tiny.spec((server.url("a"),)), normalize=False, data_dir=tmp_path)
    x[0, 0] = 1  # straight from the IDX bytes, these were read-only views
    t[0] = 1


def test_data_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("NNLIB_DATA_DIR", str(tmp_path))
    assert mnist.default_data_dir() == tmp_path
    monkeypatch.delenv("NNLIB_DATA_DIR")
    repo = Path(mnist.__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        assert mnist.default_data_dir() == repo / "data"


def test_registry_holds_the_published_hashes():
    spec = mnist.DATASETS["mnist"]
    assert [f.name for f in spec.files] == list(NAMES)
    assert spec.train_images.sha256.startswith("ba891046e650")
    assert spec.test_labels.sha256.startswith("ff7bcfd416de")
    assert [f.count for f in spec.files] == [60_000, 60_000, 10_000, 10_000]
    assert spec.mirrors[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"
    fashion = mnist.DATASETS["fashion-mnist"]
    assert [f.name for f in fashion.files] == list(NAMES)
    assert len(mnist.FASHION_MNIST_CLASSES) == 10 == len(mnist.MNIST_CLASSES)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NNLIB_MNIST_MIRROR"), reason="needs NNLIB_MNIST_MIRROR")
def test_real_mnist(tmp_path):
    (x, t), (xt, tt) = mnist.load_mnist(data_dir=tmp_path)
    assert (x.dtype, x.shape, xt.shape) == (np.float32, (60_000, 784), (10_000, 784))
    assert 0.0 == x.min() and x.max() == 1.0
    train_counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(t).tolist() == train_counts
    assert np.bincount(tt).tolist() == test_counts

    start = time.perf_counter()
    (x2, _), _ = mnist.load_mnist(data_dir=tmp_path)
    assert time.perf_counter() - start < 2.0
    np.testing.assert_array_equal(x2, x)
