"""StackGAN's training step in PyTorch, stage by stage, written as PyTorch GAN code writes it: the benchmark's twin.

    python benchmarks/twins/stackgan.py                # parity, then ms per step of each stage, batch 64, 1 thread

``build(task)`` returns a :class:`TorchStackGAN` with each stage's conditioning augmentation,
G and D of :mod:`minigan.models.stackgan` in torch.nn, weights copied over. One
``stage_step(k, real, first, t, eps)`` is :meth:`StackGAN.step` for stage k: (μ, log σ²) from the
caption, c = μ + σ ε, G's image once; D on (x, t), (x, t') and (G's image detached, t), BCE(real, 1)
+ ½ [BCE(wrong, 0) + BCE(fake, 0)], ``opt_D.step()``; then BCE(D(fake, t), 1) + λ KL through a D
whose parameters ask for no gradient, ``opt_G.step()`` (G's optimizer holds the augmentation too).
"""
import copy
import os
import sys
from pathlib import Path

if __name__ == "__main__":  # one BLAS thread for NumPy, set before NumPy is imported (PyTorch: set_num_threads)
    from _torch_check import require_torch  # noqa: E402  (this script's folder, benchmarks/twins/)
    require_torch()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))   # this checkout's minigan
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # and the twins package

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from minigan import to_numpy  # noqa: E402
from minigan.models.stackgan import SIDE, WORDS  # noqa: E402
from twins.common import copy_weights, network_errors, rel_error, time_pair  # noqa: E402

LABEL = "stackgan"


class Augmentation(nn.Module):
    """``layers.ConditioningAugmentation``: (t, ε) -> (c, μ, log σ²)."""

    def __init__(self, c_dim, hidden=64):
        super().__init__()
        self.c_dim = c_dim
        self.encoder = nn.Sequential(nn.Linear(WORDS, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 2 * c_dim))

    def forward(self, t, eps):
        stats = self.encoder(t)
        mu, log_var = stats[:, :self.c_dim], stats[:, self.c_dim:]
        return mu + torch.exp(0.5 * log_var) * eps, mu, log_var


class Stage1(nn.Module):
    def __init__(self, z_dim, c_dim, b):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(z_dim + c_dim, 2 * b * 49, bias=False), nn.BatchNorm1d(2 * b * 49),
                                  nn.ReLU(),
                                  nn.Unflatten(1, (2 * b, 7, 7)), nn.ConvTranspose2d(2 * b, b, 4, 2, 1, bias=False),
                                  nn.BatchNorm2d(b), nn.ReLU(), nn.Conv2d(b, 1, 3, 1, 1), nn.Tanh())

    def forward(self, z, c):
        return self.body(torch.cat([z, c], 1))


class Block(nn.Module):
    """``translation_networks.residual_block(norm="batch")``: x + [pad, conv3, BN, ReLU, pad, conv3, BN](x)."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


class Stage2(nn.Module):
    def __init__(self, c_dim, b, blocks):
        super().__init__()
        self.image = nn.Conv2d(1, b, 3, 1, 1)
        self.body = nn.Sequential(nn.Conv2d(b + c_dim, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                                  *[Block(b) for _ in range(blocks)], nn.Upsample(scale_factor=2),
                                  nn.Conv2d(b, b // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(b // 2), nn.ReLU(),
                                  nn.Conv2d(b // 2, 1, 3, 1, 1), nn.Tanh())

    def forward(self, s1, c):
        planes = c[:, :, None, None].expand(-1, -1, 14, 14)
        return self.body(torch.cat([F.relu(self.image(s1)), planes], 1))


class Matching(nn.Module):
    """``stackgan.matching_discriminator``: the caption's embedding as planes beside the image, then convolutions."""

    def __init__(self, side, b, embed=16):
        super().__init__()
        q = (side // 2 - 2) // 2 + 1
        self.side = side
        self.words = nn.Sequential(nn.Linear(WORDS, embed), nn.LeakyReLU(0.2))
        self.body = nn.Sequential(nn.Conv2d(1 + embed, b, 4, 2, 1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(b, 2 * b, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2),
                                  nn.Flatten(), nn.Linear(2 * b * q * q, 1))

    def forward(self, x, t):
        planes = self.words(t)[:, :, None, None].expand(-1, -1, self.side, self.side)
        return self.body(torch.cat([x, planes], 1))


class TorchStackGAN:
    """Each stage's step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = self.cfg = model.cfg
        self.model, self.device, self.nets, self.opts = model, device, {}, {}
        for k, stage in model.stages.items():
            ca = Augmentation(cfg.c_dim).to(device)
            G = Stage1(cfg.z_dim, cfg.c_dim, cfg.base) if k == 1 else Stage2(cfg.c_dim, cfg.base, cfg.blocks)
            G = G.to(device)
            D = Matching(SIDE[k], cfg.base).to(device)
            for ours, theirs in ((stage.ca, ca), (stage.G, G), (stage.D, D)):
                copy_weights(ours, theirs)
            self.nets[k] = (ca, G, D)
            betas = (cfg.beta1, cfg.beta2)
            self.opts[k] = (torch.optim.Adam([*ca.parameters(), *G.parameters()], lr=cfg.lr, betas=betas),
                            torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=betas))

    @staticmethod
    def bce(out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def stage_step(self, k, real, first, t, eps):
        """One D update and one G update of stage k (``first``: z, or Stage I's image). Returns (D loss, G loss)."""
        (ca, G, D), (opt_G, opt_D) = self.nets[k], self.opts[k]
        c, mu, log_var = ca(t, eps)
        fake = G(first, c)
        wrong = torch.roll(t, 1, 0)
        for p in D.parameters():
            p.requires_grad_(True)
        opt_D.zero_grad()
        loss_D = (self.bce(D(real, t), 1.0)
                  + 0.5 * (self.bce(D(real, wrong), 0.0) + self.bce(D(fake.detach(), t), 0.0)))
        loss_D.backward()
        opt_D.step()
        for p in D.parameters():
            p.requires_grad_(False)
        opt_G.zero_grad()
        kl = 0.5 * (mu ** 2 + log_var.exp() - 1 - log_var).sum(1).mean()
        loss_G = self.bce(D(fake, t), 1.0) + self.cfg.kl * kl
        loss_G.backward()
        opt_G.step()
        return loss_D.item(), loss_G.item()

    def parity(self, batch=4, seed=0):
        """One step of each stage from the same weights, batch and noise: [(what, error)]."""
        out = []
        for k in self.model.stages:
            model = copy.deepcopy(self.model)
            twin = TorchStackGAN(model, self.device)
            rng = np.random.default_rng(seed)
            x, t = model.example_batch(rng, batch)
            first = (rng.standard_normal((batch, model.cfg.z_dim)) if k == 1 else
                     rng.uniform(-1, 1, (batch, 1, 14, 14))).astype(np.float32)
            eps = rng.standard_normal((batch, model.cfg.c_dim)).astype(np.float32)
            fix_inputs(model, k, first, eps)
            stats = model.step([(x, t)])
            real = torch.from_numpy(to_numpy(x))
            if k == 1:
                real = F.avg_pool2d(real, 2)
            d_loss, g_loss = twin.stage_step(k, real, torch.from_numpy(first), torch.from_numpy(t),
                                             torch.from_numpy(eps))
            ca, G, D = twin.nets[k]
            stage = model.stages[k]
            out += [(f"stage {k}: D loss", rel_error(np.float64(stats[f"d_loss_{k}"]), np.float64(d_loss))),
                    (f"stage {k}: G loss", rel_error(np.float64(stats[f"g_loss_{k}"]), np.float64(g_loss)))]
            out += (network_errors(f"D{k}", stage.D, D) + network_errors(f"G{k}", stage.G, G)
                    + network_errors(f"CA{k}", stage.ca, ca))
        return out


def fix_inputs(model, k, first, eps):
    """Make the task's stage-k step draw ``first`` (z, or Stage I's image) and ``eps``, as the twin is given."""
    model.training_stage = k
    model.noise = lambda n, size, dtype: eps if size == model.cfg.c_dim else first
    if k == 2:
        model.stage1_images = lambda t, z, e: first


def build(model, device="cpu"):
    """The PyTorch twin of a ``stackgan`` task (its weights copied from the task's)."""
    return TorchStackGAN(model, device)


def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="StackGAN: parity with PyTorch, then ms per step of each stage (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("stackgan")
    model = Model(Model.Config(out="unused"))                      # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    rng = np.random.default_rng(0)
    x, t = model.example_batch(rng, args.batch)
    for k in (1, 2):
        first = (rng.standard_normal((args.batch, model.cfg.z_dim)) if k == 1 else
                 rng.uniform(-1, 1, (args.batch, 1, 14, 14))).astype(np.float32)
        eps = rng.standard_normal((args.batch, model.cfg.c_dim)).astype(np.float32)
        fix_inputs(model, k, first, eps)                          # the same inputs to both: Stage I's cost left out
        real = torch.from_numpy(x) if k == 2 else F.avg_pool2d(torch.from_numpy(x), 2)
        inputs = (real, torch.from_numpy(first), torch.from_numpy(t), torch.from_numpy(eps))
        a, b, ratio = time_pair(lambda: model.step([(x, t)]),
                                lambda k=k, inputs=inputs: twin.stage_step(k, *inputs), args.rounds)
        print(f"stackgan stage {k} ({SIDE[k]} x {SIDE[k]}), batch {args.batch}, 1 thread: minigan {a:.1f} ms/step, "
              f"PyTorch {b:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
