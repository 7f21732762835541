"""Train InfoGAN (a 10-way categorical code and two continuous codes beside the noise) on MNIST.

    python examples/train_infogan.py                       # CPU, the example's settings
    python examples/train_infogan.py --backend cupy        # on an NVIDIA GPU
    python examples/train_infogan.py --lambda-cat 2        # weigh the categorical code's information more
    python examples/generate.py runs/infogan --code 3      # afterwards: samples of categorical code 3

The run folder gets, beside every GAN's pictures, the sweep of each continuous
code (sweep_u1.png, sweep_u2.png: row = categorical value, column = the code
from -2 to 2) and categories.png; metrics.json gets the categorical code's
matched accuracy. The model is minigan/models/infogan.py (docs/infogan.md);
--help lists every setting.
"""
import sys

from minigan.training.cli import main

if __name__ == "__main__":
    sys.exit(main("infogan"))
