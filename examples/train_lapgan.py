"""Train LAPGAN (Denton et al. 2015) on MNIST: a 7 x 7 GAN, then GANs of the 14 x 14 and 28 x 28 residuals.

    python examples/train_lapgan.py                     # CPU, 5 epochs: all three levels, side by side
    python examples/train_lapgan.py --conditional       # every level also given the digit (class-conditional)
    python examples/train_lapgan.py --level 0           # one level alone: the 28 x 28 residual, given real 14 x 14
    python examples/train_lapgan.py --backend cupy      # on an NVIDIA GPU
    python examples/generate.py runs/lapgan --n 100     # samples drawn through the pyramid, 7 -> 14 -> 28
    python examples/generate.py runs/lapgan_c --digit 7 # the class-conditional model: 7s only

The run folder's grids show samples at 28 x 28; pyramid.png shows ten samples
level by level (the 7 x 7 image, the 14 x 14 residual, the 14 x 14 image, the
28 x 28 residual, the digit); metrics.json holds FID and score of the samples
and of their coarser levels upsampled. A run with --level k shows and scores
that level alone, given the real coarse images of test digits. The model is
minigan/models/lapgan.py, the pyramid minigan/coarse/pyramid.py; --help lists every
setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("lapgan"))
