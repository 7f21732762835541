"""Tests of minigan.data: the real MNIST, the search order, downloads and failures.

The real-data tests read ``MINIGAN_DATA_DIR`` (CI points it at ``../shared/mnist``)
and are skipped when it is unset and no MNIST is found. Every other test builds
small fake IDX files in ``tmp_path`` and never touches the network.
"""
import gzip
import hashlib
import io
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from minigan import data
from minigan.data import DataError, MNISTChecksumError, MNISTNotFoundError, batches, load_mnist, load_mnist_uint8

TRAIN = data.FILES["train"]
TEST = data.FILES["test"]


# --------------------------------------------------------------------------- helpers


def idx_images(n, fill=None):
    """IDX bytes of n 28x28 uint8 images (pixel values 0..255 unless ``fill``)."""
    pixels = np.arange(n * 784) % 256 if fill is None else np.full(n * 784, fill)
    return struct.pack(">IIII", 2051, n, 28, 28) + pixels.astype(np.uint8).tobytes()


def idx_labels(n):
    """IDX bytes of n labels 0, 1, ..., 9, 0, ..."""
    return struct.pack(">II", 2049, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


def sha(raw):
    return hashlib.sha256(raw).hexdigest()


def write_split(folder, split="test", n=5, fill=None, compress=True):
    """Write a fake split into folder; return {name: decompressed bytes}."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = data.FILES[split]
    payloads = {images: idx_images(n, fill), labels: idx_labels(n)}
    for name, raw in payloads.items():
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return payloads


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep each test away from the user's cache, env and network; fresh memory cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MINIGAN_DATA_DIR", raising=False)

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    data.clear_cache()
    yield
    data.clear_cache()


@pytest.fixture
def fake_sums(monkeypatch):
    """Make the fake payloads of ``write_split(..., n)`` the expected ones."""
    def expect(split="test", n=5, fill=None):
        images, labels = data.FILES[split]
        monkeypatch.setitem(data.SHA256, images, sha(idx_images(n, fill)))
        monkeypatch.setitem(data.SHA256, labels, sha(idx_labels(n)))
    return expect


@pytest.fixture(scope="module")
def real_dir():
    """Folder of the real MNIST: MINIGAN_DATA_DIR, or wherever the search finds it."""
    env = os.environ.get("MINIGAN_DATA_DIR")
    if env:
        return os.path.abspath(env)  # CI may give a relative path such as ../shared/mnist
    for name in TEST:
        path = data._find(name, data.search_dirs())
        if path is None:
            pytest.skip("real MNIST not found: set MINIGAN_DATA_DIR to a folder holding the "
                        "four files (CI uses ../shared/mnist)")
    return str(path.parent)


class FakeResponse(io.BytesIO):
    """Stands in for the object urllib.request.urlopen returns."""

    def __init__(self, payload):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}


def serve(monkeypatch, routes):
    """Patch urlopen to serve routes {url: bytes or exception}; return the URLs asked."""
    asked = []

    def urlopen(url, timeout=None):
        asked.append(url)
        answer = routes.get(url, urllib.error.HTTPError(url, 404, "Not Found", {}, None))
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return asked


# --------------------------------------------------------------------------- real data


@pytest.mark.parametrize("split, n", [("train", 60000), ("test", 10000)])
def test_real_mnist(real_dir, split, n):
    x, y = load_mnist(split, data_dir=real_dir, download=False)
    assert x.shape == (n, 1, 28, 28) and x.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    assert x.min() == -1.0 and x.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    assert x.flags.writeable and y.flags.writeable


def test_real_mnist_limit_and_scaling(real_dir):
    raw, raw_labels = load_mnist_uint8("test", data_dir=real_dir, download=False)
    x, y = load_mnist("test", data_dir=real_dir, download=False, limit=100)
    assert x.shape == (100, 1, 28, 28) and y.shape == (100,)
    np.testing.assert_allclose(x[:, 0], raw[:100] / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(y, raw_labels[:100])
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test labels


def test_real_mnist_env_var(real_dir, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA_DIR", real_dir)
    images, labels = load_mnist_uint8("test", download=False)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.max() == 9


def test_cache_shares_read_only_arrays(real_dir):
    a, la = load_mnist_uint8("test", data_dir=real_dir, download=False)
    b, lb = load_mnist_uint8("test", data_dir=real_dir, download=False)
    assert a is b and la is lb                  # second call served from memory
    assert not a.flags.writeable and not la.flags.writeable
    with pytest.raises(ValueError):
        a[0, 0, 0] = 1
    x, _ = load_mnist("test", data_dir=real_dir, download=False, limit=2)
    x[:] = 0                                    # callers get their own copy
    assert load_mnist("test", data_dir=real_dir, download=False, limit=2)[0].min() == -1.0


def test_truncated_real_file(real_dir, tmp_path):
    name = TEST[1]  # the labels, small
    raw = gzip.decompress(Path(real_dir, name + ".gz").read_bytes())
    for folder, verify in [(tmp_path / "v", True), (tmp_path / "nv", False)]:
        folder.mkdir()
        (folder / (TEST[0] + ".gz")).symlink_to(os.path.join(real_dir, TEST[0] + ".gz"))
        (folder / (name + ".gz")).write_bytes(gzip.compress(raw[:-100]))
        with pytest.raises(MNISTChecksumError, match=name) as err:
            load_mnist_uint8("test", data_dir=folder, download=False, verify=verify)
        assert str(folder) in str(err.value) and "download it again" in str(err.value)


# --------------------------------------------------------------------------- fake data


def test_fake_split_loads_and_scales(tmp_path, fake_sums):
    fake_sums(n=5)
    write_split(tmp_path / "d", n=5)
    x, y = load_mnist("test", data_dir=tmp_path / "d", download=False)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
    pixels = (np.arange(5 * 784) % 256).reshape(5, 1, 28, 28)
    np.testing.assert_allclose(x, pixels / 127.5 - 1, atol=1e-6)
    assert x.min() == -1.0 and x.max() == 1.0     # 0 -> -1 and 255 -> 1 exactly
    assert y.tolist() == [0, 1, 2, 3, 4]
    assert load_mnist("test", data_dir=tmp_path / "d", download=False, limit=2)[0].shape[0] == 2


def test_decompressed_files_are_accepted(tmp_path, fake_sums):
    fake_sums(n=4)
    write_split(tmp_path / "d", n=4, compress=False)
    images, labels = load_mnist_uint8("test", data_dir=tmp_path / "d", download=False)
    assert images.shape == (4, 28, 28) and labels.tolist() == [0, 1, 2, 3]


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


# --------------------------------------------------------------------------- failures


def test_missing_without_download(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("train", data_dir=tmp_path / "empty", download=False)
    msg = str(err.value)
    assert isinstance(err.value, DataError) and isinstance(err.value, FileNotFoundError)
    assert str(tmp_path / "empty") in msg and str(tmp_path / "xdg" / "minigan" / "mnist") in msg
    assert "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "download=False" in msg and "MINIGAN_DATA_DIR" in msg
    assert not (tmp_path / "xdg").exists()       # nothing created when not downloading


@pytest.mark.parametrize("how", ["data_dir", "env"])
def test_a_named_folder_that_does_not_exist_is_refused_not_created(tmp_path, monkeypatch, how):
    """A typo in --data-dir (or MINIGAN_DATA_DIR) is an error naming it, not a new folder a download fills."""
    asked = serve(monkeypatch, {})
    typo = tmp_path / "typo"
    kw = {"data_dir": typo} if how == "data_dir" else {}
    if how == "env":
        monkeypatch.setenv("MINIGAN_DATA_DIR", str(typo))
    with pytest.raises(MNISTNotFoundError, match="is not an existing folder") as err:
        load_mnist("test", **kw)
    assert str(typo) in str(err.value)
    assert not typo.exists() and asked == []     # nothing created, the network never asked


def test_missing_and_offline(tmp_path, monkeypatch):
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("MINIGAN_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("test", download=True)       # urlopen fails (isolated fixture)
    msg = str(err.value)
    assert str(tmp_path / "env") in msg and str(tmp_path / "xdg" / "minigan" / "mnist") in msg
    for mirror in data.MIRRORS:
        assert mirror + "t10k-images-idx3-ubyte.gz" in msg
    assert "network disabled" in msg and "MINIGAN_DATA_DIR" in msg
    assert os.listdir(tmp_path / "env") == []    # no partial file left behind


def test_unwritable_download_folder(tmp_path, monkeypatch):
    """The default cache is the one folder minigan creates; when it cannot be, the error says so."""
    asked = serve(monkeypatch, {})
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a_file"))
    with pytest.raises(MNISTNotFoundError, match="Could not download into"):
        load_mnist("test")
    assert asked == []                           # failed before touching the network


def test_corrupt_file(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in TRAIN:
        (folder / (name + ".gz")).write_bytes(rng.bytes(1000))
    with pytest.raises(MNISTChecksumError) as err:
        load_mnist("train", data_dir=folder, download=False)
    assert str(folder / "train-images-idx3-ubyte.gz") in str(err.value)
    assert "Delete it" in str(err.value)


def test_wrong_digest(tmp_path, fake_sums):
    fake_sums(n=5)
    write_split(tmp_path / "d", n=5, fill=7)     # valid IDX, other content
    with pytest.raises(MNISTChecksumError, match="sha256"):
        load_mnist("test", data_dir=tmp_path / "d", download=False)
    x, _ = load_mnist("test", data_dir=tmp_path / "d", download=False, verify=False)
    assert x.shape == (5, 1, 28, 28)


def test_truncated_fake_file(tmp_path, fake_sums):
    fake_sums(n=5)
    raw = write_split(tmp_path / "d", n=5)[TEST[0]]
    (tmp_path / "d" / (TEST[0] + ".gz")).write_bytes(gzip.compress(raw[:-1]))
    for verify in (True, False):                 # size is checked even without the sha256
        with pytest.raises(MNISTChecksumError, match=TEST[0]):
            load_mnist("test", data_dir=tmp_path / "d", download=False, verify=verify)
    (tmp_path / "d" / (TEST[0] + ".gz")).write_bytes(gzip.compress(raw)[:-10])
    with pytest.raises(MNISTChecksumError, match="gzip"):
        load_mnist("test", data_dir=tmp_path / "d", download=False)


# --------------------------------------------------------------------------- download


def test_download_verifies_then_renames(tmp_path, monkeypatch, fake_sums):
    fake_sums(n=3)
    payloads = {TEST[0]: idx_images(3), TEST[1]: idx_labels(3)}
    first, second = data.MIRRORS[:2]
    routes = {first + TEST[0] + ".gz": urllib.error.URLError("mirror down")}
    routes.update({second + name + ".gz": gzip.compress(raw) for name, raw in payloads.items()})
    asked = serve(monkeypatch, routes)
    folder = tmp_path / "xdg" / "minigan" / "mnist"  # the default cache, created for the download
    x, y = load_mnist("test")
    assert x.shape == (3, 1, 28, 28) and y.tolist() == [0, 1, 2]
    assert sorted(os.listdir(folder)) == sorted(n + ".gz" for n in TEST)  # no .part left
    assert asked == [first + TEST[0] + ".gz", second + TEST[0] + ".gz",
                     first + TEST[1] + ".gz", second + TEST[1] + ".gz"]
    load_mnist("test")                           # now found on disk: no new request
    assert len(asked) == 4


def test_download_goes_to_first_folder(tmp_path, monkeypatch, fake_sums):
    fake_sums(n=3)
    payloads = {TEST[0]: idx_images(3), TEST[1]: idx_labels(3)}
    serve(monkeypatch, {data.MIRRORS[0] + n + ".gz": gzip.compress(r) for n, r in payloads.items()})
    (tmp_path / "env").mkdir()
    monkeypatch.setenv("MINIGAN_DATA_DIR", str(tmp_path / "env"))
    load_mnist("test")
    assert sorted(os.listdir(tmp_path / "env")) == sorted(n + ".gz" for n in TEST)
    assert not (tmp_path / "xdg").exists()       # not downloaded into the cache too


def test_bad_download_leaves_nothing(tmp_path, monkeypatch, fake_sums):
    fake_sums(n=3)
    bad = gzip.compress(idx_images(3, fill=1))   # valid gzip, wrong digest
    serve(monkeypatch, {m + TEST[0] + ".gz": bad for m in data.MIRRORS})
    folder = tmp_path / "d"
    folder.mkdir()
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("test", data_dir=folder)
    assert "failed from every mirror" in str(err.value) and "sha256" in str(err.value)
    assert os.listdir(folder) == []              # neither a partial nor a final file


# --------------------------------------------------------------------------- search order


def test_search_order(tmp_path, monkeypatch):
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    cache = tmp_path / "xdg" / "minigan" / "mnist"
    for folder, n in [(explicit, 3), (env, 5), (cache, 7)]:
        write_split(folder, n=n)
    monkeypatch.setenv("MINIGAN_DATA_DIR", str(env))

    def count(**kw):
        return len(load_mnist_uint8("test", download=False, verify=False, **kw)[0])

    assert data.search_dirs(explicit) == [explicit, env, cache]
    assert count(data_dir=explicit) == 3         # explicit beats env var
    assert count() == 5                          # env var beats cache
    (tmp_path / "empty").mkdir()
    assert count(data_dir=tmp_path / "empty") == 5   # an empty folder is passed over
    monkeypatch.delenv("MINIGAN_DATA_DIR")
    assert count() == 7                          # cache last


def test_cache_dir_from_home(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "minigan" / "mnist"
    write_split(data.cache_dir(), n=2)
    assert len(load_mnist_uint8("test", download=False, verify=False)[0]) == 2
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg2"))
    assert data.cache_dir() == tmp_path / "xdg2" / "minigan" / "mnist"


# --------------------------------------------------------------------------- batches


def test_batches_shuffle_covers_every_index_once():
    x = np.arange(10)[:, None] * np.ones((1, 3))
    y = np.arange(10)
    seen = []
    for xb, yb in batches(x, y, batch_size=5, rng=np.random.default_rng(0)):
        assert xb.shape == (5, 3)
        np.testing.assert_array_equal(xb[:, 0], yb)  # images and labels stay paired
        seen.extend(yb.tolist())
    assert sorted(seen) == list(range(10)) and seen != list(range(10))


def test_batches_drop_last_and_order():
    x = np.arange(10)
    sizes = [len(b) for b in batches(x, batch_size=4, rng=0)]
    assert sizes == [4, 4]                       # the last 2 are dropped
    kept = np.concatenate(list(batches(x, batch_size=4, shuffle=False, drop_last=False)))
    np.testing.assert_array_equal(kept, x)       # in order, the last batch of 2 kept
    assert [len(b) for b in batches(x, batch_size=4, drop_last=False)] == [4, 4, 2]


def test_batches_seeded_and_checked():
    x = np.arange(20)
    a = [b.tolist() for b in batches(x, batch_size=4, rng=1)]
    b = [b.tolist() for b in batches(x, batch_size=4, rng=1)]
    assert a == b
    with pytest.raises(ValueError, match="labels"):
        batches(x, np.arange(3))
    with pytest.raises(ValueError, match="batch_size"):
        batches(x, batch_size=0)
