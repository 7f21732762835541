"""Write the names real CuPy has, for the tests' strict CuPy stand-in (tests/cupy_standin/namespace.json).

The stand-in offers exactly these names and nothing else, so code that calls what CuPy lacks
(``cupy.errstate``, ``Generator.normal``, ``ndarray.__index__``) fails on the CPU as it would on a
GPU. CuPy's wheel installs and imports on a machine with no GPU, so the list comes from the real
thing, not from memory:

    python -m venv /tmp/cupy && /tmp/cupy/bin/pip install "cupy-cuda12x==14.2.0" numpy
    /tmp/cupy/bin/python scripts/cupy_namespace.py > tests/cupy_standin/namespace.json

(only what lists names runs: nothing reaches the CUDA driver).
"""
import importlib
import json

PINNED = "14.2.0"
SPACES = ["cupy", "cupy.ndarray", "cupy.random", "cupy.random.Generator", "cupy.cuda", "cupy.cuda.runtime",
          "cupy.cuda.Device", "cupy.linalg", "cupy.fft", "cupy.lib", "cupy.lib.stride_tricks", "cupyx",
          "cupyx.scipy.ndimage", "cupyx.scipy.special"]


def resolve(dotted):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def main():
    import cupy
    if cupy.__version__ != PINNED:
        raise SystemExit(f"cupy {cupy.__version__} is installed; the list is taken from {PINNED}")
    out = {"cupy_version": cupy.__version__}
    for space in SPACES:
        out[space] = sorted(n for n in dir(resolve(space)) if not n.startswith("_") or n.startswith("__"))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
