"""The VAE's PyTorch twin: pytorch/examples' ``vae/main.py``, with the loss on logits and averaged over the batch.

    python benchmarks/twins/vae.py        # parity, then the median ms per step at batch 64, 1 thread each

pytorch/examples decodes with a sigmoid and takes ``F.binary_cross_entropy``
of the probabilities, summed over the batch. The twin keeps the logits and
takes ``F.binary_cross_entropy_with_logits`` (the same function, computed
stably), and divides both terms by the batch size as minigan does: Adam's
step does not change when the loss is multiplied by a constant (up to its
ε), so the training is the same and the numbers read in nats per image.
``examples/train_vae.py --torch-twin`` trains this twin beside minigan.
"""
import copy
import os
import sys

if __name__ == "__main__":  # one BLAS thread for NumPy, set before NumPy is imported (PyTorch: set_num_threads)
    from _torch_check import require_torch  # noqa: E402  (this script's folder, benchmarks/twins/)
    require_torch()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

if __package__ in (None, ""):  # run as a script: find minigan and twins/common.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from twins.common import copy_weights, paired_params, time_pair
else:
    from .common import copy_weights, paired_params, time_pair

from minigan import Sequential, rel_error, to_device, to_numpy  # noqa: E402
from minigan.models import vae as mg_vae  # noqa: E402


class TorchVAE(nn.Module):
    """pytorch/examples' VAE (fc1, fc21, fc22, fc3, fc4), decoding to logits."""

    def __init__(self, in_dim=784, hidden=400, z_dim=20):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc21 = nn.Linear(hidden, z_dim)
        self.fc22 = nn.Linear(hidden, z_dim)
        self.fc3 = nn.Linear(z_dim, hidden)
        self.fc4 = nn.Linear(hidden, in_dim)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps=None):
        std = torch.exp(0.5 * logvar)
        if eps is None:
            eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x, eps=None):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar


def loss_function(logits, x, mu, logvar):
    """(negative ELBO, reconstruction, KL), nats per image."""
    n = len(x)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / n
    return bce + kld, bce, kld


class Twin:
    """The twin of a minigan VAE model: its weights copied, Adam with the same settings."""

    def __init__(self, model, device="cpu"):
        cfg = model.cfg
        self.ours, self.device = model, device
        self.model = TorchVAE(hidden=cfg.hidden, z_dim=cfg.z_dim).to(device)
        copy_weights(self.minigan_model(model), self.model)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    @staticmethod
    def minigan_model(model):
        """The task's layers in pytorch/examples' order (fc1, fc21, fc22, fc3, fc4), for copying weights."""
        return Sequential(model.encoder, model.decoder)

    def step(self, images, labels=None, eps=None):
        """One training step on a batch of images in [-1, 1]. Returns the loss (a 0-d tensor)."""
        x = ((images + 1) * 0.5).view(len(images), -1)
        self.opt.zero_grad()
        logits, mu, logvar = self.model(x, eps)
        loss, _, _ = loss_function(logits, x, mu, logvar)
        loss.backward()
        self.opt.step()
        return loss

    @torch.no_grad()
    def evaluate(self, images, eps, batch_size=500):
        """(negative ELBO, reconstruction, KL) on NumPy ``images`` with NumPy ``eps``, nats per image."""
        totals = np.zeros(3)
        for i in range(0, len(images), batch_size):
            x = torch.from_numpy(mg_vae.to_unit(np.ascontiguousarray(images[i:i + batch_size]))).to(self.device)
            e = torch.from_numpy(eps[i:i + batch_size]).to(self.device)
            logits, mu, logvar = self.model(x, e)
            totals += [float(v) * len(x) for v in loss_function(logits, x, mu, logvar)]
        return tuple(totals / len(images))

    def parity(self, batch=16, seed=0):
        """One step of each from the same weights, batch and ε: [(what, relative error)], float32."""
        model = copy.deepcopy(self.ours)
        twin = Twin(model, self.device)
        rng = np.random.default_rng(seed)
        images = rng.uniform(-1, 1, (batch,) + mg_vae.IMAGE_SHAPE).astype(np.float32)
        eps = rng.standard_normal((batch, model.cfg.z_dim)).astype(np.float32)

        x = mg_vae.to_unit(to_device(images, model.cfg.backend))
        ours = mg_vae.negative_elbo(model.encoder, model.decoder, model.reparameterize, x,
                                    to_device(eps, model.cfg.backend))
        grads = [to_numpy(p.grad).copy() for _, p, _, _ in paired_params(self.minigan_model(model), twin.model)]
        model.opt.step()

        t_images, t_eps = torch.from_numpy(images).to(self.device), torch.from_numpy(eps).to(self.device)
        tx = ((t_images + 1) * 0.5).view(batch, -1)
        twin.opt.zero_grad()
        logits, mu, logvar = twin.model(tx, t_eps)
        theirs = loss_function(logits, tx, mu, logvar)
        theirs[0].backward()
        out = [(name, rel_error(to_numpy(ours[k]), t.detach().cpu().numpy()))
               for name, k, t in zip(("loss", "reconstruction", "kl"), ("loss", "reconstruction", "kl"), theirs)]
        pairs = list(paired_params(self.minigan_model(model), twin.model))
        names = [name for name, _ in twin.model.named_parameters()]  # fc1.weight, fc1.bias, fc21.weight (μ), ...
        for name, (_, _, t, transpose), g in zip(names, pairs, grads):
            tg = t.grad.cpu().numpy()
            out.append((f"dL/d{name}", rel_error(g, tg.T if transpose else tg)))
        # after one Adam step each, the loss on the same batch and ε (Adam's first step is lr·sign(g) where
        # |g| >> its ε, so a gradient entry near 0 may move differently by rounding: compare what training sees)
        twin.opt.step()
        after = mg_vae.negative_elbo(model.encoder, model.decoder, model.reparameterize, x,
                                     to_device(eps, model.cfg.backend), backward=False)["loss"]
        with torch.no_grad():
            logits, mu, logvar = twin.model(tx, t_eps)
            out.append(("loss after one Adam step", rel_error(to_numpy(after),
                                                              loss_function(logits, tx, mu, logvar)[0].cpu().numpy())))
        return out


def build(model, device="cpu"):
    """The PyTorch twin of a minigan VAE task (``.step(images, labels)``, ``.parity()``)."""
    return Twin(model, device)


def main(batch=64):
    torch.set_num_threads(1)
    model = mg_vae.VAE(mg_vae.Config(batch_size=batch))
    twin = build(model)
    parity = twin.parity()
    width = max(len(w) for w, _ in parity)
    for what, err in parity:
        print(f"  {what:<{width}}  {err:.1e}")
    worst = max(err for _, err in parity)
    print(f"parity: worst relative error {worst:.1e} ({'ok' if worst < 1e-4 else 'MISMATCH'})")

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch,) + mg_vae.IMAGE_SHAPE).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    t_images, t_labels = torch.from_numpy(images), torch.from_numpy(labels)
    ours, theirs, ratio = time_pair(lambda: model.step([(images, labels)]), lambda: twin.step(t_images, t_labels))
    print(f"VAE step, batch {batch}, 1 thread: minigan {ours:.2f} ms, PyTorch {theirs:.2f} ms, ratio {ratio}")


if __name__ == "__main__":
    main()
