"""pix2pix's training step in PyTorch, written as the pix2pix reference code writes it: the benchmark's twin.

    python benchmarks/twins/pix2pix.py              # parity, then ms per step at batch 64, 1 thread each

``build(task)`` returns a :class:`TorchPix2Pix` holding the task's U-Net G and
conditional PatchGAN D in PyTorch, layer for layer, with their weights copied
over. The U-Net is an explicit module whose skips are ``torch.cat`` (minigan
builds it from ``Fork(Identity(), ...)`` and ``Concat``). One
``step(x, y)`` is the algorithm of :class:`minigan.models.pix2pix.Pix2Pix`, in
the order of the reference's ``optimize_parameters``: G(x) once (dropout on);
D on [x, y] and on [x, G(x).detach()], its loss ½ (BCE(real, 1) + BCE(fake,
0)), ``opt_D.step()``; then, through a D whose parameters ask for no gradient,
G's loss BCE(D(x, G(x)), 1) + λ L1(G(x), y), ``opt_G.step()``. ``--loss l1``
(D never trained) and ``gan`` (λ = 0) are followed too.
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

from minigan import Dropout, to_device, to_numpy  # noqa: E402
from twins.common import copy_weights, network_errors, rel_error, time_pair  # noqa: E402

LABEL = "pix2pix"   # its rows in benchmarks/bench.py's step table


class Replay(nn.Module):
    """Dropout with given masks: x * scale, ``scale`` = mask / (1 - p) as minigan's Dropout drew it (parity only)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return x * self.scale


class UNet(nn.Module):
    """``translation_networks.unet_generator``: 28 -> 14 -> 7 -> 7 and back, each level's input joined to its output.

    The parameter layers are registered in minigan's order (its ``modules()``), so the weights pair up.
    """

    def __init__(self, base, dropout, in_channels=1, out_channels=1):
        super().__init__()
        b = base
        self.down1 = nn.Conv2d(in_channels, b, 4, 2, 1)                      # (b, 14)
        self.down2 = nn.Conv2d(b, 2 * b, 4, 2, 1, bias=False)                # (2b, 7)
        self.down2_norm = nn.BatchNorm2d(2 * b)
        self.inner = nn.Conv2d(2 * b, 4 * b, 3, 1, 1)                        # the bottleneck, (4b, 7)
        self.inner_up = nn.Conv2d(4 * b, 2 * b, 3, 1, 1, bias=False)         # (2b, 7)
        self.inner_norm = nn.BatchNorm2d(2 * b)
        self.up2 = nn.ConvTranspose2d(4 * b, b, 4, 2, 1, bias=False)         # (b, 14)
        self.up2_norm = nn.BatchNorm2d(b)
        self.dropout = nn.Dropout(dropout)
        self.up1 = nn.ConvTranspose2d(2 * b, out_channels, 4, 2, 1)          # (out, 28)

    def forward(self, x):
        e1 = self.down1(x)
        e2 = self.down2_norm(self.down2(F.leaky_relu(e1, 0.2)))
        inner = self.inner_norm(self.inner_up(F.relu(self.inner(F.leaky_relu(e2, 0.2)))))
        d2 = self.dropout(self.up2_norm(self.up2(F.relu(torch.cat([e2, inner], 1)))))   # the bottleneck's skip
        return torch.tanh(self.up1(F.relu(torch.cat([e1, d2], 1))))                     # the outer skip


def patchgan(in_channels, base, norm):
    """``translation_networks.patchgan_discriminator``: a (N, 1, 7, 7) map of logits, one per patch."""
    b = base
    layer = {"batch": lambda c: nn.BatchNorm2d(c), "instance": lambda c: nn.InstanceNorm2d(c, affine=True),
             "none": lambda c: nn.Identity()}[norm]
    return nn.Sequential(nn.Conv2d(in_channels, b, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(b, 2 * b, 4, 2, 1, bias=norm == "none"), layer(2 * b), nn.LeakyReLU(0.2),
                         nn.Conv2d(2 * b, 1, 3, 1, 1))


class TorchPix2Pix:
    """One pix2pix step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        self.model, self.cfg, self.device = model, cfg, device
        self.G = UNet(cfg.base, cfg.dropout).to(device)
        self.D = patchgan(2, cfg.base, "batch").to(device)
        copy_weights(model.G, self.G)
        copy_weights(model.D, self.D)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.adversarial, self.lambda_l1 = cfg.loss != "l1", (0.0 if cfg.loss == "gan" else cfg.lambda_l1)

    @staticmethod
    def bce(out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def set_requires_grad(self, net, flag):
        for p in net.parameters():
            p.requires_grad_(flag)

    def step(self, x, y):
        """One D update and one G update. Returns (D loss, G loss, L1) as floats (D loss 0 with --loss l1)."""
        fake = self.G(x)                                          # G(x), dropout on
        loss_D = torch.zeros(())
        if self.adversarial:
            # (1) D: ½ [BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)], G(x) held fixed
            self.set_requires_grad(self.D, True)
            self.opt_D.zero_grad()
            loss_real = self.bce(self.D(torch.cat([x, y], 1)), 1.0)
            loss_fake = self.bce(self.D(torch.cat([x, fake.detach()], 1)), 0.0)
            loss_D = (loss_real + loss_fake) * 0.5
            loss_D.backward()
            self.opt_D.step()
        # (2) G: BCE(D(x, G(x)), 1) + λ L1(G(x), y), through the D just updated, which gives dL/dx only
        self.set_requires_grad(self.D, False)
        self.opt_G.zero_grad()
        loss_l1 = F.l1_loss(fake, y)
        loss_G = self.lambda_l1 * loss_l1
        if self.adversarial:
            loss_G = self.bce(self.D(torch.cat([x, fake], 1)), 1.0) + loss_G
        loss_G.backward()
        self.opt_G.step()
        return loss_D.item(), loss_G.item(), loss_l1.item()

    def parity(self, batch=4, seed=0):
        """One step of both from the same weights and pairs, dropout with minigan's own masks: [(what, error)].

        minigan steps first; its Dropout layer then holds the mask it drew (``scale`` = mask / (1 - p)),
        and the twin's dropout replays that mask, so the comparison is at the task's dropout (0.5 by
        default), not at dropout 0. Networks are compared by ``common.network_errors``.
        """
        model = copy.deepcopy(self.model)
        twin = TorchPix2Pix(model, self.device)                   # both start from the very same weights
        x, y = model.example_batch(np.random.default_rng(seed), batch)
        stats = model.step([(to_device(x, model.cfg.backend), to_device(y, model.cfg.backend))])
        drop = [m for m in model.G.modules() if isinstance(m, Dropout)]
        if drop[0].scale is not None:                            # dropout > 0: the twin uses minigan's mask
            twin.G.dropout = Replay(torch.from_numpy(to_numpy(drop[0].scale)).to(self.device))
        d_loss, g_loss, l1 = twin.step(torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device))
        out = [("G loss", rel_error(np.float64(stats["g_loss"]), np.float64(g_loss))),
               ("L1", rel_error(np.float64(stats["l1"]), np.float64(l1)))]
        if twin.adversarial:
            out.insert(0, ("D loss", rel_error(np.float64(stats["d_loss"]), np.float64(d_loss))))
            out += network_errors("D", model.D, twin.D)
        return out + network_errors("G", model.G, twin.G)


def build(model, device="cpu"):
    """The PyTorch twin of a ``pix2pix`` task (its weights copied from the task's)."""
    return TorchPix2Pix(model, device)


def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="pix2pix: parity with PyTorch, then ms per step (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("pix2pix")
    model = Model(Model.Config(**{**Model.tuned_settings({}), "out": "unused"}))   # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    x, y = model.example_batch(np.random.default_rng(0), args.batch)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)
    ours, theirs, ratio = time_pair(lambda: model.step([(x, y)]), lambda: twin.step(x_t, y_t), args.rounds)
    print(f"pix2pix (base {model.cfg.base}, dropout {model.cfg.dropout}, {model.cfg.task}), batch {args.batch}, "
          f"1 thread: minigan {ours:.1f} ms/step, PyTorch {theirs:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
