"""cupyx of the stand-in: only what minigan may reach (scipy); the rest is AttributeError."""
from cupy import _standin

_standin.fill_module("cupyx", globals(), lambda name: None)
