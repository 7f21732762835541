"""SRGAN: G's gradient against finite differences of its loss (pixel MSE, or the classifier's features, with the
adversarial term), D's of its BCE, the switch from SRResNet pre-training to SRGAN, the log that widens when D
starts, PSNR and the bicubic baseline, and settings refused in one line."""
import csv

import numpy as np
import pytest
from test_pix2pix import assert_gradients_match

from minigan import models
from minigan.models.srgan import bicubic, mean_psnr, psnr
from minigan.nn.losses import BCEWithLogits
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run

SRGAN = models.get("srgan")


def tiny(**kw):
    model = SRGAN(validate(SRGAN.Config(base=2, blocks=1, out="unused", **kw)))
    rng = np.random.default_rng(5)
    for net in model.modules().values():
        net.to(dtype=np.float64)
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return model, rng.uniform(-1, 1, (3, 1, 7, 7)), rng.uniform(-1, 1, (3, 1, 28, 28))


def bce(logits, target):
    return float(BCEWithLogits()(logits, np.full(logits.shape, target))[0])


@pytest.mark.parametrize("content", ["mse", "perceptual"])
def test_g_gradient_is_the_derivative_of_content_plus_the_adversarial_term(content):
    model, x, y = tiny(content=content, adversarial=0.5)   # a weight large enough to show in the check
    model.pretraining = False

    def loss():
        fake = model.G(x)
        if content == "mse":
            value = float(((fake - y) ** 2).mean())
        else:
            phi = model.perceptual.phi
            value = float(((phi(fake) - phi(y)) ** 2).mean())
        return value + 0.5 * bce(model.D(fake), 1.0)

    fake = model.G(x)
    stats = model.g_gradients(y, fake, gan=True)
    assert abs(float(stats["g_loss"]) - loss()) < 1e-9
    assert_gradients_match(model.G, loss)


def test_d_gradient_is_the_derivative_of_its_bce():
    model, x, y = tiny()
    fake = model.G(x)

    def loss():
        return bce(model.D(y), 1.0) + bce(model.D(fake), 0.0)

    stats = model.d_gradients(y, fake)
    assert abs(float(stats["d_loss"]) - loss()) < 1e-9
    assert_gradients_match(model.D, loss)


def test_pretraining_is_pixel_mse_without_d_then_srgan():
    model, x, y = tiny(epochs=4, pretrain_epochs=2)
    model.before_step(49, 100)
    assert model.pretraining
    d_before, g_before = [p.data.copy() for p in model.D.parameters()], [p.data.copy() for p in model.G.parameters()]
    stats = model.step([(x, y)])
    assert "d_loss" not in stats and all(np.array_equal(a, p.data) for a, p in zip(d_before, model.D.parameters()))
    assert not all(np.array_equal(a, p.data) for a, p in zip(g_before, model.G.parameters()))
    model.before_step(50, 100)
    assert not model.pretraining and "d_loss" in model.step([(x, y)])


def test_pretraining_is_half_the_epochs_unless_set():
    assert validate(SRGAN.Config(epochs=4, out="unused")).pretrain == 2
    assert validate(SRGAN.Config(epochs=1, out="unused")).pretrain == 0        # --epochs 1: SRGAN from the start
    assert validate(SRGAN.Config(epochs=5, pretrain_epochs=1, out="unused")).pretrain == 1


def test_psnr_and_bicubic():
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (4, 1, 28, 28))
    noisy = y + 0.02                                          # a [0, 1] error of 0.01: 40 dB
    assert abs(float(psnr(noisy, y)) - 40.0) < 1e-9 and abs(mean_psnr(noisy, y) - 40.0) < 1e-9
    flat = np.full((2, 1, 7, 7), 0.3, np.float32)
    np.testing.assert_allclose(bicubic(flat), 0.3, atol=1e-6)  # a constant image stays constant
    assert bicubic(flat).shape == (2, 1, 28, 28)


@pytest.mark.parametrize("i", range(1, 6))
def test_the_bicubic_baseline_puts_each_pixel_at_its_blocks_centre(i):
    """Input pixel i is the mean of output rows 4i..4i+3: the spline through it peaks at 4i + 1.5, and keeps its ink.

    zoom's default grid (corner centres on corner centres) put pixel 1's mass at row 4.17 and
    pixel 5's at 22.83, 1.3 px off, with a third more ink.
    """
    small = np.zeros((1, 1, 7, 7), np.float32)
    small[0, 0, i, 3] = 0.5
    up = bicubic(small)[0, 0].astype(np.float64)
    rows = up.sum(axis=1)
    assert abs((rows * np.arange(28)).sum() / rows.sum() - (4 * i + 1.5)) < 0.1
    assert abs(up.sum() / 16 - 0.5) < 0.01                   # the 4 x 4 block's ink, 16 x 0.5


@pytest.mark.parametrize("settings, flag", [(dict(content="mse", adversarial=0.0, pretrain_epochs=1),
                                             "--pretrain-epochs"),
                                            (dict(epochs=2, pretrain_epochs=2), "--pretrain-epochs"),
                                            (dict(content="mse", adversarial=0.0, pretrain_epochs=0),
                                             "--pretrain-epochs"),
                                            (dict(adversarial=-1.0), "--adversarial"),
                                            (dict(task="edges"), "--task")])
def test_refused_settings_name_their_flag(settings, flag):
    with pytest.raises(ConfigError, match=flag):
        validate(SRGAN.Config(out="unused", **settings))


def test_a_run_logs_d_once_it_starts_and_scores_beside_bicubic(mnist, tmp_path):
    cfg = validate(SRGAN.Config(base=2, blocks=1, limit=64, batch_size=16, epochs=2, pretrain_epochs=1,
                                out=str(tmp_path), progress=False, sample_every=2))
    run = Run(cfg)
    assert run.train() == "finished"
    with open(tmp_path / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["d_loss"] == "" for r in rows] == [True] * 4 + [False] * 4   # D only after the pre-training epoch
    images, nrow = run.model.grid()
    assert images.shape == (30, 1, 28, 28)                                 # 7 x 7 inputs enlarged for the grid
    report = run.evaluate(20)
    assert report["bicubic"]["psnr"] > 0 and "psnr" in report["a2b"]
    assert report["bicubic"]["digit_accuracy"]["overall"] > 0.3            # bicubic keeps most digits legible
