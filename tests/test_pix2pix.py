"""pix2pix: its two gradients against finite differences, the ablation's wiring, a run, bad input.

The gradients checked are those of the very methods the training step calls
(``Pix2Pix.d_gradients`` and ``Pix2Pix.g_gradients``), in float64 on a small
U-Net and PatchGAN, against losses recomputed here from forward passes alone.
"""
import numpy as np
import pytest

from minigan import models
from minigan.nn.gradcheck import check_parameters
from minigan.nn.losses import BCEWithLogits
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run, load_model
from minigan.translation.translator import TranslationError

Pix2Pix = models.get("pix2pix")


def tiny(loss="l1+gan", lambda_l1=3.0, **kw):
    """A 2-channel pix2pix in float64 without dropout (a fixed function of its weights), larger random weights."""
    settings = dict(base=2, dropout=0.0, loss=loss, out="unused", **kw)
    if loss != "gan":
        settings["lambda_l1"] = lambda_l1
    model = Pix2Pix(validate(Pix2Pix.Config(**settings)))
    rng = np.random.default_rng(1)
    for net in (model.G, model.D):
        net.to(dtype=np.float64)
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    x = rng.uniform(-1, 1, (3, 1, 28, 28))
    y = rng.uniform(-1, 1, (3, 1, 28, 28))
    return model, x, y


def bce(logits, target):
    return float(BCEWithLogits()(logits, np.full(logits.shape, target))[0])


def assert_gradients_match(net, loss):
    """Each parameter's .grad, at a few entries, against centred differences of ``loss()`` (float64)."""
    errors = check_parameters(net, loss, entries=6)
    assert errors and max(errors.values()) < 1e-5, errors


@pytest.mark.parametrize("loss", ["l1+gan", "gan", "l1"])
def test_g_gradient_is_the_derivative_of_the_generator_loss(loss):
    model, x, y = tiny(loss)

    def g_loss():
        fake = model.G(x)
        value = 3.0 * np.abs(fake - y).mean() if loss != "gan" else 0.0
        if loss != "l1":
            value += bce(model.D(np.concatenate([x, fake], axis=1)), 1.0)     # -log D(x, G(x))
        return value

    fake = model.G(x)
    stats = model.g_gradients(x, y, fake)
    assert abs(float(stats["g_loss"]) - g_loss()) < 1e-9
    assert_gradients_match(model.G, g_loss)


def test_d_gradient_is_the_derivative_of_half_the_discriminator_loss():
    model, x, y = tiny()
    fake = model.G(x)

    def d_loss():
        return 0.5 * (bce(model.D(np.concatenate([x, y], axis=1)), 1.0)
                      + bce(model.D(np.concatenate([x, fake], axis=1)), 0.0))

    stats = model.d_gradients(x, y, fake)
    assert abs(float(stats["d_loss"]) - d_loss()) < 1e-9
    assert_gradients_match(model.D, d_loss)


def test_l1_alone_never_moves_d_and_gan_alone_logs_no_l1_weight():
    model, x, y = tiny("l1")
    before = [p.data.copy() for p in model.D.parameters()]
    stats = model.step([(x, y)])
    assert "d_loss" not in stats and "g_gan" not in stats
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.D.parameters()))
    model, x, y = tiny("gan")
    stats = model.step([(x, y)])
    assert float(stats["g_loss"]) == float(stats["g_gan"])     # the L1 is logged, not trained on


def test_refused_settings_name_their_flag():
    with pytest.raises(ConfigError, match="--lambda-l1"):
        validate(Pix2Pix.Config(loss="gan", lambda_l1=10.0, out="unused"))
    with pytest.raises(ConfigError, match="--lambda-l1"):
        validate(Pix2Pix.Config(lambda_l1=-1.0, out="unused"))
    with pytest.raises(ConfigError, match="--task"):
        validate(Pix2Pix.Config(task="superres", out="unused"))


def test_translate_refuses_wrong_input_in_one_line():
    model = Pix2Pix(validate(Pix2Pix.Config(base=2, out="unused")))
    good = np.zeros((2, 1, 28, 28), np.float32)
    assert model.translate(good).shape == (2, 1, 28, 28)
    for bad, words in [(np.zeros((2, 28, 28), np.float32), "(N, 1, 28, 28)"),
                       (np.zeros((2, 1, 7, 7), np.float32), "shape (2, 1, 7, 7)"),
                       (np.zeros((2, 1, 28, 28), np.uint8), "dtype uint8"),
                       ([[0.0]], "NumPy or CuPy array")]:
        with pytest.raises(TranslationError, match=words.replace("(", r"\(").replace(")", r"\)")) as info:
            model.translate(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(TranslationError, match="one way only"):
        model.translate(good, direction="b2a")


def small_config(out, **kw):
    return validate(Pix2Pix.Config(base=4, limit=64, batch_size=16, epochs=2, out=str(out), progress=False,
                                   sample_every=2, **kw))


@pytest.mark.parametrize("task", ["edges", "thickness"])
def test_the_task_setting_picks_the_training_pairs(mnist, tmp_path, task):
    from minigan.translation import data as td

    run = Run(small_config(tmp_path / task, task=task))
    (a, b), = run.streams
    if task == "edges":
        np.testing.assert_array_equal(a, td.edges(b))          # the edge map of the digit beside it
    else:
        np.testing.assert_array_equal(b, td.thicken(a))        # the same digit, thickened
    (x, y), = run.real_batches(run.epoch_orders(0), 0)
    assert x.shape == y.shape == (16, 1, 28, 28)


def test_a_run_draws_input_output_target_rows_and_scores_the_test_set(mnist, tmp_path):
    run = Run(small_config(tmp_path / "run", max_steps=1))
    run.train()
    images, nrow = run.model.grid()
    test = run.model.test_data()
    cols = run.model.grid_columns()
    assert nrow == 10 and images.shape == (30, 1, 28, 28)
    assert list(test.labels_a[cols]) == list(range(10))
    assert np.array_equal(images[:10], test.a[cols]) and np.array_equal(images[20:], test.b[cols])
    report = run.evaluate(20)
    loaded = load_model(str(tmp_path / "run"))
    again = loaded.evaluate(20)
    assert report["a2b"]["fid"] == again["a2b"]["fid"] and report["a2b"]["l1"] == again["a2b"]["l1"]
    outputs = loaded.translate(test.a[:20])
    assert abs(report["a2b"]["l1"] - float(np.abs(outputs - test.b[:20]).mean())) < 1e-7
