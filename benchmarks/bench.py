#!/usr/bin/env python
"""minigan against PyTorch: the same GAN work, timed in one process.

    python benchmarks/bench.py                          # all tables, NumPy vs PyTorch on the CPU
    python benchmarks/bench.py --only step layers       # some tables
    python benchmarks/bench.py --threads 4 --markdown   # 4 threads each, markdown tables
    python benchmarks/bench.py --backend cupy           # CuPy vs PyTorch on CUDA (TF32 off; --tf32 for on)

Tables:
  1. step    one full GAN training step (minigan's GANModel.step vs the pytorch/examples dcgan loop), and one step
             of each model with a PyTorch twin in benchmarks/twins/<model>.py (WGAN-GP)
  2. layers  forward + backward of each layer type at DCGAN sizes
  3. memory  peak memory of a training step, each in a fresh subprocess
  4. flops   the machine's float32 GEMM rate; each training step's and each convolution's GFLOP/s against it

Threads: NumPy's BLAS reads OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS
once, when NumPy is imported. So this script sets all three to ``--threads`` *before*
it imports NumPy, and gives PyTorch the same number with ``torch.set_num_threads``.
NumPy's elementwise operations are single-threaded whatever the setting.

Before any timing, one small check copies minigan's weights into the PyTorch twins and
compares outputs and gradients ("parity ok"), so both sides do the same work.
See benchmarks/README.md.
"""
import argparse
import contextlib
import gc
import io
import json
import os
import platform
import resource
import subprocess
import sys
import warnings
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def fix_thread_count(argv):
    """Pick the thread count and export it for NumPy's BLAS. Must run before NumPy is imported.

    ``--threads N`` wins; else ``$OMP_NUM_THREADS``; else the CPUs this process may run on.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads")
    try:
        n = int(pre.parse_known_args(argv)[0].threads)
    except (TypeError, ValueError):  # absent, or not a number: the full parser says so later
        try:
            n = int(os.environ.get("OMP_NUM_THREADS", ""))
        except ValueError:
            n = available_cpus()
    n = max(1, n)
    for var in BLAS_THREAD_VARS:
        os.environ[var] = str(n)
    return n


THREADS = fix_thread_count(sys.argv[1:])

import numpy as np  # noqa: E402  (imported after the thread variables are set, on purpose)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # time this checkout's minigan
sys.path.insert(0, str(Path(__file__).resolve().parent))      # and its PyTorch twins (benchmarks/twins/)
from flops import GemmFlops, conv_macs  # noqa: E402  (benchmarks/flops.py)
from timing import alternate, ratio_spread, spread  # noqa: E402  (benchmarks/timing.py)

import minigan  # noqa: E402
from minigan import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, LeakyReLU, ReLU,  # noqa: E402
                     Tanh, models, to_device, to_numpy)
from minigan.gan import networks  # noqa: E402
from minigan.gan.model import GANModel  # noqa: E402
from minigan.training.cli import Parser, int_at_least, nonnegative_float, positive_int  # noqa: E402
from minigan.translation.translator import Translator  # noqa: E402

torch = nn = None  # set by load_torch(): the minigan memory child must not load PyTorch
copy_weights = paired_params = None  # from twins/common.py, also set by load_torch()

LR, BETAS = 2e-4, (0.5, 0.999)  # Adam, as in the DCGAN paper and pytorch/examples
MODELS = {"mlp": "MLP GAN", "dcgan": "DCGAN"}
TABLES = ("step", "layers", "memory", "flops")
MEMORY_STEPS = 3       # training steps run by each memory child (the first allocates Adam's state)
PARITY_BATCH = 4


# ---------------------------------------------------------------------------------------------
# setup: threads, backend, TF32, synchronisation
# ---------------------------------------------------------------------------------------------
def fail(message):
    """One line on stderr and exit status 2: a bad flag or a missing dependency, before any timing."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def load_torch():
    global torch, nn, copy_weights, paired_params, rel_error
    try:
        import torch as torch_module
        from torch import nn as nn_module
    except ImportError:
        return None
    torch, nn = torch_module, nn_module
    from twins.common import copy_weights, paired_params, rel_error  # noqa: F811 (needs torch)
    return torch


def setup(args, need_torch=True):
    """Backend, threads and TF32 for both frameworks. Returns the run's context."""
    if args.backend == "cupy":
        os.environ["CUPY_TF32"] = "1" if args.tf32 else "0"  # read when CuPy is imported
        try:
            minigan.set_backend("cupy")
        except minigan.BackendError as exc:
            fail(f"--backend cupy: {exc}")
    if need_torch:
        load_torch()
    if torch is not None:
        torch.set_num_threads(THREADS)
        torch.set_float32_matmul_precision("high" if args.tf32 else "highest")
        if args.backend == "cupy":
            if not torch.cuda.is_available():
                fail("--backend cupy: this PyTorch has no usable CUDA "
                         f"(torch {torch.__version__}, CUDA {torch.version.cuda}). Install a CUDA build "
                         "of PyTorch, or uninstall torch to time minigan alone.")
            with warnings.catch_warnings():  # newer PyTorch prefers fp32_precision; the flags still work
                warnings.simplefilter("ignore")
                torch.backends.cuda.matmul.allow_tf32 = args.tf32
                torch.backends.cudnn.allow_tf32 = args.tf32
    gpu = args.backend == "cupy"
    if gpu:
        import cupy

        def sync():
            cupy.cuda.Device().synchronize()
            if torch is not None:
                torch.cuda.synchronize()
    else:
        def sync():
            pass
    return SimpleNamespace(backend=args.backend, gpu=gpu, device="cuda" if gpu else "cpu", sync=sync,
                           layer_times={}, step_times=None)


# ---------------------------------------------------------------------------------------------
# timing and printing
# ---------------------------------------------------------------------------------------------
Timing = namedtuple("Timing", "minigan torch ratio")  # Spreads of ms per call (PyTorch's and the ratio's: or None)


def time_pair(minigan_fn, torch_fn, args, ctx):
    """A :data:`Timing`: the two functions timed in alternating blocks over ``--rounds`` rounds (timing.py).

    Each call is followed by a device synchronisation (a no-op on the CPU), so GPU work is
    counted when it finishes, not when it is queued. The garbage collector is off while timing.
    """
    fns = [minigan_fn] + ([torch_fn] if torch_fn is not None else [])
    ms = alternate(fns, rounds=max(1, args.rounds), block_s=args.block_s, warmup=args.warmup, sync=ctx.sync)
    if torch_fn is None:
        return Timing(spread(ms[0]), None, None)
    return Timing(spread(ms[0]), spread(ms[1]), ratio_spread(ms[0], ms[1]))


def fmt_ms(ms):
    if ms is None:
        return "n/a"
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


def fmt_ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def fmt_spread(ratio):
    """'0.93x (0.90-0.97)': the median ratio over the rounds, and its min and max."""
    return "n/a" if ratio is None else f"{ratio.median:.2f}x ({ratio.min:.2f}-{ratio.max:.2f})"


def median_of(timing):
    return None if timing is None else timing.median


def fmt_num(x, unit=""):
    if x is None:
        return "n/a"
    return (f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}") + unit


def fmt_shape(shape):
    return "x".join(str(s) for s in shape)


def print_table(title, header, rows, notes=(), markdown=False):
    rows = [[str(c) for c in r] for r in rows]
    if markdown:
        print(f"\n### {title}\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(":---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        print(f"\n{title}\n{'=' * len(title)}")
        widths = [max(len(x) for x in col) for col in zip(header, *rows)]

        def line(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        print(line(header))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(line(r))
    if notes:
        print()
        for n in notes:
            print(f"- {n}")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------------
def numpy_blas():
    """The BLAS NumPy was built with, from numpy.show_config."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
        config = blas.get("openblas configuration")
        return f"{text} ({config.strip()})" if config else text
    except Exception:  # older NumPy: show_config only prints
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            np.show_config()
        names = [ln.split("=", 1)[1].strip() for ln in out.getvalue().splitlines()
                 if "blas" in ln.lower() and "libraries" in ln and "=" in ln]
        return names[0] if names else "unknown (see numpy.show_config())"


def runtime_thread_pools():
    """What threadpoolctl sees loaded (if it is installed): library, version, threads."""
    try:
        import threadpoolctl
    except ImportError:
        return None
    return "; ".join(f"{p.get('internal_api')} {p.get('version') or ''} threads={p.get('num_threads')} "
                     f"[{os.path.basename(p.get('filepath', ''))}]"
                     for p in threadpoolctl.threadpool_info())


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_tf32_flags():
    with warnings.catch_warnings():  # newer PyTorch prefers fp32_precision; the flags still work
        warnings.simplefilter("ignore")
        return (f"torch.backends.cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
                f"torch.backends.cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}")


def print_environment(args, ctx):
    env = [
        ("python", f"{platform.python_version()} on {platform.platform()}"),
        ("cpu", f"{cpu_model()}, {os.cpu_count()} logical CPUs, {available_cpus()} usable"),
        ("numpy", f"{np.__version__}, BLAS: {numpy_blas()}"),
        ("numpy BLAS threads", ", ".join(f"{v}={os.environ.get(v)}" for v in BLAS_THREAD_VARS)
         + " (set before importing NumPy; NumPy's elementwise ops use 1 thread)"),
    ]
    pools = runtime_thread_pools()
    env.append(("threadpoolctl", pools if pools is not None else "not installed (threads taken from the variables)"))
    if torch is None:
        env.append(("torch", "not installed: minigan's numbers alone (pip install torch to compare)"))
    else:
        blas = next((part.split("=", 1)[1] for part in torch.__config__.show().replace(",", " ").split()
                     if part.startswith("BLAS_INFO=")), "?")
        env += [("torch", f"{torch.__version__}, BLAS: {blas}, oneDNN: {torch.backends.mkldnn.is_available()}"),
                ("torch threads", f"torch.get_num_threads()={torch.get_num_threads()}, "
                                  f"float32 matmul precision={torch.get_float32_matmul_precision()}")]
    if ctx.gpu:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        env += [("gpu", f"{name}, CuPy {cupy.__version__} (CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}), "
                        f"CUPY_TF32={os.environ.get('CUPY_TF32')}")]
        if torch is not None:
            env += [("torch cuda", f"{torch.cuda.get_device_name()}, CUDA {torch.version.cuda}, "
                                   f"cuDNN {torch.backends.cudnn.version()}"),
                    ("torch TF32", f"{torch_tf32_flags()} "
                                   f"({'on: --tf32' if args.tf32 else 'off: fair float32; --tf32 turns it on'})")]
    env.append(("run", f"backend={args.backend}, threads={THREADS}, rounds={args.rounds}, block={args.block_s:g} s, "
                       f"warmup={args.warmup}, "
                       f"batch sizes={args.batch_sizes}, layer batch={args.layer_batch}, float32"))
    print("## Environment\n" if args.markdown else "Environment\n===========")
    for k, v in env:
        print(f"- **{k}**: {v}" if args.markdown else f"{k + ':':<20} {v}")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# the models, in both frameworks
# ---------------------------------------------------------------------------------------------
def random_images(batch, seed=0):
    """A stand-in for a batch of MNIST: (batch, 1, 28, 28) in [-1, 1]."""
    return np.random.default_rng(seed).uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)


# Layer widths of the benchmarked GANs ("full") and of the throwaway "tiny" GANs that the
# memory children run first, so one-time costs of a framework's first step are not counted.
SIZES = {
    "full": {"mlp": dict(z_dim=64, g_hidden=(256, 512, 1024), d_hidden=(512, 256, 128)),
             "dcgan": dict(z_dim=100, base=64)},
    "tiny": {"mlp": dict(z_dim=4, g_hidden=(4, 4, 4), d_hidden=(4, 4, 4)),
             "dcgan": dict(z_dim=4, base=2)},
}


def build_minigan_gan(model, batch, backend, seed=0, size="full"):
    """minigan's GAN model (G, D, Adam optimizers, its step) and a real (images, labels) batch on ``backend``.

    "full": the model as the registry builds it (``minigan.models.get(model)``) with its textbook
    settings: non-saturating BCE, Adam(2e-4, (0.5, 0.999)), no tricks; the very step training runs.
    MLP GAN: G z64 -> [Dense -> BatchNorm1d -> LeakyReLU(0.2)] x (256, 512, 1024) -> Dense 784 -> tanh;
             D 784 -> [Dense -> LeakyReLU(0.2)] x (512, 256, 128) -> Dense 1.
    DCGAN:   minigan/models/dcgan.py's generator / discriminator with z 100, base 64.
    "tiny": the same kinds of layers at a few units each (the memory children's throwaway primer).
    """
    real = to_device(random_images(batch, seed), backend), None
    if size == "full":
        model_cls = models.get(model)
        return model_cls(model_cls.Config(seed=seed, backend=backend, batch_size=max(batch, 2))), real
    rng = np.random.default_rng(seed)
    cfg = SIZES[size][model]
    z_dim = cfg["z_dim"]
    if model == "mlp":
        G = networks.mlp_generator(z_dim=z_dim, hidden=cfg["g_hidden"], out_dim=784, slope=0.2, rng=rng)
        D = networks.mlp_discriminator(in_dim=784, hidden=cfg["d_hidden"], slope=0.2, rng=rng)
    else:
        G = networks.dcgan_generator(z_dim=z_dim, base=cfg["base"], rng=rng)
        D = networks.dcgan_discriminator(base=cfg["base"], slope=0.2, rng=rng)
    gan = GANModel.around(G, D, z_dim=z_dim, lr=LR, beta1=BETAS[0], beta2=BETAS[1], seed=seed, backend=backend)
    return gan, real


def build_torch_gan(model, size="full"):
    """The same G and D in PyTorch, layer for layer. Returns (G, D, z_dim)."""
    cfg = SIZES[size][model]
    z_dim = cfg["z_dim"]
    if model == "mlp":
        g_layers, d = [], z_dim
        for h in cfg["g_hidden"]:
            g_layers += [nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(0.2)]
            d = h
        G = nn.Sequential(*g_layers, nn.Linear(d, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        d_layers, d = [nn.Flatten()], 784
        for h in cfg["d_hidden"]:
            d_layers += [nn.Linear(d, h), nn.LeakyReLU(0.2)]
            d = h
        D = nn.Sequential(*d_layers, nn.Linear(d, 1))
        return G, D, z_dim
    c1, c2 = cfg["base"], 2 * cfg["base"]  # 64, 128
    G = nn.Sequential(
        nn.Linear(z_dim, c2 * 7 * 7), nn.Unflatten(1, (c2, 7, 7)), nn.BatchNorm2d(c2), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
        nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(1, c1, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c1, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(c2 * 7 * 7, 1),
    )
    return G, D, z_dim


class TorchGANStep:
    """One GAN training step in PyTorch, written like pytorch/examples' dcgan/main.py.

    D: backward on the real batch, backward on fake.detach(), optD.step(). G: D(fake) on the
    *same* fake batch, non-saturating loss, optG.step(). Reads both losses with .item(), as
    minigan's run reads its statistics to log them and check they are finite.
    """

    def __init__(self, G, D, z_dim, device, noise=None):
        self.G, self.D, self.z_dim, self.device = G, D, z_dim, device
        self.criterion = nn.BCEWithLogitsLoss()
        self.opt_G = torch.optim.Adam(G.parameters(), lr=LR, betas=BETAS)
        self.opt_D = torch.optim.Adam(D.parameters(), lr=LR, betas=BETAS)
        self.noise = noise or (lambda n: torch.randn(n, z_dim, device=device))

    def step(self, real):
        n = real.shape[0]
        ones = torch.ones(n, 1, device=self.device)
        zeros = torch.zeros(n, 1, device=self.device)
        # (1) D: minimise BCE(D(x), 1) + BCE(D(G(z)), 0)
        self.D.zero_grad()
        err_real = self.criterion(self.D(real), ones)
        err_real.backward()
        fake = self.G(self.noise(n))
        err_fake = self.criterion(self.D(fake.detach()), zeros)
        err_fake.backward()
        self.opt_D.step()
        # (2) G: minimise BCE(D(G(z)), 1), the non-saturating loss, on the same fake batch
        self.G.zero_grad()
        err_g = self.criterion(self.D(fake), ones)
        err_g.backward()
        self.opt_G.step()
        return (err_real + err_fake).item(), err_g.item()


def build_gan_pair(model, batch, ctx, shared_noise=False, seed=0):
    """minigan's GAN step and the PyTorch step with the same initial weights.

    Returns (minigan step fn, PyTorch step fn or None, the two GAN objects). With
    ``shared_noise`` PyTorch draws z from the very generator minigan draws from (for parity).
    """
    gan, real = build_minigan_gan(model, batch, ctx.backend, seed)
    if torch is None:
        return (lambda: gan.step([real])), None, (gan, None)
    G, D, z_dim = build_torch_gan(model)
    G, D = G.to(ctx.device), D.to(ctx.device)
    copy_weights(gan.G, G)
    copy_weights(gan.D, D)
    noise = None
    if shared_noise:
        rng = np.random.default_rng([seed, 1])  # the seed of the task's noise_rng, drawn the same way

        def noise(n):
            return torch.from_numpy(rng.standard_normal((n, z_dim)).astype(np.float32)).to(ctx.device)
    tstep = TorchGANStep(G, D, z_dim, ctx.device, noise)
    real_t = torch.from_numpy(to_numpy(real[0])).to(ctx.device)
    return (lambda: gan.step([real])), (lambda: tstep.step(real_t)), (gan, tstep)


# ---- the models with a twin module (benchmarks/twins/<model>.py) -----------------------------
def twin_models():
    """{model name: its twin module} for every registered model with a ``benchmarks/twins/<name>.py``.

    A twin module has ``build(task, device)``, returning an object whose ``step(images, labels)``
    runs one training step of the same algorithm in PyTorch (``images``: the step's
    ``task.batches_per_step`` batches concatenated; a translator's: ``step(a, b)``, the input batch and
    the target or other domain's) and whose ``parity()`` returns
    ``[(what, relative error)]`` from one step of both started from the same weights and draws.
    """
    import importlib

    folder = Path(__file__).resolve().parent / "twins"
    return {name: importlib.import_module(f"twins.{name}") for name in models.names()
            if name not in MODELS and (folder / f"{name}.py").exists()}


def build_twin_pair(name, module, batch, ctx, seed=0):
    """The model with the example's (tuned) settings and its PyTorch twin: (minigan step fn, PyTorch step fn, twin).

    A translator's batch is ``task.example_batch``'s (input, target or other domain) in the task's shapes
    (SRGAN's input is 7 x 7), and its twin steps on ``step(a, b)``; every other model's is random images
    and labels, ``step(images, labels)``.
    """
    task_cls = models.get(name)
    task = task_cls(task_cls.Config(seed=seed, backend=ctx.backend, batch_size=batch, **task_cls.tuned))
    twin = module.build(task, ctx.device)
    k = task.batches_per_step
    if isinstance(task, Translator):
        rng = np.random.default_rng(seed)
        host = [task.example_batch(rng, batch) for _ in range(k)]
        batches = [tuple(to_device(v, ctx.backend) for v in arrays) for arrays in host]
        tensors = [torch.from_numpy(np.concatenate(part)).to(ctx.device) for part in zip(*host)]
        return (lambda: task.step(batches)), (lambda: twin.step(*tensors)), twin
    images = random_images(k * batch, seed)
    labels = np.random.default_rng(seed).integers(0, 10, k * batch)
    batches = [(to_device(i, ctx.backend), to_device(y, ctx.backend))
               for i, y in zip(np.split(images, k), np.split(labels, k))]
    images_t, labels_t = torch.from_numpy(images).to(ctx.device), torch.from_numpy(labels).to(ctx.device)
    return (lambda: task.step(batches)), (lambda: twin.step(images_t, labels_t)), twin


# ---- single layers --------------------------------------------------------------------------
LayerSpec = namedtuple("LayerSpec", "name shape make_minigan make_torch conv")


def layer_specs():
    """Every layer type at the size it has in the DCGAN (shape: one sample's input)."""
    def S(name, shape, mg, pt, conv=False):
        return LayerSpec(name, shape, mg, pt, conv)

    return [
        S("Dense 100->6272", (100,), lambda r: Dense(100, 6272, rng=r), lambda: nn.Linear(100, 6272)),
        S("Dense 6272->1", (6272,), lambda r: Dense(6272, 1, rng=r), lambda: nn.Linear(6272, 1)),
        S("Conv2d 1->64 k4 s2 p1", (1, 28, 28), lambda r: Conv2d(1, 64, 4, 2, 1, rng=r),
          lambda: nn.Conv2d(1, 64, 4, 2, 1), conv=True),
        S("Conv2d 64->128 k4 s2 p1", (64, 14, 14), lambda r: Conv2d(64, 128, 4, 2, 1, rng=r),
          lambda: nn.Conv2d(64, 128, 4, 2, 1), conv=True),
        S("ConvTranspose2d 128->64 k4 s2 p1", (128, 7, 7), lambda r: ConvTranspose2d(128, 64, 4, 2, 1, rng=r),
          lambda: nn.ConvTranspose2d(128, 64, 4, 2, 1), conv=True),
        S("ConvTranspose2d 64->1 k4 s2 p1", (64, 14, 14), lambda r: ConvTranspose2d(64, 1, 4, 2, 1, rng=r),
          lambda: nn.ConvTranspose2d(64, 1, 4, 2, 1), conv=True),
        S("BatchNorm2d(128)", (128, 7, 7), lambda r: BatchNorm2d(128), lambda: nn.BatchNorm2d(128)),
        S("BatchNorm2d(64)", (64, 14, 14), lambda r: BatchNorm2d(64), lambda: nn.BatchNorm2d(64)),
        S("BatchNorm1d(512)", (512,), lambda r: BatchNorm1d(512), lambda: nn.BatchNorm1d(512)),
        S("LeakyReLU(0.2)", (64, 14, 14), lambda r: LeakyReLU(0.2), lambda: nn.LeakyReLU(0.2)),
        S("ReLU", (64, 14, 14), lambda r: ReLU(), lambda: nn.ReLU()),
        S("Tanh", (1, 28, 28), lambda r: Tanh(), lambda: nn.Tanh()),
    ]


def layer_pair(spec, batch, ctx, seed=0):
    """The layer in both frameworks with the same weights, input and upstream gradient.

    ``run_minigan()`` / ``run_torch()`` do forward + backward (input gradient included, as
    inside a GAN, where D's input gradient feeds G) and return (y, dx).
    """
    rng = np.random.default_rng(seed)
    mg_layer = spec.make_minigan(rng)
    x_np = rng.standard_normal((batch,) + spec.shape).astype(np.float32)
    x = to_device(x_np, ctx.backend)
    y_shape = mg_layer(x).shape
    dy_np = rng.standard_normal(y_shape).astype(np.float32)
    dy = to_device(dy_np, ctx.backend)

    def run_minigan():
        y = mg_layer(x)
        return y, mg_layer.backward(dy)

    pair = SimpleNamespace(minigan=mg_layer, torch=None, run_minigan=run_minigan, run_torch=None)
    if torch is None:
        return pair
    t_layer = spec.make_torch().to(ctx.device)
    copy_weights(mg_layer, t_layer)
    x_t = torch.from_numpy(x_np).to(ctx.device).requires_grad_()
    dy_t = torch.from_numpy(dy_np).to(ctx.device)

    def run_torch():
        x_t.grad = None
        y = t_layer(x_t)
        y.backward(dy_t)
        return y, x_t.grad

    pair.torch, pair.run_torch = t_layer, run_torch
    return pair


# ---------------------------------------------------------------------------------------------
# parity: minigan and PyTorch compute the same thing
# ---------------------------------------------------------------------------------------------
def check_parity(args, ctx):
    """Same weights, inputs and noise: outputs, gradients and losses must agree, else exit."""
    if torch is None:
        print("\nparity: skipped (PyTorch not installed)")
        return
    tol = 1e-2 if args.tf32 else 1e-4  # TF32 keeps 10 mantissa bits
    errors = []
    specs = layer_specs()
    for spec in specs:
        pair = layer_pair(spec, PARITY_BATCH, ctx, seed=1)
        pair.minigan.zero_grad()
        y, dx = pair.run_minigan()
        y_t, dx_t = pair.run_torch()
        errors += [(f"{spec.name} y", rel_error(y, y_t)), (f"{spec.name} dx", rel_error(dx, dx_t))]
        for label, p, t, transpose in paired_params(pair.minigan, pair.torch):
            g = to_numpy(p.grad)
            errors.append((f"{spec.name} d{label}", rel_error(g.T if transpose else g, t.grad)))
    for model in MODELS:  # two full training steps: losses of step 2 depend on step 1's updates
        mg_step, t_step, _ = build_gan_pair(model, 8, ctx, shared_noise=True, seed=2)
        for i in (1, 2):
            stats = mg_step()
            d_loss, g_loss = t_step()
            errors += [(f"{MODELS[model]} step {i} D loss", rel_error(float(stats["d_loss"]), d_loss)),
                       (f"{MODELS[model]} step {i} G loss", rel_error(float(stats["g_loss"]), g_loss))]
    twins = twin_models()
    for name, module in twins.items():  # each new model's own checks (WGAN-GP: its penalty's gradients first)
        twin = build_twin_pair(name, module, PARITY_BATCH, ctx)[2]
        errors += [(f"{name}: {what}", e) for what, e in twin.parity()]
    bad = [(what, e) for what, e in errors if not e <= tol]
    if bad:
        lines = "\n".join(f"  {what}: relative error {e:.2e}" for what, e in bad)
        sys.exit(f"\nPARITY FAILED (tolerance {tol:g}): minigan and PyTorch do not compute the same thing,\n"
                 f"so the timings would not compare like with like:\n{lines}")
    worst = max(e for _, e in errors)
    print(f"\nparity ok: {len(specs)} layers (output, input and parameter gradients) and "
          f"{len(MODELS)} GANs x 2 training steps (losses)"
          + (f", and {len(twins)} models against their twins ({', '.join(twins)})" if twins else "")
          + " agree with PyTorch; "
          f"worst relative error {worst:.1e} (tolerance {tol:g})")
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# table 1: a full training step
# ---------------------------------------------------------------------------------------------
def step_cells(args, ctx):
    """(label, batch, builder) of every cell of the step table: the MLP GAN and the DCGAN, then every
    registered model with a twin module in benchmarks/twins/ (found there, so a new twin joins unedited).
    ``builder()`` returns (minigan step fn, PyTorch step fn or None)."""
    for model, label in MODELS.items():
        for batch in args.batch_sizes:
            yield label, batch, (lambda m=model, b=batch: build_gan_pair(m, b, ctx)[:2])
    for name, module in (twin_models() if torch is not None else {}).items():  # twins need PyTorch
        for batch in args.batch_sizes:
            yield (getattr(module, "LABEL", name), batch,
                   (lambda n=name, m=module, b=batch: build_twin_pair(n, m, b, ctx)[:2]))


def time_steps(args, ctx):
    """{(label, batch): (Timing, GFLOP of one minigan step)} for every step cell (cached in ctx)."""
    if ctx.step_times is None:
        ctx.step_times = {}
        for label, batch, builder in step_cells(args, ctx):
            mg_fn, t_fn = builder()
            with GemmFlops() as flops:
                mg_fn()
            ctx.step_times[label, batch] = time_pair(mg_fn, t_fn, args, ctx), flops.gflop
            del mg_fn, t_fn
            gc.collect()
    return ctx.step_times


def table_step(args, ctx):
    rows = []
    for (label, batch), (t, _) in time_steps(args, ctx).items():
        t_mg, t_t = t.minigan.median, median_of(t.torch)
        rows.append([label, batch, fmt_ms(t_mg), fmt_ms(t_t), fmt_num(1e3 * batch / t_mg),
                     fmt_num(t_t and 1e3 * batch / t_t), fmt_spread(t.ratio)])
    print_table("1. One GAN training step (D on real + fake, Adam; G through D on the same fake batch, Adam)",
                ["model", "batch", "minigan ms", "PyTorch ms", "minigan img/s", "PyTorch img/s",
                 "minigan/PyTorch (min-max)"],
                rows,
                [timing_note(args, "steps"), "images/s = batch / median step time",
                 "minigan: minigan.gan.model.GANModel.step; PyTorch: the pytorch/examples dcgan loop (TorchGANStep), "
                 "same layers, BCE-with-logits, non-saturating G loss, Adam(2e-4, (0.5, 0.999)), float32",
                 "models below the MLP GAN and the DCGAN: the example's (tuned) settings against the PyTorch twin "
                 "in benchmarks/twins/<model>.py; WGAN-GP: n_critic critic steps (each with the gradient penalty, "
                 "PyTorch's by torch.autograd.grad(..., create_graph=True)) then one G step; batch = images per "
                 "critic step",
                 "minigan/PyTorch > 1: minigan is slower by that factor"],
                args.markdown)


def timing_note(args, what):
    return (f"ms: median over {args.rounds} round(s); a round times one block of consecutive {what} of each "
            f"framework (about {args.block_s:g} s, at least 3 {what}; its median {what[:-1]} counts), the "
            f"order alternating from round to round, after {args.warmup} warm-up {what} each; the ratio is "
            f"taken within each round and shown as median (min-max over the rounds)")


# ---------------------------------------------------------------------------------------------
# table 2: single layers
# ---------------------------------------------------------------------------------------------
def time_layer(spec, args, ctx):
    """The :data:`Timing` of forward + backward of one layer at --layer-batch (cached)."""
    if spec.name not in ctx.layer_times:
        pair = layer_pair(spec, args.layer_batch, ctx)
        ctx.layer_times[spec.name] = time_pair(pair.run_minigan, pair.run_torch, args, ctx)
    return ctx.layer_times[spec.name]


def table_layers(args, ctx):
    rows = []
    for spec in layer_specs():
        t = time_layer(spec, args, ctx)
        rows.append([spec.name, fmt_shape((args.layer_batch,) + spec.shape), fmt_ms(t.minigan.median),
                     fmt_ms(median_of(t.torch)), fmt_spread(t.ratio)])
    print_table(f"2. Forward + backward per layer, DCGAN sizes, batch {args.layer_batch}",
                ["layer", "input", "minigan ms", "PyTorch ms", "minigan/PyTorch (min-max)"], rows,
                [timing_note(args, "calls") + "; training mode",
                 "backward computes the input gradient and accumulates the parameter gradients, in both"],
                args.markdown)


# ---------------------------------------------------------------------------------------------
# table 3: peak memory, one fresh subprocess per cell
# ---------------------------------------------------------------------------------------------
class MemoryProbe:
    """Current and peak memory of this process: RSS on the CPU, the allocator's pool on the GPU.

    CPU (Linux): current = VmRSS, peak = VmHWM from /proc/self/status, the high-water mark
    reset after the build by writing 5 to /proc/self/clear_refs. Not getrusage's ru_maxrss:
    in a child started by subprocess (vfork + exec) it starts at the *parent's* peak RSS.
    Elsewhere (no /proc): ru_maxrss for both, which then includes import-time peaks.
    GPU: CuPy's default memory pool total_bytes() (it keeps every block it ever held, so it
    ends at its high-water mark); PyTorch's memory_reserved() / max_memory_reserved().
    """

    def __init__(self, ctx, framework):
        self.gpu, self.framework, self.reset_ok = ctx.gpu, framework, False

    @staticmethod
    def _ru_maxrss():
        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r if sys.platform == "darwin" else r * 1024  # bytes on macOS, KiB on Linux

    @staticmethod
    def _proc_status(key):
        try:
            with open("/proc/self/status") as f:
                for ln in f:
                    if ln.startswith(key + ":"):
                        return int(ln.split()[1]) * 1024
        except OSError:
            pass
        return None

    @staticmethod
    def _cupy_pool():
        import cupy
        return cupy.get_default_memory_pool()

    def current(self):
        if self.gpu:
            return torch.cuda.memory_reserved() if self.framework == "torch" else self._cupy_pool().total_bytes()
        rss = self._proc_status("VmRSS")
        return rss if rss is not None else self._ru_maxrss()

    def reset_peak(self):
        if self.gpu:
            if self.framework == "torch":
                torch.cuda.reset_peak_memory_stats()
            return
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # "reset the peak resident set size"
            self.reset_ok = True
        except OSError:
            self.reset_ok = False

    def peak(self):
        if self.gpu:
            return torch.cuda.max_memory_reserved() if self.framework == "torch" else self._cupy_pool().total_bytes()
        hwm = self._proc_status("VmHWM")
        return hwm if hwm is not None and self.reset_ok else self._ru_maxrss()

    def method(self):
        if self.gpu:
            return "CuPy pool total_bytes" if self.framework == "minigan" else "torch.cuda.max_memory_reserved"
        if self.reset_ok and self._proc_status("VmHWM") is not None:
            return "VmHWM (reset after build)"
        return "ru_maxrss (not reset: may include import-time or parent peaks)"


def gan_step_fn(model, framework, batch, ctx, size="full"):
    """A zero-argument training step of one framework alone (no weight copying, no parity)."""
    if framework == "minigan":
        gan, real = build_minigan_gan(model, batch, ctx.backend, size=size)
        return lambda: gan.step([real])
    G, D, z_dim = build_torch_gan(model, size)
    tstep = TorchGANStep(G.to(ctx.device), D.to(ctx.device), z_dim, ctx.device)
    real = torch.from_numpy(random_images(batch)).to(ctx.device)
    return lambda: tstep.step(real)


def memory_child(args):
    """Hidden mode ``--_memory-child MODEL FRAMEWORK BATCH``: build, step, report one JSON line.

    1. after imports: memory now.
    2. a throwaway tiny GAN of the same layer types runs 2 steps at batch 2 and is deleted, so
       what a framework sets up once on first use (lazily loaded code, BLAS / oneDNN buffers,
       thread pools, GPU kernels) is not counted as the step's memory; memory now.
    3. the real G, D and optimizers are built; memory now; the peak counter is reset.
    4. MEMORY_STEPS training steps; the peak.
    """
    model, framework, batch = args._memory_child[0], args._memory_child[1], int(args._memory_child[2])
    ctx = setup(args, need_torch=framework == "torch")
    probe = MemoryProbe(ctx, framework)
    after_imports = probe.current()
    primer = gan_step_fn(model, framework, 2, ctx, size="tiny")
    for _ in range(2):
        primer()
    del primer
    gc.collect()
    ctx.sync()
    after_primer = probe.current()
    step = gan_step_fn(model, framework, batch, ctx)
    ctx.sync()
    after_build = probe.current()
    probe.reset_peak()
    for _ in range(MEMORY_STEPS):
        step()
    ctx.sync()
    print("MEMORY_RESULT " + json.dumps(dict(after_imports=after_imports, after_primer=after_primer,
                                             after_build=after_build, peak=probe.peak(), method=probe.method())))


def run_memory_child(model, framework, batch, args):
    """Run this script in a fresh interpreter in ``--_memory-child`` mode; its result dict, or None."""
    cmd = [sys.executable, os.path.abspath(__file__), "--_memory-child", model, framework, str(batch),
           "--backend", args.backend, "--threads", str(THREADS)] + (["--tf32"] if args.tf32 else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for ln in proc.stdout.splitlines():
        if ln.startswith("MEMORY_RESULT "):
            return json.loads(ln[len("MEMORY_RESULT "):])
    print(f"memory child {model}/{framework}/{batch} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}",
          file=sys.stderr)
    return None


def table_memory(args, ctx):
    mb = 1024 ** 2
    frameworks = ["minigan"] + (["torch"] if torch is not None else [])
    rows, methods = [], set()
    for model, label in MODELS.items():
        for batch in args.batch_sizes:
            total, step, first = {}, {}, {}
            for fw in frameworks:
                r = run_memory_child(model, fw, batch, args)
                if r is not None:
                    total[fw] = (r["peak"] - r["after_primer"]) / mb
                    step[fw] = (r["peak"] - r["after_build"]) / mb
                    first[fw] = (r["after_primer"] - r["after_imports"]) / mb
                    methods.add(f"{fw}: {r['method']}")
            rows.append([label, batch, fmt_num(total.get("minigan")), fmt_num(total.get("torch")),
                         fmt_ratio(total.get("minigan"), total.get("torch")),
                         fmt_num(step.get("minigan")), fmt_num(step.get("torch")),
                         fmt_num(first.get("minigan")), fmt_num(first.get("torch"))])
    where = "GPU memory held by each framework's caching allocator" if ctx.gpu else "resident memory, RSS"
    print_table(f"3. Peak memory of training steps, MB ({where})",
                ["model", "batch", "minigan MB", "PyTorch MB", "minigan/PyTorch", "minigan step MB",
                 "PyTorch step MB", "minigan 1st-use MB", "PyTorch 1st-use MB"], rows,
                ["each cell is a fresh subprocess (this script with --_memory-child) that imports one framework, "
                 "runs a throwaway tiny GAN for 2 steps, builds G, D and the optimizers, then runs "
                 f"{MEMORY_STEPS} training steps",
                 "MB = peak during build + steps minus memory before the build (parameters, gradients, Adam state, "
                 "activations, temporaries); step MB = peak minus memory after the build",
                 "PyTorch allocates .grad and Adam state lazily, minigan allocates .grad at build time, so "
                 "'step MB' counts gradients for PyTorch but not for minigan: compare the MB columns",
                 "1st-use MB = what the throwaway run left behind (lazily loaded code, BLAS/oneDNN buffers, "
                 "thread pools, allocator caches): a one-time cost of the framework, not of the model",
                 ("GPU: CuPy default memory pool total_bytes() vs torch.cuda.max_memory_reserved()" if ctx.gpu else
                  "peak = the kernel's RSS high-water mark (VmHWM in /proc/self/status, reset via "
                  "/proc/self/clear_refs after the build), not ru_maxrss, which a subprocess inherits from its "
                  "parent's peak; tracemalloc is not used because it does not see PyTorch's CPU allocations"),
                 "method per framework: " + "; ".join(sorted(methods))],
                args.markdown)


# ---------------------------------------------------------------------------------------------
# table 4: the machine's GEMM rate; each step's and each convolution's GFLOP/s against it
# ---------------------------------------------------------------------------------------------
def gemm_rate(m, k, n, args, ctx):
    """(minigan's array library, PyTorch) float32 GEMM rate in GFLOP/s for (m, k) @ (k, n), medians over rounds."""
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((m, k)).astype(np.float32)
    b_np = rng.standard_normal((k, n)).astype(np.float32)
    a, b = to_device(a_np, ctx.backend), to_device(b_np, ctx.backend)
    t_fn = None
    if torch is not None:
        a_t, b_t = torch.from_numpy(a_np).to(ctx.device), torch.from_numpy(b_np).to(ctx.device)
        t_fn = lambda: torch.mm(a_t, b_t)  # noqa: E731
    t = time_pair(lambda: a @ b, t_fn, args, ctx)
    flops = 2.0 * m * k * n
    return flops / t.minigan.median / 1e6, (flops / t.torch.median / 1e6 if t.torch else None)


def table_flops(args, ctx):
    xp_name = "CuPy" if ctx.gpu else "NumPy"
    sq = 4096 if ctx.gpu else 1024
    conv_m = args.layer_batch * 7 * 7  # Conv2d 64->128 forward as a GEMM: (N*7*7, 64*4*4) @ (1024, 128)
    gemms = [(f"{sq}x{sq} @ {sq}x{sq}", (sq, sq, sq)), (f"{conv_m}x1024 @ 1024x128 (conv-shaped)", (conv_m, 1024, 128))]
    rates = [(label, *gemm_rate(*shape, args, ctx)) for label, shape in gemms]
    peak = max(r for _, r_xp, r_t in rates for r in (r_xp, r_t) if r is not None)

    def pct(x):
        return "n/a" if x is None else f"{100 * x / peak:.0f}%"

    rows = []
    for label, r_xp, r_t in rates:
        rows.append([label, f"{xp_name} matmul", fmt_num(r_xp), pct(r_xp)])
        if torch is not None:
            rows.append([label, "torch.mm", fmt_num(r_t), pct(r_t)])
    print_table(f"4a. float32 matrix multiply rate of this machine (peak = {fmt_num(peak)} GFLOP/s, the best below)",
                ["GEMM (m x k @ k x n)", "library", "GFLOP/s", "% of peak"], rows,
                [f"median over {args.rounds} rounds of alternating blocks; FLOPs = 2 m k n"], args.markdown)

    rows = []
    for (label, batch), (t, gflop) in time_steps(args, ctx).items():
        r_mg = gflop / (t.minigan.median / 1e3)
        r_t = gflop / (t.torch.median / 1e3) if t.torch else None
        rows.append([label, batch, f"{gflop:.2f}", fmt_ms(1e3 * gflop / peak), fmt_num(r_mg), pct(r_mg),
                     fmt_num(r_t), pct(r_t)])
    print_table("4b. One training step (table 1's times) against the GEMM rate",
                ["model", "batch", "GFLOP", "floor ms", "minigan GFLOP/s", "% of peak", "PyTorch GFLOP/s",
                 "% of peak"], rows,
                ["GFLOP: the matrix products of one minigan step (Dense, Conv2d, ConvTranspose2d: forward, input "
                 "and weight gradients, double backward), counted while it runs; both frameworks are credited "
                 "with the same count",
                 f"floor ms: that work at {fmt_num(peak)} GFLOP/s, the best GEMM rate of 4a: no step can be faster",
                 "the rest of a step (batchnorm, activations, im2col copies, Adam) does no counted FLOPs"],
                args.markdown)

    rows = []
    for spec in (s for s in layer_specs() if s.conv):
        t = time_layer(spec, args, ctx)
        layer = spec.make_minigan(None)
        gflop = 2 * 3 * conv_macs(layer, (args.layer_batch,) + spec.shape) / 1e9  # fwd + dW + dx
        r_mg = gflop / (t.minigan.median / 1e3)
        r_t = gflop / (t.torch.median / 1e3) if t.torch else None
        rows.append([spec.name, f"{gflop:.3f}", fmt_num(r_mg), pct(r_mg), fmt_num(r_t), pct(r_t)])
    print_table(f"4c. Convolutions, forward + backward, batch {args.layer_batch}: achieved GFLOP/s",
                ["layer", "GFLOP", "minigan GFLOP/s", "% of peak", "PyTorch GFLOP/s", "% of peak"], rows,
                ["FLOPs = 2 x MACs; forward + backward = 3 x the forward MACs (forward, dW, dx); a transposed "
                 "conv counts the MACs of the conv it is the adjoint of",
                 "times are those of table 2 (same medians); minigan's time also covers im2col, col2im and "
                 "transposes, which do no FLOPs",
                 f"% of peak: against {fmt_num(peak)} GFLOP/s, the best float32 GEMM rate in 4a"],
                args.markdown)


# ---------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = Parser(description="Time minigan against PyTorch on the same GAN work.")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="numpy: NumPy vs PyTorch CPU (default); cupy: CuPy vs PyTorch CUDA")
    p.add_argument("--rounds", type=positive_int, default=7,
                   help="rounds per measurement; each times a block of calls of each framework, alternating (7)")
    p.add_argument("--block-s", type=nonnegative_float, default=0.3,
                   help="seconds of one block of calls (at least 3 calls; 0: 3 calls) (0.3)")
    p.add_argument("--warmup", type=int_at_least(0), default=3, help="untimed calls of each framework first (3)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="threads for NumPy's BLAS (OMP/OPENBLAS/MKL_NUM_THREADS) and torch.set_num_threads "
                        "($OMP_NUM_THREADS, else the usable CPUs)")
    p.add_argument("--batch-sizes", type=int_at_least(2), nargs="+", default=[64, 256],  # batchnorm needs 2
                   help="batch sizes of the step and memory tables (64 256)")
    p.add_argument("--layer-batch", type=int_at_least(2), default=64,
                   help="batch size of the layer and FLOP tables (64)")
    p.add_argument("--only", nargs="+", choices=TABLES, default=list(TABLES), help="tables to run (all)")
    p.add_argument("--markdown", action="store_true", help="print markdown pipe tables")
    p.add_argument("--tf32", action="store_true",
                   help="allow TF32 on the GPU (PyTorch flags and CUPY_TF32); off by default: float32 vs float32")
    p.add_argument("--_memory-child", nargs=3, metavar=("MODEL", "FRAMEWORK", "BATCH"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args._memory_child:
        return memory_child(args)
    ctx = setup(args)
    print_environment(args, ctx)
    if torch is None:
        print("\nnote: PyTorch is not installed, so only minigan's numbers are shown (pip install torch to compare)")
    check_parity(args, ctx)
    runners = {"step": table_step, "layers": table_layers, "memory": table_memory, "flops": table_flops}
    for name in TABLES:
        if name in args.only:
            runners[name](args, ctx)


if __name__ == "__main__":
    main()
