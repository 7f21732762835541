"""The conditional GAN: its prior, its networks' gradients, its metric, a run with resume, generate.py --digit.

What a learner relies on:

- G(z, y) and D(x, y): the training losses' gradients, through the image *and*
  the label input (the label's one-hot or embedding), match finite differences
  in float64, for both bodies and both ways of feeding the label;
- the prior draws (z, y), fixes y for ``--digit``, refuses a digit outside 0-9,
  and lays out the sample grid as row = digit, column = one fixed z;
- D sees real images with their own labels and fakes with the labels asked for;
- a short run resumes exactly, and ``examples/generate.py --digit d`` draws d.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from minigan import Parameter, metrics
from minigan.backend import to_numpy
from minigan.gan.priors import GaussianWithLabel, PriorError
from minigan.models import cgan
from minigan.nn.gradcheck import rel_error
from minigan.nn.layers import Embedding
from minigan.training.run import Run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILDS = [("mlp", "onehot"), ("mlp", "embedding"), ("dcgan", "onehot"), ("dcgan", "embedding")]
IDS = [f"{b}-{label}" for b, label in BUILDS]


# --------------------------------------------------------------------------- the prior


def test_prior_draws_noise_and_uniform_labels_and_fixes_a_digit():
    prior = GaussianWithLabel(5)
    z, y = prior.sample(2000, np.random.default_rng(0))
    assert z.shape == (2000, 5) and z.dtype == np.float32 and y.shape == (2000,) and y.dtype == np.int64
    assert set(np.unique(y)) == set(range(10))
    assert np.all(np.abs(np.bincount(y) / 2000 - 0.1) < 0.03)
    z7, y7 = prior.sample(6, np.random.default_rng(1), digit=7)
    z3, y3 = prior.sample(6, np.random.default_rng(1), digit=3)
    assert (y7 == 7).all() and (y3 == 3).all()
    np.testing.assert_array_equal(z7, z3)  # the same seed gives the same noise whichever digit is asked


@pytest.mark.parametrize("digit", [10, -1, 2.0, True, "3"])
def test_prior_refuses_a_digit_outside_0_to_9(digit):
    with pytest.raises(PriorError, match=r"--digit .*must be a digit from 0 to 9"):
        GaussianWithLabel(5).sample(4, np.random.default_rng(0), digit=digit)


def test_prior_refuses_what_it_is_not_fed():
    with pytest.raises(PriorError, match="--code applies to a model fed a code; this model is fed noise and a digit"):
        GaussianWithLabel(5).sample(4, np.random.default_rng(0), code=3)


def test_grid_rows_are_digits_and_columns_share_their_noise():
    (z, y), nrow = GaussianWithLabel(5).grid(np.random.default_rng(0))
    assert nrow == 10 and z.shape == (100, 5)
    z, y = z.reshape(10, 10, 5), y.reshape(10, 10)                    # [row, column]
    assert (y == np.arange(10)[:, None]).all()                        # row k: digit k
    assert (z == z[0]).all()                                          # every row: the same ten z
    assert len({tuple(v) for v in z[0]}) == 10                        # ten different z across a row


# --------------------------------------------------------------------------- the networks


def tiny(body, label, rng):
    """(G, D, (z, y), (x, y_real)) in float64: small widths, larger weights so the nets are far from linear."""
    if body == "mlp":
        G, D = cgan.mlp_networks(z_dim=3, label=label, embedding_dim=4, g_hidden=(5, 4), d_hidden=(6, 5),
                                 image_shape=(1, 4, 4), dtype=np.float64, rng=rng)
        shape = (1, 4, 4)
    else:
        G, D = cgan.dcgan_networks(z_dim=3, label=label, embedding_dim=4, base=2, d_hidden=3, dtype=np.float64,
                                   rng=rng)
        shape = (1, 28, 28)
    for layer in list(G.modules()) + list(D.modules()):
        for name, p in vars(layer).items():
            if isinstance(p, Parameter):  # a batchnorm keeps scale ~1, so its ReLU lets some units through
                mean = 1.0 if layer.init_kind == "norm" and name == "weight" else 0.0
                p.data[...] = rng.normal(mean, 0.2 if layer.init_kind == "norm" else 0.5, p.data.shape)
    latent = (rng.standard_normal((4, 3)), np.array([1, 3, 9, 9]))
    real = (rng.uniform(-1, 1, (4,) + shape), np.array([0, 3, 3, 7]))
    return G, D, latent, real


def sampled_numerical_gradient(f, x, n=30, h=1e-5, rng=None, rows=None):
    """Centred differences of f() at ``n`` entries of x (all when x is small); returns (flat indices, values).

    ``rows``: pick the entries among these rows of a table (an embedding's rows of the labels used).
    """
    flat = x.reshape(-1)
    candidates = np.arange(flat.size) if rows is None else (
        np.asarray(rows)[:, None] * x.shape[1] + np.arange(x.shape[1])).ravel()
    idx = candidates if len(candidates) <= n else (rng or np.random.default_rng(0)).choice(candidates, n, False)
    values = []
    for i in idx:
        old = flat[i]
        flat[i] = old + h
        plus = float(f())
        flat[i] = old - h
        minus = float(f())
        flat[i] = old
        values.append((plus - minus) / (2 * h))
    return idx, np.array(values)


def check(f, analytic, x, rows=None):
    """Analytic vs numerical at sampled entries. False when both are zero (a bias just before batchnorm)."""
    idx, numeric = sampled_numerical_gradient(f, x, rows=rows)
    if max(np.abs(numeric).max(), np.abs(analytic).max()) < 1e-8:
        return False
    assert rel_error(analytic.reshape(-1)[idx], numeric) < 1e-6
    return True


def step_of(G, D, **settings):
    return cgan.CGAN.around(G, D, z_dim=3, label_smoothing=0.1, **settings)


def label_table(net):
    """The label's learned table in ``net`` (None for one-hot)."""
    return next((m.weight for m in net.modules() if isinstance(m, Embedding)), None)


@pytest.mark.parametrize("body, label", BUILDS, ids=IDS)
def test_discriminator_loss_gradient_through_image_and_label(body, label):
    """L_D = l_real(D(x, y)) + l_fake(D(G(z, y'), y')): dL_D/dθ_D (the label table too) and dL/dx."""
    G, D, (z, y_fake), (x, y_real) = tiny(body, label, np.random.default_rng(0))
    gan = step_of(G, D)
    fake = G((z, y_fake))
    gan.d_gradients((x, y_real), (fake, y_fake))
    analytic = {id(p): p.grad.copy() for p in D.parameters()}

    def d_loss():
        return gan.d_gradients((x, y_real), (fake, y_fake))["d_loss"]

    checked = []
    for p in D.parameters():
        if p is label_table(D):
            used = np.union1d(y_real, y_fake)
            assert check(d_loss, analytic[id(p)], p.data, rows=used), "the label table got no gradient"
            unused = np.setdiff1d(np.arange(10), used)
            assert not analytic[id(p)][unused].any(), "a label not in the batch got a gradient"
        else:
            checked.append(check(d_loss, analytic[id(p)], p.data))
    assert sum(checked) >= len(checked) - 1  # at most one bias before batchnorm (dcgan) has none
    # D's input gradient: dL/dx for the image, None for the label
    out = D((x, y_real))
    loss, dout = gan.objective.d_real(out)
    dx, dy = D.backward(dout)
    assert dy is None
    assert check(lambda: gan.objective.d_real(D((x, y_real)))[0], dx, x)


@pytest.mark.parametrize("body, label", [("mlp", "embedding"), ("dcgan", "onehot")])
def test_mismatch_term_gradient_and_its_wrong_labels(body, label):
    """L_D + w * l_fake(D(x, y~)) with y~ != y: the third term's gradient, and every y~ differs from y."""
    G, D, (z, y_fake), (x, y_real) = tiny(body, label, np.random.default_rng(4))
    gan = step_of(G, D, mismatch=0.5)
    fake = G((z, y_fake))
    seen = []
    original = D.forward
    D.forward = lambda xs: (seen.append(xs[1].copy()), original(xs))[1]

    def d_loss():  # the same wrong labels at every call: the draw is part of the function being differentiated
        gan.noise_rng = np.random.default_rng(7)
        stats = gan.d_gradients((x, y_real), (fake, y_fake))
        return gan.mismatch_gradients(x, y_real, stats["d_loss"])["d_loss"]

    stats = d_loss()
    assert len(seen) == 3 and (seen[2] != y_real).all() and seen[2].min() >= 0 and seen[2].max() <= 9
    without = gan.d_gradients((x, y_real), (fake, y_fake))["d_loss"]
    third = gan.objective.d_fake(original((x, seen[2])))[0]
    assert stats == pytest.approx(without + 0.5 * third, rel=1e-12)
    d_loss()
    analytic = {id(p): p.grad.copy() for p in D.parameters()}
    for p in D.parameters():
        check(d_loss, analytic[id(p)], p.data, rows=np.arange(10) if p is label_table(D) else None)


@pytest.mark.parametrize("body, label", BUILDS, ids=IDS)
def test_generator_loss_gradient_flows_through_d_to_noise_and_label(body, label):
    """L_G = l_g(D(G(z, y), y)): dL_G/dθ_G, G's label table included, flowing back through D's image input."""
    G, D, (z, y), _ = tiny(body, label, np.random.default_rng(1))
    gan = step_of(G, D)
    gan.g_gradients(G((z, y)), y)
    analytic = {id(p): p.grad.copy() for p in G.parameters()}

    def g_loss():
        return gan.g_gradients(G((z, y)), y)["g_loss"]

    checked = [check(g_loss, analytic[id(p)], p.data, rows=np.unique(y) if p is label_table(G) else None)
               for p in G.parameters()]
    assert all(ok for p, ok in zip(G.parameters(), checked) if p.data.ndim > 1), "a G weight got no gradient"


@pytest.mark.parametrize("body, label", BUILDS, ids=IDS)
def test_the_label_changes_what_g_draws_and_what_d_says(body, label):
    G, D, (z, _), (x, _) = tiny(body, label, np.random.default_rng(2))
    a, b = np.array([2, 5, 0, 7]), np.array([3, 1, 9, 4])
    assert not np.allclose(G((z, a)), G((z, b)))
    G.eval()                                                          # sampling: batchnorm's running statistics
    assert not np.allclose(G((z, np.full(4, 2))), G((z, np.full(4, 5))))
    assert not np.allclose(D((x, a)), D((x, b)))


def test_train_mode_batchnorm_removes_a_label_shared_by_the_whole_batch():
    """Why G samples in eval mode: in the MLP G the label's one-hot adds a row of W to the first Dense output,
    the same row for every sample when the batch asks for one digit, and batchnorm subtracts the batch mean."""
    G, _, (z, _), _ = tiny("mlp", "onehot", np.random.default_rng(2))
    np.testing.assert_allclose(G((z, np.full(4, 2))), G((z, np.full(4, 5))), atol=1e-12)


def test_d_sees_real_images_with_their_labels_and_fakes_with_the_labels_asked():
    G, D, _, (x, y_real) = tiny("mlp", "onehot", np.random.default_rng(3))
    gan = step_of(G, D)
    seen = []
    original = D.forward
    D.forward = lambda xs: (seen.append(xs[1].copy()), original(xs))[1]
    drawn, draw = [], gan.draw
    gan.draw = lambda *args: (drawn.append(draw(*args)), drawn[-1])[1]
    gan.step([(x, y_real)])
    latent, = drawn
    assert len(seen) == 3
    np.testing.assert_array_equal(seen[0], y_real)                    # real batch: its own labels
    np.testing.assert_array_equal(seen[1], latent[1])                 # fake batch: the labels G was given
    np.testing.assert_array_equal(seen[2], latent[1])                 # G's step: the same labels again


# --------------------------------------------------------------------------- the metric


def test_digit_accuracy_counts_per_digit_what_the_classifier_says():
    classifier = metrics.mnist_classifier(rng=np.random.default_rng(0)).eval()
    images = np.random.default_rng(1).uniform(-1, 1, (30, 1, 28, 28)).astype(np.float32)
    predicted = metrics.classifier_outputs(images, classifier)[1].argmax(axis=1)
    asked = predicted.copy()
    asked[:10] = (predicted[:10] + 1) % 10                            # the first 10 were asked for another digit
    acc = metrics.digit_accuracy(images, asked, classifier)
    for k in range(10):
        mine = asked == k
        expected = None if not mine.any() else float((predicted[mine] == k).mean())
        assert acc["per_digit"][k] == expected
    assert acc["overall"] == pytest.approx(20 / 30)
    assert acc["min"] == min(a for a in acc["per_digit"] if a is not None)
    assert acc["n_per_digit"] == np.bincount(asked, minlength=10).tolist()
    with pytest.raises(ValueError, match="one digit per image"):
        metrics.digit_accuracy(images, asked[:5], classifier)
    with pytest.raises(ValueError, match="0-9"):
        metrics.digit_accuracy(images[:1], np.array([10]), classifier)


# --------------------------------------------------------------------------- a run


@pytest.fixture(scope="module")
def data():
    """256 'digits' and labels: the loop does not care what the pictures show."""
    rng = np.random.default_rng(0)
    return np.tanh(rng.standard_normal((256, 1, 28, 28))).astype(np.float32), rng.integers(0, 10, 256)


def weights(run):
    return {f"{name}/{k}": v for name, m in run.model.modules().items() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("body, label", [("mlp", "embedding"), ("dcgan", "onehot")])
def test_resume_is_exact_and_the_folder_has_the_digit_grid(tmp_path, data, body, label):
    """N steps + resume + N steps == 2N steps, bit for bit (EMA and dropout included); the grid is 10 x 10."""
    images, labels = data
    kw = dict(arch=body, label=label, epochs=2, batch_size=32, sample_every=100, progress=False, evaluate=False,
              d_dropout=0.3, label_smoothing=0.1)
    if body == "mlp":
        kw.update(ema=0.9)  # (the average's batchnorm recalibration runs G on 2560 draws: slow for the DCGAN)
    else:
        kw.update(limit=128)
    straight = Run(cgan.Config(out=str(tmp_path / "a"), max_steps=6, **kw), images=images, labels=labels)
    straight.train()
    first = Run(cgan.Config(out=str(tmp_path / "b"), max_steps=3, **kw), images=images, labels=labels)
    assert first.train() == "stopped"
    second = Run(cgan.Config(out=str(tmp_path / "b"), max_steps=6, **kw), resume=True, images=images, labels=labels)
    second.train()
    a, b = weights(straight), weights(second)
    assert a.keys() == b.keys() and any(k.startswith("G_ema/") for k in a) == (body == "mlp")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    grid, nrow = second.model.grid()
    assert grid.shape == (100, 1, 28, 28) and nrow == 10
    assert os.path.getsize(tmp_path / "b" / "samples.png") > 0


def test_evaluate_reports_the_digit_accuracy(tmp_path, data, monkeypatch):
    images, labels = data
    monkeypatch.setattr(metrics, "real_floor", lambda n, data_dir=None: {"n": n})  # no MNIST needed here
    monkeypatch.setattr(metrics, "reference_statistics",
                        lambda classifier=None, data_dir=None: (np.zeros(128), np.eye(128)))
    monkeypatch.setattr(metrics, "real_digit_accuracy", lambda n, data_dir=None: {"n": n})
    r = Run(cgan.Config(out=str(tmp_path), epochs=1, batch_size=32, max_steps=2, progress=False, evaluate=False),
            images=images, labels=labels)
    r.train()
    report = r.model.evaluate(50)
    acc = report["digit_accuracy"]
    assert acc["n_per_digit"] == [5] * 10 and len(acc["per_digit"]) == 10
    # the report's accuracy is that of 5 samples per digit, drawn as generate(5, digit=d) draws them
    mine = metrics.digit_accuracy(np.concatenate([r.model.generate(5, digit=d) for d in range(10)]),
                                  np.repeat(np.arange(10), 5))
    assert mine == acc


# --------------------------------------------------------------------------- the scripts


def script(name, *args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("cgan_run")
    images, labels = data
    Run(cgan.Config(out=str(out), epochs=1, batch_size=32, max_steps=2, progress=False, evaluate=False),
        images=images, labels=labels).train()
    return out


def test_generate_digit_draws_that_digit(cgan_run, tmp_path):
    from minigan.training.run import load_model

    done = script("generate.py", cgan_run, "--digit", 7, "--n", 6, "--seed", 2, "--out", tmp_path / "7.png",
                  "--npy", tmp_path / "7.npy")
    assert done.returncode == 0, done.stderr
    model = load_model(str(cgan_run))
    latent = model.prior.sample(6, np.random.default_rng(2), digit=7)  # what generate.py must have fed G
    assert (latent[1] == 7).all()
    np.testing.assert_allclose(np.load(tmp_path / "7.npy"), model.sample(latent), rtol=1e-6, atol=1e-6)
    other = model.sample(model.prior.sample(6, np.random.default_rng(2), digit=3))
    assert not np.allclose(np.load(tmp_path / "7.npy"), other)


@pytest.mark.parametrize("args, words", [(["--digit", 10], "--digit 10: must be a digit from 0 to 9"),
                                         (["--digit", -1], "--digit -1: must be a digit from 0 to 9"),
                                         (["--code", 3], "--code applies to a model fed a code")])
def test_generate_refuses_bad_fixed_parts_in_one_line(cgan_run, tmp_path, args, words):
    done = script("generate.py", cgan_run, *args, "--out", tmp_path / "x.png")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("args, words", [(["--arch", "resnet"], "--arch: invalid choice: 'resnet'"),
                                         (["--label", "text"], "--label: invalid choice: 'text'"),
                                         (["--embedding-dim", "0"], "--embedding-dim 0: must be an integer >= 1")])
def test_train_refuses_bad_settings_in_one_line(tmp_path, args, words):
    done = script("train_cgan.py", *args, "--out", tmp_path / "run")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()


def test_the_body_and_label_are_structure(cgan_run):
    """--model and --label shape the checkpoint: a resume with another is refused."""
    from minigan.training.cli import main

    saved = json.loads((cgan_run / "config.json").read_text())
    assert saved["arch"] == "mlp" and saved["model"] == "cgan"
    assert main("cgan", ["--model", "dcgan", "--out", str(cgan_run), "--resume", "--no-progress"]) == 2


def test_each_body_starts_from_its_own_tuned_settings_and_a_flag_wins():
    from minigan.training.cli import config_from_args, train_parser

    def cfg(*argv):
        return config_from_args("cgan", train_parser("cgan").parse_args(list(argv)))

    assert {k: getattr(cfg(), k) for k in cgan.CGAN.ARCH_TUNED["mlp"]} == cgan.CGAN.ARCH_TUNED["mlp"]
    dc = cfg("--model", "dcgan")
    tuned = cgan.CGAN.ARCH_TUNED["dcgan"]
    assert dc.arch == "dcgan" and {k: getattr(dc, k) for k in tuned} == tuned
    assert cfg("--model", "dcgan", "--epochs", "2").epochs == 2
    assert cfg("--model", "dcgan", "--anchor").ema == 0.0


@pytest.mark.cupy
@pytest.mark.parametrize("body, label", [("mlp", "embedding"), ("dcgan", "onehot")])
def test_cupy_steps_match_numpy(body, label):
    """The same seed and batch: two cGAN steps (mismatch term included) on NumPy and on CuPy agree."""
    from minigan.backend import to_device

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 16)
    tasks = {b: cgan.CGAN(cgan.Config(arch=body, label=label, backend=b, mismatch=0.5, ema=0.9, out="unused"))
             for b in ("numpy", "cupy")}
    for _ in range(2):
        stats = {b: t.step([(to_device(images, b), to_device(labels, b))]) for b, t in tasks.items()}
        for k in stats["numpy"]:
            np.testing.assert_allclose(to_numpy(stats["cupy"][k]), stats["numpy"][k], rtol=1e-4, atol=1e-5)
    for name in ("G", "D"):
        for a, b in zip(tasks["numpy"].modules()[name].parameters(), tasks["cupy"].modules()[name].parameters()):
            np.testing.assert_allclose(to_numpy(b.data), a.data, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(to_numpy(tasks["cupy"].grid()[0]), tasks["numpy"].grid()[0], rtol=1e-3, atol=1e-3)


def test_pytorch_twin_computes_the_same_step():
    """benchmarks/twins/cgan.py: two steps from the same weights and draws agree with minigan (float32)."""
    pytest.importorskip("torch", reason="PyTorch is not installed (the benchmark's twin needs it)")
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        from twins.cgan import build
    finally:
        sys.path.remove(os.path.join(ROOT, "benchmarks"))
    model = cgan.CGAN(cgan.Config(**{**cgan.CGAN.ARCH_TUNED["mlp"], "label": "embedding", "out": "unused"}))
    errors = dict(build(model).parity(batch=8))
    assert len(errors) == 7 and max(errors.values()) < 1e-3, errors
