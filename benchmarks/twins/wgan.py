"""The WGAN's training step in PyTorch, written as the WGAN reference code writes it: the benchmark's twin.

    python benchmarks/twins/wgan.py                # the example's networks: parity, then ms per step at batch 64
    python benchmarks/twins/wgan.py --arch mlp     # the MLP bodies (the anchor's other settings) instead

``build(task)`` returns a :class:`TorchWGAN` holding the task's G and D in
PyTorch, layer for layer, with their weights copied over. One ``step`` is the
same algorithm as :meth:`minigan.models.wgan.WGAN.step`: n_critic times (a
fresh z, G(z) without a graph, the critic's loss -E[D(x)] + E[D(G(z))],
RMSprop, every critic parameter clamped into [-c, c]), then G's loss
-E[D(G(z))] on the last fake batch, through a critic whose parameters ask for
no gradient, and G's RMSprop step. ``step(images, labels)`` takes the n_critic
real batches of one step stacked, shape (n_critic * batch, 1, 28, 28), as the
run feeds n_critic consecutive batches.
"""
import copy
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    from _torch_check import require_torch  # noqa: E402  (this script's folder, benchmarks/twins/)
    require_torch()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

if __name__ == "__main__":  # run as a script: this checkout's minigan and the twins package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minigan import to_device, to_numpy  # noqa: E402
from twins.common import copy_weights, paired_params, rel_error, time_pair  # noqa: E402


def torch_networks(cfg):
    """G and D of ``minigan.models.wgan`` with the settings ``cfg``, in PyTorch (default initialisation)."""
    if cfg.arch == "mlp":
        g_layers, d = [], cfg.z_dim
        for h in (256, 512, 1024):
            g_layers += [nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(0.2)]
            d = h
        G = nn.Sequential(*g_layers, nn.Linear(d, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        d_layers, d = [nn.Flatten()], 784
        for h in (512, 256, 128):
            d_layers += [nn.Linear(d, h), nn.LeakyReLU(0.2)]
            d = h
        return G, nn.Sequential(*d_layers, nn.Linear(d, 1, bias=False))     # the critic: no output bias
    c1, c2, h = 64, 128, cfg.d_hidden
    G = nn.Sequential(
        nn.Linear(cfg.z_dim, c2 * 7 * 7), nn.Unflatten(1, (c2, 7, 7)), nn.BatchNorm2d(c2), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
        nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Tanh(),
    )
    hidden = [nn.Linear(c2 * 7 * 7, h), nn.LeakyReLU(0.2)] if h else []
    D = nn.Sequential(
        nn.Conv2d(1, c1, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c1, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.LeakyReLU(0.2),
        nn.Flatten(), *hidden, nn.Linear(h or c2 * 7 * 7, 1, bias=False),
    )
    return G, D


class TorchWGAN:
    """One WGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        if cfg.optimizer != "rmsprop":
            raise ValueError(f"the twin runs RMSprop, as WGAN does; the task uses {cfg.optimizer}")
        self.model, self.cfg, self.device = model, cfg, device
        self.G, self.D = (m.to(device) for m in torch_networks(cfg))
        copy_weights(model.G, self.G)
        copy_weights(model.D, self.D)
        self.opt_G = torch.optim.RMSprop(self.G.parameters(), lr=cfg.lr_g or cfg.lr)   # alpha 0.99, eps 1e-8
        self.opt_D = torch.optim.RMSprop(self.D.parameters(), lr=cfg.lr_d or cfg.lr)
        self.noise = lambda n: torch.randn(n, cfg.z_dim, device=device)
        self.k = cfg.d_steps                                   # critic updates per step (parity uses 1)

    def step(self, images, labels=None):
        """n_critic critic updates (each clamped), then one G update. Returns (critic loss, estimate, G loss)."""
        for i, real in enumerate(images.chunk(self.k)):
            last = i == self.k - 1
            with torch.set_grad_enabled(last):          # only the last fake batch is kept for G's step
                fake = self.G(self.noise(len(real)))
            for p in self.D.parameters():
                p.requires_grad_(True)
            self.D.zero_grad()
            out_real, out_fake = self.D(real), self.D(fake.detach())
            loss_D = out_fake.mean() - out_real.mean()  # -E[D(x)] + E[D(G(z))]
            loss_D.backward()
            self.opt_D.step()
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.cfg.clip, self.cfg.clip)
        for p in self.D.parameters():                    # G's step asks the critic for dL/dx only
            p.requires_grad_(False)
        self.G.zero_grad()
        loss_G = -self.D(fake).mean()                    # -E[D(G(z))]
        loss_G.backward()
        self.opt_G.step()
        return loss_D.item(), -loss_D.item(), loss_G.item()

    def parity(self, batch=8):
        """One step of both from the same weights, batches and noise: [(what, relative error)], float32.

        The critic's gradient is the last critic update's; the weights are those after the whole step
        (the critic's clamped). A network's gradients (or weights) are compared as one vector, so the
        error is relative to its largest entry. A bias just before batchnorm has a gradient that is
        rounding noise on both sides (batchnorm removes it exactly), and RMSprop's first steps move a
        weight by about 10 lr whatever its gradient's size, in the noise's direction: entries whose
        gradient is under 1e-3 of the network's largest are left out of the weights' comparison
        (their gradients are compared).
        G's batchnorm running statistics are compared too.
        The step makes one critic update, not n_critic: after several RMSprop updates, rounding
        differences between two BLAS libraries (cuBLAS against the CPU's, 1.5e-3 in the critic loss
        after 5 updates on an H200) have become weight differences, and the comparison is no longer
        about the arithmetic. Every critic update runs the same code, so one checks them all.
        """
        model = copy.deepcopy(self.model)
        twin = TorchWGAN(model, self.device)              # both start from the very same weights
        rng = np.random.default_rng(7)
        twin.k = 1
        real = [rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)]   # one critic update (see above)
        drawn = copy.deepcopy(model.noise_rng)            # the noise minigan will draw, drawn again for PyTorch
        latents = [model.prior.sample(batch, drawn)]
        queue = iter(latents)
        twin.noise = lambda n: torch.from_numpy(next(queue)).to(self.device)
        stats = model.step([(to_device(x, model.cfg.backend), None) for x in real])
        loss_D, estimate, loss_G = twin.step(torch.from_numpy(np.concatenate(real)).to(self.device))
        out = [("critic loss", rel_error(stats["d_loss"], loss_D)),
               ("Wasserstein estimate", rel_error(stats["wasserstein"], estimate)),
               ("G loss", rel_error(stats["g_loss"], loss_G))]
        for name, ours, theirs in (("critic", model.D, twin.D), ("G", model.G, twin.G)):
            pairs = list(paired_params(ours, theirs))
            grads = np.concatenate([to_numpy(p.grad).ravel() for _, p, _, _ in pairs])
            grads_t = np.concatenate([(t.grad.T if tr else t.grad).cpu().numpy().ravel() for _, _, t, tr in pairs])
            out.append((f"{name} gradients", rel_error(grads, grads_t)))
            after = np.concatenate([to_numpy(p.data).ravel() for _, p, _, _ in pairs])
            after_t = np.concatenate([(t.detach().T if tr else t.detach()).cpu().numpy().ravel()
                                      for _, _, t, tr in pairs])
            moved = np.abs(grads) > 1e-3 * np.abs(grads).max()   # entries whose step is not set by rounding noise
            out.append((f"{name} weights after the step", rel_error(after[moved], after_t[moved])))
        bn = [(m, t) for m, t in zip((m for m in model.G.modules() if hasattr(m, "running_mean")),
                                     (t for t in twin.G.modules() if hasattr(t, "running_mean")))]
        out.append(("G batchnorm running mean", max(rel_error(m.running_mean, t.running_mean.cpu().numpy())
                                                     for m, t in bn)))
        return out


def build(model, device="cpu"):
    """The PyTorch twin of a ``wgan`` task (its weights copied from the task's)."""
    return TorchWGAN(model, device)



def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="WGAN: parity with PyTorch, then ms per step (1 thread each)")
    p.add_argument("--arch", choices=["dcgan", "mlp"], default="dcgan")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    if os.environ.get("OMP_NUM_THREADS") != "1":
        print("note: set OMP_NUM_THREADS=1 (or run through /work/bin/cpuslot) for NumPy's 1 thread")
    torch.set_num_threads(1)
    Model = get("wgan")
    settings = dict(Model.tuned, ema=0.0) if args.arch == "dcgan" else {}   # the example's networks and rates;
    model = Model(Model.Config(arch=args.arch, out="unused", **settings))   # EMA only reads G, and the twin has none
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<30} {err:.2e}")
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (model.cfg.d_steps * args.batch, 1, 28, 28)).astype(np.float32)
    batches = [(x, None) for x in np.split(real, model.cfg.d_steps)]
    real_t = torch.from_numpy(real)
    ours, theirs, ratio = time_pair(lambda: model.step(batches), lambda: twin.step(real_t), args.rounds)
    print(f"wgan ({args.arch}), batch {args.batch}, n_critic {model.cfg.d_steps}: minigan {ours:.1f} ms/step, "
          f"PyTorch {theirs:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
