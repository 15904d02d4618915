"""MNIST and Fashion-MNIST: download once, verify, cache, load as numpy arrays.

Both data sets come as four gzipped IDX files (a tiny binary format: a magic
number, the dimensions, then raw uint8 bytes). This module

1. looks for each file in the cache folder (``data/mnist/`` in the course
   repository), then in read-only system folders (the Debian package
   ``dataset-fashion-mnist``), then downloads it from a list of mirrors;
2. checks the SHA-256 of the *decompressed* bytes, so a mirror that re-gzipped
   the genuine data passes and anything else is refused and never cached;
3. parses the IDX bytes with ``np.frombuffer`` (nothing is ever unpickled);
4. keeps a fast cache ``<name>.npz`` of the four uint8 arrays, so that the next
   load takes a fraction of a second.

Files are always written atomically (temporary file + ``os.replace``): an
interrupted download or a full disk never leaves a file that a later run trusts,
and several processes can share one folder. A download is bounded in size (the
IDX file plus slack) and in speed (``SPEED_LIMIT_BPS`` over ``SPEED_TIME_S``);
a folder that cannot be written is reported as such (:class:`DataDirError`),
never blamed on the mirrors. data/README.md describes every case.

Environment variables:

- ``NNLIB_DATA_DIR``: the folder holding one sub-folder per data set
  (default: ``data/`` at the repository root, else ``~/.cache/nnlib``).
- ``NNLIB_MNIST_MIRROR`` / ``NNLIB_FASHION_MNIST_MIRROR``: one base URL that
  replaces the list of mirrors (local classroom mirrors, CI).
- ``NNLIB_PROGRESS=0``: no progress bars.
- ``NNLIB_SPEED_LIMIT`` (bytes/s, 0: off) and ``NNLIB_SPEED_TIME`` (s): abandon a
  download slower than this on average over that long (default 1024 over 30).
"""

from __future__ import annotations

import errno
import glob
import gzip
import hashlib
import http.client
import io
import logging
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import requests
import urllib3

from nnlib.labels import one_hot
from nnlib.progress import progress_bar

__all__ = [
    "DATASETS",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "DataDirError",
    "DatasetSpec",
    "DownloadError",
    "IdxFile",
    "MNISTIntegrityError",
    "default_data_dir",
    "load_fashion_mnist",
    "load_mnist",
    "parse_idx",
]

log = logging.getLogger(__name__)

ROWS, COLS = 28, 28
NUM_CLASSES = 10
IMAGES_MAGIC = 0x00000803  # IDX: unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 0x00000801  # IDX: unsigned bytes, 1 dimension (count)
_GZIP_MAGIC = b"\x1f\x8b"

MNIST_CLASSES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Network settings. Module-level so that tests (and patient users) can change them.
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0  # longest wait for the next chunk, not for the whole file
ATTEMPTS_PER_MIRROR = 2  # one retry: transient errors (timeouts, HTTP 5xx) often pass
RETRY_DELAY_S = 1.0
CHUNK_BYTES = 64 * 1024
# Abandon a transfer that averages under SPEED_LIMIT_BPS over SPEED_TIME_S (curl's
# --speed-limit / --speed-time) and move on to the next mirror; 0 disables the rule.
# The environment variables NNLIB_SPEED_LIMIT and NNLIB_SPEED_TIME override them.
SPEED_LIMIT_BPS = 1024
SPEED_TIME_S = 30.0
STALE_TEMP_S = 3600.0  # our temporary files older than this were left by a killed process


class MNISTIntegrityError(ValueError):
    """A file is not the expected data: wrong hash, broken gzip or malformed IDX."""


class DownloadError(RuntimeError):
    """No source could provide a file. ``failures`` lists (source, what went wrong)."""

    def __init__(self, message: str, failures: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True)
class IdxFile:
    """One of the four files of an MNIST-like data set.

    ``sha256`` is the hash of the *decompressed* IDX bytes: the gzip wrapper
    differs between mirrors (compression level, timestamp), the data does not.
    """

    name: str  # file name on the mirrors and in the cache, e.g. "train-images-idx3-ubyte.gz"
    kind: Literal["images", "labels"]
    count: int  # number of images (count, 28, 28) or labels (count,)
    sha256: str

    @property
    def size(self) -> int:
        """Exact length in bytes of the decompressed IDX file."""
        if self.kind == "images":
            return 16 + self.count * ROWS * COLS  # 4 header words of 4 bytes
        return 8 + self.count  # 2 header words of 4 bytes


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the loader needs to know about one data set.

    Tests build their own spec for small generated files; users never need to.
    """

    name: str  # sub-folder of the data folder and name of the .npz cache
    title: str  # for messages
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    mirrors: tuple[str, ...]  # base URLs, tried in order
    mirror_env: str  # environment variable whose URL replaces ``mirrors``
    local_dirs: tuple[str, ...] = ()  # read-only folders tried before downloading
    offline_hint: str = ""  # extra advice for the "could not download" message

    @property
    def files(self) -> tuple[IdxFile, IdxFile, IdxFile, IdxFile]:
        """The four files, in the order train images, train labels, test images, test labels."""
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        train_images=IdxFile(
            "train-images-idx3-ubyte.gz",
            "images",
            60_000,
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        train_labels=IdxFile(
            "train-labels-idx1-ubyte.gz",
            "labels",
            60_000,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        test_images=IdxFile(
            "t10k-images-idx3-ubyte.gz",
            "images",
            10_000,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        test_labels=IdxFile(
            "t10k-labels-idx1-ubyte.gz",
            "labels",
            10_000,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision's and the book's
            "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow Datasets'
            "http://yann.lecun.com/exdb/mnist/",  # the original, often unavailable
        ),
        mirror_env="NNLIB_MNIST_MIRROR",
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        # Hashes computed from the files of the Debian package dataset-fashion-mnist
        # (0.0~git20200523.55506a9-1), identical once decompressed to Zalando's files.
        train_images=IdxFile(
            "train-images-idx3-ubyte.gz",
            "images",
            60_000,
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        train_labels=IdxFile(
            "train-labels-idx1-ubyte.gz",
            "labels",
            60_000,
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        test_images=IdxFile(
            "t10k-images-idx3-ubyte.gz",
            "images",
            10_000,
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        test_labels=IdxFile(
            "t10k-labels-idx1-ubyte.gz",
            "labels",
            10_000,
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        mirror_env="NNLIB_FASHION_MNIST_MIRROR",
        local_dirs=("/usr/share/datasets/fashion-mnist",),
        offline_hint="On Debian/Ubuntu, `apt install dataset-fashion-mnist` also provides them.",
    ),
}

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------- public API


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dtype: npt.DTypeLike = np.float32,
    data_dir: str | os.PathLike[str] | None = None,
) -> Arrays:
    """The MNIST handwritten digits: ``(x_train, t_train), (x_test, t_test)``.

    Downloads and verifies the data on the first call, then loads it from the
    cache in well under a second.

    - ``x_train`` (60000, 784) and ``x_test`` (10000, 784) when ``flatten``,
      else (N, 1, 28, 28) (one colour channel, for convolutions);
      ``dtype`` pixels in [0, 1] when ``normalize``, else uint8 in 0..255.
    - ``t_train`` (60000,) and ``t_test`` (10000,) uint8 labels 0..9, or
      one-hot rows (N, 10) in ``dtype`` when ``one_hot_label``.

    ``data_dir`` is the folder holding one sub-folder per data set (default:
    see :func:`default_data_dir`); MNIST lives in ``<data_dir>/mnist``.
    Raises :class:`DownloadError` when no source provides a verified file, and
    :class:`DataDirError` when a download is needed but the folder cannot hold it.
    """
    return _load(
        DATASETS["mnist"],
        normalize=normalize,
        flatten=flatten,
        one_hot_label=one_hot_label,
        dtype=dtype,
        data_dir=data_dir,
    )


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dtype: npt.DTypeLike = np.float32,
    data_dir: str | os.PathLike[str] | None = None,
) -> Arrays:
    """Fashion-MNIST (Zalando): same shapes and flags as :func:`load_mnist`.

    Ten classes of clothing, named in ``FASHION_MNIST_CLASSES``. The files of
    the Debian package ``dataset-fashion-mnist`` are used when installed;
    otherwise they are downloaded. The data lives in ``<data_dir>/fashion-mnist``.
    """
    return _load(
        DATASETS["fashion-mnist"],
        normalize=normalize,
        flatten=flatten,
        one_hot_label=one_hot_label,
        dtype=dtype,
        data_dir=data_dir,
    )


def default_data_dir() -> Path:
    """The folder holding one sub-folder per data set.

    ``$NNLIB_DATA_DIR`` if set; else ``data/`` at the root of the course
    repository (the folder above ``nnlib/`` when it holds a ``pyproject.toml``);
    else ``~/.cache/nnlib`` (an installed nnlib has no repository around it).
    """
    env = os.environ.get("NNLIB_DATA_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    repo_root = Path(__file__).resolve().parent.parent
    if (repo_root / "pyproject.toml").is_file():
        return repo_root / "data"
    cache_home = os.environ.get("XDG_CACHE_HOME", "").strip() or Path.home() / ".cache"
    return Path(cache_home) / "nnlib"


def parse_idx(
    data: bytes,
    kind: Literal["images", "labels"],
    *,
    count: int | None = None,
    name: str = "IDX data",
) -> np.ndarray:
    """Decompressed IDX bytes -> uint8 images (N, 28, 28) or labels (N,).

    The header is big-endian: a magic number (0x00000803 for images,
    0x00000801 for labels), then the count, then for images rows and columns.
    Checks the magic number, the dimensions (28×28, and ``count`` if given)
    and the exact byte length; raises :class:`MNISTIntegrityError` naming
    ``name`` otherwise. The result is a read-only view of ``data`` (no copy).
    """
    magic, dims = (IMAGES_MAGIC, 3) if kind == "images" else (LABELS_MAGIC, 1)
    header_bytes = 4 + 4 * dims
    if len(data) < header_bytes:
        raise MNISTIntegrityError(
            f"{name}: {len(data)} bytes is too short for an IDX {kind} header "
            f"({header_bytes} bytes); the file is truncated or not an IDX file"
        )
    header = np.frombuffer(data, dtype=">u4", count=1 + dims)  # ">u4": big-endian uint32
    if int(header[0]) != magic:
        raise MNISTIntegrityError(
            f"{name}: magic number 0x{int(header[0]):08x}, expected 0x{magic:08x} "
            f"(IDX {kind}); this is not an MNIST {kind} file"
        )
    shape = tuple(int(d) for d in header[1:])
    if kind == "images" and shape[1:] != (ROWS, COLS):
        raise MNISTIntegrityError(f"{name}: images are {shape[1]}×{shape[2]}, expected 28×28")
    if count is not None and shape[0] != count:
        raise MNISTIntegrityError(f"{name}: holds {shape[0]} {kind}, expected {count}")
    expected_bytes = header_bytes + int(np.prod(shape))
    if len(data) != expected_bytes:
        raise MNISTIntegrityError(
            f"{name}: {len(data)} bytes, expected {expected_bytes} for {shape[0]} {kind}; "
            "the file is truncated or has trailing garbage"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)


# ----------------------------------------------------------------------------- loading


def _load(
    spec: DatasetSpec,
    *,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    dtype: npt.DTypeLike = np.float32,
    data_dir: str | os.PathLike[str] | None = None,
) -> Arrays:
    """Shared body of the public loaders, for any :class:`DatasetSpec`."""
    dtype = np.dtype(dtype)
    if normalize and dtype.kind != "f":
        raise ValueError(f"normalize=True needs a floating-point dtype, got {dtype}")
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = root / spec.name

    raw = _read_npz(spec, folder)
    if raw is None:
        raw = _build_npz(spec, folder)
    x_train, t_train, x_test, t_test = raw
    return (
        _prepare(x_train, t_train, normalize, flatten, one_hot_label, dtype),
        _prepare(x_test, t_test, normalize, flatten, one_hot_label, dtype),
    )


def _prepare(
    x: np.ndarray,
    t: np.ndarray,
    normalize: bool,
    flatten: bool,
    one_hot_label: bool,
    dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28) and labels (N,) -> what the flags ask for."""
    n = x.shape[0]
    if normalize:
        # One allocation, straight from uint8 to dtype: no float64 copy in between
        # (MNIST in float64 would be 440 MB). Exact division in place keeps 255 -> 1.0.
        x = x.astype(dtype)
        np.divide(x, 255, out=x)
    elif not x.flags.writeable:
        x = x.copy()  # arrays fresh from the IDX bytes are read-only views
    x = x.reshape(n, ROWS * COLS) if flatten else x.reshape(n, 1, ROWS, COLS)
    if one_hot_label:
        t = one_hot(t, NUM_CLASSES, dtype=dtype)
    elif not t.flags.writeable:
        t = t.copy()
    return x, t


_NPZ_KEYS = ("x_train", "t_train", "x_test", "t_test")


def _expected_shapes(spec: DatasetSpec) -> dict[str, tuple[int, ...]]:
    n_train, n_test = spec.train_images.count, spec.test_images.count
    return {
        "x_train": (n_train, ROWS, COLS),
        "t_train": (spec.train_labels.count,),
        "x_test": (n_test, ROWS, COLS),
        "t_test": (spec.test_labels.count,),
    }


def _idx_sha256(array: np.ndarray, kind: Literal["images", "labels"]) -> str:
    """SHA-256 of the IDX file that ``array`` was parsed from: header, then the raw bytes.

    The header is a function of the shape, so an array can be checked against the
    published hash of its IDX file without keeping the file.
    """
    magic = IMAGES_MAGIC if kind == "images" else LABELS_MAGIC
    digest = hashlib.sha256(np.array([magic, *array.shape], dtype=">u4").tobytes())
    digest.update(np.ascontiguousarray(array))  # no copy: the array is already contiguous
    return digest.hexdigest()


def _npz_header_problem(file: BinaryIO, spec: DatasetSpec) -> str | None:
    """Check every array's .npy header before numpy allocates anything; None when all fit.

    A header may claim any shape (say 32 TiB); reading it first means a hostile
    or damaged cache costs a rebuild, never a MemoryError.
    """
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    with zipfile.ZipFile(file) as archive:
        for key, shape in _expected_shapes(spec).items():
            with archive.open(f"{key}.npy") as member:
                reader = readers.get(np.lib.format.read_magic(member))
                if reader is None:
                    return f"{key} has an unsupported .npy format version"
                found_shape, fortran_order, dtype = reader(member)
            if found_shape != shape or dtype != np.uint8 or fortran_order:
                return f"{key} is {dtype} {found_shape}, expected uint8 {shape}"
    return None


def _read_npz(spec: DatasetSpec, folder: Path) -> tuple[np.ndarray, ...] | None:
    """The four uint8 arrays from the fast cache, or None if it is missing or unusable.

    Trusted only after the same check as the downloads: each array, with its IDX
    header in front, must have the published SHA-256 (about 0.1 s for MNIST).
    """
    path = folder / f"{spec.name}.npz"
    try:
        # allow_pickle=False: an .npz can hold pickled objects, and unpickling runs code.
        # We open the file ourselves: np.load leaks its own handle when the zip is broken.
        with path.open("rb") as file:
            problem = _npz_header_problem(file, spec)
            if problem is None:
                file.seek(0)
                with np.load(file, allow_pickle=False) as npz:
                    arrays = [npz[key] for key in _NPZ_KEYS]
    except FileNotFoundError:
        return None  # not built yet (or just replaced by another process: rebuild is safe)
    except (OSError, ValueError, KeyError, EOFError, MemoryError, zipfile.BadZipFile) as err:
        log.warning("rebuilding %s: it could not be read (%s)", path, err)
        return None
    if problem is None:
        for array, source in zip(arrays, spec.files, strict=True):
            if _idx_sha256(array, source.kind) != source.sha256:
                problem = f"its copy of {source.name} does not have the published SHA-256"
                break
    if problem is not None:
        log.warning("rebuilding %s: %s", path, problem)
        return None
    return tuple(arrays)


def _build_npz(spec: DatasetSpec, folder: Path) -> tuple[np.ndarray, ...]:
    """Fetch, verify and parse the four files, then write the fast cache (if we may)."""
    arrays = []
    for file in spec.files:
        data = _fetch(spec, file, folder)
        arrays.append(parse_idx(data, file.kind, count=file.count, name=file.name))
    contents = dict(zip(_NPZ_KEYS, arrays, strict=True))
    # The source hashes, for older nnlib versions that share this folder (a str array: no pickle).
    contents["sha256"] = np.array([f.sha256 for f in spec.files])
    path = folder / f"{spec.name}.npz"
    try:
        _atomic_write(path, lambda out: np.savez(out, **contents))
    except OSError as err:
        # A read-only class folder or a full disk: the data is verified and in memory,
        # so load it anyway; only the next load is slower (it parses the .gz files again).
        log.warning(
            "could not write the fast cache %s (%s); loading from the .gz files instead. "
            "Set NNLIB_DATA_DIR or pass data_dir= to use a folder you can write.",
            path,
            _local_reason(err),
        )
    return tuple(arrays)


# ----------------------------------------------------------------------------- fetching


def _fetch(spec: DatasetSpec, file: IdxFile, folder: Path) -> bytes:
    """The verified, decompressed bytes of ``file``: from the cache, a local folder or a mirror."""
    failures: list[tuple[str, str]] = []  # (source, what went wrong), for the final message

    data = _read_cached(folder / file.name, file, failures)
    if data is not None:
        return data

    for local_dir in spec.local_dirs:  # e.g. a Debian package: read in place, not copied
        path = Path(local_dir) / file.name
        if path.is_file():
            try:
                return _verified_idx_bytes(path.read_bytes(), file, source=str(path))
            except (OSError, MNISTIntegrityError) as err:
                failures.append((str(path), str(err)))

    # Before downloading anything: a folder we cannot write would waste the download.
    _check_writable(spec, file, folder, failures)
    for base in _mirrors(spec):
        url = base + file.name
        for attempt in range(1, ATTEMPTS_PER_MIRROR + 1):
            try:
                payload = _download(url, file)
                data = _verified_idx_bytes(payload, file, source=url)
            except _DOWNLOAD_ERRORS as err:
                failures.append((url, _describe(err)))
                if attempt == ATTEMPTS_PER_MIRROR or not _worth_retrying(err):
                    break  # on to the next mirror
                time.sleep(RETRY_DELAY_S * attempt)
                continue
            # Outside the try: writing is a local matter, never a reason to try another mirror.
            try:
                _atomic_write(folder / file.name, lambda out, body=payload: out.write(body))
            except OSError as err:
                raise _data_dir_error(spec, file, folder, err, failures) from err
            return data

    raise DownloadError(_offline_message(spec, file, folder, failures), failures)


def _read_cached(path: Path, file: IdxFile, failures: list[tuple[str, str]]) -> bytes | None:
    """The verified bytes of a cached file, or None (missing, unreadable or wrong).

    Safe when several processes share the folder: a file that vanishes or is
    replaced between two steps is simply missing, and a bad file is removed only
    if it is still the very file we read (not a good copy another process just put there).
    """
    try:
        with path.open("rb") as handle:
            identity = os.fstat(handle.fileno())
            payload = handle.read(_max_download_bytes(file) + 1)  # a huge file is not ours
    except FileNotFoundError:
        return None
    except OSError as err:  # unreadable (permissions): download a copy instead
        failures.append((str(path), _local_reason(err)))
        return None
    try:
        if len(payload) > _max_download_bytes(file):
            raise MNISTIntegrityError(f"{path} is larger than {file.name} can be")
        return _verified_idx_bytes(payload, file, source=str(path))
    except MNISTIntegrityError as err:
        # A cached file that fails its hash is never trusted again: remove it.
        try:
            now = os.stat(path)
            if (now.st_dev, now.st_ino) == (identity.st_dev, identity.st_ino):
                path.unlink()
            note = "removed"
        except FileNotFoundError:
            note = "removed"  # another process got there first
        except OSError as unlink_err:  # a read-only folder: leave it, download a good copy
            note = f"could not be removed: {_local_reason(unlink_err)}"
        log.warning("%s: %s (%s)", path, err, note)
        failures.append((str(path), f"{err} ({note})"))
        return None


def _check_writable(
    spec: DatasetSpec, file: IdxFile, folder: Path, failures: list[tuple[str, str]]
) -> None:
    """Raise :class:`DataDirError` unless a file can be created in ``folder``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{file.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        raise _data_dir_error(spec, file, folder, err, failures) from err


def _mirrors(spec: DatasetSpec) -> tuple[str, ...]:
    """Base URLs to try, each ending in "/": the environment variable's, else the spec's."""
    override = os.environ.get(spec.mirror_env, "").strip()
    bases = (override,) if override else spec.mirrors
    return tuple(base if base.endswith("/") else base + "/" for base in bases)


class _MirrorError(Exception):
    """What a mirror did wrong that requests does not detect itself."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry  # might asking the same mirror again help?


# Everything that can go wrong with one mirror; each sends us on to the next one.
# Nothing here is local: the file is written only after this list has been handled.
_DOWNLOAD_ERRORS = (
    requests.RequestException,  # connection refused, DNS, timeouts, HTTP 4xx/5xx, bad URLs
    urllib3.exceptions.HTTPError,  # raised while streaming the body (e.g. connection cut)
    http.client.HTTPException,  # a malformed response
    ConnectionError,  # socket errors that urllib3 did not wrap
    _MirrorError,  # cut short, too big, too slow, an HTML page
    MNISTIntegrityError,  # wrong hash, broken gzip
)


def _speed_rule() -> tuple[float, float]:
    """(bytes per second, seconds): abandon a transfer slower than the first over the second."""
    rule = []
    for variable, default in (
        ("NNLIB_SPEED_LIMIT", SPEED_LIMIT_BPS),
        ("NNLIB_SPEED_TIME", SPEED_TIME_S),
    ):
        text = os.environ.get(variable, "").strip()
        try:
            value = float(text) if text else float(default)
        except ValueError:
            raise ValueError(f"{variable} must be a number, got {text!r}") from None
        if not value >= 0:
            raise ValueError(f"{variable} must be at least 0, got {text!r}")
        rule.append(value)
    return rule[0], rule[1]


def _max_download_bytes(file: IdxFile) -> int:
    """The largest body worth reading: the IDX file itself (a mirror may serve it
    uncompressed) plus slack for a gzip wrapper around incompressible data."""
    return file.size + file.size // 100 + 64 * 1024


def _download(url: str, file: IdxFile) -> bytes:
    """GET ``url`` in chunks and return the body, within the size and speed limits.

    Raises a :class:`_MirrorError` for a body longer than the file can be, a
    transfer that is cut short, too slow (see ``SPEED_LIMIT_BPS``) or an HTML page.
    """
    limit, period = _speed_rule()
    read_timeout = min(READ_TIMEOUT_S, period) if limit > 0 and period > 0 else READ_TIMEOUT_S
    max_bytes = _max_download_bytes(file)
    with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_S, read_timeout)) as response:
        response.raise_for_status()
        content_type = response.headers.get("Content-Type", "")
        length = response.headers.get("Content-Length", "").strip()
        expected = int(length) if length.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise _MirrorError(
                f"announces {expected:,} bytes; {file.name} is at most {max_bytes:,} "
                "(this is not the expected file)",
                retry=False,
            )
        payload = bytearray()
        # read1: return what has arrived (up to CHUNK_BYTES) instead of waiting for a full
        # chunk, so that the speed check below also runs for a mirror that trickles.
        raw = response.raw
        read = raw.read1 if hasattr(raw, "read1") else raw.read  # urllib3 < 2 has no read1
        window_start, window_bytes = time.monotonic(), 0
        with progress_bar(
            total=expected, desc=file.name, unit="B", unit_scale=True, unit_divisor=1024
        ) as bar:
            while True:
                # decode_content=False: keep the bytes exactly as sent, even when a server
                # labels the .gz with "Content-Encoding: gzip"; we decompress it ourselves.
                chunk = read(CHUNK_BYTES, decode_content=False)
                if not chunk:
                    break
                payload += chunk
                bar.update(len(chunk))
                if len(payload) > max_bytes:
                    raise _MirrorError(
                        f"sent more than {max_bytes:,} bytes, longer than {file.name} "
                        "can be (this is not the expected file); stopped reading",
                        retry=False,
                    )
                window_bytes += len(chunk)
                elapsed = time.monotonic() - window_start
                if limit > 0 and elapsed >= period:
                    if window_bytes / elapsed < limit:
                        raise _MirrorError(
                            f"too slow: {window_bytes / elapsed:,.0f} bytes/s over the last "
                            f"{elapsed:.0f} s, below the limit of {limit:,.0f} bytes/s over "
                            f"{period:g} s (NNLIB_SPEED_LIMIT, NNLIB_SPEED_TIME); abandoned",
                            retry=False,
                        )
                    window_start, window_bytes = time.monotonic(), 0
    if expected is not None and len(payload) != expected:
        raise _MirrorError(
            f"transfer cut short: received {len(payload):,} of {expected:,} bytes", retry=True
        )
    if _looks_like_html(payload, content_type):
        raise _MirrorError(
            f"served an HTML page (Content-Type: {content_type or 'none'}), not {file.name}: "
            "often a Wi-Fi login page (captive portal) or a proxy asking to sign in. "
            "Open the URL in a browser to see it",
            retry=False,
        )
    return bytes(payload)


def _looks_like_html(payload: bytes | bytearray, content_type: str) -> bool:
    """True for a web page: gzip and IDX files start with bytes 0x1f and 0x00, never with '<'."""
    if payload[:2] == _GZIP_MAGIC or payload[:1] == b"\x00":
        return False
    return "html" in content_type.lower() or payload.lstrip()[:1] == b"<"


def _verified_idx_bytes(payload: bytes, file: IdxFile, *, source: str) -> bytes:
    """Decompress ``payload`` and check the SHA-256 of the result; return the IDX bytes."""
    if payload[:2] == _GZIP_MAGIC:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(payload)) as gz:
                # Read at most one byte more than the real file: a hostile "gzip bomb"
                # cannot fill the memory, and a longer file still fails the hash below.
                data = gz.read(file.size + 1)
        except (EOFError, OSError, zlib.error) as err:  # EOFError: the gzip is truncated
            raise MNISTIntegrityError(
                f"{file.name} from {source} is not a complete gzip file ({err})"
            ) from err
    else:
        data = payload  # a mirror may serve the IDX bytes uncompressed; the hash decides
    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        raise MNISTIntegrityError(
            f"{file.name} from {source} failed verification: the SHA-256 of its "
            f"decompressed bytes is {digest}, expected {file.sha256}"
        )
    return data


# Errors that will not go away by asking the same URL again a second later.
_PERMANENT_REQUEST_ERRORS = (
    requests.exceptions.MissingSchema,  # "data/mnist" instead of "http://…"
    requests.exceptions.InvalidSchema,  # "file://…", "ftp://…"
    requests.exceptions.InvalidURL,
    requests.exceptions.TooManyRedirects,  # a redirect loop
)


def _worth_retrying(err: Exception) -> bool:
    """Retry the same mirror only for errors that may not happen again."""
    if isinstance(err, (MNISTIntegrityError, *_PERMANENT_REQUEST_ERRORS)):
        return False  # the mirror would serve the same wrong bytes, the URL stays wrong
    if isinstance(err, _MirrorError):
        return err.retry
    if isinstance(err, requests.HTTPError) and err.response is not None:
        status = err.response.status_code
        return status >= 500 or status in (408, 429)  # not 403/404: they will not change
    if isinstance(err, requests.ConnectionError) and "NameResolutionError" in repr(err):
        return False  # no DNS (offline): asking again in a second will not help
    return True  # timeouts, refused or cut connections


def _describe(err: Exception) -> str:
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    if isinstance(err, requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema):
        return "not an http:// or https:// URL (for a folder of files, copy them into the cache)"
    if isinstance(err, requests.exceptions.TooManyRedirects):
        return "too many redirects (a redirect loop)"
    if isinstance(err, MNISTIntegrityError | _MirrorError):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _local_reason(err: OSError) -> str:
    """What a local OSError means, in words a student can act on."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk is full or the file too large ({err.strerror})"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not writable ({err.strerror})"
    return f"{type(err).__name__}: {err}"


class DataDirError(OSError):
    """The data folder cannot hold a downloaded file: read-only, not ours, or full.

    A local problem, not the mirror's: it is raised at once, without trying
    another mirror. ``errno`` is that of the underlying OSError, ``filename`` the folder.
    """

    def __str__(self) -> str:
        return str(self.strerror)  # OSError's own would be "[Errno 13] <message>: '<folder>'"


def _data_dir_error(
    spec: DatasetSpec, file: IdxFile, folder: Path, err: OSError, failures: list[tuple[str, str]]
) -> DataDirError:
    """The DataDirError for ``err``, saying what to do about it."""
    earlier = "".join(f"\n  - {source}: {problem}" for source, problem in failures)
    message = (
        f"Cannot save {file.name} for {spec.title}: the data folder {folder} is "
        f"{_local_reason(err)}.{' Before that:' + earlier if earlier else ''}\n"
        "Use a folder you can write: set the environment variable NNLIB_DATA_DIR to it "
        "(every call), or pass data_dir='/path/to/folder' to the loader (one call). "
        f"Or copy the four files into {folder}: they are then read in place. "
        "See data/README.md."
    )
    return DataDirError(err.errno, message, str(folder))


def _offline_message(
    spec: DatasetSpec, file: IdxFile, folder: Path, failures: list[tuple[str, str]]
) -> str:
    tried = "\n".join(f"  - {source}: {problem}" for source, problem in failures)
    names = "\n".join(
        f"    {f.name}{'' if (folder / f.name).is_file() else '   (missing)'}" for f in spec.files
    )
    return (
        f"Could not get {file.name} for {spec.title}. Tried:\n{tried or '  (no source)'}\n"
        f"To work offline, copy these files into {folder}:\n{names}\n"
        f"or set {spec.mirror_env} to a URL that serves them, e.g. run\n"
        "    python -m http.server --bind 127.0.0.1 --directory FOLDER_WITH_THE_FILES 8000\n"
        f"and set {spec.mirror_env}=http://127.0.0.1:8000/ . "
        f"{spec.offline_hint + ' ' if spec.offline_hint else ''}See data/README.md."
    )


def _remove_stale_temp_files(path: Path) -> None:
    """Delete our temporary files for ``path`` left by a killed process (older than an hour).

    Younger ones may belong to a process writing right now, in another terminal.
    """
    limit = time.time() - STALE_TEMP_S
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if stale.stat().st_mtime < limit:
                stale.unlink()
        except OSError:
            pass  # gone already, or not ours to delete: harmless


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it.

    ``os.replace`` is atomic: readers see the old file or the complete new one,
    never half of it, even if Python is killed while writing. Raises the OSError
    of the first step that fails (read-only folder, full disk), leaving nothing behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(path)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # not on Windows before Python 3.13
            os.fchmod(fd, 0o644)  # mkstemp creates 0600; a shared class folder needs 0644
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
