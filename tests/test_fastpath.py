"""The CPU fast paths (minigan/nn/fastpath/) compute what the plain lines compute.

Each layer file's own tests run under both (the ``both_paths`` fixture); here the
two are compared directly, on the sizes and memory layouts a DCGAN step produces,
and the switch and the pool are pinned down.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minigan import BatchNorm1d, BatchNorm2d, Conv2d, InstanceNorm2d
from minigan.nn import fastpath
from minigan.nn.conv import col2im, conv_output_size


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def channels_last(x):
    """The same numbers as x, held channels-last in memory (what the convolutions return)."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)


# ---- the switch and the pool -------------------------------------------------------------------------

def test_plain_turns_the_fast_paths_off_inside_its_block_only():
    assert fastpath.enabled()
    with fastpath.plain():
        assert not fastpath.enabled()
        with fastpath.plain(False):
            assert fastpath.enabled()
        assert not fastpath.enabled()
    assert fastpath.enabled()
    with pytest.raises(KeyError), fastpath.plain():
        raise KeyError("an error inside the block")
    assert fastpath.enabled()                               # restored on the way out of an error too


def test_the_environment_variable_turns_them_off_for_a_whole_run():
    code = "from minigan import fastpath; print(fastpath.enabled())"
    env = dict(os.environ, MINIGAN_PLAIN="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_only_numpy_arrays_take_a_fast_path():
    x = np.zeros((2, 3), dtype=np.float32)
    assert fastpath.active(x) and fastpath.active(x, x)
    assert not fastpath.active(x, np.ma.masked_array(x))    # an ndarray subclass keeps the plain lines
    with fastpath.plain():
        assert not fastpath.active(x)


@pytest.mark.parametrize("n", [1, 2, 5, 64, 1000])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_pieces_cover_the_batch_once_in_order(n, threads):
    before = fastpath.threads()
    fastpath.set_threads(threads)
    try:
        big = fastpath.pieces(n, fastpath.MIN_BYTES)       # each sample alone is worth a thread
        small = fastpath.pieces(n, 1)                      # the whole batch is too small to split
    finally:
        fastpath.set_threads(before)
    assert [i for p in big for i in range(n)[p]] == list(range(n))
    assert len(big) == min(n, threads)
    assert small == [slice(0, n)]


def test_map_pieces_runs_every_piece_and_keeps_their_order():
    before = fastpath.threads()
    fastpath.set_threads(3)
    try:
        out = np.zeros(10)

        def piece(p):
            out[p] = np.arange(10)[p] ** 2
            return p.start
        starts = fastpath.map_pieces(piece, 10, fastpath.MIN_BYTES)
    finally:
        fastpath.set_threads(before)
    assert starts == sorted(starts) and len(starts) == 3
    np.testing.assert_array_equal(out, np.arange(10) ** 2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_gets_a_pool_of_its_own():
    """A pool's threads don't survive fork(); the child must start its own, not wait on them forever.

    (Python's ThreadPoolExecutor does so today; this holds minigan to it.)"""
    before = fastpath.threads()
    fastpath.set_threads(2)
    try:
        fastpath.map_pieces(lambda p: None, 2, fastpath.MIN_BYTES)       # the parent's pool exists now
        pid = os.fork()
        if pid == 0:                                                     # the child: must finish, not hang
            ok = fastpath.map_pieces(lambda p: p.start, 2, fastpath.MIN_BYTES) == [0, 1]
            os._exit(0 if ok else 1)
        deadline = time.monotonic() + 20
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        if done[0] == 0:                                                 # still waiting on the parent's threads
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung in map_pieces")
        status = done[1]
    finally:
        fastpath.set_threads(before)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_threads_wants_a_positive_integer(bad):
    with pytest.raises(ValueError, match="set_threads"):
        fastpath.set_threads(bad)


# ---- batchnorm -------------------------------------------------------------------------------------

LAYOUTS = {
    "NCHW": lambda x: x,
    "channels-last": channels_last,
    "strided": lambda x: x[..., ::-1] if x.ndim == 4 else x[:, ::-1],   # neither: the fast path copies once
}


def set_up(layer, training, requires_grad=True):
    """A batchnorm layer with parameters and running statistics away from their defaults."""
    c = layer.num_features
    layer.weight.data[...] = np.linspace(0.5, 1.5, c)
    layer.bias.data[...] = np.linspace(-1, 1, c)
    layer.running_mean[...], layer.running_var[...] = 0.3, 2.0
    layer.training, layer.requires_grad = training, requires_grad
    return layer


def batchnorm_both_ways(make, x, dy, training, requires_grad=True):
    """(y, dx, dgamma, dbeta, running mean, running var) from the fast path and from the plain lines."""
    results = []
    for plain in (False, True):
        layer = set_up(make(), training, requires_grad)
        with fastpath.plain(plain):
            y = layer(x)
            dx = layer.backward(dy)
        results.append((y, dx, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var))
    return results


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("cls,shape", [(BatchNorm2d, (64, 64, 14, 14)), (BatchNorm2d, (64, 128, 7, 7)),
                                       (BatchNorm1d, (64, 512)), (BatchNorm2d, (3, 2, 5, 4))])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_batchnorm_fast_path_equals_the_plain_lines(cls, shape, layout, training, dtype, tol, rng):
    x = LAYOUTS[layout]((3 * rng.standard_normal(shape) + 2).astype(dtype))    # mean far from 0: a fair test
    dy = rng.standard_normal(shape).astype(dtype)
    fast, plain = batchnorm_both_ways(lambda: cls(shape[1], dtype=dtype), x, dy, training)
    for name, f, p in zip(("y", "dx", "dgamma", "dbeta", "running_mean", "running_var"), fast, plain):
        assert f.dtype == p.dtype == dtype, name
        assert rel(f, p) < tol, (name, rel(f, p))


def test_batchnorm_fast_path_keeps_the_layout_it_was_given(rng):
    """Channels-last in, channels-last out: the next convolution's im2col then copies contiguous runs."""
    x = channels_last(rng.standard_normal((4, 8, 5, 5)).astype(np.float32))
    layer = BatchNorm2d(8)
    y = layer(x)
    assert y.strides == x.strides
    assert layer.backward(np.ones_like(y)).strides == x.strides


def test_batchnorm_fast_path_without_parameter_gradients(rng):
    x, dy = rng.standard_normal((6, 3, 4, 4)), rng.standard_normal((6, 3, 4, 4))
    fast, plain = batchnorm_both_ways(lambda: BatchNorm2d(3, dtype=np.float64), x, dy, True, requires_grad=False)
    assert rel(fast[1], plain[1]) < 1e-12
    assert not fast[2].any() and not fast[3].any()       # .grad untouched


# ---- instance norm -------------------------------------------------------------------------------

def instancenorm_both_ways(affine, x, dy, dy_layout=None, requires_grad=True):
    """(y, dx, dgamma, dbeta) from the fast path and from the plain lines (the gradients None without affine)."""
    results = []
    for plain in (False, True):
        layer = InstanceNorm2d(x.shape[1], affine=affine).to(dtype=x.dtype)
        if affine:
            layer.weight.data[...] = np.linspace(0.5, 1.5, x.shape[1])
            layer.bias.data[...] = np.linspace(-1, 1, x.shape[1])
        layer.requires_grad = requires_grad
        with fastpath.plain(plain):
            y = layer(x)
            dx = layer.backward(dy)
        results.append((y, dx, layer.weight.grad if affine else None, layer.bias.grad if affine else None))
    return results


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", [(64, 8, 28, 28), (64, 64, 7, 7), (3, 2, 5, 4), (2, 4, 2, 2)])  # last: L = C
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_instancenorm_fast_path_equals_the_plain_lines(shape, layout, affine, dtype, tol, rng):
    x = LAYOUTS[layout]((3 * rng.standard_normal(shape) + 2).astype(dtype))    # mean far from 0: a fair test
    dy = channels_last(rng.standard_normal(shape).astype(dtype))          # laid out unlike x, in two of three
    fast, plain = instancenorm_both_ways(affine, x, dy)
    for name, f, p in zip(("y", "dx", "dgamma", "dbeta"), fast, plain):
        if p is None:
            continue
        assert f.dtype == p.dtype == dtype, name
        assert rel(f, p) < tol, (name, rel(f, p))


def test_instancenorm_fast_path_keeps_the_layout_and_the_parameters_alone_when_frozen(rng):
    x = channels_last(rng.standard_normal((4, 8, 5, 5)))
    dy = rng.standard_normal(x.shape)
    fast, plain = instancenorm_both_ways(True, x, dy, requires_grad=False)
    assert fast[0].strides == x.strides and fast[1].strides == x.strides
    assert rel(fast[1], plain[1]) < 1e-12
    assert not fast[2].any() and not fast[3].any()       # .grad untouched


# ---- col2im ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,c,h,w,k,s,p", [
    (64, 64, 14, 14, (4, 4), 2, 1),       # the DCGAN's convolution (whole 2x2 cells)
    (64, 128, 7, 7, (4, 4), 2, 1),
    (5, 16, 9, 7, (4, 2), 2, 0),          # rectangular kernel
    (3, 8, 10, 11, (3, 3), 3, 2),         # stride 3, kernel 3: one cell per window
    (4, 8, 9, 9, (3, 3), 2, 1),           # stride does not divide the kernel: the plain loop on both
    (4, 8, 8, 8, (4, 4), 2, 0),           # the windows touch fewer rows than the padded image has
    (2, 1, 28, 28, (4, 4), 2, 1),         # one channel: the plain lines
])
def test_col2im_fast_path_equals_the_plain_loop(n, c, h, w, k, s, p, rng):
    ho, wo = conv_output_size(h, k[0], s, p), conv_output_size(w, k[1], s, p)
    cols = rng.standard_normal((n * ho * wo, k[0] * k[1] * c))
    fast = col2im(cols, (n, c, h, w), k, s, p)
    with fastpath.plain():
        plain = col2im(cols, (n, c, h, w), k, s, p)
    assert fast.shape == plain.shape == (n, c, h, w)
    assert rel(fast, plain) < 1e-13


# ---- Conv2d's stride-1 input gradient ---------------------------------------------------------------

@pytest.mark.parametrize("n,c_in,c_out,h,w,k,p", [
    (4, 8, 1, 30, 30, 3, 0),            # CycleGAN's last convolution, after reflection padding
    (3, 16, 16, 14, 14, 3, 1),          # a residual block's
    (2, 64, 1, 7, 7, 3, 1),             # the PatchGAN's last
    (2, 3, 5, 9, 11, 5, 4),             # the largest padding the path takes (k - 1), rectangular image
    (2, 2, 3, 6, 6, 1, 0),              # 1x1 kernel
    (2, 4, 6, 10, 10, 4, 2),            # even kernel
])
def test_stride1_input_gradient_equals_col2im(n, c_in, c_out, h, w, k, p, rng):
    conv = Conv2d(c_in, c_out, k, stride=1, padding=p, dtype=np.float64, rng=rng)
    x = rng.standard_normal((n, c_in, h, w))
    dy = rng.standard_normal(conv(x).shape)
    assert fastpath.conv.has_flipped_path(c_in, c_out, conv.kernel_size, conv.stride, conv.padding)
    fast = conv.backward(dy)
    with fastpath.plain():
        conv(x)
        plain = conv.backward(dy)
    assert fast.shape == plain.shape == x.shape
    assert rel(fast, plain) < 1e-13


@pytest.mark.parametrize("c_in,c_out,k,s,p,taken", [
    (16, 16, (3, 3), 1, 1, True), (8, 1, (4, 4), 1, 3, True), (4, 16, (3, 3), 1, 1, True),
    (16, 16, (3, 3), 2, 1, False),       # dy would need zeros between its pixels
    (16, 16, (3, 3), 1, 3, False),       # p > k - 1: dx would be a crop
    (16, 16, (3, 1), 1, 0, False),       # not square
    (1, 8, (3, 3), 1, 1, False),         # im2col of dy's 8 channels costs more than col2im's 1
])
def test_the_flipped_path_is_taken_where_it_applies_and_pays(c_in, c_out, k, s, p, taken):
    assert fastpath.conv.has_flipped_path(c_in, c_out, k, s, p) is taken


def test_a_whole_dcgan_step_is_the_same_on_both_paths():
    """One training step (D on real and fake, then G through D) from the same start, both ways.

    Compared: the losses and every parameter's gradient (D's from its step, G's through D).
    Not the weights after Adam: its first step moves each weight by about lr * sign(gradient),
    so a gradient of 1e-9 on one path and -1e-9 on the other would differ by 2 lr.
    """
    from minigan import models
    cls = models.get("dcgan")
    rng = np.random.default_rng(0)
    batch = [(rng.uniform(-1, 1, (16, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 16))]
    runs = []
    for plain in (False, True):
        model = cls(cls.Config(batch_size=16, seed=0))
        with fastpath.plain(plain):
            stats = model.step(batch)
        grads = [p.grad.copy() for p in model.G.parameters()] + [p.grad.copy() for p in model.D.parameters()]
        runs.append((stats, grads))
    (s_fast, g_fast), (s_plain, g_plain) = runs
    for key in ("d_loss", "g_loss"):
        assert abs(float(s_fast[key]) - float(s_plain[key])) < 1e-5 * max(1.0, abs(float(s_plain[key])))
    assert len(g_fast) == len(g_plain) > 0
    # Relative to the largest gradient, not each array's own: a convolution's bias just before a
    # batchnorm has gradient 0 in exact arithmetic (batchnorm subtracts the mean), so both paths
    # give rounding noise of about 1e-7 there.
    scale = max(np.abs(p).max() for p in g_plain)
    assert max(np.abs(f - p).max() for f, p in zip(g_fast, g_plain)) < 1e-5 * scale


# ---- the dispatch: which lines run ---------------------------------------------------------------

def spy_on_the_fast_paths(monkeypatch):
    """Count the calls into each fast path (the layers look them up in minigan/nn/fastpath/ at call time)."""
    calls = {}
    for module, name in [(fastpath.batchnorm, "forward"), (fastpath.batchnorm, "backward"), (fastpath.conv, "col2im")]:
        key = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
        calls[key] = 0

        def counted(*args, _real=getattr(module, name), _key=key):  # noqa: B008 (bound now, on purpose)
            calls[_key] += 1
            return _real(*args)
        monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("plain", [True, False], ids=["plain", "fast"])
def test_the_switch_decides_which_lines_run(plain, monkeypatch, rng):
    """With the fast paths off, the plain lines in the layer files run and no fast path is called."""
    calls = spy_on_the_fast_paths(monkeypatch)
    x = rng.standard_normal((4, 8, 6, 6)).astype(np.float32)
    layer = BatchNorm2d(8)
    cols = rng.standard_normal((4 * 3 * 3, 4 * 4 * 8))
    with fastpath.plain(plain):
        layer.backward(layer(x))
        col2im(cols, (4, 8, 6, 6), (4, 4), 2, 1)
    assert calls == dict.fromkeys(calls, 0 if plain else 1)


@pytest.mark.parametrize("forward_plain", [True, False], ids=["plain-forward", "fast-forward"])
def test_backward_follows_the_path_forward_took(forward_plain, monkeypatch, rng):
    """Flipping the switch between forward and backward cannot pair one path's cache with the other's lines."""
    x = channels_last(rng.standard_normal((4, 8, 5, 5)))
    dy = rng.standard_normal(x.shape)
    expected = batchnorm_both_ways(lambda: BatchNorm2d(8, dtype=np.float64), x, dy, True)[int(forward_plain)]
    calls = spy_on_the_fast_paths(monkeypatch)
    layer = set_up(BatchNorm2d(8, dtype=np.float64), training=True)
    with fastpath.plain(forward_plain):
        y = layer(x)
    with fastpath.plain(not forward_plain):
        dx = layer.backward(dy)
    assert calls["batchnorm.backward"] == calls["batchnorm.forward"] == (0 if forward_plain else 1)
    got = (y, dx, layer.weight.grad, layer.bias.grad, layer.running_mean, layer.running_var)
    for f, e in zip(got, expected):
        np.testing.assert_array_equal(f, e)
