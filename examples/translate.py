"""Translate MNIST test images with a trained image-to-image model: the outputs as .npy, and a PNG grid.

    python examples/translate.py runs/pix2pix --n 100 --npy out.npy          # the first 100 test edge maps
    python examples/translate.py runs/pix2pix --n 100 --npy out.npy --inputs-npy in.npy   # and what G was given
    python examples/translate.py runs/cyclegan --direction b2a --n 64 --npy thin.npy      # an unpaired model, B -> A

The inputs are the first N test images of the run's task, in test-set order
(minigan/translation/data.py makes them from MNIST, deterministically); the
outputs are float32 in [-1, 1], shape (N, 1, 28, 28). A grid of inputs over
outputs (ten per row) goes to RUN/translated.png unless --out says otherwise.
A paired model translates one way (a2b); --direction is for unpaired ones.
"""
import os
import sys

import numpy as np

from minigan.data import DataError
from minigan.training.cli import check_output, load_or_exit, positive_int, run_folder, tool_parser
from minigan.training.plots import save_grid
from minigan.translation.translator import DIRECTIONS, TEST_IMAGES, Translator, to_side


def main(argv=None):
    p = tool_parser(__doc__)
    p.add_argument("--n", type=positive_int, default=100, help=f"test images to translate (at most {TEST_IMAGES})")
    p.add_argument("--npy", default=None,
                   help="save the outputs here (.npy, (N, 1, 28, 28) float32 in [-1, 1]; unset: no .npy file)")
    p.add_argument("--inputs-npy", default=None, help="also save the inputs here (.npy; unset: no .npy file)")
    p.add_argument("--direction", choices=sorted(DIRECTIONS), default=None,
                   help="an unpaired model: a2b or b2a (unset: a2b, the only way a paired model goes)")
    p.add_argument("--out", default=None, help="the PNG grid, inputs over outputs (unset: RUN/translated.png)")
    args = p.parse_args(argv)
    if args.n > TEST_IMAGES:
        p.error(f"--n {args.n}: the task's test split has {TEST_IMAGES} images")
    out = args.out or os.path.join(run_folder(args.run), "translated.png")
    for flag, path, suffixes in (("--out", out, (".png",)), ("--npy", args.npy, (".npy",)),
                                 ("--inputs-npy", args.inputs_npy, (".npy",))):
        check_output(p, flag, path, suffixes)
    named = [path for path in (out, args.npy, args.inputs_npy) if path]
    if len({os.path.abspath(path) for path in named}) < len(named):
        p.error("--out, --npy and --inputs-npy must name different files")
    model = load_or_exit(args.run, args.backend)
    if not isinstance(model, Translator):
        print(f"error: {args.run} holds a {model.label()} run, which translates nothing (it draws samples: use "
              "examples/generate.py)", file=sys.stderr)
        return 2
    if args.direction is not None and model.paired:
        print(f"error: --direction {args.direction}: the {model.label()} run learned the paired {model.cfg.task} task, "
              "one way only (a2b); drop --direction", file=sys.stderr)
        return 2
    direction = args.direction or "a2b"
    try:
        test = model.test_data()
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    inputs = getattr(test, DIRECTIONS[direction][0])[:args.n]
    outputs = model.translate(inputs, direction)
    for path in named:
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
    nrow = min(10, args.n)
    shown = -(-min(args.n, 100) // nrow) * nrow                        # whole rows: blanks (-1) after the last
    pad = np.full((shown - min(args.n, shown), 1, 28, 28), -1, np.float32)
    ins, outs = np.concatenate([to_side(inputs[:shown], 28), pad]), np.concatenate([outputs[:shown], pad])
    rows = [np.concatenate([ins[i:i + nrow], outs[i:i + nrow]]) for i in range(0, shown, nrow)]
    save_grid(out, np.concatenate(rows), nrow=nrow)
    print(f"{args.n} test images of the {model.cfg.task} task translated {direction} by the {model.label()} model; "
          f"grid (inputs over outputs) -> {out}")
    if args.npy:
        np.save(args.npy, outputs)
        print(f"outputs {outputs.shape} float32 in [-1, 1] -> {args.npy}")
    if args.inputs_npy:
        np.save(args.inputs_npy, inputs.astype(np.float32))
        print(f"inputs {inputs.shape} float32 in [-1, 1] -> {args.inputs_npy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
