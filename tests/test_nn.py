"""Tests of minigan.nn: Parameter, Layer and Sequential bookkeeping, saving and loading.

Covers composition (Sequential equals chaining its layers by hand), parameter
names, gradient accumulation and zero_grad, train/eval propagation, state_dict
and .npz round trips (BatchNorm running statistics included), clear errors on
a state that does not fit, atomic saves, and a finite-difference check of a
whole small model.
"""
import os

import numpy as np
import pytest

import minigan
from minigan import (BatchNorm1d, Dense, Dropout, LeakyReLU, Parameter, Sequential, ShapeError, Tanh, check_layer,
                     numerical_gradient)


def small_model(seed=0, dtype=np.float32):
    """Dense -> BatchNorm1d -> LeakyReLU -> Dense -> Tanh, with weights from ``seed``."""
    r = np.random.default_rng(seed)
    model = Sequential(Dense(3, 4, rng=r), BatchNorm1d(4), LeakyReLU(0.2), Dense(4, 2, rng=r), Tanh())
    return model.to(dtype=dtype) if dtype != np.float32 else model


def batch(n=6, features=3, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, features)).astype(dtype)


def warm_up(model, steps=3):
    """A few training forwards, so BatchNorm's running statistics move away from (0, 1)."""
    model.train()
    for k in range(steps):
        model(batch(seed=100 + k) * 2 + 0.5)
    return model


# ------------------------------------------------------------------ composition


def test_sequential_equals_manual_chaining():
    """Sequential's forward is the layers applied in order; its backward is the backwards in
    reverse: same output, same input gradient, same parameter gradients."""
    model = small_model()
    x = batch()
    y = model(x)
    dy = np.random.default_rng(2).standard_normal(y.shape).astype(np.float32)
    dx = model.backward(dy)
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}

    model.zero_grad()
    h = x
    for layer in model.layers:
        h = layer(h)
    g = dy
    for layer in reversed(model.layers):
        g = layer.backward(g)

    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(dx, g)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, grads[name])
    assert len(model) == 5 and model[0] is model.layers[0]


def test_parameter_names_follow_positions():
    """named_parameters() uses PyTorch-style names: '<index>.<attribute>', nested with dots;
    parameters() lists the same objects in the same order."""
    model = small_model()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    assert [id(p) for p in model.parameters()] == [id(p) for _, p in model.named_parameters()]
    assert all(isinstance(p, Parameter) for p in model.parameters())
    assert model.parameters()[0] is model[0].weight

    nested = Sequential(Dense(2, 2), Sequential(LeakyReLU(), Dense(2, 1, bias=False)))
    assert [n for n, _ in nested.named_parameters()] == ["0.weight", "0.bias", "1.1.weight"]
    assert sorted(model.state_dict()) == sorted(names + ["1.running_mean", "1.running_var"])


def test_backward_accumulates_and_zero_grad_clears():
    """Two backward passes add their gradients; zero_grad sets every grad to 0 in place."""
    model = small_model()
    x = batch()
    dy = np.ones((6, 2), np.float32)
    model(x)
    model.backward(dy)
    once = {n: p.grad.copy() for n, p in model.named_parameters()}
    assert any(np.abs(g).sum() > 0 for g in once.values())
    model(x)
    model.backward(dy)
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[n], rtol=1e-5, atol=1e-6)

    grad_ids = [id(p.grad) for p in model.parameters()]
    model.zero_grad()
    assert [id(p.grad) for p in model.parameters()] == grad_ids
    for p in model.parameters():
        assert not p.grad.any()


def test_train_and_eval_propagate_to_children():
    """train()/eval() set the mode of every layer, nested Sequentials included, and return the model."""
    inner = Sequential(Dense(3, 3), Dropout(0.5, seed=0))
    model = Sequential(Dense(3, 3), BatchNorm1d(3), inner)
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    assert len(list(model.modules())) == 6
    x = batch()
    np.testing.assert_array_equal(model(x), model(x))  # eval: deterministic, running stats untouched
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not inner[1].training and not model[1].training


# ------------------------------------------------------------------ saving and loading


def test_state_dict_save_load_round_trip_restores_outputs(tmp_path):
    """save() then load() into a differently initialised model gives bit-identical eval outputs,
    because weights *and* BatchNorm running statistics come back."""
    model = warm_up(small_model(seed=0))
    bn = model[1]
    assert not np.allclose(bn.running_mean, 0) and not np.allclose(bn.running_var, 1)
    model.eval()
    x = batch(seed=7)
    y = model(x)

    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path) as f:
        assert sorted(f.files) == sorted(model.state_dict())

    other = small_model(seed=123).eval()
    assert not np.array_equal(other(x), y)
    assert other.load(path) is other
    np.testing.assert_array_equal(other(x), y)
    np.testing.assert_array_equal(other[1].running_mean, bn.running_mean)
    np.testing.assert_array_equal(other[1].running_var, bn.running_var)
    for p in other.parameters():
        assert p.data.dtype == np.float32


def test_state_dict_holds_copies():
    """state_dict() returns copies: changing the model afterwards does not change a saved state."""
    model = small_model()
    state = model.state_dict()
    saved = {k: v.copy() for k, v in state.items()}
    model[0].weight.data += 1
    warm_up(model)
    for k in saved:
        np.testing.assert_array_equal(state[k], saved[k])


def test_load_state_dict_loads_in_place():
    """Loading writes into the existing parameter arrays (an optimizer holding them sees the new values)."""
    src, dst = small_model(seed=0), small_model(seed=1)
    ids = [id(p.data) for p in dst.parameters()]
    dst.load_state_dict(src.state_dict())
    assert [id(p.data) for p in dst.parameters()] == ids
    for a, b in zip(src.parameters(), dst.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_load_state_dict_wrong_keys_raise_clear_error():
    """A missing or an extra key raises KeyError naming the key."""
    model = small_model()
    state = model.state_dict()
    del state["3.bias"]
    with pytest.raises(KeyError, match=r"missing.*3\.bias"):
        small_model().load_state_dict(state)

    state = model.state_dict()
    state["9.weight"] = np.zeros(3, np.float32)
    with pytest.raises(KeyError, match=r"unexpected.*9\.weight"):
        small_model().load_state_dict(state)


@pytest.mark.parametrize("key, bad_shape", [("3.weight", (2, 4)), ("1.bias", (5,)),
                                            ("1.running_mean", (1,)), ("1.running_var", (4, 1))])
def test_load_state_dict_wrong_shape_raises_and_changes_nothing(key, bad_shape):
    """A parameter *or buffer* of the wrong shape raises ShapeError (a ValueError) naming it,
    and the model is left exactly as it was (nothing half loaded)."""
    model = small_model(seed=0)
    before = model.state_dict()
    state = small_model(seed=1).state_dict()
    state[key] = np.zeros(bad_shape, np.float32)
    with pytest.raises(ShapeError, match=key.replace(".", r"\.")) as info:
        model.load_state_dict(state)
    assert isinstance(info.value, ValueError)
    after = model.state_dict()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_save_is_atomic(tmp_path, monkeypatch):
    """If writing fails half way, the previous file is intact and no temporary file is left behind."""
    path = tmp_path / "model.npz"
    model = small_model(seed=0)
    model.save(path)
    old_bytes = path.read_bytes()

    def failing_savez(file, *args, **kwds):
        """Some bytes reach the file being written (object or path), then the write fails."""
        if hasattr(file, "write"):
            file.write(b"PK\x03\x04 half a zip file")
        else:
            with open(file, "wb") as f:
                f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        small_model(seed=1).save(path)
    monkeypatch.undo()

    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.npz"]
    restored = small_model(seed=5).load(path)
    for a, b in zip(model.parameters(), restored.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_save_creates_folder_and_overwrites(tmp_path):
    """save() creates missing folders and replaces an existing file with the new state."""
    path = tmp_path / "a" / "b" / "m.npz"
    small_model(seed=0).save(path)
    second = small_model(seed=1)
    second.save(path)
    loaded = small_model(seed=2).load(path)
    for a, b in zip(second.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert os.listdir(path.parent) == ["m.npz"]


# ------------------------------------------------------------------ dtype, input checks


def test_to_dtype_casts_parameters_grads_and_buffers():
    """model.to(dtype=float64) casts data, grads and running statistics."""
    model = small_model().to(dtype=np.float64)
    for p in model.parameters():
        assert p.data.dtype == np.float64 and p.grad.dtype == np.float64
    assert model[1].running_mean.dtype == np.float64 and model[1].running_var.dtype == np.float64


def test_wrong_input_dtype_and_shape_raise():
    """A float64 input to a float32 layer raises TypeError; a wrong shape raises ShapeError naming the layer."""
    model = small_model()
    with pytest.raises(TypeError, match="dtype"):
        model(batch(dtype=np.float64))
    with pytest.raises(ShapeError, match=r"Dense\(3, 4"):
        model(batch(features=5))


# ------------------------------------------------------------------ whole-model gradient check


def test_full_model_gradcheck_float64():
    """Dense -> BatchNorm1d (training) -> LeakyReLU -> Dense -> Tanh: the hand-written backward
    agrees with finite differences for the input and every parameter (float64)."""
    model = small_model(seed=3, dtype=np.float64).train()
    x = np.random.default_rng(4).standard_normal((5, 3))
    errors = check_layer(model, x)
    assert set(errors) == {"x", "0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"}
    # The first Dense's bias feeds a training-mode BatchNorm, which subtracts the batch mean:
    # its true gradient is exactly 0, so a *relative* error compares rounding noise with
    # rounding noise. Check it in absolute terms instead (both gradients ~0).
    del errors["0.bias"]
    for name, err in errors.items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
    dy = np.random.default_rng(0).standard_normal((5, 2))
    model.zero_grad()
    model(x)
    model.backward(dy)
    numeric = numerical_gradient(lambda: np.sum(model(x) * dy), model[0].bias.data)
    assert np.abs(model[0].bias.grad).max() < 1e-12
    assert np.abs(numeric).max() < 1e-9


def test_full_model_gradcheck_eval_mode_float64():
    """In eval mode BatchNorm uses its running statistics (constants); the gradient still matches."""
    model = warm_up(small_model(seed=3)).to(dtype=np.float64).eval()
    x = np.random.default_rng(5).standard_normal((4, 3))
    for name, err in check_layer(model, x).items():
        assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_gradcheck_catches_a_wrong_backward():
    """check_layer is a real check: a layer with a deliberately wrong backward fails it."""

    class BadDense(Dense):
        def backward(self, dy):
            return 2 * super().backward(dy)

    layer = BadDense(3, 2, rng=np.random.default_rng(0)).to(dtype=np.float64)
    errors = check_layer(layer, np.random.default_rng(1).standard_normal((4, 3)))
    assert errors["x"] > 0.1
    assert errors["weight"] < 1e-6
    assert minigan.rel_error(np.ones(3), np.ones(3)) == 0.0


def test_requires_grad_false_gives_the_same_dx_and_leaves_grads_alone():
    """With parameter gradients off, backward returns the same dL/dx and does not touch .grad."""
    import minigan as mg

    rng = np.random.default_rng(0)
    net = mg.Sequential(mg.Conv2d(2, 3, 3, padding=1), mg.BatchNorm2d(3), mg.ReLU(), mg.ConvTranspose2d(3, 2, 4, 2, 1),
                        mg.Flatten(), mg.Dense(2 * 8 * 8, 1)).to(dtype=np.float64)
    x = rng.standard_normal((4, 2, 4, 4))
    dy = rng.standard_normal((4, 1))
    net.zero_grad()
    net(x)
    dx_full = net.backward(dy)
    grads = [p.grad.copy() for p in net.parameters()]
    net.requires_grad_(False)
    assert all(not m.requires_grad for m in net.modules())
    net(x)
    dx_frozen = net.backward(dy)
    np.testing.assert_array_equal(dx_full, dx_frozen)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_array_equal(g, p.grad)  # not doubled: nothing was added
    net.requires_grad_(True)
    net(x)
    net.backward(dy)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(p.grad, 2 * g)


@pytest.mark.parametrize("first,x_shape", [
    (lambda r: minigan.Conv2d(1, 4, 4, 2, 1, rng=r), (3, 1, 6, 6)),
    (lambda r: minigan.ConvTranspose2d(1, 4, 4, 2, 1, rng=r), (3, 1, 6, 6)),
    (lambda r: Dense(5, 4, rng=r), (3, 5)),
], ids=["Conv2d", "ConvTranspose2d", "Dense"])
def test_no_input_grad_skips_only_the_input_gradient(first, x_shape, rng):
    """D's own step: inside no_input_grad() the first layer skips dL/dx; every dL/dθ is unchanged."""
    x = rng.standard_normal(x_shape)
    body = Sequential(first(np.random.default_rng(1)), LeakyReLU(0.2), minigan.Flatten()).to(dtype=np.float64)
    head = Dense(body(x).shape[1], 1, rng=np.random.default_rng(2)).to(dtype=np.float64)
    net = Sequential(body, head)                        # nested: the body's first layer is the one that skips
    dy = rng.standard_normal((3, 1))

    net.zero_grad()
    net(x)
    dx = net.backward(dy)
    wanted = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    net(x)
    with net.no_input_grad():
        assert net.backward(dy) is None                 # the images' gradient: skipped
    assert dx is not None and dx.shape == x.shape
    for g, w in zip((p.grad for p in net.parameters()), wanted):
        np.testing.assert_array_equal(g, w)             # every parameter's gradient: the same
    assert net.input_grad and body.input_grad and body.layers[0].input_grad  # on again after the block
    net(x)
    assert net.backward(dy).shape == x.shape


def test_check_parameters_agrees_with_a_true_gradient_and_catches_a_wrong_one():
    from minigan.nn.gradcheck import check_parameters

    rng = np.random.default_rng(0)
    layer = Dense(4, 3, dtype=np.float64, rng=rng)
    x, w = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))

    def loss():
        return float((np.tanh(layer(x)) * w).sum())

    y = layer(x)
    layer.zero_grad()
    layer.backward((1 - np.tanh(y) ** 2) * w)
    errors = check_parameters(layer, loss)
    assert set(errors) == {"weight", "bias"} and max(errors.values()) < 1e-7
    layer.weight.grad *= 1.01                                  # one per cent off
    assert check_parameters(layer, loss, entries=12)["weight"] > 1e-3
