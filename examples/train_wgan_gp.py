"""Train WGAN-GP on MNIST: the Wasserstein critic with a gradient penalty, differentiated by hand.

    python examples/train_wgan_gp.py                  # CPU, the tuned settings (docs/wgan_gp.md)
    python examples/train_wgan_gp.py --anchor         # the paper's: λ = 10, Adam(1e-4, (0.5, 0.9)), n_critic = 5
    python examples/train_wgan_gp.py --backend cupy   # on an NVIDIA GPU
    python examples/train_wgan_gp.py --limit 640 --epochs 1 --out runs/smoke   # a smoke run

The model is minigan/models/wgan_gp.py; --help lists every setting.
"""
import sys

from minigan.cli import main

if __name__ == "__main__":
    sys.exit(main("wgan_gp"))
