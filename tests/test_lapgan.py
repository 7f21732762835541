"""LAPGAN: each level's two gradients against finite differences, what each level is trained on, the
pyramid a sample is drawn through, one level alone, and bad input.

The gradients checked are those of the very methods the step calls (``LAPGAN.d_gradients`` and
``LAPGAN.g_gradients``), in float64 on small networks, against losses recomputed here from
forward passes alone.
"""
import numpy as np
import pytest

from minigan import models
from minigan.coarse import pyramid
from minigan.gan.priors import PriorError
from minigan.models import lapgan
from minigan.models.lapgan import LEVEL_SETTINGS
from minigan.nn.gradcheck import check_parameters
from minigan.nn.losses import BCEWithLogits
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run, load_model

LAPGAN = models.get("lapgan")


def tiny(**kw):
    """A LAPGAN with narrow nets in float64 and larger random weights: a fixed function of its weights."""
    sizes = {"z_dim": 3, "hidden": 5, "base": 2, "depth1": 2}
    if kw.get("level") is not None:                            # only the sizes of the level trained
        sizes = {name: v for name, v in sizes.items() if kw["level"] in LEVEL_SETTINGS[name][1]}
    model = LAPGAN(validate(LAPGAN.Config(out="unused", **sizes, **kw)))
    rng = np.random.default_rng(1)
    for level in model.levels.values():
        for net in (level.G, level.D):
            net.to(dtype=np.float64)
            for p in net.parameters():
                p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return model


def bce(logits, target):
    return float(BCEWithLogits()(logits, np.full(logits.shape, target))[0])


def level_inputs(model, k, n=3, seed=2):
    """(real, given, z) for level k from random 28 x 28 'digits', as the step builds them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1, 28, 28))
    y = rng.integers(0, 10, n)
    images = pyramid.gaussian(x)
    label = (y,) if model.cfg.conditional else ()
    if k == 2:
        real, given = images[2], label
    else:
        coarse = pyramid.up(images[k + 1])
        real, given = images[k] - coarse, (coarse, *label)
    z = model.draw_noise(k, n, np.float64)
    return real, given, z


def assert_gradients_match(net, loss):
    """Each parameter's .grad, at a few entries, against centred differences of ``loss()`` (float64)."""
    errors = check_parameters(net, loss, entries=5)
    assert errors and max(errors.values()) < 1e-5, errors


def pack(first, given):
    return (first, *given) if given else first


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("k", [2, 1, 0])
def test_each_levels_gradients_are_the_derivatives_of_its_losses(k, conditional):
    model = tiny(conditional=conditional)
    level = model.levels[k]
    real, given, z = level_inputs(model, k)
    fake = level.G(pack(z, given))

    def d_loss():
        return bce(level.D(pack(real, given)), 1.0) + bce(level.D(pack(fake, given)), 0.0)

    stats = model.d_gradients(level, real, fake, given)
    assert abs(float(stats["d_loss"]) - d_loss()) < 1e-9
    assert_gradients_match(level.D, d_loss)

    def g_loss():
        return bce(level.D(pack(level.G(pack(z, given)), given)), 1.0)    # -log D(G(z, given), given)

    fake = level.G(pack(z, given))
    stats = model.g_gradients(level, fake, given)
    assert abs(float(stats["g_loss"]) - g_loss()) < 1e-9
    assert_gradients_match(level.G, g_loss)


def test_each_level_is_trained_on_its_own_level_of_the_real_digits_pyramid():
    """Level 2 on the 7 x 7 images; level k < 2 on h_k = I_k - u(I_{k+1}), shown beside u(I_{k+1})."""
    model = tiny(conditional=True, coarse_steps=1)
    seen = {}
    model.level_step = lambda level, real, given: seen.setdefault(level.k, (real, given)) and {}
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-1, 1, (4, 1, 28, 28)), rng.integers(0, 10, 4)
    model.step([(x, y)])
    h0, h1, i2 = pyramid.laplacian(x)
    np.testing.assert_array_equal(seen[2][0], i2)
    np.testing.assert_array_equal(seen[2][1][0], y)
    for k, h in ((1, h1), (0, h0)):
        real, (coarse, label) = seen[k]
        np.testing.assert_allclose(real, h, atol=1e-12)
        np.testing.assert_allclose(coarse, pyramid.up(pyramid.gaussian(x)[k + 1]), atol=1e-12)
        np.testing.assert_array_equal(label, y)
        assert real.shape[-1] == {1: 14, 0: 28}[k]


def test_no_gradient_runs_between_levels_and_level_k_alone_builds_only_level_k():
    """A step of all three levels moves level k exactly as a step of level k by itself does."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    noise = {2: rng.standard_normal((4, 3)), 1: rng.standard_normal((4, 1, 14, 14)),
             0: rng.standard_normal((4, 1, 28, 28))}
    settings = dict(z_dim=3, hidden=5, base=2, depth1=2, coarse_steps=1, out="unused")

    def fresh():
        model = LAPGAN(validate(LAPGAN.Config(**settings)))     # the same seed: the same weights to start from
        model.draw_noise = lambda k, n, dtype: noise[k].astype(dtype)
        return model

    together = fresh()
    together.step([(x, np.zeros(4, np.int64))])
    for k in (2, 1, 0):
        alone = fresh()
        alone.level_step(alone.levels[k], *_real_and_given(x, k))
        for net in ("G", "D"):
            for p, q in zip(getattr(alone.levels[k], net).parameters(), getattr(together.levels[k], net).parameters()):
                np.testing.assert_array_equal(p.data, q.data)
        one = LAPGAN(validate(LAPGAN.Config(level=k, out="unused")))
        assert sorted(one.modules()) == [f"D{k}", f"G{k}"] and list(one.cfg.levels) == [k]


def _real_and_given(x, k):
    images = pyramid.gaussian(x)
    if k == 2:
        return images[2], ()
    coarse = pyramid.up(images[k + 1])
    return images[k] - coarse, (coarse,)


def test_a_sample_is_drawn_through_the_pyramid_from_the_top():
    """I~_2 = G_2(z_2); I~_k = u(I~_{k+1}) + G_k(z_k, u(I~_{k+1})), with every G in eval mode; clipped at the end."""
    model = tiny()
    latent = model.prior.sample(5, np.random.default_rng(0), dtype=np.float64)
    i0, i1, i2 = model.draw(latent)
    G = {k: level.G.eval() for k, level in model.levels.items()}
    want2 = G[2](latent["z"][2])
    want1 = pyramid.up(want2) + G[1]((latent["z"][1], pyramid.up(want2)))
    want0 = pyramid.up(want1) + G[0]((latent["z"][0], pyramid.up(want1)))
    for got, want in ((i2, want2), (i1, want1), (i0, want0)):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert (i0.shape, i1.shape, i2.shape) == ((5, 1, 28, 28), (5, 1, 14, 14), (5, 1, 7, 7))
    np.testing.assert_array_equal(model.sample(latent), np.clip(i0, -1, 1))
    assert all(level.G.training for level in model.levels.values())    # back in training mode


def test_the_prior_refuses_a_digit_it_cannot_take_in_one_line():
    unconditional = tiny().prior
    rng = np.random.default_rng(0)
    with pytest.raises(PriorError, match="--digit 3: this LAPGAN is unconditional") as info:
        unconditional.sample(2, rng, digit=3)
    assert "\n" not in str(info.value)
    conditional = tiny(conditional=True).prior
    for bad in (10, -1, True, 2.0):
        with pytest.raises(PriorError, match="must be a digit from 0 to 9"):
            conditional.sample(2, rng, digit=bad)
    with pytest.raises(PriorError, match="--code applies to a model fed a code"):
        conditional.sample(2, rng, code=1)
    latent, nrow = conditional.grid(rng)
    assert nrow == 10 and list(latent["y"]) == [d for d in range(10) for _ in range(10)]
    assert list(conditional.sample(3, rng, digit=7)["y"]) == [7, 7, 7]


def test_a_run_of_one_level_cannot_be_sampled_through_the_pyramid():
    model = tiny(level=1)
    latent = model.prior.sample(2, np.random.default_rng(0), dtype=np.float64)
    with pytest.raises(PriorError, match=r"trained the 14 x 14 residual h_1 alone \(--level 1\)"):
        model.sample(latent)


@pytest.mark.parametrize("settings, flag", [
    (dict(level=3), "--level 3"), (dict(level=-1), "--level -1"), (dict(level=True), "--level True"),
    (dict(level=0, hidden=64), "--hidden 64"), (dict(level=1, z_dim=8), "--z-dim 8"),
    (dict(level=2, base=8), "--base 8"), (dict(level=1, coarse_steps=2), "--coarse-steps 2"),
    (dict(level=0, depth1=3), "--depth1 3"), (dict(lr=0.0), "--lr 0.0"),
])
def test_refused_settings_name_their_flag_in_one_line(settings, flag):
    with pytest.raises(ConfigError) as info:
        validate(LAPGAN.Config(out="unused", **settings))
    assert str(info.value).startswith(flag) and "\n" not in str(info.value)


def small(out, **kw):
    sizes = {name: v for name, v in dict(z_dim=4, hidden=8, base=2, depth1=1).items()
             if kw.get("level") is None or kw["level"] in LEVEL_SETTINGS[name][1]}
    return validate(LAPGAN.Config(limit=64, batch_size=16, epochs=1, out=str(out), progress=False, sample_every=2,
                                  **sizes, **kw))


def test_a_run_scores_its_samples_and_their_coarser_levels(mnist, tmp_path):
    run = Run(small(tmp_path / "run", conditional=True, max_steps=2))
    run.train()
    for name in ("samples.png", "pyramid.png", "curves.png", "progress.gif"):
        assert (tmp_path / "run" / name).exists(), name
    images, nrow = run.model.grid()
    assert nrow == 10 and images.shape == (100, 1, 28, 28) and images.min() >= -1 and images.max() <= 1
    report = run.evaluate(20)
    assert set(report["level_fid"]) == {"7", "14", "28"} and report["level_fid"]["28"] == report["fid"]
    assert report["digit_accuracy"]["n_per_digit"] == [2] * 10
    again = load_model(str(tmp_path / "run")).evaluate(20)
    assert again["level_fid"] == report["level_fid"]                # the same samples, from the checkpoint
    assert "by level: FID at 28 x 28" in run.model.format_report(report)


def test_a_run_of_one_level_shows_and_scores_that_level_given_real_coarse_digits(mnist, tmp_path):
    run = Run(small(tmp_path / "run", level=0, max_steps=1))
    run.train()
    start, out, truth = run.model.level_alone(10)
    x, _ = run.model.test_digits(10)
    np.testing.assert_allclose(truth, x, atol=1e-6)                   # I_0: the test digits themselves
    np.testing.assert_allclose(start, pyramid.up(pyramid.down(x)), atol=1e-6)
    images, nrow = run.model.grid()
    assert nrow == 10 and images.shape == (30, 1, 28, 28)
    report = run.evaluate(20)
    assert report["level"] == 0 and {"start_fid", "truth_fid", "fid"} <= set(report)


def test_the_7_x_7_gan_takes_its_extra_updates_on_random_training_digits(mnist):
    model = tiny(coarse_steps=3)
    seen = []
    step = model.level_step
    model.level_step = lambda level, real, given: seen.append((level.k, real)) or step(level, real, given)
    x = np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28))
    model.step([(x, np.zeros(4, np.int64))])
    assert [k for k, _ in seen] == [2, 2, 2, 1, 0]
    images, _ = lapgan.coarse_digits(None, None)
    for _, real in seen[:2]:                                   # two extra batches of real 7 x 7 training digits
        assert real.shape == (4, 1, 7, 7) and all((images == r).all(axis=(1, 2, 3)).any() for r in real)
    np.testing.assert_allclose(seen[2][1], pyramid.gaussian(x)[2])   # then the batch's own
