"""minigan.latent (slerp, interpolation, digit latents, arithmetic) and examples/generate.py.

The classifier is a stub here: the digit it sees is a function of the pixel sum
(spread about evenly over 0..9 for a small random generator), and about a third
of the images get only probability 0.6, so the confidence filter has work to do.
The tests need no trained weights. The end-to-end test of generate.py trains a GAN
for 2 steps on 256 MNIST images
(skipped when MNIST is not found; CI sets ``MINIGAN_DATA_DIR``).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigan import metrics
from minigan.data import MNISTNotFoundError, load_mnist
from minigan.gan import latent, networks
from minigan.models import mlp_gan

GENERATE = Path(__file__).resolve().parents[1] / "examples" / "generate.py"
Z_DIM = 8


def stub_digit(images):
    return (np.floor(10 * _sum(images)) % 10).astype(int)


def stub_probs(images):
    """Probability 0.95 (or 0.6, depending on the top half's sum) for :func:`stub_digit`, the rest spread."""
    top = _sum(np.asarray(images)[:, :, :14])
    confidence = np.where(np.floor(10 * top) % 3 == 0, 0.6, 0.95)[:, None]
    probs = np.broadcast_to((1 - confidence) / 9, (len(images), 10)).copy()
    np.put_along_axis(probs, stub_digit(images)[:, None], confidence, axis=1)
    return probs


def _sum(images):
    return np.asarray(images, dtype=np.float64).sum(axis=(1, 2, 3))


@pytest.fixture
def G():
    return networks.mlp_generator(z_dim=Z_DIM, hidden=(16,), rng=np.random.default_rng(0)).eval()


# --------------------------------------------------------------------------- slerp


def test_slerp_endpoints_and_shapes(rng):
    z0, z1 = rng.standard_normal(16), rng.standard_normal(16)
    np.testing.assert_allclose(latent.slerp(z0, z1, 0.0), z0, atol=1e-12)
    np.testing.assert_allclose(latent.slerp(z0, z1, 1.0), z1, atol=1e-12)
    assert latent.slerp(z0, z1, 0.5).shape == (16,)
    path = latent.slerp(z0, z1, np.linspace(0, 1, 7))
    assert path.shape == (7, 16)
    np.testing.assert_allclose(path[[0, -1]], [z0, z1], atol=1e-12)
    assert latent.slerp(z0.astype(np.float32), z1.astype(np.float32), np.linspace(0, 1, 3)).dtype == np.float32


def test_slerp_keeps_the_norm_where_linear_shrinks_it(rng):
    d = 64
    z0, z1 = rng.standard_normal(d), rng.standard_normal(d)
    z0, z1 = z0 / np.linalg.norm(z0) * np.sqrt(d), z1 / np.linalg.norm(z1) * np.sqrt(d)
    t = np.linspace(0, 1, 11)
    np.testing.assert_allclose(np.linalg.norm(latent.slerp(z0, z1, t), axis=1), np.sqrt(d), rtol=1e-12)
    linear_mid = np.linalg.norm((z0 + z1) / 2)
    assert linear_mid < 0.85 * np.sqrt(d)           # nearly orthogonal in 64-d: about 1/sqrt(2) of it


def test_slerp_moves_at_constant_angular_speed(rng):
    z0, z1 = rng.standard_normal(10), rng.standard_normal(10)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)  # for equal norms; for unequal ones the speed varies
    angle = lambda a, b: np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    omega = angle(z0, z1)
    for t in (0.25, 0.5, 0.8):
        np.testing.assert_allclose(angle(z0, latent.slerp(z0, z1, t)), t * omega, rtol=1e-9)


def test_slerp_of_parallel_vectors_is_linear(rng):
    z0 = rng.standard_normal(5)
    t = np.linspace(0, 1, 4)
    out = latent.slerp(z0, 2 * z0, t)
    np.testing.assert_allclose(out, (1 + t[:, None]) * z0, rtol=1e-12)
    assert np.isfinite(latent.slerp(np.zeros(5), z0, t)).all()


# --------------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("mode", ["slerp", "linear"])
def test_interpolate_shape_and_endpoints(G, rng, mode):
    z0, z1 = rng.standard_normal(Z_DIM), rng.standard_normal(Z_DIM)
    images = latent.interpolate(G, z0, z1, steps=6, mode=mode)
    assert images.shape == (6, 1, 28, 28) and images.dtype == np.float32
    ends = G(np.stack([z0, z1]).astype(np.float32))
    np.testing.assert_allclose(images[[0, -1]], ends, atol=1e-6)
    assert not np.allclose(images[0], images[-1])


def test_interpolate_checks_arguments_and_keeps_training_mode(G, rng):
    z0, z1 = rng.standard_normal(Z_DIM), rng.standard_normal(Z_DIM)
    with pytest.raises(ValueError, match="mode"):
        latent.interpolate(G, z0, z1, mode="cubic")
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate(G, z0, z1, steps=1)
    G.train()
    latent.interpolate(G, z0, z1, steps=3)
    assert G.training


# --------------------------------------------------------------------------- digits and arithmetic


@pytest.mark.parametrize("digit", [0, 3, 7])
def test_find_digit_latents_with_the_default_classifier_stubbed(G, monkeypatch, digit):
    calls = []

    def fake_outputs(images, classifier=None, batch_size=500):
        calls.append(len(images))
        return np.zeros((len(images), 4)), stub_probs(images)

    monkeypatch.setattr(metrics, "classifier_outputs", fake_outputs)
    z = latent.find_digit_latents(G, Z_DIM, digit, n=5, rng=np.random.default_rng(1), batch_size=64)
    assert z.shape == (5, Z_DIM) and z.dtype == np.float32
    images = latent.decode(G, z)
    assert (stub_digit(images) == digit).all()
    assert (stub_probs(images)[:, digit] >= 0.9).all()
    assert calls and all(n == 64 for n in calls)


def test_find_digit_latents_is_seeded_and_gives_up(G):
    a = latent.find_digit_latents(G, Z_DIM, 2, 3, classifier=stub_probs, rng=np.random.default_rng(5))
    b = latent.find_digit_latents(G, Z_DIM, 2, 3, classifier=stub_probs, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="found only 0 of 1 .* labels 2"):
        latent.find_digit_latents(G, Z_DIM, 2, 1, classifier=stub_probs, confidence=1.5, batch_size=8,
                                  max_batches=2)


def test_digit_means_and_arithmetic(G):
    means = latent.digit_means(G, Z_DIM, [1, 4, 6], per_digit=4, classifier=stub_probs,
                               rng=np.random.default_rng(0))
    assert sorted(means) == [1, 4, 6] and all(m.shape == (Z_DIM,) for m in means.values())
    r = latent.latent_arithmetic(G, means, 1, 4, 6, classifier=stub_probs)
    assert r["z"].shape == (4, Z_DIM) and r["images"].shape == (4, 1, 28, 28)
    np.testing.assert_allclose(r["z"][3], means[1] - means[4] + means[6], rtol=1e-6)
    assert r["predicted"] == stub_digit(r["images"]).tolist()
    assert len(r["confidence"]) == 4 and all(0 <= p <= 1 for p in r["confidence"])


# --------------------------------------------------------------------------- examples/generate.py


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run folder from 2 training steps of the MLP GAN on 256 MNIST images."""
    from minigan.training.run import Run

    try:
        load_mnist("train", download=False, limit=1)
    except MNISTNotFoundError:
        pytest.skip("MNIST not found: set MINIGAN_DATA_DIR (CI uses ../shared/mnist)")
    out = tmp_path_factory.mktemp("run")
    cfg = mlp_gan.Config(limit=256, batch_size=32, max_steps=2, epochs=1, out=str(out), progress=False,
                         evaluate=False)
    assert Run(cfg).train() == "stopped"
    return out


def generate(*args, cwd):
    return subprocess.run([sys.executable, str(GENERATE), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_generate_end_to_end(tiny_run, tmp_path):
    from PIL import Image

    r = generate(tiny_run, "--n", 12, "--nrow", 4, "--seed", 3, "--out", "grid.png", "--npy", "x.npy", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    x = np.load(tmp_path / "x.npy")
    assert x.shape == (12, 1, 28, 28) and x.dtype == np.float32
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0
    with Image.open(tmp_path / "grid.png") as img:
        assert img.size == (2 * (4 * 30 + 2), 2 * (3 * 30 + 2))    # 4 x 3 tiles of 28 + 2 pad, upscaled 2x
    # the checkpoint file works as well as its folder, and the seed decides the samples
    r = generate(tiny_run / "checkpoint.npz", "--n", 12, "--seed", 3, "--out", "b.png", "--npy", "y.npy",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x)
    r = generate(tiny_run, "--n", 12, "--seed", 4, "--out", "c.png", "--npy", "z.npy", cwd=tmp_path)
    assert not np.array_equal(np.load(tmp_path / "z.npy"), x)


def test_generate_writes_into_the_run_folder_by_default(tiny_run, tmp_path):
    r = generate(tiny_run, "--n", 4, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tiny_run / "generated.png").exists() and os.listdir(tmp_path) == []


def test_generate_without_checkpoint_fails_clearly(tmp_path):
    r = generate(tmp_path / "no_such_run", cwd=tmp_path)
    assert r.returncode == 2
    assert "no checkpoint at" in r.stderr and "no_such_run" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "samples.png").exists()
