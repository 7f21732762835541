"""scripts/results.py: a README row from a fresh run or a finished one, naming the code that made it."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minigan.training.run import source_version

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "results.py"
spec = importlib.util.spec_from_file_location("results", SCRIPT)
results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(results)


def script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def cells(line):
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in line[2:-2].split(" | ")]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results") / "mlp"
    done = script("mlp_gan", "--seed", "3", "--out", str(out), "--quiet", "--",
                  "--limit", "256", "--epochs", "1", "--eval-samples", "100")
    assert done.returncode == 0, done.stderr
    return out, done.stdout.strip().splitlines()[-1]


def test_a_fresh_run_gives_its_row_from_its_own_files(small_run):
    out, line = small_run
    row = dict(zip(results.COLUMNS, cells(line)))
    assert len(cells(line)) == len(results.COLUMNS)
    with open(out / "metrics.json") as f:
        metrics = json.load(f)
    with open(out / "results.json") as f:
        saved = json.load(f)
    assert row["model (command)"] == "mlp_gan --limit 256 --epochs 1 --eval-samples 100"
    assert row["seed"] == "3" and row["epochs"] == "1" and row["backend, BLAS threads"] == "numpy, 1"
    assert row["FID"] == f"{metrics['fid']:.2f}" and row["score (max 10)"] == f"{metrics['score']:.2f}"
    assert row["digits (% of samples, 0-9)"] == " ".join(f"{100 * h:.1f}" for h in metrics["histogram"])
    # the code that ran: the same words in the row, in results.json and in the run's own history
    assert row["code"] == saved["code"] == source_version()
    with open(out / "history.log") as f:
        assert f"(seed 3, backend numpy, {saved['code']})" in f.readline()
    assert saved["load"] and all(x >= 0 for x in saved["load"]) and saved["threads"] == 1
    assert "--seed 3" in saved["command"] and saved["train_seconds"] > 0


def test_scoring_the_finished_run_prints_the_same_row(small_run):
    out, line = small_run
    again = script("--score", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == line


def test_scoring_a_run_trained_without_metrics_computes_them(small_run, tmp_path):
    import shutil

    out, line = small_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    os.remove(copy / "metrics.json")
    os.remove(copy / "results.json")
    again = script("--score", str(copy))
    assert again.returncode == 0, again.stderr
    row, before = cells(again.stdout.strip()), cells(line)
    assert row[7:10] == before[7:10]       # FID, score, digits: the run's own samples, scored again
    assert row[6] == "not recorded"        # the load of a run results.py did not watch


def test_a_taken_folder_is_refused_and_kept(small_run):
    out, _ = small_run
    before = (out / "checkpoint.npz").read_bytes()
    again = script("mlp_gan", "--seed", "3", "--out", str(out), "--quiet", "--", "--limit", "256", "--epochs", "1")
    assert again.returncode == 2
    assert "already holds" in again.stderr or "--resume" in again.stderr
    assert (out / "checkpoint.npz").read_bytes() == before


@pytest.mark.parametrize("args, words", [
    ([], "give a model to train or --score RUN"),
    (["mlp_gan", "--score", "x"], "give a model to train or --score RUN"),
    (["--score", "no/such/folder"], "not a run folder"),
    (["nosuchmodel"], "invalid choice"),
    (["mlp_gan", "--threads", "0"], "--threads 0"),
])
def test_bad_input_is_one_clear_line(args, words):
    done = script(*args)
    assert done.returncode == 2
    assert words in done.stderr


def test_the_one_file_script_gives_its_row(tmp_path):
    out = tmp_path / "one"
    done = script("gan_in_100_lines", "--seed", "2", "--out", str(out), "--quiet", "--",
                  "--limit", "512", "--epochs", "1", "--samples", "100")
    assert done.returncode == 0, done.stderr
    row = dict(zip(results.COLUMNS, cells(done.stdout.strip().splitlines()[-1])))
    assert row["model (command)"].startswith("gan_in_100_lines") and row["seed"] == "2" and row["epochs"] == "1"
    assert float(row["FID"]) > 0 and 1 <= float(row["score (max 10)"]) <= 10
    assert abs(sum(float(h) for h in row["digits (% of samples, 0-9)"].split()) - 100) < 0.5
    assert script("--score", str(out)).stdout.strip() == done.stdout.strip().splitlines()[-1]


def test_each_model_names_its_own_figure():
    cgan = {"digit_accuracy": {"per_digit": [0.995] + [1.0] * 9}}
    assert results.own_figure("cgan", cgan) == "each digit drawn as asked 99.5-100.0%"
    infogan = {"code": {"accuracy": 0.9023, "digits_matched": 10}}
    assert results.own_figure("infogan", infogan) == "code matched 90.2%, 10 digits"
    assert results.own_figure("vae", {"neg_elbo": 105.523}) == "test negative ELBO 105.52 nats"
    assert results.own_figure("dcgan", {}) == ""
    lapgan = {"level_fid": {"7": 400.04, "14": 120.0, "28": 20.0}, "digit_accuracy": {"per_digit": [0.97] + [1.0] * 9}}
    assert results.own_figure("lapgan", lapgan) == ("FID of the same samples' 7 x 7 / 14 x 14 levels, enlarged: "
                                                    "400.0 / 120.0; each digit drawn as asked 97.0-100.0%")
    rows = [dict(digit=d, thickness=t, slant=s, digit_read=1.0 if d else 0.5, thickness_held=0.8, slant_held=0.9,
                 mean_thickness=1.5 + t) for d in range(10) for t in range(3) for s in range(3)]
    stackgan = {"stage1": {"fid": 50.0, "score": 8.0}, "captions": rows}
    assert results.own_figure("stackgan", stackgan) == (
        "Stage I enlarged: FID 50.00, score 8.00; per caption (1,000 samples each), mean (worst): digit read 95.0% "
        "(50.0%), thin/thick in "
        "its tercile 80.0% (80.0%), slant 90.0% (90.0%), thick > thin for 10/10 digits")
    row = dict(label="lapgan", model="lapgan", seed=0, code="commit x", backend="numpy", threads=1, epochs=5,
               train_seconds=600, load=[2.0], fid=20.0, score=9.0, histogram=[0.1] * 10, own="", peak_mb=1536)
    assert results.row_cells(row)[-1] == "peak memory 1.50 GiB"
    assert "peak" not in results.row_cells(dict(row, model="dcgan"))[-1]


def test_a_stackgan_row_judges_every_caption_on_the_rows_count_whatever_the_run_judged(mnist, tmp_path, monkeypatch):
    """A run judges 10,000 // 90 samples a caption by default; its row judges ROW_PER_CAPTION, from the checkpoint."""
    from test_stackgan import small

    from minigan.training.run import Run

    run = Run(small(tmp_path / "run", max_steps=2))
    run.train()
    run.evaluate(20)                                               # 10 a caption, as --eval-samples 20 asks
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["per_caption"] == 10
    monkeypatch.setattr(results, "ROW_PER_CAPTION", 12)
    row = results.run_row(str(tmp_path / "run"))
    assert "per caption (12 samples each)" in row["own"]
    again = run.model.judge_captions(12)
    from minigan.models.stackgan import caption_figures

    assert f"digit read {100 * caption_figures(again)['digit']['mean']:.1f}%" in row["own"]


def test_a_history_without_a_commit_says_so(tmp_path):
    (tmp_path / "history.log").write_text("2026-11-01 10:00:00 started mlp (seed 0, backend numpy)\n")
    assert results.started_with(tmp_path).startswith("not recorded")
    (tmp_path / "history.log").write_text("2026-12-02 10:00:00 started mlp (seed 0, backend numpy, commit ab12cd3)\n")
    assert results.started_with(tmp_path) == "commit ab12cd3"
    assert results.started_with(tmp_path / "nothing") == "not recorded"
