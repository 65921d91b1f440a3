"""The CFDP transaction timers (CCSDS 727.0-B-5 4.6.3-4.6.5) on a caller-fed clock.

A :class:`Timer` holds a deadline on whatever clock ``now`` comes from; nothing here
reads a clock. Timers can be *frozen*: a suspended transaction's timers stop (4.6.6:
"suspend ... all timers"), and so do those of a transaction whose link is known to be
down (so no retry is counted while nothing can arrive). Freezing keeps the time that was
left; thawing restarts the countdown from there. A timer started while frozen starts
frozen, with its whole interval left.
"""

from __future__ import annotations

__all__ = ["Timer"]


class Timer:
    """One countdown: ``start``, ``stop``, ``freeze``/``thaw``; ``deadline`` when running."""

    __slots__ = ("_remaining", "deadline", "frozen", "interval", "name")

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = float(interval)
        self.deadline: float | None = None
        self.frozen = False
        self._remaining: float | None = None

    @property
    def running(self) -> bool:
        """Started and not stopped (frozen or counting down)."""
        return self.deadline is not None or self._remaining is not None

    def start(self, now: float, interval: float | None = None) -> None:
        span = self.interval if interval is None else float(interval)
        if self.frozen:
            self.deadline, self._remaining = None, span
        else:
            self.deadline, self._remaining = now + span, None

    def stop(self) -> None:
        self.deadline = self._remaining = None

    def freeze(self, now: float) -> None:
        if self.frozen:
            return
        self.frozen = True
        if self.deadline is not None:
            self._remaining = max(0.0, self.deadline - now)
            self.deadline = None

    def thaw(self, now: float) -> None:
        if not self.frozen:
            return
        self.frozen = False
        if self._remaining is not None:
            self.deadline, self._remaining = now + self._remaining, None

    def expired(self, now: float) -> bool:
        """Due at ``now`` (a frozen timer never is)."""
        return self.deadline is not None and now >= self.deadline

    def __repr__(self) -> str:
        return (
            f"Timer({self.name!r}, deadline={self.deadline}, frozen={self.frozen}, "
            f"remaining={self._remaining})"
        )
