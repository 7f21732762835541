"""cupy.cuda of the stand-in: one device, always synchronised, and the runtime's device count."""
from .. import _standin
from .._standin import _Device as Device  # noqa: F401  (cupy.cuda.Device)
from . import runtime  # noqa: F401  (cupy.cuda.runtime)


class Stream:
    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False):
        pass

    def synchronize(self):
        pass

    def use(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


Stream.null = Stream(null=True)


def get_current_stream():
    return Stream.null


def is_available():
    return True


class MemoryPool:
    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


_standin.fill_module("cupy.cuda", globals(), lambda name: None)
