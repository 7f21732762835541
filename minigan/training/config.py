"""Settings of a run: each declared once, with its check, its flag and its rule on resume.

A model's settings are a dataclass whose fields are made by :func:`setting`::

    @dataclass
    class Config(RunConfig):
        z_dim: int = setting(64, "size of the noise vector", integer(1), kind="structure")

From that one line come the ``--z-dim`` flag with its help, the check that
runs before any work starts (for the command line and for Python alike:
:func:`validate`), and what ``--resume`` does when the value changed:

- ``kind="structure"``: what the checkpoint's shapes or the data order depend on
  (the model, its sizes, the batch size, the seed). A change is refused.
- ``kind="training"``: how the nets learn (learning rates, loss settings). A
  change is refused unless asked for with ``--allow-changes``; then it is
  printed and written to the log.
- ``kind="run"``: how long, where, what to print (epochs, folder, backend). Free.
"""
import dataclasses
import math
import os
from dataclasses import dataclass

from ..nn import is_int, is_real, plain_number

KINDS = ("structure", "training", "run")


class ConfigError(ValueError):
    """A setting outside what is allowed; the message names the flag, the value and the rule."""


def setting(default, help="", check=None, kind="training", flag=None, cli=True):
    """A dataclass field with what the command line, the checks and resume need to know."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return dataclasses.field(default=default, metadata=dict(help=help, check=check, kind=kind, flag=flag, cli=cli))


# ---- checks: each returns None for a good value, else what is allowed -------------------------


def integer(minimum, none_ok=False):
    def check(v):
        if v is None and none_ok:
            return None
        if not is_int(v) or v < minimum:                  # NumPy's integers too, never a bool
            return f"must be an integer >= {minimum}" + (" (or unset)" if none_ok else "")
    return check


def number(low=None, high=None, low_open=False, high_open=False, none_ok=False):
    """A finite number in the interval given (open or closed at each end)."""
    lo = "(" if low_open else "["
    hi = ")" if high_open or high is None else "]"   # inf itself is never allowed
    text = f"must be a number in {lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"

    def check(v):
        if v is None and none_ok:
            return None
        if not is_real(v) or not math.isfinite(v):
            return text + (" (or unset)" if none_ok else "")
        if low is not None and (v < low or (low_open and v == low)):
            return text
        if high is not None and (v > high or (high_open and v == high)):
            return text
    return check


def one_of(*choices):
    def check(v):
        if v not in choices:
            return "must be one of " + ", ".join(map(str, choices))
    check.choices = choices
    return check


def boolean(v):
    if not isinstance(v, bool):
        return "must be True or False"


def text(v):
    if not isinstance(v, str) or not v:
        return "must be a non-empty string"


def existing_folder(v):
    """An existing folder (or unset): a typo must not become a new folder that a download fills."""
    if v is None:
        return None
    if not isinstance(v, str) or not os.path.isdir(v):
        return "must be an existing folder (only the default cache folder is created)"


def flag_name(field):
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


# --8<-- [start:renamed]
#: settings renamed so that one thing has one name: {old name: new name}. Checkpoints written with
#: the old names still load (:func:`migrate`), and the old flags still work with a deprecation line.
RENAMED = {"k": "d_steps", "g_loss": "objective", "body": "arch", "critic_norm": "d_norm"}
#: the old flags, {old flag: setting}
DEPRECATED_FLAGS = {"--k": "d_steps", "--n-critic": "d_steps", "--g-loss": "objective", "--model": "arch",
                    "--critic-norm": "d_norm"}
#: values renamed, {setting: {old value: new value}}
RENAMED_VALUES = {"d_norm": {"batchnorm": "batch", "layernorm": "layer"}}
# --8<-- [end:renamed]


def migrate(values):
    """A saved ``{name: value}`` with the old names and values of :data:`RENAMED` made current."""
    out = {RENAMED.get(k, k): v for k, v in values.items()}
    for name, renamed in RENAMED_VALUES.items():
        if out.get(name) in renamed:
            out[name] = renamed[out[name]]
    return out


def changed(cfg, name):
    """Whether setting ``name`` of ``cfg`` differs from its Config's default (a value someone chose)."""
    field = {f.name: f for f in dataclasses.fields(cfg)}[name]
    return getattr(cfg, name) != field.default


def validate(cfg):
    """Check every setting of ``cfg``; raise :class:`ConfigError` at the first bad one. Returns ``cfg``."""
    for f in dataclasses.fields(cfg):
        check = f.metadata.get("check")
        value = plain_number(getattr(cfg, f.name))      # a NumPy scalar: the Python number, so it can be saved
        setattr(cfg, f.name, value)
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"{flag_name(f)} {value!r}: {problem}")
    problem = cfg.check()
    if problem:
        raise ConfigError(problem)
    return cfg


def kind_of(cfg, name):
    return {f.name: f.metadata.get("kind", "training") for f in dataclasses.fields(cfg)}.get(name, "structure")


def differences(saved, cfg):
    """``{name: (saved value, new value)}`` for every setting of ``cfg`` that differs from ``saved``."""
    out = {}
    saved = migrate(saved)
    for f in dataclasses.fields(cfg):
        old, new = saved.get(f.name, f.default), getattr(cfg, f.name)
        if isinstance(old, list):
            old = tuple(old)
        if old != new:
            out[f.name] = (old, new)
    return out


def from_dict(config_cls, values):
    """A ``config_cls`` from a saved dict, ignoring names it does not know (older checkpoints)."""
    known = {f.name for f in dataclasses.fields(config_cls)}
    return config_cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in migrate(values).items()
                         if k in known})


@dataclass
class RunConfig:
    """What every model's run shares: data, length, folder, backend, pictures, metrics."""

    model: str = setting(None, "which model (the registry's name)", text, kind="structure", cli=False)
    epochs: int = setting(20, "passes over the training images", integer(1), kind="run")
    batch_size: int = setting(64, "images per batch", integer(2), kind="structure")
    seed: int = setting(0, "seeds the weights, the noise and the data order", integer(0), kind="structure")
    backend: str = setting("numpy", "numpy (CPU) or cupy (NVIDIA GPU)", one_of("numpy", "cupy"), kind="run")
    out: str = setting("runs/run", "the run folder", text, kind="run")
    data_dir: str = setting(None, "folder holding the MNIST files (unset: $MINIGAN_DATA_DIR if set, else "
                                  "~/.cache/minigan/mnist, downloading them there if missing)", existing_folder,
                            kind="run")
    limit: int = setting(None, "use only the first N training images, for smoke runs (unset: all of them)",
                         integer(1, none_ok=True), kind="structure")
    sample_every: int = setting(200, "steps between sample grids", integer(1), kind="run")
    max_steps: int = setting(None, "stop after this many steps in all (unset: when --epochs are done)",
                             integer(1, none_ok=True), kind="run")
    evaluate: bool = setting(True, "skip the metrics at the end", boolean, kind="run", flag="--no-eval")
    eval_samples: int = setting(10000, "samples scored by the metrics at the end", integer(10), kind="run")
    progress: bool = setting(True, "no progress bar", boolean, kind="run", flag="--no-progress")

    def check(self):
        """Checks that involve several settings; None or the problem. Models add their own."""
        return None


@dataclass
class OptimizerConfig(RunConfig):
    """How every net of a model learns: the optimizer, its rate and Adam's betas (the DCGAN paper's), a schedule."""

    optimizer: str = setting("adam", "optimizer of every net", one_of("adam", "sgd", "rmsprop"))
    lr: float = setting(2e-4, "learning rate of every net", number(0, low_open=True))
    beta1: float = setting(0.5, "Adam's beta1", number(0, 1, high_open=True))
    beta2: float = setting(0.999, "Adam's beta2", number(0, 1, high_open=True))
    lr_decay: str = setting("none", "linear: constant learning rates for the first half of the epochs, then down "
                                    "to 0", one_of("none", "linear"))

    def check(self):
        for name in ("beta1", "beta2"):
            if changed(self, name) and self.optimizer != "adam":
                return (f"--{name} {getattr(self, name)!r}: Adam's, and this run's --optimizer is "
                        f"{self.optimizer}; drop it")
        return super().check()
