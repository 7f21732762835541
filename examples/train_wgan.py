"""Train the WGAN with weight clipping (Arjovsky et al. 2017) on MNIST.

    python examples/train_wgan.py                    # CPU, the tuned settings (docs/wgan.md)
    python examples/train_wgan.py --anchor           # the paper's: RMSprop 5e-5, c = 0.01, n_critic = 5
    python examples/train_wgan.py --backend cupy     # on an NVIDIA GPU
    python examples/train_wgan.py --limit 640 --epochs 1 --out runs/smoke   # a smoke run

The model is minigan/models/wgan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("wgan"))
