"""Numbers and identities the docs state, checked where it is cheap (each test names its page).

A page that says "the defaults are ..." or "this quantity is zero" should fail a test when the code
stops making it true.
"""
import numpy as np
import pytest

from minigan import Conv2d, Dense, Flatten, LeakyReLU, Sequential
from minigan.nn.layers import MinibatchStd, SpectralNorm


def test_infogan_lambdas_are_the_ones_the_page_gives():
    """docs/infogan.md's table of λs: the Config's defaults (the paper's code) and the example's tuned ones."""
    from pathlib import Path

    from minigan.models.infogan import InfoGAN

    page = (Path(__file__).resolve().parents[1] / "docs" / "infogan.md").read_text().splitlines()

    def row(start):
        cells = next(line for line in page if line.startswith(start)).strip("| ").split(" | ")
        return float(cells[-2]), float(cells[-1])

    cfg = InfoGAN.Config()
    assert row("| `InfoGAN.Config`") == (cfg.lambda_cat, cfg.lambda_cont)
    tuned = {"lambda_cat": cfg.lambda_cat, "lambda_cont": cfg.lambda_cont, **InfoGAN.tuned}
    assert row("| `InfoGAN.tuned`") == (tuned["lambda_cat"], tuned["lambda_cont"])


@pytest.mark.parametrize("make, shape", [(lambda r: Dense(6, 5, rng=r), (4, 6)),
                                         (lambda r: Conv2d(2, 3, 3, padding=1, rng=r), (2, 2, 5, 5))],
                         ids=["dense", "conv2d"])
def test_spectral_norm_weight_gradient_is_orthogonal_to_w_not_to_u_v(rng, make, shape):
    """docs/layers/spectral_norm.md: <W̄, W> = 0 (scaling W leaves W_sn alone); <W̄, u vᵀ> is not 0."""
    layer = SpectralNorm(make(rng), rng=rng).to(dtype=np.float64)
    y = layer(rng.standard_normal(shape))
    layer.zero_grad()
    layer.backward(rng.standard_normal(y.shape))
    w_bar, w = layer.weight.grad, layer.weight.data
    uv = layer._unmatrix(np.outer(layer.u, layer.v), w.shape)
    assert abs((w_bar * w).sum()) < 1e-12 * np.linalg.norm(w_bar) * np.linalg.norm(w)
    assert abs((w_bar * uv).sum()) > 1e-3 * np.linalg.norm(w_bar)


def conv_operator_norm(conv, shape, rng, iterations):
    """‖conv‖₂ by power iteration on conv's adjoint times conv (the adjoint is its input gradient)."""
    conv.requires_grad_(False)
    x = rng.standard_normal(shape)
    for _ in range(iterations):
        x = conv.backward(conv(x))
        x /= np.linalg.norm(x)
    return np.linalg.norm(conv(x))


def test_a_spectrally_normalised_conv_is_not_1_lipschitz(rng):
    """docs/layers/spectral_norm.md: σ(kernel matrix) = 1, yet a 3x3 conv stretches by up to √9 = 3."""
    conv = Conv2d(1, 1, 3, padding=1, bias=False, rng=rng).to(dtype=np.float64)
    conv.weight.data[...] = 1.0 / 3.0                          # every tap equal: σ of the 1 x 9 matrix is 1
    assert np.isclose(np.linalg.svd(conv.weight.data.reshape(1, -1), compute_uv=False)[0], 1.0)
    norm = conv_operator_norm(conv, (1, 1, 28, 28), rng, 300)
    assert 2.9 < norm <= 3.0                                   # the page's 2.98; the bound √(k_H k_W) = 3


def test_with_minibatch_std_the_penalised_row_is_the_gradient_of_the_summed_score(rng):
    """docs/layers/minibatch_std.md: row n of the backward of ones is ∂(Σ_m D(x_m))/∂x_n, not ∇D(x_n)."""
    D = Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), LeakyReLU(0.2), MinibatchStd(4), Flatten(),
                   Dense(3 * 4 * 4, 1, rng=rng)).to(dtype=np.float64)
    x = rng.standard_normal((8, 1, 4, 4))
    D.requires_grad_(False)
    g = D.backward(np.ones_like(D(x)))
    h, n = 1e-6, 5
    summed, own = np.zeros_like(x[n]), np.zeros_like(x[n])
    for idx in np.ndindex(*x[n].shape):
        plus, minus = x.copy(), x.copy()
        plus[n][idx] += h
        minus[n][idx] -= h
        out_plus, out_minus = D(plus), D(minus)
        summed[idx] = (out_plus.sum() - out_minus.sum()) / (2 * h)
        own[idx] = (out_plus[n, 0] - out_minus[n, 0]) / (2 * h)
    np.testing.assert_allclose(g[n], summed, rtol=1e-6, atol=1e-9)
    assert np.linalg.norm(g[n] - own) > 1e-4 * np.linalg.norm(own)   # the other samples' terms are there


def test_the_classifiers_ceilings_and_the_orientation_ceiling_are_the_ones_the_page_gives(mnist):
    """docs/translation_data.md: what the classifier reads in each domain's true images, and r of the true pairs."""
    from pathlib import Path

    from minigan import metrics
    from minigan.translation.data import load_task, orientation
    from minigan.translation.translator import pearson

    page = (Path(__file__).resolve().parents[1] / "docs" / "translation_data.md").read_text()
    upright, rotated = load_task("thickness", "test"), load_task("rotated", "test")
    for name, images, labels in [("thin (as written)", upright.a, upright.labels_a),
                                 ("thickened", upright.a_counterpart, upright.labels_a),
                                 ("rotated thin", rotated.a, rotated.labels_a),
                                 ("rotated thickened", rotated.a_counterpart, rotated.labels_a)]:
        read = 100 * metrics.digit_accuracy(images, labels)["overall"]
        assert f"| {name} | **{read:.2f}%** |" in page, name
    r = pearson(orientation(rotated.a), orientation(rotated.a_counterpart))
    assert f"is **{r:.3f}**" in page


# ---- every page: no control characters, no flag that no command reads ----------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("**/*.md"))
FLAG = r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
#: flags of outside tools that pages name: git describe's (docs/results.md)
OUTSIDE_FLAGS = {"--always", "--dirty"}


def test_no_page_holds_a_control_character():
    """A TAB or form feed where a page meant `\\t` or `\\f` (`\\tfrac`, `\\top`, `\\frac`) breaks its formula."""
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").split("\n"), 1):
            bad = sorted({f"U+{ord(ch):04X}" for ch in line if ord(ch) < 32 or ord(ch) == 127})
            assert not bad, f"{page.relative_to(ROOT)}:{number} holds {', '.join(bad)}: {line[:60]!r}"


def command_flags():
    """{model: the flags of examples/train_<model>.py}, and the flags the other commands read: every string
    literal that is a flag and nothing else ("--npy", "--check") in examples/, scripts/, benchmarks/, minigan/
    and tests/conftest.py, where add_argument, addoption and argv checks name them."""
    import re

    from minigan import models
    from minigan.training.cli import train_parser

    train = {name: {flag for action in train_parser(name)._actions for flag in action.option_strings}
             for name in models.names()}
    sources = [ROOT / "tests" / "conftest.py"]
    for folder in ("examples", "scripts", "benchmarks", "minigan"):
        sources += sorted((ROOT / folder).glob("**/*.py"))
    tools = set()
    for path in sources:
        tools.update(re.findall(rf"""["']({FLAG})["']""", path.read_text(encoding="utf-8")))
    return train, tools


def test_no_page_names_a_flag_that_no_command_reads():
    import re

    train, tools = command_flags()
    known = set().union(*train.values()) | tools | OUTSIDE_FLAGS
    assert "--stage1-share" in known and "--npy" in known and "--stage1-epochs" not in known
    for page in PAGES:
        stale = sorted(set(re.findall(FLAG, page.read_text(encoding="utf-8"))) - known)
        assert not stale, f"{page.relative_to(ROOT)} names {', '.join(stale)}, which no command of minigan reads"


def test_a_models_page_names_only_its_own_flags_and_the_tools():
    """docs/stackgan.md once told readers to pass --stage1-epochs, which the example refuses."""
    import re

    train, tools = command_flags()
    pages = {name: ROOT / "docs" / f"{name}.md" for name in train if (ROOT / "docs" / f"{name}.md").exists()}
    assert {"stackgan", "pix2pix", "cyclegan", "lapgan", "srgan"} <= set(pages)
    for name, page in pages.items():
        stale = sorted(set(re.findall(FLAG, page.read_text(encoding="utf-8"))) - train[name] - tools)
        assert not stale, f"docs/{name}.md names {', '.join(stale)}: not a flag of train_{name}.py or of a tool"


# ---- docs/pix2pix.md, docs/translation_networks.md: what one PatchGAN logit sees -----------------------------------


def reached(D, x, logit):
    """The input rows and columns that back-propagating one logit of D's (N, 1, 7, 7) map reaches, per sample."""
    from minigan.nn import input_gradient

    out = D(x)
    dout = np.zeros_like(out)
    dout[(0, 0) + logit] = 1.0
    g = np.abs(input_gradient(D, dout)).sum(axis=1)              # (N, H, W), over the input channels
    return [(set(np.flatnonzero(s.any(axis=1))), set(np.flatnonzero(s.any(axis=0)))) for s in g > 0]


@pytest.mark.parametrize("norm, evaluating", [("none", False), ("batch", True)])
def test_a_patchgan_logit_sees_an_18_by_18_window(rng, norm, evaluating):
    """3 positions of the 7 x 7 map -> 4 + 2*2 = 8 of the 14 x 14 one -> 4 + 2*7 = 18 of the input: rows 5..22."""
    from minigan.nn import evaluating as eval_mode
    from minigan.translation.networks import patchgan_discriminator

    D = patchgan_discriminator(in_channels=2, base=4, norm=norm, dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 2, 28, 28))
    D(x)                                                          # batchnorm's running statistics: not their start
    with eval_mode(D) if evaluating else __import__("contextlib").nullcontext():
        (rows, cols), (rows_other, _) = reached(D, x, (3, 3))
        assert rows == cols == set(range(5, 23))                  # 18 x 18, and nothing else
        assert not rows_other                                     # the other sample does not reach it
        (rows, cols), _ = reached(D, x, (0, 0))
        assert rows == cols == set(range(0, 11))                  # a corner's window runs into the zero padding


def test_with_instance_norm_every_logit_depends_on_its_whole_image(rng):
    """docs/translation_networks.md: CycleGAN's D normalises each plane, so a pixel outside the window still counts."""
    from minigan.translation.networks import patchgan_discriminator

    D = patchgan_discriminator(in_channels=1, base=4, norm="instance", dtype=np.float64, rng=rng)
    (rows, cols), (rows_other, _) = reached(D, rng.standard_normal((2, 1, 28, 28)), (3, 3))
    assert rows == cols == set(range(28)) and not rows_other
