"""minigan.pyramid: LAPGAN's Laplacian pyramid, 28 -> 14 -> 7 (docs/pyramid.md)."""
import numpy as np
import pytest

from minigan.backend import DeviceMismatchError
from minigan.coarse import pyramid
from minigan.nn.gradcheck import check_layer


def images(rng, n=3, side=28, dtype=np.float64):
    return rng.uniform(-1, 1, (n, 1, side, side)).astype(dtype)


def test_down_is_the_mean_of_each_block_and_up_copies_each_pixel(rng):
    x = images(rng, side=4)
    d = pyramid.down(x)
    for i in range(2):
        for j in range(2):
            assert np.allclose(d[:, :, i, j], x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2].mean(axis=(2, 3)))
    u = pyramid.up(d)
    assert u.shape == x.shape
    assert (u[:, :, 0::2, 0::2] == d).all() and (u[:, :, 1::2, 1::2] == d).all()


def test_the_pyramid_has_the_sizes_of_its_levels(rng):
    h0, h1, coarse = pyramid.laplacian(images(rng))
    assert h0.shape == (3, 1, 28, 28) and h1.shape == (3, 1, 14, 14) and coarse.shape == (3, 1, 7, 7)
    assert [g.shape[2] for g in pyramid.gaussian(images(rng))] == [28, 14, 7]


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-15), (np.float32, 1e-6)])
@pytest.mark.parametrize("levels", [1, 2, 3])
def test_the_pyramid_reconstructs_the_image_exactly(rng, dtype, tol, levels):
    x = images(rng, dtype=dtype)
    parts = pyramid.laplacian(x, levels)
    assert len(parts) == levels
    back = pyramid.reconstruct(parts)
    assert back.dtype == dtype
    assert np.abs(back - x).max() <= tol


def test_every_residual_has_zero_block_means_so_it_holds_only_detail(rng):
    """d(u(y)) = y makes d(h_k) = d(I_k) - d(u(d(I_k))) = 0."""
    y = images(rng, side=14)
    assert np.allclose(pyramid.down(pyramid.up(y)), y)
    for residual in pyramid.laplacian(images(rng))[:-1]:
        assert np.abs(pyramid.down(residual)).max() < 1e-12


def test_detail_projects_onto_the_residuals_and_its_backward_is_checked(rng):
    """R(v) = v - u(d(v)) has zero 2 x 2 means, leaves a residual as it is (R(R(v)) = R(v)), and backward = R."""
    g = rng.standard_normal((2, 3, 8, 6))
    layer = pyramid.Detail()
    h = layer(g)
    np.testing.assert_allclose(pyramid.down(h), 0, atol=1e-12)
    np.testing.assert_allclose(layer(h), h, atol=1e-12)
    residual = pyramid.laplacian(rng.standard_normal((2, 1, 28, 28)))[0]
    np.testing.assert_allclose(layer(residual), residual, atol=1e-12)
    assert check_layer(layer, g)["x"] < 1e-7
    with pytest.raises(ValueError, match="cannot be halved"):
        layer(rng.standard_normal((2, 1, 7, 7)))


def test_each_finer_level_brings_a_digit_closer(mnist):
    """What LAPGAN's finer levels have to draw: the 7 x 7 level, enlarged, misses the strokes; adding h_1
    comes closer; adding h_0 too gives the digit back."""
    from minigan.data import load_mnist
    x, _ = load_mnist("test", limit=100)
    h0, h1, coarse = pyramid.laplacian(x.astype(np.float64))
    error_7 = np.abs(x - pyramid.up(pyramid.up(coarse))).mean()
    error_14 = np.abs(x - pyramid.up(pyramid.up(coarse) + h1)).mean()
    error_28 = np.abs(x - (pyramid.up(pyramid.up(coarse) + h1) + h0)).mean()
    assert error_7 > 1.5 * error_14 > 0 and error_28 < 1e-6


@pytest.mark.parametrize("call,match", [
    (lambda: pyramid.laplacian(np.zeros((2, 1, 30, 30))), r"30 x 30 images cannot be halved 2 time\(s\).*of 4"),
    (lambda: pyramid.down(np.zeros((2, 1, 7, 7))), r"7 x 7 images cannot be halved 1 time"),
    (lambda: pyramid.down(np.zeros((28, 28))), r"expected images of shape \(N, C, H, W\), got \(28, 28\)"),
    (lambda: pyramid.up([1, 2]), r"expected images of shape \(N, C, H, W\), got list"),
    (lambda: pyramid.laplacian(np.zeros((1, 1, 28, 28)), levels=0), r"levels must be an integer >= 1, got 0"),
    (lambda: pyramid.laplacian(np.zeros((1, 1, 28, 28)), levels=2.0), r"levels must be an integer >= 1, got 2.0"),
    (lambda: pyramid.reconstruct([]), r"non-empty list"),
    (lambda: pyramid.reconstruct([np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 7, 7))]),
     r"a residual of 7 x 7 cannot follow a 7 x 7 level .*finest first"),
])
def test_bad_input_gets_one_clear_line(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.cupy
def test_the_same_pyramid_on_cupy_and_a_mixed_list_is_refused(rng):
    import cupy as cp
    x = images(rng)
    parts = pyramid.laplacian(cp.asarray(x))
    assert all(isinstance(p, cp.ndarray) for p in parts)
    assert np.allclose(cp.asnumpy(pyramid.reconstruct(parts)), x)
    with pytest.raises(DeviceMismatchError, match="pyramid.reconstruct"):
        pyramid.reconstruct([parts[0], cp.asnumpy(parts[1]), parts[2]])


# ---- examples/show_pyramid.py --------------------------------------------------------------------

def show_pyramid():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "show_pyramid.py"
    spec = importlib.util.spec_from_file_location("show_pyramid", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_the_example_draws_the_pyramids_and_adds_them_back_up(mnist, tmp_path, capsys):
    out = tmp_path / "p.png"
    assert show_pyramid()(["--n", "3", "--out", str(out)]) == 0
    from PIL import Image
    with Image.open(out) as image:                       # 3 rows of 5 images of 28 pixels, 2-pixel gaps, twice
        assert image.size == (2 * (5 * 30 + 2), 2 * (3 * 30 + 2))
    lines = capsys.readouterr().out.splitlines()
    errors = [float(line.rsplit(" ", 1)[1]) for line in lines[:3]]
    assert errors[0] > errors[1] > errors[2] == 0.0


@pytest.mark.parametrize("argv,words", [(["--n", "0"], "--n"), (["--out", "p.txt"], ".png")])
def test_the_example_refuses_bad_flags_in_one_line(argv, words, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        show_pyramid()(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and words in err


def test_the_example_without_mnist_is_one_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINIGAN_DATA_DIR", str(tmp_path / "no such folder"))   # named but missing: no download
    assert show_pyramid()(["--out", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and not (tmp_path / "p.png").exists()
