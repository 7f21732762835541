"""Draw test digits' Laplacian pyramids (LAPGAN's 28 -> 14 -> 7), and check that each one adds back up.

    python examples/show_pyramid.py                          # the first 10 test digits -> pyramid.png
    python examples/show_pyramid.py --n 4 --out four.png

One row per digit, five images, each enlarged to 28 x 28 by pixel copies:
the digit I_0; its 14 x 14 and 7 x 7 halvings I_1 and I_2 (the Gaussian
pyramid); then the residuals h_0 = I_0 - u(I_1) and h_1 = I_1 - u(I_2)
(the Laplacian pyramid, mid-grey for 0). LAPGAN draws I_2, then h_1, then h_0.
It prints how far each coarser level is from the digit, and that
reconstructing from [h_0, h_1, I_2] gives the digit back (docs/pyramid.md).
"""
import sys

import numpy as np

from minigan.coarse import pyramid
from minigan.data import DataError, load_mnist
from minigan.training.cli import Parser, check_output, int_at_least
from minigan.training.plots import save_grid


def main(argv=None):
    p = Parser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int_at_least(1), default=10, help="the first N test digits (default 10)")
    p.add_argument("--out", default="pyramid.png", help="the PNG (default pyramid.png)")
    p.add_argument("--data-dir", default=None, help="the MNIST folder (unset: $MINIGAN_DATA_DIR, else the cache)")
    args = p.parse_args(argv)
    check_output(p, "--out", args.out, (".png",))
    try:
        x, _ = load_mnist("test", data_dir=args.data_dir, limit=args.n)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    x = x.astype(np.float64)
    i0, i1, i2 = pyramid.gaussian(x)
    h0, h1, coarse = pyramid.laplacian(x)
    back = pyramid.reconstruct([h0, h1, coarse])
    columns = [i0, pyramid.up(i1), pyramid.up(pyramid.up(i2)), h0, pyramid.up(h1)]
    save_grid(args.out, np.stack(columns, axis=1).reshape(-1, 1, 28, 28).clip(-1, 1), nrow=len(columns))
    for name, level in (("the 7 x 7 level, enlarged", pyramid.up(pyramid.up(i2))),
                        ("the 14 x 14 level, enlarged", pyramid.up(i1)), ("[h_0, h_1, I_2] added back up", back)):
        print(f"{name}: mean |difference| to the digits {np.abs(level - x).mean():.4f}")
    print(f"wrote {args.out}: {args.n} digits, columns I_0, I_1, I_2, h_0, h_1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
