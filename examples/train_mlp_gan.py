"""Train the fully connected GAN on MNIST.

    python examples/train_mlp_gan.py                  # CPU, 20 epochs
    python examples/train_mlp_gan.py --backend cupy   # on an NVIDIA GPU
    python examples/train_mlp_gan.py --limit 512 --epochs 1 --out runs/smoke   # a smoke run

The model is minigan/models/mlp_gan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("mlp"))
