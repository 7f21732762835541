"""scripts/fingerprint.py --check: the numbers README's rows were measured with, checked at this checkout.

scripts/fingerprint.jsonl is recorded at the commit README's results table names. A change
that moves a model's numbers (its step, its defaults, its networks) fails here until its rows
are re-measured or marked stale and the file is recorded again (docs/results.md). Compared to
a relative 1e-4, not bit for bit, so another CPU's BLAS rounding does not fail it; the bit-for-bit
check is `python scripts/fingerprint.py --check scripts/fingerprint.jsonl`.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "scripts" / "fingerprint.jsonl"


def test_every_model_still_has_the_numbers_its_readme_rows_were_measured_with(tmp_path):
    lines = [json.loads(line) for line in RECORDED.read_text().splitlines()]
    # one recorded line altered as a change to the VAE would alter it: the check must name the VAE, and only it
    altered = [dict(line, sums={k: v * 1.01 for k, v in line["sums"].items()}) if line["key"] == "vae" else line
               for line in lines]
    path = tmp_path / "altered.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in altered))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "fingerprint.py"), "--check", str(path),
                           "--rtol", "1e-4"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr     # 2: it could not run (no MNIST, say)
    report = dict(line.split(": ", 1) for line in done.stdout.splitlines() if line.split(": ", 1)[0] in
                  {x["key"] for x in lines})
    assert report["vae"].startswith("differs: sum of")
    moved = [key for key, verdict in report.items() if key != "vae" and verdict != "same"]
    assert not moved, (f"{moved}: these setups' numbers moved since scripts/fingerprint.jsonl was recorded; re-measure "
                       "their README rows (scripts/results.py) or mark them stale, then record the file again")
    assert "the numbers of vae moved" in done.stdout
