"""The conditional GAN's training step in PyTorch, written as PyTorch code usually writes it: the benchmark's twin.

    python benchmarks/twins/cgan.py                     # parity, then ms per step at batch 64, 1 thread each
    python benchmarks/twins/cgan.py --arch dcgan        # the DCGAN networks
    python benchmarks/twins/cgan.py --label embedding   # learned label vectors

``build(task)`` returns a :class:`TorchCGAN` holding the task's G(z, y) and
D(x, y) in PyTorch, layer for layer, with their weights copied over. One
``step(images, labels)`` is the algorithm of :meth:`minigan.models.cgan.CGAN.step` with
the task's settings: fresh (z, y) with y uniform over the digits; D on the real
batch with its labels and on ``fake.detach()`` with the labels asked for (BCE
on logits, real targets 1 - label smoothing), and with ``cfg.mismatch`` on the
real batch with wrong labels as fakes; ``opt_D.step()``; then G's
non-saturating loss through a D that asks for no parameter gradients, on the
same fake batch; ``opt_G.step()``; and, with ``cfg.ema``, the average of G's
weights (``torch._foreach_lerp_``). Both losses are read with ``.item()``, as
minigan's run reads its statistics.
"""
import copy
import dataclasses
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

from minigan import Embedding, to_device, to_numpy  # noqa: E402
from twins.common import TWINS, copy_weights, paired_params, rel_error, time_pair  # noqa: E402

TWINS[Embedding] = nn.Embedding  # the learned label table: the same (K, D) layout in both


class LabelVector(nn.Module):
    """y -> one-hot (N, 10), or a learned embedding (N, dim)."""

    def __init__(self, label, dim):
        super().__init__()
        self.table = nn.Embedding(10, dim) if label == "embedding" else None

    def forward(self, y):
        return F.one_hot(y, 10).float() if self.table is None else self.table(y)


class LabelPlanes(nn.Module):
    """y -> ten constant 28x28 planes (one-hot), or one learned 28x28 plane per label (embedding)."""

    def __init__(self, label):
        super().__init__()
        self.table = nn.Embedding(10, 784) if label == "embedding" else None

    def forward(self, y):
        if self.table is None:
            return F.one_hot(y, 10).float()[:, :, None, None].expand(-1, -1, 28, 28)
        return self.table(y).view(-1, 1, 28, 28)


class Conditional(nn.Module):
    """net(cat(x, label(y), dim=1)): G's and D's conditional input."""

    def __init__(self, label, body, flatten=False):
        super().__init__()
        self.label, self.body, self.flatten = label, body, flatten   # label first: the weights are paired in order

    def forward(self, x, y):
        if self.flatten:
            x = x.flatten(1)
        return self.body(torch.cat([x, self.label(y)], dim=1))


def torch_networks(cfg):
    """G(z, y) and D(x, y) of ``minigan.models.cgan`` with the settings ``cfg``, in PyTorch."""
    k = 10 if cfg.label == "onehot" else cfg.embedding_dim
    drop = [nn.Dropout(cfg.d_dropout)] if cfg.d_dropout else []
    if cfg.arch == "mlp":
        g_layers, d = [], cfg.z_dim + k
        for h in (256, 512, 1024):
            g_layers += [nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.LeakyReLU(0.2)]
            d = h
        G = nn.Sequential(*g_layers, nn.Linear(d, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)))
        d_layers, d = [], 784 + k
        for h in (512, 256, 128):
            d_layers += [nn.Linear(d, h), nn.LeakyReLU(0.2), *drop]
            d = h
        D = nn.Sequential(*d_layers, nn.Linear(d, 1))
        return Conditional(LabelVector(cfg.label, k), G), Conditional(LabelVector(cfg.label, k), D, flatten=True)
    c1, c2, h = 64, 128, cfg.d_hidden
    G = nn.Sequential(
        nn.Linear(cfg.z_dim + k, c2 * 7 * 7), nn.Unflatten(1, (c2, 7, 7)), nn.BatchNorm2d(c2), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, 2, 1, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
        nn.ConvTranspose2d(c1, 1, 4, 2, 1), nn.Tanh(),
    )
    hidden = [nn.Linear(c2 * 7 * 7, h), nn.LeakyReLU(0.2)] if h else []
    D = nn.Sequential(
        nn.Conv2d(1 + (10 if cfg.label == "onehot" else 1), c1, 4, 2, 1), nn.LeakyReLU(0.2), *drop,
        nn.Conv2d(c1, c2, 4, 2, 1, bias=False), nn.BatchNorm2d(c2), nn.LeakyReLU(0.2), *drop,
        nn.Flatten(), *hidden, nn.Linear(h or c2 * 7 * 7, 1),
    )
    return Conditional(LabelVector(cfg.label, k), G), Conditional(LabelPlanes(cfg.label), D)


class TorchCGAN:
    """One cGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def __init__(self, model, device="cpu", noise=None, shift=None):
        cfg = model.cfg
        if cfg.optimizer != "adam" or cfg.objective != "nonsaturating" or cfg.d_steps != 1:
            raise ValueError("the twin runs Adam, the non-saturating G loss and one D step per G step")
        self.model, self.cfg, self.device = model, cfg, device
        self.G, self.D = (m.to(device) for m in torch_networks(cfg))
        copy_weights(model.G, self.G)
        copy_weights(model.D, self.D)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g or cfg.lr, betas=betas)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)
        self.noise = noise or (lambda n: (torch.randn(n, cfg.z_dim, device=device),
                                          torch.randint(0, 10, (n,), device=device)))
        self.shift = shift or (lambda n: torch.randint(1, 10, (n,), device=device))
        self.ema = [p.detach().clone() for p in self.G.parameters()] if cfg.ema else None
        self.ema_t = 0

    def bce(self, out, target):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, target))

    def step(self, images, labels):
        """One D update and one G update (and the average). Returns (D loss, G loss) as floats."""
        z, y = self.noise(len(images))
        fake = self.G(z, y)
        # (1) D: minimise BCE(D(x, y), 1 - smoothing) + BCE(D(G(z, y'), y'), 0)
        self.D.zero_grad()
        err_real = self.bce(self.D(images, labels), 1.0 - self.cfg.label_smoothing)
        err_real.backward()
        err_fake = self.bce(self.D(fake.detach(), y), 0.0)
        err_fake.backward()
        err_d = err_real + err_fake
        if self.cfg.mismatch:  # + w BCE(D(x, y~), 0) with y~ != y: real images with wrong labels
            err_mis = self.cfg.mismatch * self.bce(self.D(images, (labels + self.shift(len(images))) % 10), 0.0)
            err_mis.backward()
            err_d = err_d + err_mis
        self.opt_D.step()
        # (2) G: minimise BCE(D(G(z, y'), y'), 1) on the same fake batch; D gives dL/dx only
        for p in self.D.parameters():
            p.requires_grad_(False)
        self.G.zero_grad()
        err_g = self.bce(self.D(fake, y), 1.0)
        err_g.backward()
        self.opt_G.step()
        for p in self.D.parameters():
            p.requires_grad_(True)
        if self.ema is not None:  # θ_ema = β θ_ema + (1 - β) θ, β ramped up as in minigan.ema
            beta = min(self.cfg.ema, (1 + self.ema_t) / (10 + self.ema_t))
            with torch.no_grad():
                torch._foreach_lerp_(self.ema, [p.detach() for p in self.G.parameters()], 1 - beta)
            self.ema_t += 1
        return err_d.item(), err_g.item()

    def parity(self, batch=16, seed=0):
        """Two steps of each from the same weights, batch and draws: [(what, relative error)], float32.

        Dropout draws its masks differently in the two frameworks, so parity runs
        on the same settings with ``d_dropout = 0``. The arrays whose gradient is 0
        up to rounding (a bias just before batchnorm) are left out of the
        gradient and average comparisons: Adam turns their rounding noise into
        full-size moves of either sign.
        """
        cfg = dataclasses.replace(self.cfg, d_dropout=0.0)
        model = type(self.model)(cfg)
        for ours, theirs in ((self.model.G, model.G), (self.model.D, model.D)):  # in order: dropout has no state
            for a, b in zip(ours.parameters(), theirs.parameters()):
                b.data[...] = a.data
            for m, n in zip((m for m in ours.modules() if m.buffers), (n for n in theirs.modules() if n.buffers)):
                for k in m.buffers:
                    getattr(n, k)[...] = getattr(m, k)
        draws = copy.deepcopy(model.noise_rng)                     # the twin draws what the prior draws

        def noise(n):
            z, y = model.prior.sample(n, draws)
            return torch.from_numpy(to_numpy(z)).to(self.device), torch.from_numpy(to_numpy(y)).to(self.device)

        def shift(n):
            return torch.from_numpy(draws.integers(1, 10, n)).to(self.device)

        twin = TorchCGAN(model, self.device, noise, shift)
        rng = np.random.default_rng(seed)
        images = rng.uniform(-1, 1, (batch, 1, 28, 28)).astype(np.float32)
        labels = rng.integers(0, 10, batch)
        t_images, t_labels = torch.from_numpy(images).to(self.device), torch.from_numpy(labels).to(self.device)
        out = []
        for i in (1, 2):
            stats = model.step([(to_device(images, model.cfg.backend), to_device(labels, model.cfg.backend))])
            d_loss, g_loss = twin.step(t_images, t_labels)
            out += [(f"step {i} D loss", rel_error(np.float64(stats["d_loss"]), np.float64(d_loss))),
                    (f"step {i} G loss", rel_error(np.float64(stats["g_loss"]), np.float64(g_loss)))]
            if i == 1:
                skip = set()  # a bias just before batchnorm: its gradient is 0 up to rounding, Adam's moves are noise
                for net, mine, theirs in (("D", model.D, twin.D), ("G", model.G, twin.G)):
                    pairs = list(paired_params(mine, theirs))
                    scale = max(float(np.abs(to_numpy(p.grad)).max()) for _, p, _, _ in pairs)
                    skip |= {name for name, p, _, _ in pairs if np.abs(to_numpy(p.grad)).max() < 1e-4 * scale}
                    worst = max(rel_error(to_numpy(p.grad).T if tr else to_numpy(p.grad), t.grad.cpu().numpy())
                                for name, p, t, tr in pairs if name not in skip)
                    out.append((f"step 1 dL/dθ_{net} (worst array)", worst))
        if twin.ema is not None:
            worst = max(rel_error(to_numpy(a.data).T if tr else to_numpy(a.data), e.cpu().numpy())
                        for (_, a, _, tr), (name, _, _, _), e in zip(paired_params(model.ema.shadow, twin.G),
                                                                     paired_params(model.G, twin.G), twin.ema)
                        if name not in skip)
            out.append(("G's average after 2 steps (worst array)", worst))
        return out


def build(model, device="cpu"):
    return TorchCGAN(model, device)



def main(argv=None):
    from minigan.models import get
    from minigan.training.cli import Parser, int_at_least, positive_int

    p = Parser(description="cGAN: parity with PyTorch, then ms per step (1 thread each)")
    p.add_argument("--arch", "--model", dest="arch", choices=["mlp", "dcgan"], default="mlp",
                   help="the networks (--model is the old name)")
    p.add_argument("--label", choices=["onehot", "embedding"], default="onehot")
    p.add_argument("--mismatch", type=float, default=None, help="weight of D's mismatch term (default: tuned)")
    p.add_argument("--batch", type=int_at_least(2), default=64)
    p.add_argument("--rounds", type=positive_int, default=5, help="rounds of alternating blocks (benchmarks/timing.py)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    Model = get("cgan")
    given = dict(arch=args.arch, label=args.label)
    if args.mismatch is not None:
        given["mismatch"] = args.mismatch
    cfg = Model.Config(**{**Model.tuned_settings(given), **given, "out": "unused"})  # the example's settings
    model = Model(cfg)
    twin = build(model)
    for what, err in twin.parity():
        print(f"parity  {what:<40} {err:.2e}")
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (args.batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, args.batch)
    real_t, labels_t = torch.from_numpy(real), torch.from_numpy(labels)
    ours, theirs, ratio = time_pair(lambda: model.step([(real, labels)]), lambda: twin.step(real_t, labels_t),
                                       args.rounds)
    print(f"cgan ({args.arch} networks, {args.label}), batch {args.batch}, 1 thread: minigan {ours:.1f} ms/step, "
          f"PyTorch {theirs:.1f} ms/step, ratio {ratio}")


if __name__ == "__main__":
    main()
