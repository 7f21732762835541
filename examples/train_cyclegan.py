"""Train CycleGAN (Zhu et al. 2017) on MNIST: thin <-> thick digits, learned without a single pair.

    python examples/train_cyclegan.py                     # CPU, 3 epochs: ResNet G and F, PatchGAN Ds, LSGAN
    python examples/train_cyclegan.py --task rotated      # each digit rotated by its own angle in [-45, 45]
    python examples/train_cyclegan.py --lambda-identity 0 # without the identity loss
    python examples/train_cyclegan.py --backend cupy      # on an NVIDIA GPU
    python examples/translate.py runs/cyclegan --direction b2a --n 100 --npy thin.npy   # afterwards

Domain A is one half of the training digits as written, domain B the other half
thickened (minigan/translation/data.py): no digit is in both. The grids show
ten test digits (one per class) in six rows: A, G(A), A's true thick version;
B, F(B), B's true thin version. metrics.json holds, per direction, how often
minigan's classifier reads the output as the input's digit, the FID against
the target domain's test images, the L1 to the hidden true counterpart and
the mean stroke thickness beside the target domain's. The model is
minigan/models/cyclegan.py; --help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("cyclegan"))
