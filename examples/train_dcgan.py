"""Train the DCGAN (transposed convolutions) on MNIST.

    python examples/train_dcgan.py                    # CPU, 5 epochs
    python examples/train_dcgan.py --backend cupy     # on an NVIDIA GPU
    python examples/train_dcgan.py --upsample nearest # Upsample2d + Conv2d instead of ConvTranspose2d

The model is minigan/models/dcgan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("dcgan"))
