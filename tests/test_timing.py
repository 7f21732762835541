"""benchmarks/timing.py: alternating blocks of calls, and the spread of the per-round ratio.

Most tests run on a fake clock (``time.perf_counter`` and ``time.sleep`` replaced by a
counter that each fake call advances by a known amount), so every number is exact and
nothing depends on the machine's load. One test sleeps for real, with a 20x margin.
"""
import gc
import importlib.util
import os
import time
from types import SimpleNamespace

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("timing", os.path.join(ROOT, "benchmarks", "timing.py"))
timing = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(timing)


class FakeClock:
    """Seconds that pass only when a fake call (or the pause between blocks) says so."""

    def __init__(self):
        self.now, self.sleeps = 0.0, 0

    def perf_counter(self):
        return self.now

    def sleep(self, s):
        self.now += s
        self.sleeps += 1


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=fake.perf_counter, sleep=fake.sleep))
    return fake


def recording(name, log, clock, cost_s):
    """A callable that logs its name and takes ``cost_s`` seconds of fake time.

    ``cost_s`` is a number, or a function of the call index.
    """
    def fn():
        cost = cost_s(len([n for n in log if n == name])) if callable(cost_s) else cost_s
        log.append(name)
        clock.now += cost
    return fn


def blocks(log):
    """The log as runs of one name: ['a', 'a', 'b'] -> [('a', 2), ('b', 1)]."""
    runs = []
    for name in log:
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + 1)
        else:
            runs.append((name, 1))
    return runs


def test_blocks_alternate_which_framework_goes_first(clock):
    log = []
    fns = [recording("a", log, clock, 0.01), recording("b", log, clock, 0.01)]
    timing.alternate(fns, rounds=4, block_s=0.0, warmup=2, min_calls=3)
    # warm-up: 2 calls each, a then b; then blocks of 3 calls: a b | b a | a b | b a
    warmup, round_ab, round_ba = ["a"] * 2 + ["b"] * 2, ["a"] * 3 + ["b"] * 3, ["b"] * 3 + ["a"] * 3
    assert log == warmup + round_ab + round_ba + round_ab + round_ba
    assert clock.sleeps == 4 * 2  # a pause before every block, for the other's worker threads to go idle


def test_a_block_lasts_about_block_s(clock):
    log = []
    fns = [recording("fast", log, clock, 0.002), recording("slow", log, clock, 0.05)]
    timing.alternate(fns, rounds=1, block_s=0.1, warmup=1, min_calls=3)
    # the warm-up call estimates each call: 0.1 s / 2 ms = 50 calls; 0.1 s / 50 ms = 2 calls, raised to min_calls
    assert blocks(log)[2:] == [("fast", 50), ("slow", 3)]


def test_times_are_ms_per_call_and_a_block_counts_its_median_call(clock):
    log = []
    # a's first timed call of each block is slow (a page fault, another process): the median ignores it
    a = recording("a", log, clock, lambda i: 0.5 if (i - 1) % 5 == 0 else 0.010)
    b = recording("b", log, clock, 0.020)
    ms = timing.alternate([a, b], rounds=3, block_s=0.0, warmup=1, min_calls=5)
    assert ms == [[pytest.approx(10.0)] * 3, [pytest.approx(20.0)] * 3]


def test_the_ratio_is_taken_within_each_round(clock):
    """The machine slows down 3x in round 2, for both frameworks alike: the ratio does not move."""
    load = [1.0, 3.0, 1.0]  # per round

    def costing(cost_s):
        def fn():  # the pause before each block is one sleep, two blocks a round
            clock.now += cost_s * load[max(0, clock.sleeps - 1) // 2]
        return fn
    ms = timing.alternate([costing(0.010), costing(0.020)], rounds=3, block_s=0.0, warmup=1, min_calls=3)
    assert ms == [[pytest.approx(10.0), pytest.approx(30.0), pytest.approx(10.0)],
                  [pytest.approx(20.0), pytest.approx(60.0), pytest.approx(20.0)]]
    assert timing.ratio_spread(ms[0], ms[1]) == (pytest.approx(0.5),) * 3
    # one block of each, timed in different rounds, could read anything from 0.17x to 1.5x
    assert max(ms[0]) / min(ms[1]) == pytest.approx(1.5)


def test_spread_is_min_median_max():
    assert timing.spread([3.0, 1.0, 2.0, 10.0, 4.0]) == (1.0, 3.0, 10.0)
    assert timing.spread([2.0]) == timing.Spread(min=2.0, median=2.0, max=2.0)
    # ratios pair round r of one with round r of the other
    assert timing.ratio_spread([1.0, 4.0, 3.0], [2.0, 2.0, 1.0]) == (0.5, 2.0, 3.0)


def test_sync_follows_every_call(clock):
    """On a GPU the call only queues work: the device synchronisation must be inside the timed span."""
    events = []

    def fn():
        events.append("call")
        clock.now += 0.001

    def sync():
        events.append("sync")
        clock.now += 0.004  # the queued work finishes here, and is counted
    ms = timing.alternate([fn, fn], rounds=2, block_s=0.0, warmup=1, min_calls=3, sync=sync)
    assert events == ["call", "sync"] * (2 * 1 + 2 * 2 * 3)
    assert ms == [[pytest.approx(5.0)] * 2] * 2


def test_the_garbage_collector_is_off_while_timing_and_on_after(clock):
    seen = []
    timing.alternate([lambda: seen.append(gc.isenabled())], rounds=1, block_s=0.0, warmup=1, min_calls=3)
    assert seen == [True, False, False, False]
    assert gc.isenabled()

    def fails():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        timing.alternate([lambda: None, fails], rounds=1, block_s=0.0, warmup=0, min_calls=1)
    assert gc.isenabled()


def test_real_sleeps_keep_their_order():
    """On the real clock: 1 ms against 20 ms reads as well under 1 in every round."""
    ms = timing.alternate([lambda: time.sleep(0.001), lambda: time.sleep(0.020)],
                          rounds=3, block_s=0.0, warmup=1, min_calls=3)
    assert all(len(times) == 3 for times in ms)
    assert timing.ratio_spread(*ms).max < 0.5
    assert min(ms[1]) >= 20.0
