"""NumPy/CuPy parity: the same layers, from the same seed, give the same numbers on CPU and GPU.

For every layer the forward output, the input gradient and every parameter
gradient are computed once with NumPy arrays and once with CuPy arrays and
compared at float32 tolerance (rtol 1e-4, atol 1e-5). Also: BCEWithLogits, an
Adam step, ``model.to('cupy')`` and back, and the DeviceMismatchError raised
when a NumPy input meets a CuPy model.

Every test is marked ``cupy``: skipped where CuPy or a visible GPU is missing, and run on the CPU
against the strict stand-in by ``pytest --cupy-standin`` (tests/conftest.py, docs/backend.md).
"""
import numpy as np
import pytest

import minigan
from minigan import backend
from minigan import (Adam, BatchNorm1d, BatchNorm2d, BCEWithLogits, Conv2d, ConvTranspose2d, Dense, DeviceMismatchError,
                     Flatten, InstanceNorm2d, LayerNorm, LeakyReLU, PixelShuffle, PReLU, ReflectionPad2d, ReLU,
                     Residual, Sequential, Sigmoid, Tanh, Upsample2d, gradient_penalty, r1_penalty, to_device, to_numpy)
from minigan.nn.layers import MinibatchStd, SpectralNorm

pytestmark = pytest.mark.cupy
cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pytest --cupy-standin runs these on the CPU)")

RTOL, ATOL = 1e-4, 1e-5
SEED = 2024


@pytest.fixture(autouse=True)
def numpy_backend_after_each_test():
    """Tests switch backends; always leave the library on NumPy."""
    yield
    minigan.set_backend("numpy")


def close(a, b, what=""):
    """Compare two arrays from any backends at float32 tolerance, on the CPU."""
    np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=RTOL, atol=ATOL, err_msg=what)


def build(factory, name):
    """Build a layer on backend ``name`` after seeding, so both backends start from the same weights."""
    minigan.set_backend(name)
    try:
        minigan.seed(SEED)
        return factory()
    finally:
        minigan.set_backend("numpy")


def randn(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def forward_backward(layer, x_np, dy_seed, name):
    """Run forward and backward (with dL/dy drawn from ``dy_seed``) once on backend ``name``;
    return NumPy copies of y, dx and the parameter grads."""
    layer.zero_grad()
    x = to_device(x_np, name)
    y = layer(x)
    dy = to_device(randn(y.shape, dy_seed), name)
    dx = layer.backward(dy)
    for arr in (y, dx):
        assert backend.backend_of(arr) == name, f"{layer!r} returned a {backend.backend_of(arr)} array on {name}"
        assert arr.dtype == np.float32
    grads = {n: to_numpy(p.grad) for n, p in layer.named_parameters()}
    for n, p in layer.named_parameters():
        assert backend.backend_of(p.grad) == name, f"{n}.grad left the {name} backend"
    return to_numpy(y), to_numpy(dx), grads


# (id, factory, input shape, mode): mode "train" or "eval" (eval after one training batch)
LAYERS = [
    ("dense", lambda: Dense(6, 5), (4, 6), "train"),
    ("dense-no-bias", lambda: Dense(6, 3, bias=False), (4, 6), "train"),
    ("conv2d-3x3-s1-p1", lambda: Conv2d(3, 4, 3, stride=1, padding=1), (2, 3, 8, 8), "train"),
    ("conv2d-4x4-s2-p1", lambda: Conv2d(3, 4, 4, stride=2, padding=1), (2, 3, 8, 8), "train"),
    ("convT-4x4-s2-p1", lambda: ConvTranspose2d(4, 3, 4, stride=2, padding=1), (2, 4, 5, 5), "train"),
    ("convT-3x3-s2-p1-op1", lambda: ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
     (2, 2, 4, 4), "train"),
    ("batchnorm1d-train", lambda: BatchNorm1d(5), (8, 5), "train"),
    ("batchnorm1d-eval", lambda: BatchNorm1d(5), (8, 5), "eval"),
    ("batchnorm2d-train", lambda: BatchNorm2d(3), (2, 3, 4, 4), "train"),
    ("batchnorm2d-eval", lambda: BatchNorm2d(3), (2, 3, 4, 4), "eval"),
    ("leaky-relu", lambda: LeakyReLU(0.2), (4, 7), "train"),
    ("relu", lambda: ReLU(), (4, 7), "train"),
    ("tanh", lambda: Tanh(), (4, 7), "train"),
    ("sigmoid", lambda: Sigmoid(), (4, 7), "train"),
    ("upsample2d", lambda: Upsample2d(2), (2, 3, 4, 4), "train"),
    ("flatten", lambda: Flatten(), (2, 3, 4, 4), "train"),
    ("layernorm", lambda: LayerNorm((3, 4, 4)), (2, 3, 4, 4), "train"),
    ("minibatch-std", lambda: MinibatchStd(2), (4, 3, 4, 4), "train"),
    ("spectral-norm-dense", lambda: SpectralNorm(Dense(6, 5)), (4, 6), "train"),
    ("spectral-norm-conv2d", lambda: SpectralNorm(Conv2d(3, 4, 3, padding=1)), (2, 3, 6, 6), "train"),
    ("instancenorm", lambda: InstanceNorm2d(3), (2, 3, 4, 4), "train"),
    ("instancenorm-affine", lambda: InstanceNorm2d(3, affine=True), (2, 3, 4, 4), "eval"),
    ("prelu-per-channel", lambda: PReLU(3), (2, 3, 4, 4), "train"),
    ("pixel-shuffle", lambda: PixelShuffle(2), (2, 8, 3, 3), "train"),
    ("reflection-pad", lambda: ReflectionPad2d(2), (2, 3, 4, 5), "train"),
    ("residual-block", lambda: Residual(Sequential(ReflectionPad2d(1), Conv2d(3, 3, 3, bias=False),
                                                   InstanceNorm2d(3, affine=True), PReLU(3))), (2, 3, 5, 5), "train"),
]


@pytest.mark.parametrize("factory, shape, mode", [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_parity(factory, shape, mode):
    """Same seed, same input: forward output, input gradient and parameter gradients agree."""
    cpu, gpu = build(factory, "numpy"), build(factory, "cupy")
    # identical starting weights (drawn on the CPU from the same seed, then moved)
    for (n, p_cpu), (_, p_gpu) in zip(cpu.named_parameters(), gpu.named_parameters()):
        assert backend.backend_of(p_cpu.data) == "numpy" and backend.backend_of(p_gpu.data) == "cupy"
        np.testing.assert_array_equal(p_cpu.data, to_numpy(p_gpu.data), err_msg=n)

    if mode == "eval":  # one training batch moves the running statistics, then freeze them
        warm = randn(shape, 1) * 3 + 1
        for layer, name in ((cpu, "numpy"), (gpu, "cupy")):
            layer.train()
            layer(to_device(warm, name))
            layer.eval()
        for (n, b_cpu), (_, b_gpu) in zip(cpu.named_buffers(), gpu.named_buffers()):
            assert backend.backend_of(b_gpu) == "cupy"
            close(b_gpu, b_cpu, f"buffer {n}")

    x = randn(shape, 2)
    y_cpu, dx_cpu, g_cpu = forward_backward(cpu, x, 3, "numpy")
    y_gpu, dx_gpu, g_gpu = forward_backward(gpu, x, 3, "cupy")
    assert y_gpu.shape == y_cpu.shape and dx_gpu.shape == dx_cpu.shape == x.shape
    close(y_gpu, y_cpu, "forward output")
    close(dx_gpu, dx_cpu, "input gradient")
    assert g_gpu.keys() == g_cpu.keys()
    for n in g_cpu:
        close(g_gpu[n], g_cpu[n], f"gradient of {n}")
    for (n, b_cpu), (_, b_gpu) in zip(cpu.named_buffers(), gpu.named_buffers()):
        close(b_gpu, b_cpu, f"buffer {n} after the step")


def test_bce_with_logits_parity():
    """BCEWithLogits gives the same loss and gradient on both backends, huge logits included."""
    z = randn((6, 4), 10) * 3
    z[0, :2] = [1000.0, -1000.0]
    t = (np.random.default_rng(11).uniform(size=z.shape) < 0.5).astype(np.float32)
    loss_cpu, g_cpu = BCEWithLogits()(z, t)
    loss_gpu, g_gpu = BCEWithLogits()(to_device(z, "cupy"), to_device(t, "cupy"))
    assert backend.backend_of(g_gpu) == "cupy"
    assert np.isfinite(float(loss_gpu))
    np.testing.assert_allclose(float(loss_gpu), float(loss_cpu), rtol=RTOL, atol=ATOL)
    close(g_gpu, g_cpu, "dL/dz")


def test_adam_step_parity():
    """One Adam step (and a second one) from the same weights and gradients gives the same
    weights and the same moment estimates on both backends."""
    def factory():
        return Sequential(Dense(6, 5), Dense(5, 2))

    cpu, gpu = build(factory, "numpy"), build(factory, "cupy")
    opt_cpu = Adam(cpu.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_gpu = Adam(gpu.parameters(), lr=1e-2, betas=(0.5, 0.999))
    for k in range(2):
        x = randn((4, 6), 20 + k)
        forward_backward(cpu, x, 30 + k, "numpy")
        forward_backward(gpu, x, 30 + k, "cupy")
        opt_cpu.step()
        opt_gpu.step()
        for (n, p_cpu), (_, p_gpu) in zip(cpu.named_parameters(), gpu.named_parameters()):
            assert backend.backend_of(p_gpu.data) == "cupy" and p_gpu.data.dtype == np.float32
            close(p_gpu.data, p_cpu.data, f"{n} after step {k + 1}")
    s_cpu, s_gpu = opt_cpu.state_dict(), opt_gpu.state_dict()
    assert s_cpu.keys() == s_gpu.keys()
    for key in s_cpu:
        assert isinstance(s_gpu[key], np.ndarray)  # state_dict is always NumPy
        np.testing.assert_allclose(s_gpu[key], s_cpu[key], rtol=RTOL, atol=ATOL, err_msg=key)


def small_cnn():
    return Sequential(Conv2d(1, 4, 4, stride=2, padding=1), BatchNorm2d(4), LeakyReLU(0.2),
                      Flatten(), Dense(4 * 4 * 4, 1))


def test_model_to_cupy_and_back_round_trip(tmp_path):
    """model.to('cupy') moves every parameter, gradient and buffer to the GPU with the same values,
    computes what the NumPy model computes, and .to('numpy') brings back bit-identical arrays;
    a state saved from the GPU model loads into a CPU model."""
    minigan.seed(SEED)
    model = small_cnn()
    model(randn((5, 1, 8, 8), 40))  # training forward: running statistics move
    model.eval()
    x = randn((3, 1, 8, 8), 41)
    y_cpu = model(x)
    state = model.state_dict()

    assert model.to("cupy") is model
    for n, p in model.named_parameters():
        assert backend.backend_of(p.data) == "cupy" and backend.backend_of(p.grad) == "cupy", n
    for n, b in model.named_buffers():
        assert backend.backend_of(b) == "cupy", n
    gpu_state = model.state_dict()
    assert gpu_state.keys() == state.keys()
    for k in state:
        assert isinstance(gpu_state[k], np.ndarray)
        np.testing.assert_array_equal(gpu_state[k], state[k], err_msg=k)
    y_gpu = model(to_device(x, "cupy"))
    assert backend.backend_of(y_gpu) == "cupy"
    close(y_gpu, y_cpu, "eval output on the GPU")

    path = tmp_path / "gpu_model.npz"
    model.save(path)
    cpu_copy = small_cnn().eval().load(path)
    np.testing.assert_array_equal(cpu_copy(x), y_cpu)

    assert model.to("numpy") is model
    for n, p in model.named_parameters():
        assert backend.backend_of(p.data) == "numpy" and backend.backend_of(p.grad) == "numpy", n
    back = model.state_dict()
    for k in state:
        np.testing.assert_array_equal(back[k], state[k], err_msg=k)
    np.testing.assert_array_equal(model(x), y_cpu)


def test_load_numpy_state_into_cupy_model():
    """load_state_dict copies NumPy arrays into a CuPy model, which stays on the GPU."""
    minigan.seed(1)
    src = small_cnn()
    minigan.seed(2)
    dst = build(small_cnn, "cupy")
    dst.load_state_dict(src.state_dict())
    for (n, a), (_, b) in zip(src.named_parameters(), dst.named_parameters()):
        assert backend.backend_of(b.data) == "cupy"
        np.testing.assert_array_equal(to_numpy(b.data), a.data, err_msg=n)
    for n, b in dst.named_buffers():
        assert backend.backend_of(b) == "cupy", n


def test_numpy_input_into_cupy_model_raises_device_mismatch():
    """A NumPy input to a CuPy model (and the reverse) raises DeviceMismatchError naming the layer."""
    gpu = build(small_cnn, "cupy")
    x = randn((2, 1, 8, 8), 50)
    with pytest.raises(DeviceMismatchError) as info:
        gpu(x)
    msg = str(info.value)
    assert "Conv2d(1, 4" in msg and "parameters on cupy" in msg and "input on numpy" in msg

    # a parameter-free first layer passes the NumPy array on; the first Dense catches it
    head = build(lambda: Sequential(Flatten(), Dense(64, 1)), "cupy")
    with pytest.raises(DeviceMismatchError, match=r"Dense\(64, 1"):
        head(x)

    cpu = build(small_cnn, "numpy")
    with pytest.raises(DeviceMismatchError, match=r"parameters on numpy, input on cupy"):
        cpu(to_device(x, "cupy"))

    with pytest.raises(DeviceMismatchError, match="BCEWithLogits"):
        BCEWithLogits()(cupy.zeros((2, 1), dtype=cupy.float32), np.zeros((2, 1), np.float32))


def test_set_backend_cupy_puts_new_weights_on_the_gpu():
    """set_backend('cupy') makes new layers live on the GPU; get_array_module then returns cupy."""
    minigan.set_backend("cupy")
    assert minigan.get_backend() == "cupy"
    layer = Dense(3, 2)
    assert isinstance(layer.weight.data, cupy.ndarray)
    assert minigan.get_array_module(layer.weight.data) is cupy
    assert minigan.get_array_module(np.zeros(1), layer.weight.data) is cupy
    assert minigan.cupy_available() is True


@pytest.mark.parametrize("penalty", [gradient_penalty, r1_penalty], ids=["wgan-gp", "r1"])
def test_penalty_and_its_double_backward_parity(penalty):
    """The gradient penalties (a backward, then its double backward into the weights) agree across backends."""
    def critic():
        return Sequential(Conv2d(1, 4, 4, stride=2, padding=1), LeakyReLU(0.2), Conv2d(4, 8, 4, stride=2, padding=1),
                          LayerNorm((8, 2, 2)), LeakyReLU(0.2), Flatten(), Dense(32, 1))

    x = np.tanh(randn((4, 1, 8, 8), 5))
    out = {}
    for name in ("numpy", "cupy"):
        D = build(critic, name)
        D.zero_grad()
        value = penalty(D, to_device(x, name), 10.0)
        out[name] = (float(value), {n: to_numpy(p.grad) for n, p in D.named_parameters()})
    assert out["numpy"][0] > 0
    np.testing.assert_allclose(out["cupy"][0], out["numpy"][0], rtol=RTOL)
    for n, g in out["numpy"][1].items():
        # every weight gets a gradient from the penalty; a bias may not: LayerNorm's (3.bias) reaches ∇ₓD only
        # through the kinks of LeakyReLU, whose second derivative is 0, so its true penalty gradient is 0
        assert not n.endswith(".weight") or np.abs(g).max() > 0, f"{n} got no gradient from the penalty"
        close(out["cupy"][1][n], g, f"penalty gradient of {n}")


@pytest.mark.parametrize("name, settings", [("pix2pix", dict(base=4, dropout=0.0)),
                                            ("cyclegan", dict(base=2, blocks=1, pool_size=2)),
                                            ("discogan", dict(base=4)),
                                            ("srgan", dict(base=4, blocks=1, pretrain_epochs=0))])
def test_translator_steps_and_translations_match_on_both_backends(name, settings):
    """Two training steps of each image-to-image model from the same weights and batches, on NumPy and on
    CuPy: the logged losses, the updated weights and translate() agree at float32 tolerance."""
    from minigan import models
    from minigan.training.config import validate

    model_cls = models.get(name)
    pair = {b: model_cls(validate(model_cls.Config(out="unused", backend=b, **settings))) for b in ("numpy", "cupy")}
    rng = np.random.default_rng(SEED)
    batches = [pair["numpy"].example_batch(rng, 4) for _ in range(2)]
    stats = {}
    for b, model in pair.items():
        backend.set_backend(b)
        for step, batch in enumerate(batches):
            model.before_step(step, 2)
            stats[b] = model.step([tuple(to_device(x, b) for x in batch)])
    for key in stats["numpy"]:
        close(stats["cupy"][key], stats["numpy"][key], f"{name}: {key}")
    for module in pair["numpy"].modules():
        for p_cpu, p_gpu in zip(pair["numpy"].modules()[module].parameters(),
                                pair["cupy"].modules()[module].parameters()):
            close(p_gpu.data, p_cpu.data, f"{name}: {module}'s weights after two steps")
    x = batches[0][0]
    for direction in pair["numpy"].directions:
        np.testing.assert_allclose(pair["cupy"].translate(x if direction == "a2b" else batches[0][1], direction),
                                   pair["numpy"].translate(x if direction == "a2b" else batches[0][1], direction),
                                   rtol=RTOL, atol=ATOL)
