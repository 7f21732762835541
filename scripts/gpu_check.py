"""Check the real thing on a machine with an NVIDIA GPU and CuPy, in a few minutes.

CI has no GPU: it runs the CuPy tests against a strict stand-in (``pytest --cupy-standin``), which
catches every host/device slip but says nothing of a GPU's numbers, speed or memory
(docs/backend.md). This script is for a person with a GPU:

    pip install -e ".[dev,cuda]"          # cuda12 for drivers that show CUDA Version 12.x
    python scripts/gpu_check.py           # about 5 minutes on one H100

1. the CuPy tests on the GPU: NumPy/CuPy parity of every layer, the penalties, the models' steps,
   CuPy's rules, and every example trained, resumed, sampled and evaluated (``pytest -m cupy``);
2. every example 200 steps on the GPU, with its wall-clock and the log's last losses;
3. the step benchmark against PyTorch CUDA, if PyTorch with CUDA is installed.

Each part has its own time cap, so one hang cannot take the rest; ``--quick`` runs 20 steps per
example. Exit status 1 if any part failed.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def part(title, cmd, cap):
    """Run ``cmd`` with a time cap; print its last lines. Returns (ok, seconds)."""
    print(f"== {title}", flush=True)
    start = time.time()
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=cap)
        ok, out = done.returncode == 0, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        ok, out = False, f"{exc.stdout or ''}{exc.stderr or ''}\nstopped after {cap} s"
    lines = [line for line in out.splitlines() if line.strip()]
    return ok, time.time() - start, lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="20 steps per example instead of 200")
    p.add_argument("--skip-bench", action="store_true", help="leave out the benchmark")
    args = p.parse_args(argv)
    try:
        import cupy
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no CuPy, or no driver: nothing here can run
        print(f"error: this needs CuPy and an NVIDIA GPU ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    print(f"CuPy {cupy.__version__}, {devices} GPU(s), the first: {name.decode() if isinstance(name, bytes) else name}")
    failed = []

    ok, seconds, lines = part("1. the CuPy tests on the GPU", [sys.executable, "-m", "pytest", "-q", "-m", "cupy",
                                                                "-p", "no:cacheprovider"], 600)
    print("\n".join(lines[-8:]), f"\n   ({seconds:.0f} s)", flush=True)
    failed += [] if ok else ["the CuPy tests"]

    steps = 20 if args.quick else 200
    print(f"== 2. every example, {steps} steps on the GPU", flush=True)
    with tempfile.TemporaryDirectory() as runs:
        for script in sorted(glob.glob(os.path.join(ROOT, "examples", "train_*.py"))):
            example = os.path.basename(script)[:-3]
            ok, seconds, lines = part(example, [sys.executable, script, "--backend", "cupy", "--max-steps",
                                                str(steps), "--sample-every", str(steps), "--no-progress",
                                                "--eval-samples", "1000", "--out", os.path.join(runs, example)], 300)
            print(f"   {'ok' if ok else 'FAILED'}, {seconds:.0f} s: {lines[-1][:150] if lines else ''}", flush=True)
            failed += [] if ok else [example]

    if not args.skip_bench:
        ok, seconds, lines = part("3. one training step: minigan on CuPy against PyTorch CUDA",
                                  [sys.executable, "benchmarks/bench.py", "--backend", "cupy", "--only", "step",
                                   "--rounds", "3", "--markdown"], 300)
        print("\n".join(lines[-25:]), flush=True)
        failed += [] if ok else ["the benchmark"]

    print("== all passed" if not failed else f"== FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
