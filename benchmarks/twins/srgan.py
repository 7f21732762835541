"""SRGAN's training step in PyTorch, written as PyTorch SRGAN code usually writes it: the benchmark's twin.

    python benchmarks/twins/srgan.py                # parity, then ms per step of both phases at batch 64, 1 thread

``build(task)`` returns a :class:`TorchSRGAN` holding the task's SRResNet G
(``nn.PReLU`` per channel, ``nn.PixelShuffle``, residual blocks and the long
skip as modules adding their input), its discriminator and, for the perceptual
content loss, the frozen classifier's conv features phi (eval mode, no
parameter gradients), all with minigan's weights copied over. One ``step(x,
y)`` is the algorithm of :class:`minigan.models.srgan.SRGAN` in the phase the
twin is in (``pretraining``, the task's at build time):

- pre-training (SRResNet): G's loss MSE(G(x), y), ``opt_G.step()``, no D;
- SRGAN: D on y and on G(x).detach(), BCE(real, 1) + BCE(fake, 0),
  ``opt_D.step()``; then G's loss MSE(phi(G(x)), phi(y)) + 10^-3 BCE(D(G(x)), 1)
  through the D just updated (its parameters asking for no gradient),
  ``opt_G.step()``.

Both log the batch's PSNR, as minigan's step does.
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

from minigan import BatchNorm2d, Conv2d, ReLU, to_device  # noqa: E402
from twins.common import copy_weights, network_errors, rel_error, time_pair  # noqa: E402

LABEL = "SRGAN"   # its rows in benchmarks/bench.py's step table (the phase the task is built in: pre-training)


class Residual(nn.Module):
    """x + body(x)."""

    def __init__(self, *body):
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x):
        return x + self.body(x)


def srresnet_generator(base, blocks, kernel):
    """``translation_networks.srresnet_generator``: 7 x 7 -> blocks (+ the long skip) -> 2 x [conv, shuffle] -> 28."""
    b, pad = base, kernel // 2

    def block():
        return Residual(nn.Conv2d(b, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b), nn.PReLU(b),
                        nn.Conv2d(b, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b))

    def upsample():
        return [nn.Conv2d(b, 4 * b, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(b)]

    return nn.Sequential(
        nn.Conv2d(1, b, kernel, 1, pad), nn.PReLU(b),
        Residual(*[block() for _ in range(blocks)], nn.Conv2d(b, b, 3, 1, 1, bias=False), nn.BatchNorm2d(b)),
        *upsample(), *upsample(),
        nn.Conv2d(b, 1, kernel, 1, pad), nn.Tanh())


def sr_discriminator(base, hidden):
    """``translation_networks.sr_discriminator``: conv3 blocks, LReLU and BN, strided to 7 x 7, Linear -> logit."""
    b = base
    return nn.Sequential(
        nn.Conv2d(1, b, 3, 1, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(b, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.LeakyReLU(0.2),
        nn.Conv2d(b, 2 * b, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * b, 2 * b, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(2 * b * 7 * 7, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))


def features(phi):
    """The PyTorch twin of the perceptual loss's phi (``perceptual.py``: the classifier's conv-BN-ReLU layers)."""
    layers = []
    for layer in phi.layers:
        if isinstance(layer, Conv2d):
            layers.append(nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                                    layer.padding, bias=layer.bias is not None))
        elif isinstance(layer, BatchNorm2d):
            layers.append(nn.BatchNorm2d(layer.num_features, eps=layer.eps, momentum=layer.momentum))
        elif isinstance(layer, ReLU):
            layers.append(nn.ReLU())
        else:
            raise TypeError(f"no PyTorch twin for {layer!r} in the perceptual loss's features")
    return nn.Sequential(*layers)


class TorchSRGAN:
    """One SRGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        self.model, self.cfg, self.device = model, cfg, device
        self.G = srresnet_generator(cfg.base, cfg.blocks, cfg.kernel).to(device)
        self.D = sr_discriminator(cfg.base, 8 * cfg.base).to(device)
        copy_weights(model.G, self.G)
        copy_weights(model.D, self.D)
        self.phi = None
        if model.perceptual is not None:                            # frozen: eval mode, no parameter gradients
            self.phi = features(model.perceptual.phi).to(device)
            copy_weights(model.perceptual.phi, self.phi)
            self.phi.eval().requires_grad_(False)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.pretraining = model.pretraining                        # the phase: SRResNet's pixel MSE, or SRGAN

    @staticmethod
    def bce(out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def step(self, x, y):
        """One step of the phase. Returns (D loss, G loss, PSNR) as floats (D loss 0 without D)."""
        fake = self.G(x)                                           # G(x), 28 x 28
        gan = bool(self.cfg.adversarial) and not self.pretraining
        loss_D = torch.zeros(())
        if gan:  # (1) D: BCE(D(y), 1) + BCE(D(G(x)), 0), G(x) held fixed
            for p in self.D.parameters():
                p.requires_grad_(True)
            self.opt_D.zero_grad()
            loss_D = self.bce(self.D(y), 1.0) + self.bce(self.D(fake.detach()), 0.0)
            loss_D.backward()
            self.opt_D.step()
        # (2) G: the content loss (+ 10^-3 BCE(D(G(x)), 1) through the D just updated)
        self.opt_G.zero_grad()
        if self.phi is not None and not self.pretraining:
            with torch.no_grad():
                target = self.phi(y)                               # phi(y): a constant
            loss_G = F.mse_loss(self.phi(fake), target)
        else:
            loss_G = F.mse_loss(fake, y)
        if gan:
            for p in self.D.parameters():
                p.requires_grad_(False)
            loss_G = loss_G + self.cfg.adversarial * self.bce(self.D(fake), 1.0)
        loss_G.backward()
        self.opt_G.step()
        with torch.no_grad():
            psnr = 10 * torch.log10(1 / torch.clamp(((fake - y) ** 2).mean() / 4, min=1e-12))
        return loss_D.item(), loss_G.item(), psnr.item()

    def parity(self, batch=4, seed=0):
        """One step of both in each phase, each from the task's weights and the same pairs: [(what, error)].

        First a pre-training step (pixel MSE, no D), then, from the same starting weights again, an SRGAN
        step (perceptual content loss through the frozen classifier + 10^-3 BCE, and D's update).
        Networks are compared by ``common.network_errors``.
        """
        x, y = self.model.example_batch(np.random.default_rng(seed), batch)
        out = []
        for phase, pretraining in (("pre-training", True), ("SRGAN", False)):
            model = copy.deepcopy(self.model)
            model.pretraining = pretraining
            twin = TorchSRGAN(model, self.device)                   # both start from the very same weights
            stats = model.step([(to_device(x, model.cfg.backend), to_device(y, model.cfg.backend))])
            d_loss, g_loss, psnr = twin.step(torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device))
            out += [(f"{phase}: G loss", rel_error(np.float64(stats["g_loss"]), np.float64(g_loss))),
                    (f"{phase}: PSNR", rel_error(np.float64(stats["psnr"]), np.float64(psnr)))]
            if "d_loss" in stats:
                out.append((f"{phase}: D loss", rel_error(np.float64(stats["d_loss"]), np.float64(d_loss))))
                out += [(f"{phase}: {what}", e) for what, e in network_errors("D", model.D, twin.D)]
            out += [(f"{phase}: {what}", e) for what, e in network_errors("G", model.G, twin.G)]
        return out


def build(model, device="cpu"):
    """The PyTorch twin of an ``srgan`` task (its weights copied from the task's), in the task's phase."""
    return TorchSRGAN(model, device)


def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="SRGAN: parity with PyTorch, then ms per step of each phase (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("srgan")
    model = Model(Model.Config(**{**Model.tuned_settings({}), "out": "unused"}))   # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    x, y = model.example_batch(np.random.default_rng(0), args.batch)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    cfg = model.cfg
    for phase, pretraining in (("pre-training (pixel MSE)", True),
                               (f"SRGAN ({cfg.content} + {cfg.adversarial:g} BCE, D)", False)):
        model.pretraining = twin.pretraining = pretraining
        ours, theirs, ratio = time_pair(lambda: model.step([(x, y)]), lambda: twin.step(x_t, y_t), args.rounds)
        print(f"srgan {phase}, base {cfg.base}, {cfg.blocks} blocks, batch {args.batch}, 1 thread: "
              f"minigan {ours:.1f} ms/step, PyTorch {theirs:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
