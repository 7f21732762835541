"""StackGAN: conditioning augmentation's backward, each stage's two gradients against finite differences,
what each stage learns from, the schedule of the two stages, and bad input at every entry point.

The gradients checked are those of the very methods the step calls (``StackGAN.d_gradients`` and
``StackGAN.g_gradients``), in float64 on small networks, against losses recomputed here from forward
passes alone.
"""
import numpy as np
import pytest

from minigan import models
from minigan.coarse import captions, pyramid
from minigan.gan.priors import PriorError
from minigan.nn.gradcheck import check_parameters
from minigan.nn.layers import ConditioningAugmentation
from minigan.nn.losses import BCEWithLogits, GaussianKL
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run, load_model

StackGAN = models.get("stackgan")
SMALL = dict(z_dim=3, c_dim=2, base=2, blocks=1)


def tiny(**kw):
    """A StackGAN with narrow nets in float64 and larger random weights."""
    sizes = {k: v for k, v in SMALL.items() if not (k == "blocks" and kw.get("stage") == 1)}   # Stage II's
    model = StackGAN(validate(StackGAN.Config(out="unused", **dict(sizes, **kw))))
    rng = np.random.default_rng(1)
    for stage in model.stages.values():
        for net in (stage.ca, stage.G, stage.D):
            net.to(dtype=np.float64)
            for p in net.parameters():
                p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return model


def bce(logits, target):
    return float(BCEWithLogits()(logits, np.full(logits.shape, target))[0])


def assert_gradients_match(net, loss):
    """Each parameter's .grad, at a few entries, against centred differences of ``loss()`` (float64)."""
    errors = check_parameters(net, loss, entries=5)
    assert errors and max(errors.values()) < 1e-5, errors


def some_captions(n, seed=0):
    rng = np.random.default_rng(seed)
    texts = [captions.caption(int(d), int(t), int(s), int(p)) for d, t, s, p in
             zip(rng.integers(0, 10, n), rng.integers(0, 3, n), rng.integers(0, 3, n), rng.integers(0, 3, n))]
    return captions.bag_of_words(texts).astype(np.float64)


def test_conditioning_augmentation_backward_is_the_derivative_of_c_and_the_kl():
    """c = μ + σ ε from the caption, and the KL's gradient added at (μ, log σ²), into the encoder's weights."""
    rng = np.random.default_rng(0)
    ca = ConditioningAugmentation(len(captions.VOCABULARY), 3, hidden=4, dtype=np.float64, rng=rng)
    t, eps, w = some_captions(5), rng.standard_normal((5, 3)), rng.standard_normal((5, 3))

    def loss():
        c, mu, log_var = ca((t, eps))
        return float((c * w).sum() + 0.7 * GaussianKL()(mu, log_var)[0])

    c, mu, log_var = ca((t, eps))
    np.testing.assert_allclose(c, mu + np.exp(log_var / 2) * eps, atol=1e-12)
    _, (dmu, dlog_var) = GaussianKL()(mu, log_var)
    ca.zero_grad()
    assert ca.backward((w, 0.7 * dmu, 0.7 * dlog_var)) == (None, None)
    assert_gradients_match(ca, loss)
    with pytest.raises(Exception, match=r"ε of shape \(N, 3\)"):
        ca((t, eps[:, :2]))


def stage_inputs(model, k, n=3, seed=2):
    """(real, given, t, wrong, μ, log σ²) for stage k, as the step builds them."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1, 28, 28))
    t = some_captions(n, seed)
    stage = model.stages[k]
    c, mu, log_var = stage.ca((t, rng.standard_normal((n, model.cfg.c_dim))))
    if k == 1:
        real, given = pyramid.down(x), (rng.standard_normal((n, model.cfg.z_dim)), c)
    else:
        real, given = x, (rng.uniform(-1, 1, (n, 1, 14, 14)), c)
    return real, given, t, t[np.roll(np.arange(n), 1)], mu, log_var


@pytest.mark.parametrize("k", [1, 2])
def test_each_stages_gradients_are_the_derivatives_of_its_losses(k):
    model = tiny()
    stage = model.stages[k]
    real, given, t, wrong, mu, log_var = stage_inputs(model, k)
    fake = stage.G(given)

    def d_loss():
        return (bce(stage.D((real, t)), 1.0)
                + 0.5 * (bce(stage.D((real, wrong)), 0.0) + bce(stage.D((fake, t)), 0.0)))

    stats = model.d_gradients(stage, real, fake, t, wrong)
    assert abs(float(stats["d_loss"]) - d_loss()) < 1e-9
    assert_gradients_match(stage.D, d_loss)

    rng = np.random.default_rng(5)
    first, eps = given[0], rng.standard_normal((len(t), model.cfg.c_dim))
    c, mu, log_var = stage.ca((t, eps))

    def g_loss():                                       # through the augmentation: c = μ(t) + σ(t) ε
        c, mu, log_var = stage.ca((t, eps))
        return bce(stage.D((stage.G((first, c)), t)), 1.0) + model.cfg.kl * float(GaussianKL()(mu, log_var)[0])

    fake = stage.G((first, c))
    stats = model.g_gradients(stage, fake, t, mu, log_var)
    assert abs(float(stats["g_loss"]) - g_loss()) < 1e-9
    assert_gradients_match(stage.G, g_loss)
    assert_gradients_match(stage.ca, g_loss)


def test_stage_one_learns_14_x_14_means_and_stage_two_refines_a_stage_one_that_does_not_move():
    model = tiny()
    seen = []
    d_gradients = model.d_gradients
    model.d_gradients = lambda stage, real, fake, t, wrong: seen.append((stage.k, real, fake, t, wrong)) or \
        d_gradients(stage, real, fake, t, wrong)
    rng = np.random.default_rng(3)
    x, t = rng.uniform(-1, 1, (4, 1, 28, 28)), some_captions(4)
    model.step([(x, t)])
    k, real, fake, seen_t, wrong = seen[-1]
    assert k == 1 and fake.shape == (4, 1, 14, 14)
    np.testing.assert_allclose(real, pyramid.down(x), atol=1e-12)
    np.testing.assert_array_equal(wrong, t[[3, 0, 1, 2]])                # each digit with the previous one's caption
    before = {name: [p.data.copy() for p in m.parameters()] for name, m in model.modules().items()}
    model.training_stage = 2
    model.step([(x, t)])
    k, real, fake, _, _ = seen[-1]
    assert k == 2 and fake.shape == (4, 1, 28, 28)
    np.testing.assert_array_equal(real, x)
    for name, module in model.modules().items():
        moved = any(not np.array_equal(a, p.data) for a, p in zip(before[name], module.parameters()))
        assert moved == name.endswith("2"), name                        # only Stage II's nets move


def test_both_stages_in_one_run_switch_after_stage_one_epochs():
    model = tiny(stage1_share=0.4)
    stages = []
    for step in range(10):
        model.before_step(step, 10)
        stages.append(model.training_stage)
    assert stages == [1] * 4 + [2] * 6
    latent = model.fixed_latent                                # in float64, as the tiny nets are
    latent.update(t=latent["t"].astype(np.float64), z=latent["z"].astype(np.float64),
                  eps={k: e.astype(np.float64) for k, e in latent["eps"].items()})
    model.training_stage = 1                                   # the grid shows the stage in training
    np.testing.assert_array_equal(model.grid()[0], pyramid.up(model.draw_both(model.fixed_latent)[0]))
    model.training_stage = 2
    np.testing.assert_array_equal(model.grid()[0], model.draw_both(model.fixed_latent)[1])
    alone = tiny(stage=1)
    assert sorted(alone.stages) == [1] and sorted(alone.optimizers()) == ["opt_D1", "opt_G1"]


def test_the_prior_reads_a_caption_or_says_what_is_wrong_in_one_line():
    prior = tiny().prior
    rng = np.random.default_rng(0)
    latent = prior.sample(3, rng, caption="a thick seven slanted to the right")
    np.testing.assert_array_equal(latent["t"], captions.bag_of_words(["a thick seven slanted to the right"] * 3))
    for bad, words in [("a thick sevn", "unknown word 'sevn'"), ("a thick upright", "names no digit"),
                       ("a thin thick two", "more than one thickness")]:
        with pytest.raises(PriorError, match=words) as info:
            prior.sample(2, rng, caption=bad)
        assert "\n" not in str(info.value) and str(info.value).startswith("--caption")
    with pytest.raises(PriorError, match="the vocabulary: a and"):
        prior.sample(2, rng, caption="a blue two")
    with pytest.raises(PriorError, match="--digit applies to a model fed a digit; this model is fed noise and a cap"):
        prior.sample(2, rng, digit=3)


@pytest.mark.parametrize("settings, flag", [
    (dict(stage=3), "--stage 3"), (dict(stage=2), "--stage 2"), (dict(stage1_run="x"), "--stage1-run 'x'"),
    (dict(stage=1, stage1_share=0.5), "--stage1-share 0.5"), (dict(stage1_share=1.0), "--stage1-share 1.0"),
    (dict(stage=1, blocks=3), "--blocks 3"), (dict(kl=-1.0), "--kl -1.0"),
])
def test_refused_settings_name_their_flag_in_one_line(settings, flag):
    with pytest.raises(ConfigError) as info:
        validate(StackGAN.Config(out="unused", **settings))
    assert str(info.value).startswith(flag) and "\n" not in str(info.value)


def small(out, **kw):
    sizes = {k: v for k, v in SMALL.items() if not (k == "blocks" and kw.get("stage") == 1)}
    return validate(StackGAN.Config(limit=64, batch_size=16, epochs=2, out=str(out), progress=False, sample_every=2,
                                    eval_per_caption=10, **dict(sizes, **kw)))


def test_stage_two_needs_a_trained_stage_one_and_starts_from_its_weights(mnist, tmp_path):
    with pytest.raises(ConfigError, match="no checkpoint there") as info:
        StackGAN(small(tmp_path / "two", stage=2, stage1_run=str(tmp_path)))
    assert "\n" not in str(info.value)
    run = Run(small(tmp_path / "one", stage=1, max_steps=2))
    run.train()
    two = StackGAN(small(tmp_path / "two", stage=2, stage1_run=str(tmp_path / "one")))
    for name in ("CA1", "G1"):
        for p, q in zip(two.modules()[name].parameters(), run.model.modules()[name].parameters()):
            np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ConfigError, match="--z-dim 3, this run 4"):
        StackGAN(small(tmp_path / "three", stage=2, stage1_run=str(tmp_path / "one"), z_dim=4))


def test_a_run_scores_every_caption_and_both_stages(mnist, tmp_path):
    run = Run(small(tmp_path / "run", max_steps=3))
    run.train()
    assert (tmp_path / "run" / "captions.png").exists()
    report = run.evaluate(20)
    assert report["n"] == 20 and report["fid"] == report["stage2"]["fid"] and "stage1" in report
    assert report["per_caption"] == 10 and "captions (10 samples each)" in run.model.format_report(report)
    rows = report["captions"]
    assert len(rows) == 90 and sum(r["held_out"] for r in rows) == len(captions.HELD_OUT)
    for r in rows:
        assert 0 <= r["digit_read"] <= 1 and 0 <= r["thickness_held"] <= 1 and 0 <= r["slant_held"] <= 1
    again = load_model(str(tmp_path / "run")).evaluate(20)
    assert again["captions"] == rows and again["fid"] == report["fid"]   # the same draws, from the checkpoint
    assert "captioned thick thicker than thin for" in run.model.format_report(report)


def test_caption_judging_is_bounded_by_eval_samples():
    """The 90 captions share --eval-samples (10 each at least); --eval-per-caption caps each one."""
    model = StackGAN(validate(StackGAN.Config(out="unused", **SMALL)))
    assert [model.per_caption(n) for n in (10, 900, 10000, 90000, 10 ** 6)] == [10, 10, 111, 1000, 1000]
    capped = StackGAN(validate(StackGAN.Config(out="unused", eval_per_caption=50, **SMALL)))
    assert capped.per_caption(10000) == 50 and capped.per_caption(900) == 10
    help_text = " ".join(StackGAN.Config.__dataclass_fields__["eval_per_caption"].metadata["help"].split())
    assert "min(this, max(10, --eval-samples // 90))" in help_text


def test_the_caption_grid_keeps_a_gap_between_words_and_wraps_only_between_them():
    """The default font's space is a pixel or two ("a thin zeroslanted"): words are placed one by one instead."""
    from PIL import Image, ImageDraw, ImageFont

    from minigan.training.plots import label_layout

    model = StackGAN(validate(StackGAN.Config(out="unused", **SMALL)))
    labels = model.grid_latent()["texts"]
    assert "an eight written thick and leaning to the right" in labels
    font = ImageFont.load_default()
    placed = label_layout(labels, 60, ImageDraw.Draw(Image.new("L", (10, 10))), font)
    for text, words in zip(labels, placed):
        assert " ".join(w for *_, w in words) == text                          # every word, in order, whole
        lines = sorted({y for _, y, _, _ in words})
        assert 1 <= len(lines) <= 2, text
        for (x0, y0, w0, _), (x1, y1, _, _) in zip(words, words[1:]):
            assert y1 > y0 or x1 >= x0 + w0 + 3, text                          # a visible gap on one line
    for row, words in enumerate(placed):                                          # inside the row's own band
        assert all(row * 60 < y < (row + 1) * 60 for _, y, _, _ in words)
