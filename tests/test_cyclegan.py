"""CycleGAN: its generators' and discriminators' gradients against finite differences, translating both ways,
and settings refused in one line (exact resume, pools included: test_translation_runs.py).

The gradients checked are those of the methods the step calls
(``generator_gradients``, ``discriminator_gradients``), in float64 on small
networks, against the losses recomputed here from forward passes alone.
"""
import numpy as np
import pytest
from test_pix2pix import assert_gradients_match

from minigan import models
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run
from minigan.translation.translator import TranslationError

CycleGAN = models.get("cyclegan")


def tiny(**kw):
    settings = dict(base=2, blocks=1, kernel=3, pool_size=0, out="unused", lambda_cycle=3.0)
    settings.update(kw)
    model = CycleGAN(validate(CycleGAN.Config(**settings)))
    rng = np.random.default_rng(2)
    for net in model.modules().values():
        net.to(dtype=np.float64)
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    a = rng.uniform(-1, 1, (2, 1, 28, 28))
    b = rng.uniform(-1, 1, (2, 1, 28, 28))
    return model, a, b


def mse_to(out, target):
    return float(((out - target) ** 2).mean())


@pytest.mark.parametrize("lambda_identity", [0.5, 0.0])
def test_generator_gradients_are_the_derivative_of_the_whole_generator_loss(lambda_identity):
    model, a, b = tiny(lambda_identity=lambda_identity)
    G, F, D_A, D_B, lam = model.G, model.F, model.D_A, model.D_B, 3.0

    def loss():
        ga, fb = G(a), F(b)
        value = mse_to(D_B(ga), 1.0) + mse_to(D_A(fb), 1.0)                    # E[(D(G(a)) - 1)^2], both ways
        value += lam * (np.abs(F(ga) - a).mean() + np.abs(G(fb) - b).mean())     # the cycle, both ways
        value += lambda_identity * lam * (np.abs(G(b) - b).mean() + np.abs(F(a) - a).mean())
        return value

    fake_b, fake_a, stats = model.generator_gradients(a, b)
    assert abs(float(stats["g_loss"]) - loss()) < 1e-9
    np.testing.assert_array_equal(fake_b, G(a))
    np.testing.assert_array_equal(fake_a, F(b))
    assert_gradients_match(G, loss)
    assert_gradients_match(F, loss)


def test_discriminator_gradients_are_the_derivative_of_the_least_squares_losses():
    model, a, b = tiny()
    rng = np.random.default_rng(3)
    fake_a, fake_b = rng.uniform(-1, 1, a.shape), rng.uniform(-1, 1, b.shape)

    def loss():
        return 0.5 * (mse_to(model.D_A(a), 1.0) + mse_to(model.D_A(fake_a), 0.0)
                      + mse_to(model.D_B(b), 1.0) + mse_to(model.D_B(fake_b), 0.0))

    stats = model.discriminator_gradients(a, b, fake_a, fake_b)
    assert abs(float(stats["d_a_loss"]) + float(stats["d_b_loss"]) - loss()) < 1e-9
    assert_gradients_match(model.D_A, loss)
    assert_gradients_match(model.D_B, loss)


def test_the_step_moves_every_network_and_translates_both_ways():
    model, a, b = tiny()
    before = {name: [p.data.copy() for p in net.parameters()] for name, net in model.modules().items()}
    model.step([(a, b)])
    for name, net in model.modules().items():
        assert any(not np.array_equal(x, p.data) for x, p in zip(before[name], net.parameters())), name
    for direction in ("a2b", "b2a"):
        assert model.translate(a.astype(np.float32), direction).shape == (2, 1, 28, 28)
    with pytest.raises(TranslationError, match="direction 'c2d': choose one of a2b, b2a"):
        model.translate(a, "c2d")


@pytest.mark.parametrize("settings, flag", [(dict(lambda_cycle=0.0, lambda_identity=0.3), "--lambda-identity"),
                                            (dict(pool_size=-1), "--pool-size"),
                                            (dict(lambda_cycle=-1.0), "--lambda-cycle"),
                                            (dict(task="edges"), "--task"),
                                            (dict(kernel=4), "--kernel")])
def test_refused_settings_name_their_flag(settings, flag):
    with pytest.raises(ConfigError, match=flag):
        validate(CycleGAN.Config(out="unused", **settings))


def test_the_example_runs_without_the_identity_term_and_the_anchor_brings_back_the_papers():
    """Tuned: --lambda-identity 0 (better thickness and FID at MNIST size); --anchor: the paper's 0.5 λ."""
    from minigan.training.cli import config_from_args, train_parser

    parser = train_parser("cyclegan")
    assert config_from_args("cyclegan", parser.parse_args([])).lambda_identity == 0.0
    assert config_from_args("cyclegan", parser.parse_args(["--anchor"])).lambda_identity == 0.5
    assert config_from_args("cyclegan", parser.parse_args(["--lambda-identity", "0.25"])).lambda_identity == 0.25
    no_cycle = validate(config_from_args("cyclegan", parser.parse_args(["--lambda-cycle", "0"])))
    assert (no_cycle.lambda_cycle, no_cycle.lambda_identity) == (0.0, 0.0)      # nothing left to refuse
    with pytest.raises(ConfigError, match="--lambda-identity 0.5: a fraction of λ, and --lambda-cycle is 0"):
        validate(config_from_args("cyclegan", parser.parse_args(["--anchor", "--lambda-cycle", "0"])))


def small_config(out, **kw):
    return validate(CycleGAN.Config(base=2, blocks=1, limit=96, batch_size=8, epochs=2, pool_size=5, out=str(out),
                                    progress=False, sample_every=3, **kw))


def test_the_grid_shows_both_directions_with_the_hidden_counterparts(mnist, tmp_path):
    run = Run(small_config(tmp_path / "run", max_steps=1))
    run.train()
    images, nrow = run.model.grid()
    test, cols = run.model.test_data(), run.model.grid_columns()
    assert nrow == 10 and images.shape == (60, 1, 28, 28)
    np.testing.assert_array_equal(images[:10], test.a[cols])
    np.testing.assert_array_equal(images[20:30], test.a_counterpart[cols])
    np.testing.assert_array_equal(images[30:40], test.b[cols])
    np.testing.assert_array_equal(images[50:], test.b_counterpart[cols])
    report = run.evaluate(20)
    assert set(report) >= {"a2b", "b2a"} and report["b2a"]["target_thickness"] < report["a2b"]["target_thickness"]
