"""LAPGAN's training step in PyTorch, level by level, written as PyTorch GAN code writes it: the benchmark's twin.

    python benchmarks/twins/lapgan.py                  # parity, then ms per step of each level, batch 64, 1 thread
    python benchmarks/twins/lapgan.py --conditional    # the class-conditional model

``build(task)`` returns a :class:`TorchLAPGAN` with each level's G and D of
:mod:`minigan.models.lapgan` in torch.nn, layer for layer, weights copied over.
One ``level_step(k, real, given, z)`` is :meth:`LAPGAN.level_step`: G_k's
output once; D on (real, given) and on (G's output detached, given), BCE(real, 1) +
BCE(fake, 0), ``opt_D.step()``; then G's BCE(D(fake, given), 1) through a D whose
parameters ask for no gradient, ``opt_G.step()``. The pyramid (2 x 2 means, pixel
copies, and the residual's projection g - u(d(g))) is ``avg_pool2d`` and
``repeat_interleave``.
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
from minigan.coarse import pyramid
from minigan.models.lapgan import LEVELS, SIDE  # noqa: E402
from twins.common import copy_weights, network_errors, rel_error, time_pair  # noqa: E402

LABEL = "lapgan"


def up(x):
    return x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)   # u: each pixel a 2 x 2 block


def detail(g):
    return g - up(F.avg_pool2d(g, 2))                                   # P(g) = g - u(d(g))


class Coarse(nn.Module):
    """Level 2: the MLP GAN's G (or D) on 49 pixels, the one-hot label joined to its input when conditional."""

    def __init__(self, layers, conditional, image):
        super().__init__()
        self.body, self.conditional, self.image = nn.Sequential(*layers), conditional, image

    def forward(self, x, *label):
        x = x.flatten(1)
        if self.conditional:
            x = torch.cat([x, F.one_hot(label[0], 10).to(x.dtype)], 1)
        out = self.body(x)
        return out.view(-1, 1, 7, 7) if self.image else out


class Residual(nn.Module):
    """Levels 1 and 0: convolutions on the planes (first, coarse image [, ten one-hot label planes]) stacked."""

    def __init__(self, layers, side, conditional, project):
        super().__init__()
        self.body, self.side, self.conditional, self.project = nn.Sequential(*layers), side, conditional, project

    def forward(self, first, coarse, *label):
        planes = [first, coarse]
        if self.conditional:
            planes.append(F.one_hot(label[0], 10).to(first.dtype)[:, :, None, None].expand(-1, -1, self.side,
                                                                                            self.side))
        out = self.body(torch.cat(planes, 1))
        return detail(out) if self.project else out


def networks(k, cfg):
    """(G, D) of level k, as ``lapgan.coarse_networks`` / ``lapgan.residual_networks`` build them."""
    c = cfg.conditional
    if k == 2:
        h, zin, din = cfg.hidden, cfg.z_dim + (10 if c else 0), 49 + (10 if c else 0)
        G = Coarse([nn.Linear(zin, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(0.2), nn.Linear(h, h, bias=False),
                    nn.BatchNorm1d(h), nn.LeakyReLU(0.2), nn.Linear(h, 49), nn.Tanh()], c, image=True)
        D = Coarse([nn.Linear(din, h), nn.LeakyReLU(0.2), nn.Linear(h, h), nn.LeakyReLU(0.2), nn.Linear(h, 1)], c,
                   image=False)
        return G, D
    b, side, planes = cfg.base, SIDE[k], 2 + (10 if c else 0)
    quarter = (side // 2 - 2) // 2 + 1
    depth = getattr(cfg, f"depth{k}")
    hidden = []
    for i in range(depth):
        hidden += [nn.Conv2d(planes if i == 0 else b, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU()]
    G = Residual([*hidden, nn.Conv2d(b if depth else planes, 1, 3, 1, 1)], side, c, project=True)
    D = Residual([nn.Conv2d(planes, b, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(b, 2 * b, 4, 2, 1, bias=False),
                  nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(2 * b * quarter ** 2, 1)],
                 side, c, project=False)
    return G, D


class TorchLAPGAN:
    """Each level's step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = self.cfg = model.cfg
        self.model, self.device, self.nets, self.opts = model, device, {}, {}
        for k, level in model.levels.items():
            G, D = (net.to(device) for net in networks(k, cfg))
            copy_weights(level.G, G)
            copy_weights(level.D, D)
            self.nets[k] = (G, D)
            self.opts[k] = tuple(torch.optim.Adam(n.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
                                 for n in (G, D))

    @staticmethod
    def bce(out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def level_step(self, k, real, given, z):
        """One D update and one G update of level k. Returns (D loss, G loss) as floats."""
        (G, D), (opt_G, opt_D) = self.nets[k], self.opts[k]
        fake = G(z, *given)
        for p in D.parameters():
            p.requires_grad_(True)
        opt_D.zero_grad()
        loss_D = self.bce(D(real, *given), 1.0) + self.bce(D(fake.detach(), *given), 0.0)
        loss_D.backward()
        opt_D.step()
        for p in D.parameters():                                  # G's step: dL/d(input) of D only
            p.requires_grad_(False)
        opt_G.zero_grad()
        loss_G = self.bce(D(fake, *given), 1.0)
        loss_G.backward()
        opt_G.step()
        return loss_D.item(), loss_G.item()

    def inputs(self, x, y, k):
        """(real, given) of level k from a batch, as ``LAPGAN.step`` builds them."""
        label = (y,) if self.cfg.conditional else ()
        images = [x]
        for _ in range(2):
            images.append(F.avg_pool2d(images[-1], 2))
        if k == 2:
            return images[2], label
        coarse = up(images[k + 1])
        return images[k] - coarse, (coarse, *label)

    def parity(self, batch=4, seed=0):
        """One step of every level from the same weights, batch and noise: [(what, error)]."""
        model = copy.deepcopy(self.model)
        model.cfg.coarse_steps = 1                                # one update a level, as the twin's step takes
        twin = TorchLAPGAN(model, self.device)
        rng = np.random.default_rng(seed)
        x, y = model.example_batch(rng, batch)
        noise = {k: (rng.standard_normal((batch, model.cfg.z_dim)) if k == 2 else
                     rng.standard_normal((batch, 1, SIDE[k], SIDE[k]))).astype(np.float32) for k in model.levels}
        model.draw_noise = lambda k, n, dtype: noise[k]
        stats = model.step([(x, y)])
        xt, yt = torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)
        out = []
        for k in model.levels:
            d_loss, g_loss = twin.level_step(k, *twin.inputs(xt, yt, k), torch.from_numpy(noise[k]).to(self.device))
            G, D = twin.nets[k]
            out += [(f"level {k}: D loss", rel_error(np.float64(stats[f"d_loss_{k}"]), np.float64(d_loss))),
                    (f"level {k}: G loss", rel_error(np.float64(stats[f"g_loss_{k}"]), np.float64(g_loss)))]
            out += network_errors(f"D{k}", model.levels[k].D, D) + network_errors(f"G{k}", model.levels[k].G, G)
        return out


def build(model, device="cpu"):
    """The PyTorch twin of a ``lapgan`` task (its weights copied from the task's)."""
    return TorchLAPGAN(model, device)


def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="LAPGAN: parity with PyTorch, then ms per step of each level (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    p.add_argument("--conditional", action="store_true", help="the class-conditional model")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("lapgan")
    model = Model(Model.Config(out="unused", conditional=args.conditional))   # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    rng = np.random.default_rng(0)
    x, y = model.example_batch(rng, args.batch)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    images = pyramid.gaussian(x)
    label = (y,) if args.conditional else ()
    for k in LEVELS:
        if k == 2:
            real, given = images[2], label
        else:
            coarse = pyramid.up(images[k + 1])
            real, given = images[k] - coarse, (coarse, *label)
        ours = lambda k=k, real=real, given=given: model.level_step(model.levels[k], real, given)   # noqa: E731
        real_t, given_t = twin.inputs(xt, yt, k)
        z = torch.from_numpy(to_numpy(model.draw_noise(k, args.batch, np.float32)))
        theirs = lambda k=k, r=real_t, g=given_t, z=z: twin.level_step(k, r, g, z)   # noqa: E731
        a, b, ratio = time_pair(ours, theirs, args.rounds)
        print(f"lapgan level {k} ({SIDE[k]} x {SIDE[k]}{', conditional' if args.conditional else ''}), batch "
              f"{args.batch}, 1 thread: minigan {a:.1f} ms/step, PyTorch {b:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
