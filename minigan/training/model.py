"""A model as the run sees it: what to build, how to take a step, what to draw, how to judge.

:class:`~minigan.run.Run` owns everything every model shares (the folder, the
log, checkpoints, random states, Ctrl-C, the NaN guard, resume). A model
subclasses :class:`Model` and says only what is its own; the registry in
``minigan/models/__init__.py`` lists the models by name, for the run, the
example scripts, the benchmark and the profiler alike.
"""
from ..data import load_mnist
from ..nn.optim import SGD, Adam, RMSprop
from .config import OptimizerConfig


class Model:
    """Base class of every model. Subclasses set the class attributes and write ``step``."""

    name = None          # the registry's key; also ``cfg.model``
    Config = OptimizerConfig  # the model's settings (a dataclass of :func:`~minigan.training.config.setting` fields)
    tuned = {}           # settings the example script starts from, over the Config's textbook defaults
    anchor = None        # whose settings the Config's defaults are, where the example starts elsewhere (--anchor)
    description = ""     # one line for ``--help``
    panels = {}          # plot panels beyond the losses: {title: (log columns, reference line or None)}
    pictures_written = ()  # names of the extra pictures (``<name>.png``) the run folder gets at the end

    def __init__(self, cfg):
        self.cfg = cfg
        self.rates = {}      # {optimizer's name: the rate the settings give it}: see :meth:`optimizer`

    @classmethod
    def label(cls):
        """The model as messages name it: its file's name in minigan/models/ (``mlp_gan`` for ``name`` "mlp")."""
        package, _, file = cls.__module__.rpartition(".")
        return file if package == "minigan.models" else cls.name

    @classmethod
    def tuned_settings(cls, given):
        """The settings the example starts from, given the flags set on the command line (``{name: value}``).

        ``tuned`` for most models; a model whose best settings depend on a
        structural choice (the conditional GAN's body) picks them here.
        """
        return dict(cls.tuned)

    # ---- the data -------------------------------------------------------------------------------
    @classmethod
    def training_streams(cls, cfg):
        """The training data: a list of streams, each a tuple of equal-length arrays shuffled together.

        MNIST's (images, labels) for the generative models, one stream: each
        batch is (images, labels). A paired translation task is one stream
        (a, b); an unpaired one two streams (a,) and (b,), each shuffled on its
        own, and each batch is (a, b) (``minigan/translation/translator.py``).
        """
        return [load_mnist("train", data_dir=cfg.data_dir, limit=cfg.limit)]

    def example_batch(self, rng, n):
        """One training batch of random values in the shapes the step takes (the settings tests)."""
        return (rng.uniform(-1, 1, (n, 1, 28, 28)).astype("float32"), rng.integers(0, 10, n))

    # ---- the optimizers: made from the settings, kept in checkpoints, their rates set by the settings ----
    def optimizer(self, name, params, lr=None):
        """An optimizer over ``params`` as the settings say, kept in checkpoints as ``name``.

        Adam with ``--lr`` (or ``lr``, a rate of this net's own), ``--beta1`` and ``--beta2``, unless
        ``--optimizer`` names SGD (momentum 0.9) or RMSprop. Its rate is the settings' from here
        on: after a resume (``--allow-changes`` may have changed it) and under ``--lr-decay``.
        """
        cfg = self.cfg
        lr = cfg.lr if lr is None else lr
        if cfg.optimizer == "adam":
            opt = Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2))
        elif cfg.optimizer == "sgd":
            opt = SGD(params, lr=lr, momentum=0.9)
        else:
            opt = RMSprop(params, lr=lr)
        self.rates[name] = (opt, lr)
        return opt

    def set_learning_rates(self, factor=1.0):
        """Every optimizer's rate: the settings' times ``factor``."""
        for opt, lr in self.rates.values():
            opt.lr = lr * factor

    # ---- what a checkpoint holds ---------------------------------------------------------
    def modules(self):
        """``{name: Layer}`` whose state a checkpoint keeps."""
        return {}

    def optimizers(self):
        """``{name: Optimizer}`` whose state a checkpoint keeps: those made by :meth:`optimizer`."""
        return {name: opt for name, (opt, _) in self.rates.items()}

    def pools(self):
        """``{name: ImagePool}``: the past fakes a discriminator is shown (CycleGAN's), kept in checkpoints too."""
        return {}

    def rngs(self):
        """``{name: numpy Generator}`` whose state a checkpoint keeps."""
        return {}

    def state(self):
        """Anything else a resume needs, as JSON-able values."""
        return {}

    def load_state(self, state):
        """After a checkpoint is loaded: ``state`` is what :meth:`state` gave; the settings decide the rates.

        An optimizer's saved state holds the rate it last used; the run's settings decide it from
        here on (they may have been changed with ``--allow-changes``).
        """
        self.set_learning_rates()

    def before_save(self):
        """Bring derived state up to date before a checkpoint is written."""

    # ---- training --------------------------------------------------------------------------
    @property
    def batches_per_step(self):
        """Real batches one step consumes (D steps per G step for a GAN)."""
        return 1

    def before_step(self, step, planned_steps):
        """Called before each step with the steps done and the steps planned.

        ``--lr-decay linear``: every rate constant for the first half of the planned steps, then
        linearly down to 0. A function of the step and the planned length alone, so a resumed run
        gets the same rates (``--max-steps`` may stop a run early; it does not change the schedule).
        """
        if self.cfg.lr_decay == "linear":
            self.set_learning_rates(min(1.0, 2.0 * (1.0 - step / planned_steps)))

    def step(self, batches):
        """One update from ``batches`` (``batches_per_step`` batches on the backend, see ``training_streams``).

        Returns a dict of 0-d arrays: the log's columns for this step.
        """
        raise NotImplementedError

    # ---- pictures and judgement --------------------------------------------------------------
    def grid(self):
        """(images, images per row) drawn from the run's fixed input: the sample grids and the GIF."""
        raise NotImplementedError

    def pictures(self):
        """``{name: (images, nrow)}`` or ``{name: (images, nrow, row_labels)}``: extra pictures, ``<name>.png``."""
        return {}

    def evaluate(self, n):
        """Metrics of the trained model, from ``n`` samples (a dict of JSON-able values)."""
        return {}

    def format_report(self, report):
        """The metrics as a few readable lines."""
        return "\n".join(f"{k}: {v}" for k, v in report.items())
