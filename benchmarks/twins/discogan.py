"""DiscoGAN's training step in PyTorch: CycleGAN's twin with DiscoGAN's choices (the benchmark's twin).

    python benchmarks/twins/discogan.py             # parity, then ms per step at batch 64, 1 thread each

As minigan's :class:`~minigan.models.discogan.DiscoGAN` is CycleGAN's step with
other choices, :class:`TorchDiscoGAN` is :class:`twins.cyclegan.TorchCycleGAN`
with other choices: encoder-decoder generators without skips (Conv4s2, LReLU,
Conv4s2, BN, LReLU, ConvT4s2, BN, ReLU, ConvT4s2, tanh), the DCGAN's
discriminator (one logit per image), BCE on logits (G: BCE(D(G(a)), 1); D:
BCE(real, 1) + BCE(fake, 0), not halved), the reconstruction as MSE with λ = 1,
no identity term and no pool. One ``step(a, b)``: one update of G_AB and G_BA
together, then of D_A and D_B.
"""
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

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from twins.cyclegan import TorchCycleGAN, run_main  # noqa: E402

LABEL = "DiscoGAN"   # its rows in benchmarks/bench.py's step table


def encoder_decoder_generator(base):
    """``translation_networks.encoder_decoder_generator``: 28 -> 14 -> 7 -> 14 -> 28, no skip."""
    b = base
    return nn.Sequential(
        nn.Conv2d(1, b, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(b, 2 * b, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(2 * b, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
        nn.ConvTranspose2d(b, 1, 4, 2, 1), nn.Tanh())


def dcgan_discriminator(base):
    """``networks.dcgan_discriminator`` with its defaults: Conv4s2, LReLU, Conv4s2, BN, LReLU, Linear -> one logit."""
    b = base
    return nn.Sequential(nn.Conv2d(1, b, 4, 2, 1), nn.LeakyReLU(0.2),
                         nn.Conv2d(b, 2 * b, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * b), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(2 * b * 7 * 7, 1))


class TorchDiscoGAN(TorchCycleGAN):
    """One DiscoGAN step in PyTorch on the task's networks (weights copied from minigan at build time)."""

    def networks(self, cfg):
        return (encoder_decoder_generator(cfg.base), encoder_decoder_generator(cfg.base),
                dcgan_discriminator(cfg.base), dcgan_discriminator(cfg.base))

    def weights(self, cfg):
        return cfg.lambda_reconstruction, 0.0                      # λ; no identity term

    def gan_loss(self, out, real):
        return F.binary_cross_entropy_with_logits(out, torch.full_like(out, 1.0 if real else 0.0))

    def reconstruction(self, x, target):
        return F.mse_loss(x, target)

    def d_loss(self, loss_real, loss_fake):
        return loss_real + loss_fake


def build(model, device="cpu"):
    """The PyTorch twin of a ``discogan`` task (its weights copied from the task's)."""
    return TorchDiscoGAN(model, device)


def main(argv=None):
    run_main("discogan", build, argv)


if __name__ == "__main__":
    main()
