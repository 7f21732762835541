"""Timing two frameworks fairly on a shared machine: alternating blocks of calls, a spread of ratios.

Why not time minigan for 20 steps, then PyTorch for 20 steps? Because the
machine's load changes over seconds (other processes, CPU frequency, caches), so
two blocks timed one after the other may see different machines: on this
project's shared 2-core box that once gave 2.1x where alternation gave 0.91x.
Why not alternate single steps (A, B, A, B)? Because each framework keeps a
pool of worker threads that spin for a while after a call; alternating single
calls makes each framework's threads wait on the other's.

So each measurement here is several *rounds*; a round times one *block* of
consecutive calls of each function (in the order A, B, then B, A in the next
round, so neither always goes first), with a short pause between blocks for
the other's threads to go idle. A block's time per call is the median of its
calls; a round's ratio compares the blocks of the same round. What is reported
is the spread of that ratio over the rounds (min / median / max), not one
number: a single run cannot tell 0.9x from 1.1x, a spread shows whether it can.

No PyTorch here: twins and bench.py import this module to time any pair of callables.
"""
import gc
import math
import statistics
import time
from collections import namedtuple

#: min, median and max of a list of numbers
Spread = namedtuple("Spread", "min median max")

SETTLE_S = 0.05   # pause between blocks, so the previous framework's spinning worker threads go idle


def spread(values):
    """Spread(min, median, max) of ``values``."""
    values = list(values)
    return Spread(min(values), statistics.median(values), max(values))


def _per_call_s(fn, calls, sync):
    """Seconds of each of ``calls`` consecutive calls of ``fn`` (each followed by ``sync()``)."""
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def alternate(fns, rounds=7, block_s=0.3, warmup=3, min_calls=3, sync=lambda: None):
    """Time each callable in ``fns`` in ``rounds`` rounds of alternating blocks.

    Parameters
    ----------
    fns : list of zero-argument callables (usually two: minigan's step and PyTorch's)
    rounds : number of rounds; each round times one block of each callable
    block_s : wanted duration of a block; a block has max(min_calls, block_s / call time)
        calls, the call time estimated from the warm-up
    warmup : untimed calls of each callable first (at least 1, which also estimates the call time)
    sync : called after every call (a device synchronisation on a GPU)

    Returns
    -------
    list, per callable, of ``rounds`` times in ms per call (the median call of each block)
    """
    estimates = []
    for fn in fns:
        estimates.append(min(_per_call_s(fn, max(1, warmup), sync)))
    calls = [max(min_calls, math.ceil(block_s / max(e, 1e-9))) for e in estimates]
    ms = [[] for _ in fns]
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
            for i in order:
                time.sleep(SETTLE_S)
                ms[i].append(1e3 * statistics.median(_per_call_s(fns[i], calls[i], sync)))
    finally:
        gc.enable()
    return ms


def ratio_spread(ours, theirs):
    """Spread of the per-round ratios ours / theirs (> 1: ours is slower)."""
    return spread(a / b for a, b in zip(ours, theirs))
