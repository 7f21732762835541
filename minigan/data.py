"""MNIST for minigan: find, download, verify, load (NumPy only).

The four gzip'd IDX files of MNIST are looked up, file by file, in these
folders, in this order; the first folder that holds a file wins:

1. the ``data_dir`` argument, when one is given;
2. the folder named by the environment variable ``MINIGAN_DATA_DIR``, when set;
3. the user cache, ``$XDG_CACHE_HOME/minigan/mnist`` (``~/.cache/minigan/mnist``
   when ``XDG_CACHE_HOME`` is unset).

In each folder a file may be gzip'd (``train-images-idx3-ubyte.gz``) or already
decompressed (``train-images-idx3-ubyte``). A file found nowhere is downloaded,
when ``download=True``, into the *first* folder of that list (the one you named
most explicitly, never silently somewhere else) from the mirrors in
:data:`MIRRORS`; it is written to a temporary file and moved into place only once
its checksum matches. When that folder cannot be written, or every mirror fails,
:class:`MNISTNotFoundError` says what was searched and how to fix it.

Every file is checked against the sha256 of its *decompressed* IDX bytes (mirrors
sometimes recompress the ``.gz``, so its bytes may differ). A corrupt or truncated
file raises :class:`MNISTChecksumError` naming the file.

Arrays come back as NumPy arrays; move them to the GPU yourself.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

__all__ = [
    "DataError",
    "MNISTNotFoundError",
    "MNISTChecksumError",
    "MIRRORS",
    "FILES",
    "SHA256",
    "cache_dir",
    "search_dirs",
    "load_mnist_uint8",
    "load_mnist",
    "batches",
    "clear_cache",
]

#: Mirrors tried in order; each serves ``<mirror><name>.gz``.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: split -> (images file, labels file), names without ``.gz``.
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: sha256 of the *decompressed* IDX bytes of each file.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_MAGIC = {2051: 3, 2049: 1}  # IDX magic (unsigned bytes) -> number of dimensions
_TIMEOUT_S = 30              # per network operation
_CACHE: dict = {}            # (resolved path, size, mtime, name) -> (read-only array, verified)


class DataError(RuntimeError):
    """Base class of the data-loading errors of minigan."""


class MNISTNotFoundError(DataError, FileNotFoundError):
    """An MNIST file is in none of the folders searched and could not be downloaded."""


class MNISTChecksumError(DataError):
    """An MNIST file is corrupt or truncated (bad gzip, wrong size or wrong sha256)."""


# --------------------------------------------------------------------------- where


def cache_dir() -> Path:
    """Return the user cache folder for MNIST.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/minigan/mnist`` when ``XDG_CACHE_HOME`` is set to an
        absolute path, else ``~/.cache/minigan/mnist``.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore relative values
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minigan" / "mnist"


def search_dirs(data_dir=None) -> list:
    """Return the folders searched for MNIST, in order (see the module docstring).

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Folder that comes first when given.

    Returns
    -------
    list of pathlib.Path
        ``data_dir``, then ``$MINIGAN_DATA_DIR``, then :func:`cache_dir`,
        leaving out those not given and duplicates.
    """
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get("MINIGAN_DATA_DIR"):
        dirs.append(Path(os.environ["MINIGAN_DATA_DIR"]).expanduser())
    dirs.append(cache_dir())
    return list(dict.fromkeys(dirs))  # drop duplicates, keep order


def _check_named_folders(data_dir):
    """A folder the user named (``data_dir``, ``$MINIGAN_DATA_DIR``) must exist: a typo is not a new folder.

    Only the default cache folder is ever created (to download into).
    """
    for what, folder in (("--data-dir (data_dir)", data_dir), ("MINIGAN_DATA_DIR", os.environ.get("MINIGAN_DATA_DIR"))):
        if folder and not Path(folder).expanduser().is_dir():
            raise MNISTNotFoundError(f"{what} {os.fspath(folder)!r} is not an existing folder: point it at the "
                                     "folder that holds the MNIST files (only the default cache "
                                     f"{cache_dir()} is created for a download)")


def _find(name, dirs):
    """First existing ``<dir>/<name>.gz`` or ``<dir>/<name>``, or None."""
    for d in dirs:
        for path in (d / (name + ".gz"), d / name):
            if path.is_file():
                return path
    return None


def _not_found_message(name, dirs, problems):
    """Explain what was searched, what is needed and how to fix it."""
    wanted = [n + ".gz" for pair in FILES.values() for n in pair]
    lines = [f"MNIST file {name}(.gz) was not found.", "Folders searched, in order:"]
    lines += [f"  {d}" for d in dirs]
    lines += ["Files needed (gzip'd, or decompressed without .gz):"]
    lines += [f"  {n}" for n in wanted]
    lines += [problems, "Mirrors:"] + [f"  {m}" for m in MIRRORS]
    lines += [
        "To fix: copy the files (from any mirror) into one of the folders above, or point",
        "--data-dir (on the command line; data_dir= from Python) or MINIGAN_DATA_DIR at a folder that holds them.",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- download


def _fetch(url, out):
    """Stream ``url`` into the open binary file ``out`` (emptied first)."""
    out.seek(0)
    out.truncate()
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:
        size = response.headers.get("Content-Length")
        with tqdm(total=int(size) if size else None, unit="B", unit_scale=True,
                  desc=url.rsplit("/", 1)[-1], leave=False, disable=None) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(len(chunk))
    out.flush()


def _download(name, dirs):
    """Download ``name`` into ``dirs[0]``; return the path of the verified file."""
    folder, final = dirs[0], dirs[0] / (name + ".gz")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".part",
                                          delete=False)
    except OSError as e:
        msg = f"Could not download into {folder}: {e}"
        raise MNISTNotFoundError(_not_found_message(name, dirs, msg)) from e
    errors = []
    try:
        with tmp:
            for mirror in MIRRORS:
                url = mirror + name + ".gz"
                try:
                    _fetch(url, tmp)
                    _decode(Path(tmp.name), name, verify=True)  # raises unless it checks out
                    break
                except Exception as e:  # offline, HTTP error, bad payload: try the next mirror
                    errors.append(f"  {url}: {e}")
            else:
                msg = "\n".join([f"Downloading into {folder} failed from every mirror:"] + errors)
                raise MNISTNotFoundError(_not_found_message(name, dirs, msg))
        os.replace(tmp.name, final)  # only a verified file ever gets the final name
    finally:
        if os.path.exists(tmp.name):
            os.remove(tmp.name)
    return final


# --------------------------------------------------------------------------- read


def _decode(path, name, verify):
    """Read, decompress, verify and parse one IDX file into a read-only uint8 array."""
    raw = path.read_bytes()
    fix = "Delete it and download it again (or copy a good one in its place)."
    if raw[:2] == b"\x1f\x8b" or path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise MNISTChecksumError(f"{path} is not a valid gzip file ({e}). {fix}") from e
    if verify:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != SHA256[name]:
            raise MNISTChecksumError(
                f"{path}: sha256 of the decompressed data is {digest}, expected {SHA256[name]}."
                f" The file is corrupt or truncated. {fix}")
    magic = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
    ndim = _MAGIC.get(magic)
    if ndim is None or ndim != (3 if "images" in name else 1):
        raise MNISTChecksumError(f"{path}: not an MNIST IDX file (magic {magic}). {fix}")
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header]) if len(raw) >= header else ()
    if not dims or len(raw) != header + int(np.prod(dims)):
        raise MNISTChecksumError(
            f"{path}: {len(raw)} bytes do not match the IDX header {dims}: the file is"
            f" truncated or corrupt. {fix}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)  # read-only


def _load(path, name, verify):
    """:func:`_decode` through the in-process cache (keyed by path, size and mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, name)
    hit = _CACHE.get(key)
    if hit is not None and (hit[1] or not verify):
        return hit[0]
    array = _decode(path, name, verify)
    _CACHE[key] = (array, verify)
    return array


def clear_cache():
    """Forget the arrays kept by the in-process cache."""
    _CACHE.clear()


def load_mnist_uint8(split="train", data_dir=None, download=True, verify=True):
    """Load one MNIST split as raw bytes.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` (60000 images) or ``"test"`` (10000 images).
    data_dir : str or os.PathLike, optional
        Folder searched first (and downloaded into, if the files are missing).
    download : bool
        Download missing files from :data:`MIRRORS`.
    verify : bool
        Check the sha256 of the decompressed files (the IDX size is checked always).

    Returns
    -------
    images : numpy.ndarray, uint8, shape (N, 28, 28), read-only
    labels : numpy.ndarray, uint8, shape (N,), read-only
        Read-only because they are shared with the in-process cache; copy them
        to modify them.

    Raises
    ------
    MNISTNotFoundError
        A file is in no folder searched and could not be downloaded.
    MNISTChecksumError
        A file is corrupt or truncated.
    """
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    _check_named_folders(data_dir)
    dirs = search_dirs(data_dir)
    arrays = []
    for name in FILES[split]:
        path = _find(name, dirs)
        if path is None:
            if not download:
                msg = "Download was not attempted (download=False)."
                raise MNISTNotFoundError(_not_found_message(name, dirs, msg))
            path = _download(name, dirs)
        arrays.append(_load(path, name, verify))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels


def load_mnist(split="train", data_dir=None, download=True, limit=None, verify=True):
    """Load one MNIST split, scaled for a GAN.

    Pixels are mapped from {0, ..., 255} to [-1, 1], the range of the
    generator's ``tanh`` output:

    .. math:: x = p / 127.5 - 1

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` (60000 images) or ``"test"`` (10000 images).
    data_dir : str or os.PathLike, optional
        Folder searched first (see the module docstring).
    download : bool
        Download missing files.
    limit : int, optional
        Keep only the first ``limit`` images.
    verify : bool
        Check the sha256 of the files.

    Returns
    -------
    images : numpy.ndarray, float32, shape (N, 1, 28, 28), values in [-1, 1]
    labels : numpy.ndarray, int64, shape (N,), values 0..9
        Fresh arrays, safe to modify.
    """
    images, labels = load_mnist_uint8(split, data_dir, download, verify)
    if limit is not None:
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        images, labels = images[:limit], labels[:limit]
    x = images[:, None].astype(np.float32)  # (N, 1, 28, 28), a new array
    x /= 127.5
    x -= 1.0
    return x, labels.astype(np.int64)


# --------------------------------------------------------------------------- batches


def batches(images, labels=None, batch_size=64, shuffle=True, rng=None, drop_last=True):
    """Iterate over one epoch in minibatches.

    Parameters
    ----------
    images : numpy.ndarray, shape (N, ...)
    labels : numpy.ndarray, shape (N,), optional
    batch_size : int
    shuffle : bool
        Visit the examples in the order of a random permutation.
    rng : numpy.random.Generator or int, optional
        Source of the permutation (an int is a seed).
    drop_last : bool
        Leave out the last batch when it has fewer than ``batch_size`` examples.

    Returns
    -------
    iterator
        Of ``images[idx]``, or of ``(images[idx], labels[idx])`` when labels
        are given; every example appears at most once per epoch (exactly once
        unless dropped by ``drop_last``).
    """
    n = len(images)
    if labels is not None and len(labels) != n:
        raise ValueError(f"batches: {n} images but {len(labels)} labels")
    if batch_size < 1:
        raise ValueError(f"batches: batch_size must be >= 1, got {batch_size}")
    order = np.random.default_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    return _batch_iter(images, labels, order, batch_size, stop)


def _batch_iter(images, labels, order, batch_size, stop):
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield images[idx] if labels is None else (images[idx], labels[idx])
