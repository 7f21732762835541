"""WGAN-GP's PyTorch twin: the same networks and the same step, the penalty by torch.autograd.grad.

    /work/bin/cpuslot python benchmarks/twins/wgan_gp.py     # parity, then ms per step at batch 64, 1 thread each

PyTorch code usually writes the penalty as (Gulrajani et al.'s reference code does)

    g, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    gp = λ ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
    (-D(x).mean() + D(fake).mean() + gp).backward()

so autograd records the graph of the critic's backward and differentiates it; minigan calls
each layer's hand-written double backward instead. ``parity()`` first checks that the two
give the same penalty and the same penalty gradient for every critic weight (float32), then
runs one whole step of both from the same weights and the same draws (z, ε).
"""
import os
import sys

if __name__ == "__main__":  # one thread for NumPy's BLAS too: it reads these when NumPy is imported
    from _torch_check import require_torch  # noqa: E402  (this script's folder, benchmarks/twins/)
    require_torch()
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
    sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]

import copy  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from minigan import (BatchNorm1d, Dense, Flatten, LayerNorm, LeakyReLU, Reshape, Tanh, gradient_penalty, to_device,
                     to_numpy)
from twins.common import TWINS, copy_weights, paired_params, rel_error, time_pair  # noqa: E402

TWINS[LayerNorm] = nn.LayerNorm
LABEL = "WGAN-GP"   # its rows in benchmarks/bench.py's step table


def mirror(net):
    """The PyTorch nn.Sequential of a minigan Sequential made of the layers WGAN-GP's networks use."""
    out = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            out.append(nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None))
        elif isinstance(layer, BatchNorm1d):
            out.append(nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum))
        elif isinstance(layer, LayerNorm):
            out.append(nn.LayerNorm(layer.normalized_shape, eps=layer.eps))
        elif isinstance(layer, LeakyReLU):
            out.append(nn.LeakyReLU(layer.negative_slope))
        elif isinstance(layer, Tanh):
            out.append(nn.Tanh())
        elif isinstance(layer, Flatten):
            out.append(nn.Flatten())
        elif isinstance(layer, Reshape):
            out.append(nn.Unflatten(1, layer.shape))
        else:
            raise TypeError(f"no PyTorch twin for {layer!r}")
    model = nn.Sequential(*out)
    copy_weights(net, model)
    return model


class TorchWGANGP:
    """One WGAN-GP training step in PyTorch: k critic steps (each with its penalty), then one G step."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        self.device, self.k, self.z_dim, self.gp_weight = device, cfg.d_steps, cfg.z_dim, cfg.gp_weight
        self.G, self.D = mirror(model.G).to(device), mirror(model.D).to(device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g or cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)
        self.ema_beta, self.ema_t = cfg.ema, 0
        self.G_ema = copy.deepcopy(self.G) if cfg.ema else None
        self.noise = lambda n: torch.randn(n, self.z_dim, device=device)        # z ~ N(0, I)
        self.epsilon = lambda n: torch.rand(n, 1, 1, 1, device=device)          # ε ~ U[0, 1]

    def penalty(self, x_hat):
        """λ E[(‖∇D(x̂)‖ - 1)²] with the graph of the gradient kept (create_graph), and the norms."""
        x_hat = x_hat.detach().requires_grad_(True)
        g, = torch.autograd.grad(self.D(x_hat).sum(), x_hat, create_graph=True)
        norms = g.flatten(1).norm(dim=1)
        return self.gp_weight * ((norms - 1) ** 2).mean(), norms

    def step(self, images, labels=None):
        """``images``: the k real batches of one step, concatenated, (k*N, 1, 28, 28)."""
        for real in images.chunk(self.k):
            n = real.shape[0]
            fake = self.G(self.noise(n))
            self.D.zero_grad()
            d_real, d_fake = self.D(real).mean(), self.D(fake.detach()).mean()
            eps = self.epsilon(n)
            gp, norms = self.penalty(eps * real + (1 - eps) * fake.detach())
            d_loss = -d_real + d_fake + gp
            d_loss.backward()
            self.opt_D.step()
        self.D.requires_grad_(False)                    # G's step: D does not move
        self.G.zero_grad()
        g_loss = -self.D(fake).mean()
        g_loss.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)
        if self.G_ema is not None:
            self.update_ema()
        return dict(d_loss=d_loss.item(), g_loss=g_loss.item(), gp=gp.item(), wasserstein=(d_real - d_fake).item(),
                    grad_norm=norms.mean().item())

    @torch.no_grad()
    def update_ema(self):
        beta = min(self.ema_beta, (1 + self.ema_t) / (10 + self.ema_t))    # minigan.ema's ramp
        for avg, p in zip(self.G_ema.parameters(), self.G.parameters()):
            avg.mul_(beta).add_(p, alpha=1 - beta)
        self.ema_t += 1


class Twin:
    """minigan's task and its PyTorch twin, built from the same weights."""

    def __init__(self, model, device="cpu"):
        self.model, self.device = model, device
        self.torch = TorchWGANGP(model, device)

    def step(self, images, labels=None):
        return self.torch.step(images, labels)

    def parity(self, batch=8, seed=0):
        """[(what, relative error)]: the penalty and its gradients, then one whole step of both."""
        model, twin = self.model, self.torch
        rng = np.random.default_rng(seed)
        real = rng.uniform(-1, 1, (model.cfg.d_steps * batch, 1, 28, 28)).astype(np.float32)
        out = []
        # 1. the penalty and its gradient for every critic weight, at the same x̂
        x_hat = to_device(np.tanh(rng.standard_normal((batch, 1, 28, 28))).astype(np.float32), model.cfg.backend)
        model.D.zero_grad()
        gp = gradient_penalty(model.D, x_hat, model.cfg.gp_weight)
        twin.D.zero_grad()
        gp_t, _ = twin.penalty(torch.from_numpy(to_numpy(x_hat)).to(self.device))
        gp_t.backward()
        out.append(("penalty", rel_error(gp, gp_t)))
        for label, p, t, transpose in paired_params(model.D, twin.D):
            g = to_numpy(p.grad)
            out.append((f"penalty d/d {label}", rel_error(g.T if transpose else g, t.grad)))
        # 2. one whole step from the same weights, z and ε (the twin draws from copies of the task's generators)
        copy_weights(model.G, twin.G)
        copy_weights(model.D, twin.D)
        noise, eps = copy.deepcopy(model.noise_rng), copy.deepcopy(model.penalty_rng)
        twin.noise = lambda n: torch.from_numpy(
            noise.standard_normal((n, twin.z_dim)).astype(np.float32)).to(self.device)
        twin.epsilon = lambda n: torch.from_numpy(eps.random((n, 1, 1, 1)).astype(np.float32)).to(self.device)
        batches = [(to_device(b, model.cfg.backend), None) for b in np.split(real, model.cfg.d_steps)]
        stats = model.step(batches)
        stats_t = twin.step(torch.from_numpy(real).to(self.device))
        for key in ("d_loss", "g_loss", "gp", "wasserstein", "grad_norm"):
            out.append((f"step {key}", rel_error(float(stats[key]), stats_t[key])))
        # the gradients the step's last updates used: the last critic step's (penalty included) and G's
        for net, net_t, who in ((model.D, twin.D, "D"), (model.G, twin.G, "G")):
            params = list(paired_params(net, net_t))
            for (label, p, t, transpose), after in zip(params, params[1:] + [None]):
                if after is not None and "BatchNorm" in after[0] and label.endswith(".bias"):
                    continue  # a bias just before batchnorm has no effect: its gradient is rounding noise
                g = to_numpy(p.grad)
                out.append((f"step d{who} loss / d {label}", rel_error(g.T if transpose else g, t.grad)))
        return out


def build(model, device="cpu"):
    """The twin of a :class:`minigan.models.wgan_gp.WGANGP` task (same weights now)."""
    return Twin(model, device)


def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="WGAN-GP: minigan against its PyTorch twin (parity, then ms per step)")
    p.add_argument("--anchor", action="store_true", help="the paper's settings instead of the example's tuned ones")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model_cls = get("wgan_gp")
    settings = {} if args.anchor else dict(model_cls.tuned)
    model = model_cls(model_cls.Config(batch_size=args.batch, **settings))
    twin = build(model)
    parity = twin.parity()
    for what, err in parity:
        print(f"  {what:<44} {err:.1e}")
    worst = max(e for _, e in parity)
    print(f"parity: worst relative error {worst:.1e} over {len(parity)} checks (float32)")
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (model.cfg.d_steps * args.batch, 1, 28, 28)).astype(np.float32)
    batches = [(b, None) for b in np.split(real, model.cfg.d_steps)]
    real_t = torch.from_numpy(real)
    t_mg, t_pt, ratio = time_pair(lambda: model.step(batches), lambda: twin.step(real_t), args.rounds)
    print(f"one step (n_critic = {model.cfg.d_steps} critic steps with the penalty, then G), batch {args.batch}, "
          f"{args.rounds} rounds of alternating blocks, "
          f"1 thread each (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, torch {torch.get_num_threads()}):")
    print(f"  minigan {t_mg:.1f} ms   PyTorch {t_pt:.1f} ms   minigan/PyTorch {ratio}")


if __name__ == "__main__":
    main()
