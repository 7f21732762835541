"""DiscoGAN: CycleGAN's step with its own choices; the generators' and discriminators' gradients against finite
differences of DiscoGAN's losses (BCE, squared-error reconstruction, no identity term, no pool), and what it
reports on the rotated task."""
import numpy as np
import pytest
from test_pix2pix import assert_gradients_match

from minigan import models
from minigan.nn.losses import BCEWithLogits
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run

DiscoGAN = models.get("discogan")


def tiny():
    model = DiscoGAN(validate(DiscoGAN.Config(base=2, lambda_reconstruction=3.0, out="unused")))
    rng = np.random.default_rng(4)
    for net in model.modules().values():
        net.to(dtype=np.float64)
        for p in net.parameters():
            p.data[...] = rng.normal(0, 0.5, p.data.shape)
    return model, rng.uniform(-1, 1, (3, 1, 28, 28)), rng.uniform(-1, 1, (3, 1, 28, 28))


def bce(logits, target):
    return float(BCEWithLogits()(logits, np.full(logits.shape, target))[0])


def test_generator_gradients_are_the_derivative_of_discogans_generator_loss():
    model, a, b = tiny()
    G, F = model.G, model.F

    def loss():
        ga, fb = G(a), F(b)
        value = bce(model.D_B(ga), 1.0) + bce(model.D_A(fb), 1.0)                    # -log D(G(a)), both ways
        return value + 3.0 * (((F(ga) - a) ** 2).mean() + ((G(fb) - b) ** 2).mean())   # no identity term

    _, _, stats = model.generator_gradients(a, b)
    assert abs(float(stats["g_loss"]) - loss()) < 1e-9 and "identity" not in stats
    assert_gradients_match(G, loss)
    assert_gradients_match(F, loss)


def test_discriminator_gradients_are_the_derivative_of_the_bce_losses():
    model, a, b = tiny()
    fake_a, fake_b = model.F(b), model.G(a)

    def loss():
        return (bce(model.D_A(a), 1.0) + bce(model.D_A(fake_a), 0.0)
                + bce(model.D_B(b), 1.0) + bce(model.D_B(fake_b), 0.0))

    stats = model.discriminator_gradients(a, b, fake_a, fake_b)
    assert abs(float(stats["d_a_loss"]) + float(stats["d_b_loss"]) - loss()) < 1e-9
    assert_gradients_match(model.D_A, loss)
    assert_gradients_match(model.D_B, loss)


def test_no_pool_and_no_cyclegan_settings():
    model, a, b = tiny()
    assert model.pools() == {} and model.pool_a.query(a) is a
    with pytest.raises(TypeError):
        DiscoGAN.Config(lambda_identity=0.5)
    with pytest.raises(ConfigError, match="--lambda-reconstruction"):
        validate(DiscoGAN.Config(lambda_reconstruction=-1.0, out="unused"))


def test_the_rotated_task_reports_how_well_the_angle_is_kept(mnist, tmp_path):
    cfg = validate(DiscoGAN.Config(base=2, limit=64, batch_size=16, max_steps=1, out=str(tmp_path), progress=False))
    run = Run(cfg)
    run.train()
    report = run.evaluate(50)
    for direction in ("a2b", "b2a"):
        r = report[direction]
        assert -1 <= r["orientation_r"] <= 1 and r["orientation_r_true_pair"] > 0.9
        # the rotation-trained judge reads the true rotated digits far better than the upright one does
        assert 0 <= r["rotated_digit_accuracy"]["overall"] <= 1
        assert r["rotated_true_pair_digit_accuracy"] >= 0.9
        assert r["rotated_true_pair_digit_accuracy"] > r["true_pair_digit_accuracy"]
    assert "rotation-trained classifier" in run.model.format_report(report)
