"""A twin run as a script without PyTorch stops here: one line saying what to install, exit status 2.

Imported only by the twins' ``if __name__ == "__main__"`` blocks, before ``import torch``
(the script's own folder is first on ``sys.path`` then).
"""
import importlib.util
import os
import sys


def require_torch():
    if importlib.util.find_spec("torch") is None:
        print(f"error: {os.path.relpath(sys.argv[0])} compares minigan with its PyTorch twin, and PyTorch is not "
              "installed: pip install torch (the CPU build is enough), then run it again", file=sys.stderr)
        sys.exit(2)
