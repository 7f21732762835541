"""Train DiscoGAN (Kim et al. 2017) on MNIST: rotated thin <-> rotated thick digits, without pairs.

    python examples/train_discogan.py                     # CPU, 5 epochs: encoder-decoder G, DCGAN D, BCE + MSE
    python examples/train_discogan.py --task thickness    # thin <-> thick, upright (CycleGAN's default task)
    python examples/train_discogan.py --backend cupy      # on an NVIDIA GPU
    python examples/translate.py runs/discogan --direction b2a --n 100 --npy thin.npy   # afterwards

Each domain's digits are rotated by their own angles in [-45, 45] degrees,
drawn independently in the two domains (minigan/translation/data.py), so a
translation that keeps the input's orientation has learned it from the
reconstruction loss alone. metrics.json holds, per direction, the digit kept,
the FID against the target domain, the L1 to the hidden true counterpart, the
thickness, and the correlation of the input's and the output's angle. The
model is minigan/models/discogan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("discogan"))
