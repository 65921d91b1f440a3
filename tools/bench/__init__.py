"""The benchmark runner: each hot path against its named peer, in the same run.

A benchmark module is ``tools/bench/bench_<name>.py`` defining ``cases() -> list[Case]``.
Cases that share a ``group`` measure the same work; the one whose ``label`` matches
another case's ``peer`` is the reference its ratio is taken against.

Run ``python -m tools.bench`` (all) or ``python -m tools.bench crc spp`` (some);
``--markdown`` prints the README table, ``--json`` machine-readable rows.
Benchmarks are not tests: the suite asserts no timings.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Case", "Result", "measure"]


@dataclass(frozen=True)
class Case:
    """One measured operation.

    ``fn`` does one call's worth of work, which is ``items`` operations (packets,
    frames, PDUs) over ``nbytes`` octets. ``peer`` names the label of the case in the
    same group this one is compared against (None for the peer itself).
    """

    group: str
    label: str
    fn: Callable[[], object]
    items: int = 1
    nbytes: int = 0
    peer: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Result:
    case: Case
    seconds_per_call: float

    @property
    def ops_per_s(self) -> float:
        return self.case.items / self.seconds_per_call

    @property
    def mb_per_s(self) -> float:
        return self.case.nbytes / self.seconds_per_call / 1e6


def measure(case: Case, min_time: float = 0.25, repeats: int = 3) -> Result:
    """Best of ``repeats`` timings, each looping until ``min_time`` seconds have passed."""
    fn = case.fn
    fn()  # warm caches and lazy imports outside the timing
    best = float("inf")
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeats):
            gc.collect()
            calls = 0
            start = time.perf_counter()
            elapsed = 0.0
            while elapsed < min_time:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
            best = min(best, elapsed / calls)
    finally:
        if gc_was_enabled:
            gc.enable()
    return Result(case, best)
