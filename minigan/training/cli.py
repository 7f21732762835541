"""The command line of every training example, made from the model's settings.

``python examples/train_<model>.py --help`` lists exactly the model's settings
(each declared once, in its Config), with the tuned default the example starts
from and the textbook one ``--anchor`` gives back. A bad value, a missing
dependency or a folder that holds another run ends in one line on stderr and
exit status 2, before anything is written.
"""
import argparse
import dataclasses
import os
import sys

from .. import models
from ..backend import BackendError
from ..data import DataError
from ..metrics import ClassifierWeightsError
from .config import DEPRECATED_FLAGS, RENAMED_VALUES, ConfigError, flag_name, validate
from .run import NonFiniteLossError, Run, RunError, output_problem


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block before them) and exit status 2."""

    def error(self, message):
        self.exit(2, f"error: {message} (see --help)\n")


class Deprecated(argparse.Action):
    """An old flag that still works: it sets the renamed setting and says, on stderr, what to type instead."""

    def __call__(self, parser, namespace, value, option_string=None):
        print(f"warning: {option_string} is deprecated; use {self.metavar}", file=sys.stderr)
        setattr(namespace, self.dest, value)


def shown_default(model_cls, field, anchor):
    """The value the example runs with, as --help shows it: tuned (per --arch where that differs) or the Config's."""
    variants = getattr(model_cls, "ARCH_TUNED", {None: model_cls.tuned})
    values = {arch: tuned.get(field.name, anchor) for arch, tuned in variants.items()}
    shown = {arch: "unset" if v is None else v for arch, v in values.items()}   # what unset means: the help says
    anchor_shown = "unset" if anchor is None else anchor
    if all(v == anchor for v in values.values()):
        return f"{anchor_shown}"
    if len(set(map(repr, values.values()))) == 1:
        return f"{next(iter(shown.values()))} (tuned; --anchor: {anchor_shown})"
    per_arch = ", ".join(f"{v} with --arch {arch}" for arch, v in shown.items())
    return f"{per_arch} (tuned; --anchor: {anchor_shown})"


def train_parser(name):
    """The parser of ``examples/train_<name>.py``: one flag per setting of the model's Config."""
    model_cls = models.get(name)
    anchor = model_cls.Config()
    p = Parser(description=model_cls.description, formatter_class=argparse.RawDescriptionHelpFormatter)
    fields = {f.name: f for f in dataclasses.fields(model_cls.Config) if f.metadata.get("cli", True)}
    for f in fields.values():
        default = getattr(anchor, f.name)
        if f.type is bool:  # a switch that turns a default on off (--no-eval) or off on
            p.add_argument(flag_name(f), dest=f.name, action="store_false" if default else "store_true",
                           default=None, help=f.metadata["help"])
            continue
        choices = getattr(f.metadata.get("check"), "choices", None)
        metavar = None if choices else flag_name(f)[2:].replace("-", "_").upper()   # --d-steps D_STEPS
        p.add_argument(flag_name(f), dest=f.name, type=f.type, default=None, choices=choices, metavar=metavar,
                       help=f"{f.metadata['help']}; default {shown_default(model_cls, f, default)}")
    for old, new in DEPRECATED_FLAGS.items():   # old flags keep working, with a line saying the new one
        if new in fields:
            choices = getattr(fields[new].metadata.get("check"), "choices", None)
            if choices:
                choices = tuple(choices) + tuple(RENAMED_VALUES.get(new, ()))
            p.add_argument(old, dest=new, type=fields[new].type, default=None, action=Deprecated, choices=choices,
                           metavar=flag_name(fields[new]), help=argparse.SUPPRESS)
    if model_cls.anchor:   # offered where the example starts from tuned settings, and --anchor changes them
        p.add_argument("--anchor", action="store_true",
                       help=f"start from {model_cls.anchor} (the Config's defaults) instead of the tuned ones")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh in an --out that holds an earlier run, removing that run's files")
    p.add_argument("--allow-changes", action="store_true",
                   help="with --resume: accept changed training settings (they are printed and logged)")
    p.add_argument("--settings", action="store_true",
                   help="print every setting this command would run with, where its value comes from and which "
                        "class declares it, then stop")
    return p


def config_from_args(name, args):
    """The Config's textbook defaults, then the tuned ones (unless --anchor), then the flags given.

    A ``--lr`` given sets both nets' rate: it replaces tuned ``--lr-d`` / ``--lr-g``
    that were not given as well.
    """
    model_cls = models.get(name)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(model_cls.Config)
             if f.metadata.get("cli", True) and getattr(args, f.name, None) is not None}
    for setting_name, renamed in RENAMED_VALUES.items():
        if given.get(setting_name) in renamed:
            new = renamed[given[setting_name]]
            print(f"warning: {given[setting_name]!r} is deprecated; use {new!r}", file=sys.stderr)
            given[setting_name] = new
    settings = {} if getattr(args, "anchor", False) else model_cls.tuned_settings(given)
    if "lr" in given:
        for rate in ("lr_d", "lr_g"):
            if rate not in given:
                settings.pop(rate, None)
    settings.update(given)
    return validate(model_cls.Config(**settings))


def run(cfg, resume=False, overwrite=False, allow_changes=False):
    """Train, print where everything went and the metrics. Returns a process exit status."""
    try:
        r = Run(cfg, resume=resume, overwrite=overwrite, allow_changes=allow_changes)
    except (ConfigError, BackendError, DataError, RunError) as exc:  # a bad setting, no CuPy, no MNIST, a taken folder
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"minigan: training the {models.label(cfg.model)} model on {r.describe_data()}, backend {cfg.backend}, "
          f"run folder {cfg.out}")
    try:
        status = r.train()
    except (NonFiniteLossError, RunError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"aborted; the last checkpoint is at {r.checkpoint_path()}", file=sys.stderr)
        return 130
    print(f"{status} at step {r.step} ({r.describe_epoch()}); checkpoint {r.checkpoint_path()}")
    if status == "interrupted":
        print("continue with the same command and --resume")
        return 130
    if cfg.evaluate:
        status = evaluate_run(r)
        if status:
            return status
    print("samples:", os.path.join(cfg.out, "samples.png"), " curves:", os.path.join(cfg.out, "curves.png"),
          " animation:", os.path.join(cfg.out, "progress.gif"))
    return 0


def evaluate_run(r, n=None):
    """The metrics at the end of a run, printed; 0, or the exit status when they could not be finished.

    Ctrl-C here ends in one line (status 130): the trained model is in the checkpoint already,
    and ``examples/evaluate.py`` scores it later.
    """
    later = f"score it later with python examples/evaluate.py {r.out}"
    try:
        report = r.evaluate(n)
    except KeyboardInterrupt:
        print(f"evaluation interrupted; the trained model is kept in {r.checkpoint_path()}: {later}",
              file=sys.stderr)
        return 130
    except (DataError, ClassifierWeightsError) as exc:
        print(f"error: the metrics at the end: {exc}\nthe trained model is kept in {r.checkpoint_path()}: {later}",
              file=sys.stderr)
        return 2
    print(f"metrics of {n or r.cfg.eval_samples} samples (written to {os.path.join(r.out, 'metrics.json')}):")
    print(r.model.format_report(report))
    return 0


def main(name, argv=None):
    """``examples/train_<name>.py``: parse, check, train. Returns the exit status."""
    args = train_parser(name).parse_args(argv)
    try:
        cfg = config_from_args(name, args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.settings:
        print(settings_table(name, cfg, args))
        return 0
    return run(cfg, resume=args.resume, overwrite=args.overwrite, allow_changes=args.allow_changes)


def settings_table(name, cfg, args):
    """Every setting of ``cfg`` in one table: its value, where the value comes from, the class that declares it.

    A model's settings are declared across a few classes (RunConfig, GANConfig,
    the model's Config, ...) and its example starts from tuned values: this is
    the one place that shows them all, as this command would run them.
    """
    model_cls = models.get(name)
    given = {f.name for f in dataclasses.fields(cfg) if getattr(args, f.name, None) is not None}
    tuned = {} if getattr(args, "anchor", False) else model_cls.tuned_settings({k: getattr(cfg, k) for k in given})
    header = ("setting", "value", "from", "flag", "declared in")
    rows = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        source = "given" if f.name in given else "tuned" if tuned.get(f.name, ...) == value else "default"
        # the class that declares the setting last (a model's Config may redeclare a shared one's default)
        owner = next(c for c in type(cfg).__mro__ if f.name in vars(c).get("__annotations__", {}))
        flag = flag_name(f) if f.metadata.get("cli", True) else ""
        rows.append((f.name, repr(value), source, flag, f"{owner.__module__.replace('minigan.', '')}.{owner.__name__}"))
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    label = models.label(name)
    lines = [f"{label}{'' if label == name else f' (model {name!r})'}: the settings this command runs with"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header] + rows]
    return "\n".join(lines)


# ---- the tools that read a finished run (examples/generate.py, evaluate.py, explore_latent.py) ----


def int_at_least(minimum):
    """argparse type: an integer >= ``minimum``, or one line saying so."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value
    return parse


def number_where(rule, holds):
    """argparse type: a number for which ``holds(value)`` is true (``rule`` says which, in words)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text!r}") from None
        if not holds(value):  # nan fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"expected {rule}, got {text}")
        return value
    return parse


positive_int = int_at_least(1)
seed_int = int_at_least(0)   # NumPy's generators take seeds >= 0
positive_float = number_where("a finite number > 0", lambda v: 0 < v < float("inf"))
nonnegative_float = number_where("a finite number >= 0", lambda v: 0 <= v < float("inf"))
fraction = number_where("a number in [0, 1]", lambda v: 0 <= v <= 1)


class DefaultsOnce(argparse.HelpFormatter):
    """--help with each option's default said once: "(default: X)" added unless the help says it already.

    An option that is unset by default shows no "(default: None)": its help says what unset means.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False or default is argparse.SUPPRESS
                or "default" in text or "unset" in text):
            return text
        return f"{text} (default: %(default)s)"


def tool_parser(doc):
    """A parser for a script that reads a run: RUN, --backend, and a one-line description from ``doc``."""
    p = Parser(description=doc.splitlines()[0], formatter_class=DefaultsOnce)
    p.add_argument("run", help="a run folder (holding checkpoint.npz) or a checkpoint file")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy",
                   help="numpy (the CPU) or cupy (an NVIDIA GPU; needs CuPy)")
    return p


def run_folder(path):
    """The folder of a run given as a folder or as its checkpoint file."""
    return path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))


def load_or_exit(path, backend):
    """The trained model of a run, or one line on stderr and exit status 2."""
    from .run import load_model

    try:
        return load_model(path, backend)
    except (RunError, BackendError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


def check_output(parser, flag, path, suffixes=(), folder=False):
    """End with one line naming ``flag`` unless ``path`` can be written (see :func:`output_problem`)."""
    if path is None:
        return
    problem = output_problem(path, suffixes, folder)
    if problem:
        parser.error(f"{flag} {os.fspath(path)!r}: {problem}")
