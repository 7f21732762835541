"""cupy.lib of the stand-in."""
from .. import _standin
from . import stride_tricks  # noqa: F401

_standin.fill_module("cupy.lib", globals(), lambda name: None)
