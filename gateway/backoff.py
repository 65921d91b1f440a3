"""Reconnect and retry delays: capped exponential backoff with jitter.

Each delay is drawn uniformly from [d/2, d] where d doubles from ``initial_s`` up to
``max_s`` ("equal jitter", AWS Architecture Blog, "Exponential Backoff and Jitter",
2015): many gateways restarted by the same broker outage spread their reconnects
instead of arriving together, and no delay is ever zero. The RNG is injected so tests
and simulations are reproducible.
"""

from __future__ import annotations

import random

from comms.errors import UsageError

__all__ = ["Backoff"]


class Backoff:
    def __init__(
        self, initial_s: float, max_s: float, rng: random.Random, factor: float = 2.0
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise UsageError(f"Backoff needs 0 < initial_s <= max_s, got {initial_s} and {max_s}.")
        if factor < 1:
            raise UsageError(f"Backoff factor must be at least 1, got {factor}.")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._rng = rng
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds; each call backs off further."""
        ceiling = min(self.max_s, self.initial_s * self.factor ** min(self.attempts, 64))
        self.attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """After a success: the next failure starts again from ``initial_s``."""
        self.attempts = 0
