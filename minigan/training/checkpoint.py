"""A checkpoint file: reading it whole or refusing it in one line, and the parts it holds.

A checkpoint (``checkpoint.npz``, written by :meth:`minigan.training.run.Run.save_checkpoint`)
holds every array of the modules, optimizers and pools a model names, each under
``<name>/<key>``, and a JSON record ``meta``: the step, the random states, the settings and
the model's own state. The run reads it to resume; ``load_model`` to sample; StackGAN's
Stage II to start from a trained Stage I.
"""
import json
import os

from ..nn import DamagedFileError, load_npz

CHECKPOINT = "checkpoint.npz"


class RunError(RuntimeError):
    """A run cannot start or continue as asked (folder taken, no checkpoint, settings changed)."""


class DamagedCheckpointError(RunError):
    """A checkpoint that cannot be read in full (damaged bytes, cut short, not a checkpoint); ``cause`` says how."""

    def __init__(self, path, cause):
        super().__init__(f"the checkpoint {path} is damaged and unreadable ({cause}); it is left as it is")
        self.path, self.cause = path, cause


def read_checkpoint(path, meta_only=False):
    """``(meta, arrays)`` of a checkpoint, every array read in full, or a :class:`RunError` that says what is wrong.

    A damaged file (a few bad bytes, cut short, not a checkpoint) is refused
    here with one line naming it, and left as it is.
    """
    if not os.path.exists(path):
        raise RunError(f"no checkpoint at {path}")
    try:
        arrays = load_npz(path, keys=["meta"] if meta_only else None)
        meta = json.loads(str(arrays.pop("meta")))
    except OSError as exc:  # a folder, no permission
        raise RunError(f"the checkpoint {path} cannot be read ({type(exc).__name__}: {exc.strerror or exc})") from None
    except (DamagedFileError, ValueError) as exc:  # json's errors are ValueErrors
        raise DamagedCheckpointError(path, str(exc) if isinstance(exc, DamagedFileError)
                                     else f"{type(exc).__name__}: {exc}") from None
    if not isinstance(meta, dict):
        raise DamagedCheckpointError(path, "its metadata is not a record")
    return meta, arrays


def saved_state(meta):
    """What a checkpoint's model keeps beside its arrays (``Model.state()``); before 0.2 the key was "task"."""
    return meta.get("state", meta.get("task", {}))


def read_meta(path):
    """The JSON metadata of a checkpoint, or a :class:`RunError` that says what is wrong."""
    return read_checkpoint(path, meta_only=True)[0]




def arrays_of(arrays, name):
    """The arrays a checkpoint keeps for the part called ``name`` (``"G/0.weight"`` -> ``"0.weight"``)."""
    return {k[len(name) + 1:]: v for k, v in arrays.items() if k.startswith(name + "/")}
