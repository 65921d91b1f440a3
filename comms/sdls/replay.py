"""The anti-replay window over SDLS sequence numbers (the check of 355.0-B-2 ProcessSecurity).

A sliding window, sans-I/O: the newest accepted sequence number ``top`` and a bitmap of
the ``width`` numbers below it. A received number is

- newer than ``top``: accepted (the window slides), unless ``forward_limit`` is set and
  it lies more than that far ahead (outside the window: a forged or runaway counter);
- within the window and not yet seen: accepted (frames may arrive out of order);
- seen already: a replay;
- older than the window: outside the window.

:meth:`ReplayWindow.check` only looks; :meth:`ReplayWindow.accept` records. A receiver
checks before verifying the MAC (cheap rejection) and accepts only after the MAC
verified, so a forged frame can never move the window.

The window assumes one stream: frames of one pass received by several ground stations
must be merged (duplicates removed, order restored as far as possible) before they
reach it, or the second copy of every frame is rejected as a replay. The gateway does
that merge; :func:`merge_by_sequence` is the helper for a batch.

Sequence numbers do not wrap here: an SA is rekeyed before its counter runs out
(355.0-B-2 requires a fresh key rather than a reused sequence), so plain integer
comparison is right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from comms.errors import UsageError
from comms.sdls.events import RejectReason

__all__ = ["ReplayWindow", "merge_by_sequence"]

_T = TypeVar("_T")


class ReplayWindow:
    """Sliding anti-replay window of ``width`` sequence numbers below the newest.

    ``top`` is the newest accepted number (None before the first); a window restored
    after a restart is built with ``top`` set and every number at or below it treated
    as seen, so nothing from before the restart is accepted again.
    """

    __slots__ = ("_bits", "forward_limit", "top", "width")

    def __init__(
        self, width: int = 64, *, top: int | None = None, forward_limit: int | None = None
    ) -> None:
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise UsageError(f"ReplayWindow.width must be a positive int, got {width!r}.")
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
            raise UsageError(f"ReplayWindow.top must be a non-negative int or None, got {top!r}.")
        self.width = width
        self.forward_limit = forward_limit
        self.top = top
        # Bit i set: number top - i was accepted. Restored windows start all-seen.
        self._bits = (1 << width) - 1 if top is not None else 0

    def check(self, sequence_number: int) -> RejectReason | None:
        """None if ``sequence_number`` would be accepted, else why not. Changes nothing."""
        top = self.top
        if top is None:
            return None
        if sequence_number > top:
            limit = self.forward_limit
            if limit is not None and sequence_number - top > limit:
                return RejectReason.OUTSIDE_WINDOW
            return None
        behind = top - sequence_number
        if behind >= self.width:
            return RejectReason.OUTSIDE_WINDOW
        if (self._bits >> behind) & 1:
            return RejectReason.REPLAY
        return None

    def accept(self, sequence_number: int) -> None:
        """Record ``sequence_number`` as received (call only after :meth:`check` passed)."""
        top = self.top
        if top is None:
            self.top = sequence_number
            self._bits = 1
        elif sequence_number > top:
            shift = sequence_number - top
            mask = (1 << self.width) - 1
            self._bits = ((self._bits << shift) | 1) & mask if shift < self.width else 1
            self.top = sequence_number
        else:
            self._bits |= 1 << (top - sequence_number)

    def __repr__(self) -> str:
        return f"ReplayWindow(width={self.width}, top={self.top})"


def merge_by_sequence(
    copies: Iterable[Iterable[_T]], sequence_number: Callable[[_T], int]
) -> list[_T]:
    """Merge what several stations received of one pass into one ordered stream.

    ``copies`` holds one iterable of frames per station, ``sequence_number`` reads a
    frame's number (e.g. with :func:`comms.sdls.engine.SecurityEngine.sequence_number_of`).
    Returns the frames ordered by number with identical copies dropped. Copies that
    differ under the same number are all kept, in station order: one may be damaged or
    forged, and only the MAC can tell, so the engine authenticates each and the window
    takes the first that verifies (the others are then counted as replays).
    """
    by_number: dict[int, list[_T]] = {}
    for station in copies:
        for frame in station:
            seen = by_number.setdefault(sequence_number(frame), [])
            if frame not in seen:
                seen.append(frame)
    return [frame for n in sorted(by_number) for frame in by_number[n]]
