"""Tests of minigan.optim: every optimizer against PyTorch's documented update rules.

Each update test runs a few steps of the library's optimizer and, side by side,
the same steps written out in NumPy in this file (the formulas from PyTorch's
documentation of SGD, Adam and RMSprop). The reference runs in float64 on
copies, so the comparison is tight.
"""
import numpy as np
import pytest

from minigan import SGD, Adam, Parameter, RMSprop, clip_grad_norm, clip_grad_value

SHAPES = [(3, 4), (5,)]
N_STEPS = 5


def make_params(dtype=np.float64, seed=0):
    """Two parameters with random data, in ``dtype``."""
    r = np.random.default_rng(seed)
    return [Parameter(r.standard_normal(s).astype(dtype)) for s in SHAPES]


def grads_for_step(k, dtype=np.float64):
    """The gradients fed at step k (1-based): deterministic, different every step."""
    r = np.random.default_rng(1000 + k)
    return [r.standard_normal(s).astype(dtype) for s in SHAPES]


def set_grads(params, grads):
    for p, g in zip(params, grads):
        p.grad[...] = g


# ----------------------------------------------------------------- reference rules
# Written from PyTorch's documentation, one function per optimizer: state in a dict,
# parameters as plain float64 arrays.


def ref_sgd(theta, g, st, t, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    g = g + weight_decay * theta if weight_decay else g
    if momentum:
        b = g.copy() if t == 1 else momentum * st["b"] + g
        st["b"] = b
        g = g + momentum * b if nesterov else b
    return theta - lr * g


def ref_adam(theta, g, st, t, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    g = g + weight_decay * theta if weight_decay else g
    st["m"] = b1 * st.get("m", 0.0) + (1 - b1) * g
    st["v"] = b2 * st.get("v", 0.0) + (1 - b2) * g ** 2
    m_hat = st["m"] / (1 - b1 ** t)
    v_hat = st["v"] / (1 - b2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_rmsprop(theta, g, st, t, lr, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
    g = g + weight_decay * theta if weight_decay else g
    st["v"] = alpha * st.get("v", 0.0) + (1 - alpha) * g ** 2
    step = g / (np.sqrt(st["v"]) + eps)
    if momentum:
        st["b"] = momentum * st.get("b", 0.0) + step
        step = st["b"]
    return theta - lr * step


CASES = [
    ("sgd-plain", SGD, ref_sgd, dict(lr=0.1)),
    ("sgd-momentum", SGD, ref_sgd, dict(lr=0.05, momentum=0.9)),
    ("sgd-nesterov", SGD, ref_sgd, dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd-weight-decay", SGD, ref_sgd, dict(lr=0.1, weight_decay=0.01)),
    ("sgd-momentum-weight-decay", SGD, ref_sgd, dict(lr=0.05, momentum=0.8, weight_decay=0.05)),
    ("adam", Adam, ref_adam, dict(lr=1e-2)),
    ("adam-betas-weight-decay", Adam, ref_adam, dict(lr=3e-3, betas=(0.5, 0.9), weight_decay=0.1)),
    ("rmsprop", RMSprop, ref_rmsprop, dict(lr=1e-2)),
    ("rmsprop-momentum", RMSprop, ref_rmsprop, dict(lr=1e-2, alpha=0.9, momentum=0.9)),
    ("rmsprop-weight-decay", RMSprop, ref_rmsprop, dict(lr=1e-2, weight_decay=0.1)),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name, cls, ref, kw", CASES, ids=IDS)
def test_steps_match_documented_formulas(name, cls, ref, kw):
    """Several steps of each optimizer equal the same steps computed by hand in NumPy."""
    params = make_params()
    thetas = [p.data.copy() for p in params]
    states = [{} for _ in params]
    opt = cls(params, **kw)
    for k in range(1, N_STEPS + 1):
        grads = grads_for_step(k)
        set_grads(params, grads)
        opt.step()
        thetas = [ref(th, g, st, k, **kw) for th, g, st in zip(thetas, grads, states)]
        for p, th in zip(params, thetas):
            np.testing.assert_allclose(p.data, th, rtol=1e-12, atol=1e-12, err_msg=f"{name}, step {k}")
    assert opt.t == N_STEPS


@pytest.mark.parametrize("name, cls, ref, kw", CASES, ids=IDS)
def test_updates_are_in_place(name, cls, ref, kw):
    """step() writes into the same data and grad arrays (views held elsewhere see the update)."""
    params = make_params()
    data_ids = [id(p.data) for p in params]
    grad_ids = [id(p.grad) for p in params]
    views = [p.data[...] for p in params]  # views share memory with the data
    before = [p.data.copy() for p in params]
    opt = cls(params, **kw)
    set_grads(params, grads_for_step(1))
    opt.step()
    assert [id(p.data) for p in params] == data_ids
    assert [id(p.grad) for p in params] == grad_ids
    for v, p, b in zip(views, params, before):
        np.testing.assert_array_equal(v, p.data)
        assert not np.array_equal(p.data, b), "the step did not change the parameter"


def test_adam_first_step_moves_each_weight_by_lr_times_sign():
    """Bias correction (1 - beta**t): Adam's first step is lr * sign(g) whatever |g| is."""
    lr = 1e-3
    g = np.array([1e-3, -2e-2, 0.5, -3.0, 40.0, -1e3])
    p = Parameter(np.zeros_like(g))
    p.grad[...] = g
    Adam([p], lr=lr).step()
    np.testing.assert_allclose(p.data, -lr * np.sign(g), rtol=1e-4)


def test_adam_bias_correction_uses_step_count():
    """At step t the correction is 1 - beta**t (not a constant): a constant gradient keeps moving by lr."""
    lr = 1e-2
    g = np.array([0.3, -2.0, 7.0])
    p = Parameter(np.zeros_like(g))
    opt = Adam([p], lr=lr, betas=(0.8, 0.95))
    for t in range(1, 6):
        before = p.data.copy()
        p.grad[...] = g
        opt.step()
        # With g constant, m_hat = g and v_hat = g^2 exactly at every t, so each step is lr*sign(g).
        np.testing.assert_allclose(p.data - before, -lr * np.sign(g), rtol=1e-6, err_msg=f"step {t}")


def test_sgd_nesterov_needs_momentum():
    """Nesterov without momentum is refused, as in PyTorch."""
    with pytest.raises(ValueError, match="momentum"):
        SGD(make_params(), lr=0.1, nesterov=True)


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop])
def test_empty_parameter_list_is_refused(cls):
    """An optimizer over no parameters is a mistake caught at construction."""
    with pytest.raises(ValueError, match="empty"):
        cls([])


@pytest.mark.parametrize("name, cls, ref, kw", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, cls, ref, kw, tmp_path):
    """Saving an optimizer's state (through .npz) and loading it into a fresh one gives identical later steps."""
    params_a = make_params()
    opt_a = cls(params_a, **kw)
    for k in range(1, 3):
        set_grads(params_a, grads_for_step(k))
        opt_a.step()

    path = tmp_path / "opt.npz"
    np.savez(path, **opt_a.state_dict())
    params_b = [Parameter(p.data.copy()) for p in params_a]
    opt_b = cls(params_b, **kw)
    with np.load(path) as f:
        opt_b.load_state_dict(dict(f))
    assert opt_b.t == opt_a.t

    for k in range(3, 6):
        for params in (params_a, params_b):
            set_grads(params, grads_for_step(k))
        opt_a.step()
        opt_b.step()
        for pa, pb in zip(params_a, params_b):
            np.testing.assert_array_equal(pa.data, pb.data)


def test_state_dict_is_a_copy_and_restarting_without_state_differs():
    """state_dict() holds copies (later steps do not change it); the momentum state really matters."""
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    set_grads(params, grads_for_step(1))
    opt.step()
    state = opt.state_dict()
    saved = {k: np.array(v, copy=True) for k, v in state.items()}
    set_grads(params, grads_for_step(2))
    opt.step()
    for k in saved:
        np.testing.assert_array_equal(state[k], saved[k])

    # A fresh optimizer without the loaded velocity takes a different step.
    p_fresh = [Parameter(p.data.copy()) for p in params]
    p_loaded = [Parameter(p.data.copy()) for p in params]
    fresh = SGD(p_fresh, lr=0.1, momentum=0.9)
    loaded = SGD(p_loaded, lr=0.1, momentum=0.9).load_state_dict(opt.state_dict())
    for ps, o in ((p_fresh, fresh), (p_loaded, loaded)):
        set_grads(ps, grads_for_step(3))
        o.step()
    assert not np.allclose(p_fresh[0].data, p_loaded[0].data)


def test_load_state_dict_rejects_wrong_shapes():
    """A state array that does not fit its parameter raises a ValueError naming it."""
    params = make_params()
    opt = Adam(params)
    set_grads(params, grads_for_step(1))
    opt.step()
    state = opt.state_dict()
    state["m.0"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"m\.0"):
        Adam(make_params()).load_state_dict(state)


@pytest.mark.parametrize("name, cls, ref, kw", CASES, ids=IDS)
def test_float32_stays_float32(name, cls, ref, kw):
    """No float64 creeps in: float32 parameters, gradients and optimizer state stay float32."""
    params = make_params(np.float32)
    opt = cls(params, **kw)
    for k in range(1, 4):
        set_grads(params, grads_for_step(k, np.float32))
        opt.step()
    for p in params:
        assert p.data.dtype == np.float32
        assert p.grad.dtype == np.float32
    for name_, bufs in opt.state.items():
        for b in bufs:
            if b is not None:
                assert b.dtype == np.float32, f"state {name_} is {b.dtype}"
    # and a reloaded state is float32 too
    opt2 = cls(params, **kw).load_state_dict(opt.state_dict())
    for bufs in opt2.state.values():
        assert all(b is None or b.dtype == np.float32 for b in bufs)


# ----------------------------------------------------------------- clipping


def test_clip_grad_value_clips_in_place():
    """clip_grad_value clamps every entry into [-c, c] in the same grad arrays."""
    params = make_params()
    grads = [3 * g for g in grads_for_step(1)]
    set_grads(params, grads)
    ids = [id(p.grad) for p in params]
    clip_grad_value(params, 0.5)
    assert [id(p.grad) for p in params] == ids
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, np.clip(g, -0.5, 0.5))
    assert max(np.abs(p.grad).max() for p in params) == 0.5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_norm_scales_down_to_max_norm(dtype):
    """Above max_norm: returns the pre-clip global norm; afterwards the global norm is <= max_norm,
    and every gradient is scaled by the same factor (direction kept)."""
    params = make_params(dtype)
    grads = [5 * g for g in grads_for_step(1, dtype)]
    set_grads(params, grads)
    expected_norm = np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads))
    max_norm = 1.0
    assert expected_norm > max_norm
    total = clip_grad_norm(params, max_norm)
    np.testing.assert_allclose(float(total), expected_norm, rtol=1e-6)
    after = np.sqrt(sum((p.grad.astype(np.float64) ** 2).sum() for p in params))
    slack = 1e-6 if dtype == np.float32 else 0.0
    assert after <= max_norm * (1 + slack)
    np.testing.assert_allclose(after, max_norm, rtol=1e-5)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * (max_norm / expected_norm), rtol=1e-5, atol=1e-7)
        assert p.grad.dtype == dtype


def test_clip_grad_norm_leaves_small_gradients_alone():
    """Below max_norm nothing changes, and the norm is still returned."""
    params = make_params()
    grads = grads_for_step(1)
    set_grads(params, grads)
    expected_norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    total = clip_grad_norm(params, expected_norm * 2)
    np.testing.assert_allclose(float(total), expected_norm, rtol=1e-12)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad, g)


def test_adam_inplace_fast_path_gives_the_same_bits_as_the_plain_lines():
    """The scratch-buffer Adam runs the plain formula's operations in the same order: identical results."""
    rng = np.random.default_rng(3)
    shapes = [(5, 4), (4,), (3, 2, 2, 2)]
    results = []
    for inplace in (True, False):
        params = [Parameter(rng.standard_normal(s).astype(np.float32)) for s in shapes]
        rng_g = np.random.default_rng(7)
        opt = Adam(params, lr=1e-2, betas=(0.5, 0.999), weight_decay=0.01, inplace=inplace)
        for _ in range(5):
            for p in params:
                p.grad[...] = rng_g.standard_normal(p.shape).astype(np.float32)
            opt.step()
        results.append([p.data.copy() for p in params])
        rng = np.random.default_rng(3)
    for fast, plain in zip(*results):
        assert fast.dtype == np.float32
        np.testing.assert_array_equal(fast, plain)
