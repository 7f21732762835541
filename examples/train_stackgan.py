"""Train StackGAN (Zhang et al. 2017) on MNIST with captions made from the digits: "a thick seven slanted to the right".

    python examples/train_stackgan.py                  # CPU, 11 epochs: Stage I (14 x 14) for 70%, then Stage II
    python examples/train_stackgan.py --stage 1 --out runs/stage1                      # Stage I alone
    python examples/train_stackgan.py --stage 2 --stage1-run runs/stage1 --out runs/stage2   # Stage II on it
    python examples/train_stackgan.py --backend cupy   # on an NVIDIA GPU
    python examples/generate.py runs/stackgan --caption "a thin upright two"

The run folder's grids show ten captions, one a row (captions.png writes each
row's caption beside it); metrics.json holds, for each of the 90 captions (every
digit, thickness and slant), how often minigan's classifier reads the digit named
and how often the measured thickness and slant are the ones named, and FID and
score of Stage II's samples beside Stage I's upsampled. The model is
minigan/models/stackgan.py, the captions minigan/coarse/captions.py; --help lists every
setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("stackgan"))
