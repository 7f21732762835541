"""InfoGAN's training step in PyTorch, written as PyTorch code usually writes it: the benchmark's twin.

    python benchmarks/twins/infogan.py                  # parity, then ms per step at batch 64, 1 thread each
    python benchmarks/twins/infogan.py --batch 32 --rounds 10

``build(task)`` returns a :class:`TorchInfoGAN` holding the task's G(z, c, u)
and D(x) -> (logit, q) in PyTorch, layer for layer, with the weights copied
over. One ``step(images, labels)`` is the algorithm of
:meth:`minigan.models.infogan.InfoGAN.step` with the task's settings: fresh
(z, c, u); D on the real batch (BCE on the logit, target 1 - label
smoothing), then on ``fake.detach()`` (BCE to 0) plus λ_cat CE(q_c, c) +
λ_cont NLL(q_u, u) in one backward; ``opt_D.step()`` (Q is part of D); then
G's non-saturating loss plus the same information term on the same fake
batch, through a D that asks for no parameter gradients; ``opt_G.step()``;
and, with ``cfg.ema``, the average of G's weights. The losses are read with
``.item()``, as minigan's run reads its statistics. The labels are not used
(InfoGAN is unsupervised).
"""
import copy
import math
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

from minigan import to_device, to_numpy  # noqa: E402
from minigan.models.infogan import CATEGORIES, CONTINUOUS  # noqa: E402
from twins.common import copy_weights, paired_params, rel_error, time_pair  # noqa: E402


class Generator(nn.Module):
    """(z, c, u) -> cat(z, onehot(c), u) -> the paper's MNIST generator."""

    def __init__(self, cfg):
        super().__init__()
        c2, c1, h = 128, 64, cfg.g_hidden
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim + CATEGORIES + CONTINUOUS, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(),
            nn.Linear(h, c2 * 7 * 7, bias=False), nn.BatchNorm1d(c2 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (c2, 7, 7)),
            nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z, c, u):
        return self.net(torch.cat([z, F.one_hot(c, CATEGORIES).to(z.dtype), u], dim=1))


class Discriminator(nn.Module):
    """x -> shared body -> (D's logit, Q's output: 10 logits of c and 2 means of u)."""

    def __init__(self, cfg, slope=0.1):
        super().__init__()
        c1, c2, h = 64, 128, cfg.d_hidden
        self.body = nn.Sequential(                 # registered first: the weights are paired in minigan's order
            nn.Conv2d(1, c1, 4, 2, 1), nn.LeakyReLU(slope),
            nn.Conv2d(c1, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.LeakyReLU(slope),
            nn.Flatten(), nn.Linear(c2 * 7 * 7, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(slope),
        )
        self.d_head = nn.Linear(h, 1)
        self.q_head = nn.Sequential(nn.Linear(h, cfg.q_hidden, bias=False), nn.BatchNorm1d(cfg.q_hidden),
                                    nn.LeakyReLU(slope),
                                    nn.Linear(cfg.q_hidden, CATEGORIES + CONTINUOUS))

    def forward(self, x):
        h = self.body(x)
        return self.d_head(h), self.q_head(h)


class TorchInfoGAN:
    """One InfoGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu", noise=None):
        cfg = model.cfg
        if cfg.optimizer != "adam" or cfg.objective != "nonsaturating" or cfg.d_steps != 1:
            raise ValueError("the twin runs Adam, the non-saturating G loss and one D step per G step")
        self.model, self.cfg, self.device = model, cfg, device
        self.G, self.D = Generator(cfg).to(device), Discriminator(cfg).to(device)
        copy_weights(model.G, self.G)
        copy_weights(model.D, self.D)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g or cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)
        self.noise = noise or (lambda n: (torch.randn(n, cfg.z_dim, device=device),
                                          torch.randint(0, CATEGORIES, (n,), device=device),
                                          torch.rand(n, CONTINUOUS, device=device) * 2 - 1))
        self.ema = [p.detach().clone() for p in self.G.parameters()] if cfg.ema else None
        self.ema_t = 0

    def bce(self, out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def info(self, q, c, u):
        """λ_cat CE(q_c, c) + λ_cont NLL(q_u, u), σ = 1: the negative information bound up to its constants."""
        ce = F.cross_entropy(q[:, :CATEGORIES], c)
        nll = 0.5 * ((q[:, CATEGORIES:] - u) ** 2).sum(dim=1).mean() + CONTINUOUS * 0.5 * math.log(2 * math.pi)
        return self.cfg.lambda_cat * ce + self.cfg.lambda_cont * nll

    def d_step(self, images, fake, c, u):
        """D and Q: minimise BCE(D(x), 1 - s) + BCE(D(G(.)), 0) + λ L_I. Returns (D loss, Q loss) tensors."""
        self.D.zero_grad()
        err_real = self.bce(self.D(images)[0], 1.0 - self.cfg.label_smoothing)
        err_real.backward()
        out_fake, q = self.D(fake.detach())
        err_fake = self.bce(out_fake, 0.0)
        info = self.info(q, c, u)
        (err_fake + info).backward()
        return err_real + err_fake, info

    def g_step(self, fake, c, u):
        """G: minimise BCE(D(G(.)), 1) + λ L_I on the same fake batch; D gives dL/dx only."""
        for p in self.D.parameters():
            p.requires_grad_(False)
        self.G.zero_grad()
        out, q = self.D(fake)
        err_g, info = self.bce(out, 1.0), self.info(q, c, u)
        (err_g + info).backward()
        for p in self.D.parameters():
            p.requires_grad_(True)
        return err_g, info

    def step(self, images, labels=None):
        """One D/Q update and one G update (and the average). Returns the four losses as floats."""
        z, c, u = self.noise(len(images))
        fake = self.G(z, c, u)
        d_loss, q_loss = self.d_step(images, fake, c, u)
        self.opt_D.step()
        g_loss, g_info = self.g_step(fake, c, u)
        self.opt_G.step()
        if self.ema is not None:  # θ_ema = β θ_ema + (1 - β) θ, β ramped up as in minigan.ema
            beta = min(self.cfg.ema, (1 + self.ema_t) / (10 + self.ema_t))
            with torch.no_grad():
                torch._foreach_lerp_(self.ema, [p.detach() for p in self.G.parameters()], 1 - beta)
            self.ema_t += 1
        return dict(d_loss=d_loss.item(), q_loss=q_loss.item(), g_loss=g_loss.item(), g_info_loss=g_info.item())

    def parity(self, batch=16, seed=0):
        """Two steps of each from the same weights, batch and draws: [(what, relative error)], float32.

        Step 1's gradients are compared before any update (D's and Q's from the
        D step, G's from the G step), leaving out the arrays whose gradient is 0
        up to rounding (a bias just before batchnorm). Step 2's losses check
        the updates. The weights themselves are not compared: where an entry's
        gradient is 0 up to rounding, Adam's first step moves it by ±lr
        either way in the two frameworks.
        """
        model = type(self.model)(self.model.cfg)
        for ours, theirs in ((self.model.G, model.G), (self.model.D, model.D)):
            theirs.load_state_dict(ours.state_dict())
        draws = copy.deepcopy(model.noise_rng)                     # the twin draws what the prior draws

        def noise(n):
            return tuple(torch.from_numpy(to_numpy(a)).to(self.device) for a in model.prior.sample(n, draws))

        twin = TorchInfoGAN(model, self.device, noise)
        images = np.random.default_rng(seed).uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
        t_images = torch.from_numpy(images).to(self.device)
        out = []
        for i in (1, 2):
            stats = model.step([(to_device(images, model.cfg.backend), None)])
            z, c, u = twin.noise(batch)                           # twin.step, in its parts, to read D's gradients
            fake = twin.G(z, c, u)
            d_loss, q_loss = twin.d_step(t_images, fake, c, u)
            d_grads = {id(p): p.grad.clone() for p in twin.D.parameters()}
            twin.opt_D.step()
            if i == 1:   # G's gradient through the very D minigan's step updated: a gradient check, no Adam noise
                copy_weights(model.D, twin.D)
            g_loss, g_info = twin.g_step(fake, c, u)
            twin.opt_G.step()
            for key, theirs in (("d_loss", d_loss), ("q_loss", q_loss), ("g_loss", g_loss), ("g_info_loss", g_info)):
                out.append((f"step {i} {key}", rel_error(np.float64(stats[key]), np.float64(theirs.item()))))
            if i == 1:
                skip = set()
                for net, mine, theirs, grad in (("D and Q", model.D, twin.D, lambda t, d_grads=d_grads: d_grads[id(t)]),
                                                ("G", model.G, twin.G, lambda t: t.grad)):
                    pairs = list(paired_params(mine, theirs))
                    scale = max(float(np.abs(to_numpy(p.grad)).max()) for _, p, _, _ in pairs)
                    skip |= {name for name, p, _, _ in pairs if np.abs(to_numpy(p.grad)).max() < 1e-4 * scale}
                    worst = max(rel_error(to_numpy(p.grad).T if tr else to_numpy(p.grad), grad(t).cpu().numpy())
                                for name, p, t, tr in pairs if name not in skip)
                    out.append((f"step 1 dL/dθ of {net} (worst array)", worst))
        return out


def build(model, device="cpu"):
    return TorchInfoGAN(model, device)



def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="InfoGAN: parity with PyTorch, then ms per step (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("infogan")
    model = Model(Model.Config(**dict(Model.tuned, out="unused")))  # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    real = np.random.default_rng(0).uniform(-1, 1, (args.batch, 1, 28, 28)).astype(np.float32)
    real_t = torch.from_numpy(real)
    ours, theirs, ratio = time_pair(lambda: model.step([(real, None)]), lambda: twin.step(real_t), args.rounds)
    print(f"infogan, batch {args.batch}, 1 thread: minigan {ours:.1f} ms/step, PyTorch {theirs:.1f} ms/step, "
          f"ratio {ratio}")


if __name__ == "__main__":
    main()
