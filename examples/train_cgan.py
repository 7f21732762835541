"""Train the conditional GAN on MNIST: G(z, y) draws the digit y, D(x, y) judges image and label.

    python examples/train_cgan.py                               # CPU, the MLP body
    python examples/train_cgan.py --arch dcgan                  # the convolutional body
    python examples/train_cgan.py --label embedding             # learned label vectors instead of one-hot
    python examples/train_cgan.py --limit 512 --epochs 1 --out runs/smoke   # a smoke run
    python examples/generate.py runs/cgan --digit 7             # then: 7s only

The model is minigan/models/cgan.py (docs/cgan.md); --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("cgan"))
