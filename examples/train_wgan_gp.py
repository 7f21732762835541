"""Train WGAN-GP on MNIST: the Wasserstein critic with a gradient penalty, differentiated by hand.

    python examples/train_wgan_gp.py                  # CPU, the tuned settings (docs/wgan_gp.md)
    python examples/train_wgan_gp.py --anchor         # the released gan_mnist.py's: λ = 10, Adam(1e-4, (0.5, 0.9)),
                                                      # 5 critic steps (the paper's Algorithm 1 has β1 = 0)
    python examples/train_wgan_gp.py --backend cupy   # on an NVIDIA GPU
    python examples/train_wgan_gp.py --limit 640 --epochs 1 --out runs/smoke   # a smoke run

The model is minigan/models/wgan_gp.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("wgan_gp"))
