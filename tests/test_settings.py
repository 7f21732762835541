"""Every setting of every model either changes what a training step does, or is refused before any work.

A setting that is accepted and then silently ignored is the worst kind of bug
in a teaching library: the student believes they ran an experiment. So this
file walks the registry: for each model, from the settings its example runs
with (and from the textbook ones ``--anchor`` gives), it changes one setting
at a time to another allowed value and either

* sees :func:`minigan.config.validate` (or the task's constructor, which runs
  before any training) refuse it with one line that names the flag, or
* takes three steps on the same batches from the same seed and sees the result
  differ: a weight (of D, G or G's average) or a logged statistic.

Settings that act on the run and not on a step (how long, where, what to
print) are listed in :data:`RUN_SETTINGS` with the test that holds each.
"""
import dataclasses
import math

import numpy as np
import pytest

from minigan import models
from minigan.backend import to_numpy
from minigan.training import cli
from minigan.training.config import ConfigError, flag_name, validate

#: settings of the run, not of a step: each with the test file that shows it acting
RUN_SETTINGS = {
    "model": "the registry itself (test_cli.py)",
    "epochs": "the run's length (test_run.py)",
    "max_steps": "the run's length (test_run.py)",
    "out": "the run folder (test_run.py)",
    "backend": "NumPy or CuPy: the same numbers (test_cupy_parity.py)",
    "data_dir": "where MNIST is read (test_data.py)",
    "limit": "how many training images are loaded (test_run.py)",
    "task": "which images a translator trains on (test_pix2pix.py)",
    "sample_every": "when grids are written (test_run.py)",
    "evaluate": "the metrics at the end (test_examples.py)",
    "eval_samples": "the metrics at the end (test_examples.py)",
    "progress": "the progress bar (test_run.py)",
    "eval_per_caption": "StackGAN's metrics at the end (test_stackgan.py)",
    "stage1_run": "the run a StackGAN --stage 2 starts from (test_stackgan.py)",
}

STEPS = 3
BATCH = 8
#: narrower networks, so the walk is quick: a width the example sets stays set, only smaller
SMALL = dict(g_hidden=32, d_hidden=32, q_hidden=8, g_base=8)


#: values that show a setting within three steps: the average's warm-up decay, (1+t)/(10+t), is below
#: any --ema over 0.25 for the first steps, so only a decay below 0.1 changes the average that soon;
TRY = {"ema": [0.05],
       "pool_size": [2],   # CycleGAN's pool hands back past fakes only once full: a pool of 2 is full after one step
       "level": [2, 1, 0],  # LAPGAN's levels, each trained alone
       "stage": [1, 2],     # StackGAN's stages alone (2 without --stage1-run: refused)
       "stage1_share": [0.1]}  # ... and its split of three steps: Stage II from the first


def alternatives(field, value):
    """Other values of a setting to try, the most telling first."""
    if field.name in TRY:
        return [v for v in TRY[field.name] if v != value]
    check = field.metadata.get("check")
    choices = getattr(check, "choices", None)
    if choices:
        return [c for c in choices if c != value]
    if field.type is bool:
        return [not value]
    if field.type is int:
        return [2 * value] if value else [4]
    if field.type is float:
        if value is None:
            return [1e-3]
        return [value / 2] if value else [0.5]
    raise AssertionError(f"no alternative values for {field.name} ({field.type})")


def fingerprint(model_cls, cfg):
    """What three steps from ``cfg`` give: the logged stats and every module's weights (the average of G's included)."""
    model = model_cls(cfg)
    rng = np.random.default_rng(11)
    for step in range(STEPS):
        model.before_step(step, STEPS)
        batches = [model.example_batch(rng, cfg.batch_size) for _ in range(model.batches_per_step)]
        stats = model.step(batches)
    parts = [np.array([float(v) for _, v in sorted(stats.items())])]
    for _, module in sorted(model.modules().items()):
        parts += [to_numpy(p.data).ravel() for p in module.parameters()]
    return tuple(sorted(stats)), np.concatenate([p.astype(np.float64) for p in parts])


def refused(model_cls, settings):
    """The one-line refusal of ``settings`` (from the checks, or the task's constructor), else None."""
    try:
        cfg = validate(model_cls.Config(**settings))
        model_cls(cfg)
    except ConfigError as exc:
        return str(exc)
    return None


def bases():
    """(id, model, settings): each model from its example's settings and from --anchor's, small and seeded."""
    out = []
    for name in models.names():
        model_cls = models.get(name)
        example = model_cls.tuned_settings({})
        out.append((f"{name}", name, example))
        if model_cls.anchor:                        # the example starts elsewhere: --anchor's settings too
            out.append((f"{name}-anchor", name, {}))
        for arch, settings in getattr(model_cls, "ARCH_TUNED", {}).items():
            if settings != example:
                out.append((f"{name}-{arch}", name, dict(settings, arch=arch)))
    return out


BASES = bases()


@pytest.mark.slow
@pytest.mark.parametrize("base_id, name, base", BASES, ids=[b[0] for b in BASES])
def test_every_setting_reaches_the_step_or_is_refused(base_id, name, base):
    model_cls = models.get(name)
    base = dict(base, batch_size=BATCH, seed=0, out="unused", evaluate=False)
    base.pop("epochs", None)
    fields = {f.name: f for f in dataclasses.fields(model_cls.Config)}
    base.update({k: v for k, v in SMALL.items() if k in fields and base.get(k, fields[k].default)})
    assert refused(model_cls, base) is None, f"{base_id}: the base settings themselves are refused"
    before = fingerprint(model_cls, validate(model_cls.Config(**base)))
    silent = []
    for field in dataclasses.fields(model_cls.Config):
        if field.name in RUN_SETTINGS or field.name in ("batch_size", "seed"):
            continue
        value = base.get(field.name, field.default)
        for alt in alternatives(field, value):
            changed = dict(base, **{field.name: alt})
            problem = refused(model_cls, changed)
            if problem is not None:
                assert "\n" not in problem and problem.startswith("--"), problem   # one line, naming a flag
                continue
            after = fingerprint(model_cls, validate(model_cls.Config(**changed)))
            if after[0] == before[0] and np.array_equal(after[1], before[1]):
                silent.append(f"{flag_name(field)} {alt!r}")
    assert not silent, f"{base_id}: accepted but changed nothing: {', '.join(silent)}"


def test_every_setting_is_walked_or_listed_as_a_run_setting():
    """A new setting is picked up by the walk above, unless it is listed in RUN_SETTINGS with its test."""
    for name in models.names():
        for field in dataclasses.fields(models.get(name).Config):
            if field.name in RUN_SETTINGS:
                assert field.metadata.get("kind") in ("run", "structure"), field.name
                continue
            assert alternatives(field, field.default), f"{name}: {field.name} has no value to try"


def test_a_refused_setting_ends_the_script_with_one_line_and_status_2(tmp_path, capsys):
    status = cli.main("wgan", ["--beta1", "0.9", "--out", str(tmp_path / "run"), "--limit", "64", "--max-steps", "1",
                               "--no-eval", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: --beta1")
    assert not (tmp_path / "run").exists()


def test_r1_on_wgan_gp_reaches_its_critic_and_gets_its_panel():
    model_cls = models.get("wgan_gp")
    model = model_cls(validate(model_cls.Config(r1=10.0, out="unused", batch_size=BATCH)))
    assert model.cfg.r1 == 10.0 and "R1 penalty" in model.panels
    rng = np.random.default_rng(0)
    batches = [(rng.uniform(-1, 1, (BATCH, 1, 28, 28)).astype(np.float32), None) for _ in range(model.cfg.d_steps)]
    stats = model.step(batches)
    assert math.isfinite(float(stats["r1"])) and float(stats["r1"]) > 0


def test_numpy_numbers_are_settings_too_and_are_saved_as_python_numbers():
    """A sweep script's np.int64 / np.float32 is a number, not a wrong type; it is kept as a plain int / float."""
    cfg = validate(models.get("mlp").Config(epochs=np.int64(3), lr=np.float32(1e-3), out="unused"))
    assert type(cfg.epochs) is int and cfg.epochs == 3 and type(cfg.lr) is float
    with pytest.raises(ConfigError, match="--epochs True"):
        validate(models.get("mlp").Config(epochs=True, out="unused"))
