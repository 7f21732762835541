"""scripts/infogan_probe.py: its probes only read G, so the run is the one examples/train_infogan.py makes."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--limit", "128", "--batch-size", "32", "--epochs", "1", "--no-eval", "--no-progress", "--seed", "3"]


def test_the_probed_run_trains_exactly_as_the_example(tmp_path):
    probed = subprocess.run([sys.executable, str(ROOT / "scripts" / "infogan_probe.py"), "--every", "2", *FLAGS,
                             "--out", str(tmp_path / "probed")], capture_output=True, text=True, timeout=600)
    assert probed.returncode == 0, probed.stderr
    rows = [json.loads(line) for line in probed.stdout.splitlines() if line.startswith("{")]
    assert [r["step"] for r in rows] == [2, 4]                        # 128 images / 32 = 4 steps
    for r in rows:
        accuracy, digits = r["ema"]
        assert 0 < accuracy <= 1 and 1 <= digits <= 10 and len(r["ema_map"]) == 10
    plain = subprocess.run([sys.executable, str(ROOT / "examples" / "train_infogan.py"), *FLAGS,
                            "--out", str(tmp_path / "plain")], capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr
    with np.load(tmp_path / "probed" / "checkpoint.npz") as a, np.load(tmp_path / "plain" / "checkpoint.npz") as b:
        weights = [k for k in a.files if k.startswith(("G/", "D/", "G_ema/"))]
        assert weights and all(np.array_equal(a[k], b[k]) for k in weights)


def test_a_taken_folder_is_one_line(tmp_path):
    (tmp_path / "run").mkdir()
    args = [sys.executable, str(ROOT / "scripts" / "infogan_probe.py"), *FLAGS, "--out", str(tmp_path / "run")]
    assert subprocess.run(args, capture_output=True, text=True, timeout=600).returncode == 0
    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and again.stderr.startswith("error: ") and "--resume" in again.stderr
