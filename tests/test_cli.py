"""The command line and the settings: every bad value is one line, exit status 2, and nothing written.

The checks live in the settings (``minigan/training/config.py`` and each model's
Config), so the same value is refused the same way from Python.
"""
import csv
import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from minigan import models
from minigan.models import dcgan, mlp_gan
from minigan.training.cli import config_from_args, main, settings_table, train_parser
from minigan.training.config import ConfigError, validate
from minigan.training.run import Run, RunError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BAD = [  # (flags, the flag the message must name, words of the rule)
    (["--batch-size", "0"], "--batch-size 0", "integer >= 2"),
    (["--batch-size", "-5"], "--batch-size -5", "integer >= 2"),
    (["--d-steps", "0"], "--d-steps 0", "integer >= 1"),
    (["--sample-every", "0"], "--sample-every 0", "integer >= 1"),
    (["--epochs", "-1"], "--epochs -1", "integer >= 1"),
    (["--lr", "-1"], "--lr -1.0", "number in (0, inf)"),
    (["--lr-g", "0"], "--lr-g 0.0", "number in (0, inf)"),
    (["--label-smoothing", "1.5"], "--label-smoothing 1.5", "[0, 1)"),
    (["--ema", "1.5"], "--ema 1.5", "[0, 1)"),
    (["--beta1", "1"], "--beta1 1.0", "[0, 1)"),
    (["--z-dim", "0"], "--z-dim 0", "integer >= 1"),
    (["--max-steps", "0"], "--max-steps 0", "integer >= 1"),
    (["--limit", "0"], "--limit 0", "integer >= 1"),
    (["--eval-samples", "5"], "--eval-samples 5", "integer >= 10"),
    (["--d-dropout", "1"], "--d-dropout 1.0", "[0, 1)"),
    (["--lr", "nan"], "--lr nan", "number in (0, inf)"),
]


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
@pytest.mark.parametrize("flags, named, rule", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_a_bad_value_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, model, flags, named, rule):
    out = tmp_path / "run"
    status = main(model, flags + ["--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and named in err and rule in err, err
    assert not out.exists()


@pytest.mark.parametrize("flags, named, rule", BAD[:6], ids=[" ".join(b[0]) for b in BAD[:6]])
def test_the_python_api_refuses_the_same_values(tmp_path, flags, named, rule):
    """mlp_gan.Config(batch_size=0) is refused by Run with the very message the flag gets."""
    args = train_parser("mlp").parse_args(flags)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(mlp_gan.Config)
             if getattr(args, f.name, None) is not None}
    with pytest.raises(ConfigError, match=re.escape(rule)) as err:
        Run(mlp_gan.Config(out=str(tmp_path / "run"), **given))
    assert named in str(err.value)
    assert not (tmp_path / "run").exists()


def test_a_wrong_type_from_python_is_refused():
    with pytest.raises(ConfigError, match="--epochs '3': must be an integer"):
        validate(mlp_gan.Config(epochs="3"))
    with pytest.raises(ConfigError, match="--no-eval 'no': must be True or False"):
        validate(mlp_gan.Config(evaluate="no"))


def test_an_unparsable_value_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        train_parser("mlp").parse_args(["--batch-size", "many"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "--batch-size" in err and "'many'" in err


def test_flags_are_offered_only_to_the_models_they_apply_to(capsys):
    """--d-hidden and --upsample shape the DCGAN's networks; the MLP GAN has no such flag."""
    with pytest.raises(SystemExit):
        train_parser("mlp").parse_args(["--d-hidden", "256"])
    assert "unrecognized arguments: --d-hidden 256" in capsys.readouterr().err
    dcgan_args = train_parser("dcgan").parse_args(["--d-hidden", "256", "--upsample", "nearest"])
    assert dcgan_args.d_hidden == 256 and dcgan_args.upsample == "nearest"
    help_text = train_parser("mlp").format_help()
    assert "--d-hidden" not in help_text and "--z-dim" in help_text


def test_examples_use_the_tuned_settings_unless_told_anchor():
    for name in ("mlp", "dcgan"):
        model_cls = models.get(name)
        parser = train_parser(name)
        tuned = config_from_args(name, parser.parse_args([]))
        assert all(getattr(tuned, k) == v for k, v in model_cls.tuned.items())
        anchor = config_from_args(name, parser.parse_args(["--anchor"]))
        assert anchor == model_cls.Config()                                  # the dataclass defaults
        mixed = config_from_args(name, parser.parse_args(["--anchor", "--ema", "0.99"]))
        assert mixed.ema == 0.99 and mixed.label_smoothing == 0.0       # an explicit flag wins


def test_anchor_is_offered_exactly_where_it_changes_the_settings(capsys):
    """--anchor gives a model's own reference settings; a model whose example already starts there has no flag."""
    for name in models.names():
        model_cls = models.get(name)
        parser = train_parser(name)
        example = config_from_args(name, parser.parse_args([]))
        variants = getattr(model_cls, "ARCH_TUNED", {None: model_cls.tuned})
        starts_elsewhere = any(tuned for tuned in variants.values())
        assert bool(model_cls.anchor) == starts_elsewhere, f"{name}: anchor {model_cls.anchor!r}"
        if not model_cls.anchor:
            with pytest.raises(SystemExit):
                parser.parse_args(["--anchor"])
            assert "--anchor" not in parser.format_help()
            continue
        anchor = config_from_args(name, parser.parse_args(["--anchor"]))
        assert anchor != example and anchor == model_cls.Config(), name
        assert model_cls.anchor.split("(")[0].strip() in " ".join(parser.format_help().split())
    capsys.readouterr()


def test_a_data_dir_that_does_not_exist_is_refused(tmp_path, capsys):
    status = main("mlp", ["--data-dir", str(tmp_path / "typo"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert status == 2 and "--data-dir" in err and "existing folder" in err
    assert not (tmp_path / "typo").exists() and not (tmp_path / "run").exists()


TOOLS = ("generate.py", "translate.py", "evaluate.py", "explore_latent.py")


@pytest.mark.parametrize("name", models.names())
def test_a_trainers_help_says_each_default_once_and_what_unset_means(name):
    """No "default None": a setting unset by default says in its help what unset does."""
    text = " ".join(train_parser(name).format_help().split())
    assert "None" not in text, name
    for f in dataclasses.fields(models.get(name).Config):
        if f.metadata.get("cli", True) and f.default is None:
            assert "unset" in f.metadata["help"], f"{name} {f.name}: say what unset means"


@pytest.mark.parametrize("tool", TOOLS)
def test_a_tools_help_says_each_default_once_and_explains_backend(tool):
    done = script(tool, "--help")
    assert done.returncode == 0, done.stderr
    options = re.split(r"\n  (?=-)", done.stdout.split("options:", 1)[1].strip("\n"))   # one entry an option
    for entry in options:
        entry = " ".join(entry.split())
        assert "None" not in entry and entry.count("default") <= 1, entry
        assert len(entry.split()) > 2, f"{tool}: no help for {entry!r}"      # more than the flag and its value
    backend = next(" ".join(e.split()) for e in options if e.startswith("--backend"))
    assert "numpy (the CPU) or cupy" in backend and "(default: numpy)" in backend


def test_the_missing_data_message_names_the_flag_and_the_variable(tmp_path, monkeypatch):
    """What a command-line user reads: --data-dir and MINIGAN_DATA_DIR (data_dir= is for Python)."""
    from minigan.data import MNISTNotFoundError, load_mnist

    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MINIGAN_DATA_DIR", raising=False)
    with pytest.raises(MNISTNotFoundError) as err:
        load_mnist("train", data_dir=tmp_path / "empty", download=False)
    msg = str(err.value)
    assert "--data-dir" in msg and "MINIGAN_DATA_DIR" in msg and "pass data_dir=" not in msg


# ---- the end of a run: the epoch as the bar counts it, the metrics with a bar, Ctrl-C there --------------


@pytest.fixture
def fake_mnist(monkeypatch, images):
    """The MLP GAN's example on 256 random 'digits' instead of MNIST (the loop does not care what they show)."""
    monkeypatch.setattr(mlp_gan.MLPGAN, "training_streams",
                        classmethod(lambda cls, cfg: [(images[:cfg.limit], np.zeros(len(images[:cfg.limit]), int))]))


def trained(tmp_path, *flags):
    return main("mlp", ["--out", str(tmp_path / "run"), "--batch-size", "32", "--sample-every", "100", *flags])


@pytest.mark.parametrize("flags, said, log_epoch", [
    (["--epochs", "2", "--max-steps", "3"], "stopped at step 3 (epoch 1 of 2)", 1),     # not "(epoch 0)"
    (["--epochs", "2", "--max-steps", "11"], "stopped at step 11 (epoch 2 of 2)", 2),   # 8 steps an epoch
    (["--epochs", "2", "--max-steps", "8"], "stopped at step 8 (epoch 1 of 2)", 1),     # at the epoch's end
    (["--epochs", "2"], "finished at step 16 (epoch 2 of 2)", 2),
])
def test_the_end_message_counts_epochs_as_the_bar_and_the_log(tmp_path, capsys, fake_mnist, flags, said, log_epoch):
    assert trained(tmp_path, "--no-eval", "--no-progress", *flags) == 0
    assert said in capsys.readouterr().out
    with open(tmp_path / "run" / "log.csv") as f:
        assert int(list(csv.DictReader(f))[-1]["epoch"]) == log_epoch
    assert said in (tmp_path / "run" / "history.log").read_text()


def test_ctrl_c_in_training_names_the_epoch_the_bar_shows(tmp_path, images):
    r = Run(small(tmp_path, max_steps=None, epochs=3), images=images)
    r.train(callback=lambda run, stats: run.request_stop() if run.step == 11 else None)    # in epoch 2
    assert r.describe_epoch() == "epoch 2 of 3" and "interrupted at step 11 (epoch 2 of 3)" in (
        tmp_path / "history.log").read_text()


def test_the_metrics_at_the_end_show_a_progress_bar(tmp_path, capsys, fake_mnist, monkeypatch):
    from minigan import metrics

    def judge(model, n):                         # 120 images through the classifier, as every metric reads them
        metrics.classifier_outputs(np.zeros((120, 1, 28, 28), np.float32), batch_size=50)
        return {"judged": 120}

    monkeypatch.setattr(mlp_gan.MLPGAN, "evaluate", judge)
    monkeypatch.setattr(mlp_gan.MLPGAN, "format_report", lambda model, report: f"judged: {report['judged']}")
    assert trained(tmp_path, "--epochs", "1", "--max-steps", "2", "--eval-samples", "120") == 0
    captured = capsys.readouterr()
    assert "evaluating: " in captured.err and "120 images" in captured.err            # tqdm's line, counted
    assert "judged: 120" in captured.out
    assert trained(tmp_path, "--epochs", "1", "--max-steps", "2", "--overwrite", "--no-progress") == 0
    assert "evaluating" not in capsys.readouterr().err                                  # --no-progress: no bar


def test_ctrl_c_in_the_metrics_is_one_line_and_exit_130_with_the_checkpoint_kept(tmp_path, capsys, fake_mnist,
                                                                                  monkeypatch):
    def interrupted(model, n):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlp_gan.MLPGAN, "evaluate", interrupted)
    assert trained(tmp_path, "--epochs", "1", "--max-steps", "2", "--no-progress") == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("evaluation interrupted") and "Traceback" not in err, err
    assert "examples/evaluate.py" in err and (tmp_path / "run" / "checkpoint.npz").exists()


# ---- the run folder: never overwritten, resumed only with the settings it was made with --------------


@pytest.fixture(scope="module")
def images():
    return np.tanh(np.random.default_rng(0).standard_normal((256, 1, 28, 28))).astype(np.float32)


def small(out, model=mlp_gan, **kw):
    base = dict(out=str(out), epochs=1, batch_size=32, max_steps=2, sample_every=1, progress=False, evaluate=False)
    base.update(kw)
    return model.Config(**base)


def test_a_new_run_never_overwrites_a_run_folder(tmp_path, images):
    Run(small(tmp_path), images=images).train()
    before = (tmp_path / "checkpoint.npz").read_bytes()
    with pytest.raises(RunError) as err:
        Run(small(tmp_path), images=images)
    msg = str(err.value)
    assert "checkpoint at step 2" in msg and "--resume" in msg and "--out" in msg and "--overwrite" in msg
    assert (tmp_path / "checkpoint.npz").read_bytes() == before


def test_a_folder_with_an_earlier_runs_files_but_no_checkpoint_is_refused_too(tmp_path, images):
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "step_000200.png").write_bytes(b"old frame")
    with pytest.raises(RunError, match="holds files of an earlier run .*step_000200.png.*--overwrite"):
        Run(small(tmp_path), images=images)


def test_overwrite_removes_the_old_runs_files_and_nothing_else(tmp_path, images):
    Run(small(tmp_path, max_steps=3), images=images).train()
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "samples" / "step_000999.png").write_bytes(b"an old run's frame")
    r = Run(small(tmp_path, max_steps=1), overwrite=True, images=images)
    r.train()
    frames = sorted(os.listdir(tmp_path / "samples"))
    assert frames == ["final.png", "step_000000.png", "step_000001.png"]  # the new run's only: the GIF is its own
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert r.load_checkpoint()["step"] == 1


def test_resume_refuses_another_model(tmp_path, images):
    """Messages name a model as its file and example do: the MLP GAN is mlp_gan, its registry name "mlp" aside."""
    Run(small(tmp_path), images=images).train()
    with pytest.raises(RunError, match="holds a run of the mlp_gan model, not dcgan"):
        Run(small(tmp_path, dcgan), resume=True, images=images)
    assert models.label("mlp") == "mlp_gan" and models.label("dcgan") == "dcgan" and models.label("nope") == "nope"
    assert train_parser("mlp").description and settings_table("mlp", small(tmp_path), train_parser("mlp").parse_args(
        [])).splitlines()[0] == "mlp_gan (model 'mlp'): the settings this command runs with"


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    for out, words in ((taken, "is a file, not a folder"), (taken / "run", "which is a file, not a folder")):
        assert main("cgan", ["--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"error: --out {str(out)!r}: ") and words in err, err
    assert taken.read_text() == "mine"
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        Run(small(taken))                                                 # the same from Python


def test_resume_refuses_changed_structure_and_asks_before_changed_training(tmp_path, images):
    Run(small(tmp_path, ema=0.9), images=images).train()
    with pytest.raises(RunError, match=r"--ema 0.9 -> 0.0.*another --out"):
        Run(small(tmp_path, max_steps=4, lr=0.1), resume=True, images=images)
    with pytest.raises(RunError, match=r"changed training settings: --lr 0.0002 -> 0.1; pass --allow-changes"):
        Run(small(tmp_path, max_steps=4, lr=0.1, ema=0.9), resume=True, images=images)
    r = Run(small(tmp_path, max_steps=4, lr=0.1, ema=0.9), resume=True, allow_changes=True, images=images)
    r.train()
    assert r.step == 4 and r.model.opt_G.lr == 0.1
    assert "with changed settings: --lr 0.0002 -> 0.1" in (tmp_path / "history.log").read_text()
    # run settings (length, pictures, backend) change freely
    Run(small(tmp_path, max_steps=5, lr=0.1, ema=0.9, sample_every=7), resume=True, images=images).train()


def test_resume_and_overwrite_exclude_each_other(tmp_path, images):
    with pytest.raises(ConfigError, match="exclude each other"):
        Run(small(tmp_path), resume=True, overwrite=True, images=images)


# ---- the scripts, as a user runs them ----------------------------------------------------------------------


def script(name, *args, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, "examples", name), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


def test_a_bad_flag_from_the_shell_is_one_line_and_exit_2(tmp_path):
    done = script("train_mlp_gan.py", "--batch-size", "0", "--out", tmp_path / "run")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "--batch-size 0" in done.stderr
    assert not (tmp_path / "run").exists()


def test_example_without_cupy_says_how_to_install_it(tmp_path):
    import minigan

    if minigan.cupy_available():
        pytest.skip("CuPy and a GPU are present here: the error path cannot happen")
    done = script("train_mlp_gan.py", "--backend", "cupy", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert 'pip install "minigan[cuda]"' in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_an_out_that_is_a_file_is_one_line_from_the_shell(tmp_path):
    (tmp_path / "taken").write_text("mine")
    done = script("train_cgan.py", "--out", tmp_path / "taken")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr and (tmp_path / "taken").read_text() == "mine"


def test_train_vae_settings_prints_the_table_and_starts_nothing(tmp_path):
    """--settings stops every trainer after the table; train_vae.py has a main of its own (--torch-twin)."""
    done = script("train_vae.py", "--settings", "--z-dim", "2", "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "vae: the settings this command runs with" and "minigan: training" not in done.stdout
    assert {line.split()[0]: line.split()[1:3] for line in lines[2:]}["z_dim"] == ["2", "given"]
    assert not (tmp_path / "run").exists()


def test_settings_shows_every_setting_in_one_table_and_starts_nothing(tmp_path, capsys):
    """--settings: each setting once, with the value the command would run with and where it comes from."""
    out = tmp_path / "run"
    assert main("cgan", ["--settings", "--arch", "dcgan", "--lr", "1e-3", "--out", str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in table[2:]}
    assert set(rows) == {f.name for f in dataclasses.fields(models.get("cgan").Config)}
    assert rows["arch"][1:3] == ["'dcgan'", "given"] and rows["lr"][1:3] == ["0.001", "given"]
    assert rows["d_hidden"][1:3] == ["256", "tuned"]               # the DCGAN networks' tuned value
    assert rows["lr_d"][1:3] == ["None", "default"]                # a given --lr replaces the tuned per-net rates
    assert rows["objective"][-1] == "gan.model.BCEGANConfig" and rows["mismatch"][-1] == "models.cgan.Config"
    assert not out.exists()
