"""CycleGAN's training step in PyTorch, written as the CycleGAN reference code writes it: the benchmark's twin.

    python benchmarks/twins/cyclegan.py             # parity, then ms per step at batch 64, 1 thread each

``build(task)`` returns a :class:`TorchCycleGAN` holding the task's G: A -> B,
F: B -> A, D_A and D_B in PyTorch, layer for layer (``nn.ReflectionPad2d``,
``nn.InstanceNorm2d(affine=True)``, residual blocks as a module adding its
input), with their weights copied over. One ``step(a, b)`` is the algorithm of
:class:`minigan.models.cyclegan.CycleGAN`, in the order of the reference's
``optimize_parameters``: G(a), F(G(a)), F(b), G(F(b)) and the identity passes
G(b), F(a); through discriminators whose parameters ask for no gradient, one
loss MSE(D_B(G(a)), 1) + MSE(D_A(F(b)), 1) + λ (L1 cycle, both ways) + λ_id λ
(L1 identity, both ways), one ``backward``, ``opt_G.step()`` (G and F
together); then each D on its real batch and on the pool's answer to the
detached fakes, ½ [MSE(D(real), 1) + MSE(D(fake), 0)], ``opt_D.step()``. The
pool is the reference's ``ImagePool``, drawing with its own generator.

The DiscoGAN twin (``twins/discogan.py``) is this step with DiscoGAN's
choices, as minigan's DiscoGAN is CycleGAN's step with them.
"""
import copy
import os
import random
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

from minigan import to_device  # noqa: E402
from twins.common import copy_weights, network_errors, rel_error, time_pair  # noqa: E402
from twins.pix2pix import patchgan  # noqa: E402

LABEL = "CycleGAN"   # its rows in benchmarks/bench.py's step table


class ResidualBlock(nn.Module):
    """x + [pad, conv3, IN, ReLU, pad, conv3, IN](x), no conv bias (``translation_networks.residual_block``)."""

    def __init__(self, c):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False),
                                  nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3, bias=False),
                                  nn.InstanceNorm2d(c, affine=True))

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(base, blocks, kernel):
    """``translation_networks.resnet_generator``: pad-conv (b, 28) -> conv s2 (2b, 14) -> blocks -> convT -> conv."""
    b, pad = base, kernel // 2
    return nn.Sequential(
        nn.ReflectionPad2d(pad), nn.Conv2d(1, b, kernel, bias=False), nn.InstanceNorm2d(b, affine=True), nn.ReLU(),
        nn.Conv2d(b, 2 * b, 3, 2, 1, bias=False), nn.InstanceNorm2d(2 * b, affine=True), nn.ReLU(),
        *[ResidualBlock(2 * b) for _ in range(blocks)],
        nn.ConvTranspose2d(2 * b, b, 3, 2, 1, output_padding=1, bias=False), nn.InstanceNorm2d(b, affine=True),
        nn.ReLU(),
        nn.ReflectionPad2d(pad), nn.Conv2d(b, 1, kernel), nn.Tanh())


class ImagePool:
    """The reference's pool of past fakes: while filling, store and use each; once full, half the time
    swap it with a random stored one and use that. ``pool_size=0``: the fakes as they are."""

    def __init__(self, pool_size, seed=0):
        self.pool_size, self.images, self.random = pool_size, [], random.Random(seed)

    def query(self, images):
        if self.pool_size == 0:
            return images
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                out.append(image)
            elif self.random.uniform(0, 1) > 0.5:
                i = self.random.randint(0, self.pool_size - 1)
                out.append(self.images[i].clone())
                self.images[i] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


class TorchCycleGAN:
    """One CycleGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        self.model, self.cfg, self.device = model, cfg, device
        self.G, self.F, self.D_A, self.D_B = (net.to(device) for net in self.networks(cfg))
        for ours, theirs in zip((model.G, model.F, model.D_A, model.D_B), (self.G, self.F, self.D_A, self.D_B)):
            copy_weights(ours, theirs)
        adam = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.F.parameters()], **adam)
        self.opt_D = torch.optim.Adam([*self.D_A.parameters(), *self.D_B.parameters()], **adam)
        self.pool_a, self.pool_b = ImagePool(model.pool_size, seed=5), ImagePool(model.pool_size, seed=6)
        self.lambda_cycle, self.identity_weight = self.weights(cfg)

    # ---- CycleGAN's choices (DiscoGAN's twin makes others) ------------------------------------------
    def networks(self, cfg):
        return (resnet_generator(cfg.base, cfg.blocks, cfg.kernel), resnet_generator(cfg.base, cfg.blocks, cfg.kernel),
                patchgan(1, cfg.d_base, "instance"), patchgan(1, cfg.d_base, "instance"))

    def weights(self, cfg):
        """(λ, the identity term's weight λ_id λ)."""
        return cfg.lambda_cycle, cfg.lambda_identity * cfg.lambda_cycle

    def gan_loss(self, out, real):
        """Least squares: MSE(D, 1) or MSE(D, 0) (G's term is this whole; D's loss halves the sum of two)."""
        return F.mse_loss(out, torch.full_like(out, 1.0 if real else 0.0))

    def reconstruction(self, x, target):
        return F.l1_loss(x, target)

    def d_loss(self, loss_real, loss_fake):
        return (loss_real + loss_fake) * 0.5

    # ---- the step --------------------------------------------------------------------------------------
    def set_requires_grad(self, nets, flag):
        for net in nets:
            for p in net.parameters():
                p.requires_grad_(flag)

    def step(self, a, b):
        """One update of G and F, then of D_A and D_B. Returns (G loss, D_A loss, D_B loss) as floats."""
        fake_b = self.G(a)
        rec_a = self.F(fake_b)                                    # F(G(a))
        fake_a = self.F(b)
        rec_b = self.G(fake_a)                                    # G(F(b))
        # (1) G and F: adversarial + cycle + identity, Ds giving dL/dx only
        self.set_requires_grad([self.D_A, self.D_B], False)
        self.opt_G.zero_grad()
        loss_G = (self.gan_loss(self.D_B(fake_b), True) + self.gan_loss(self.D_A(fake_a), True)
                  + self.lambda_cycle * (self.reconstruction(rec_a, a) + self.reconstruction(rec_b, b)))
        if self.identity_weight:
            loss_G = loss_G + self.identity_weight * (self.reconstruction(self.G(b), b)
                                                      + self.reconstruction(self.F(a), a))
        loss_G.backward()
        self.opt_G.step()
        # (2) D_A on real a and F's fakes, D_B on real b and G's fakes (from the pools), the fakes held fixed
        self.set_requires_grad([self.D_A, self.D_B], True)
        self.opt_D.zero_grad()
        pooled_a, pooled_b = self.pool_a.query(fake_a.detach()), self.pool_b.query(fake_b.detach())
        loss_D_A = self.d_loss(self.gan_loss(self.D_A(a), True), self.gan_loss(self.D_A(pooled_a), False))
        loss_D_A.backward()
        loss_D_B = self.d_loss(self.gan_loss(self.D_B(b), True), self.gan_loss(self.D_B(pooled_b), False))
        loss_D_B.backward()
        self.opt_D.step()
        return loss_G.item(), loss_D_A.item(), loss_D_B.item()

    def parity(self, batch=4, seed=0):
        """One step of both from the same weights and batches: [(what, relative error)], float32.

        With ``batch`` at most the pool's size the pools are still filling, so both use the new fakes as they
        are and neither draws: the step is the same function on both sides (the pool's random swaps are
        not compared). Networks are compared by ``common.network_errors``.
        """
        model = copy.deepcopy(self.model)
        if 0 < model.pool_size < batch:
            raise ValueError(f"parity batch {batch} would let the pool of {model.pool_size} draw; use at most "
                             f"{model.pool_size}")
        twin = type(self)(model, self.device)                      # both start from the very same weights
        a, b = model.example_batch(np.random.default_rng(seed), batch)
        stats = model.step([(to_device(a, model.cfg.backend), to_device(b, model.cfg.backend))])
        g_loss, d_a_loss, d_b_loss = twin.step(torch.from_numpy(a).to(self.device), torch.from_numpy(b).to(self.device))
        out = [("G and F loss", rel_error(np.float64(stats["g_loss"]), np.float64(g_loss))),
               ("D_A loss", rel_error(np.float64(stats["d_a_loss"]), np.float64(d_a_loss))),
               ("D_B loss", rel_error(np.float64(stats["d_b_loss"]), np.float64(d_b_loss)))]
        for name in ("G", "F", "D_A", "D_B"):
            out += network_errors(name, getattr(model, name), getattr(twin, name))
        return out


def build(model, device="cpu"):
    """The PyTorch twin of a ``cyclegan`` task (its weights copied from the task's)."""
    return TorchCycleGAN(model, device)


def run_main(name, build, argv=None):
    """Parity, then ms per step at ``--batch`` (1 thread each) of the model ``name`` at the example's settings."""
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description=f"{name}: parity with PyTorch, then ms per step (1 thread each)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get(name)
    model = Model(Model.Config(**{**Model.tuned_settings({}), "out": "unused"}))   # the example's settings
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    a, b = model.example_batch(np.random.default_rng(0), args.batch)
    a_t, b_t = torch.from_numpy(a), torch.from_numpy(b)
    ours, theirs, ratio = time_pair(lambda: model.step([(a, b)]), lambda: twin.step(a_t, b_t), args.rounds)
    print(f"{name} (base {model.cfg.base}, {model.cfg.task}), batch {args.batch}, 1 thread: "
          f"minigan {ours:.1f} ms/step, PyTorch {theirs:.1f} ms/step, ratio {ratio}")


def main(argv=None):
    run_main("cyclegan", build, argv)


if __name__ == "__main__":
    main()
