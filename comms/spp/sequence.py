"""Packet sequence counts per APID (CCSDS 133.0-B-2 4.1.3.4.3).

The sending end keeps one 14-bit counter per APID, incremented by one for each packet
and wrapping from 16383 to 0 (:class:`SequenceCounter`). The receiving end can then
spot lost and repeated packets per APID (:class:`SequenceChecker`), reported as
:class:`SequenceGap` and :class:`SequenceDuplicate` events.

A 14-bit count cannot tell a gap of ``k`` packets from one of ``k + 16384``, nor a
replay from a very long gap; the checker's ``duplicate_window`` says how far behind the
last count a packet may be to count as a repeat rather than a gap. Left out: the
sequence count of TC packets used as a "packet name" (4.1.3.4.3.3), which missions
define for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from comms.errors import UsageError
from comms.spp.packet import IDLE_APID, MAX_SEQUENCE_COUNT, SpacePacket

__all__ = ["SequenceChecker", "SequenceCounter", "SequenceDuplicate", "SequenceGap"]

MODULUS = MAX_SEQUENCE_COUNT + 1


def _check_apid(apid: object) -> None:
    if isinstance(apid, bool) or not isinstance(apid, int) or not 0 <= apid <= IDLE_APID:
        raise UsageError(f"apid must be an integer from 0 to {IDLE_APID}, not {apid!r}.")


def _check_count(name: str, count: object) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count < MODULUS:
        raise UsageError(
            f"{name} must be an integer from 0 to {MAX_SEQUENCE_COUNT}, not {count!r}."
        )


class SequenceCounter:
    """The send side: the next packet sequence count for each APID.

    >>> counter = SequenceCounter()
    >>> counter.next(5), counter.next(5), counter.next(9)
    (0, 1, 0)
    """

    def __init__(self, start: dict[int, int] | None = None) -> None:
        """``start`` maps APIDs to the count their next packet gets (default 0)."""
        self._next: dict[int, int] = {}
        for apid, count in (start or {}).items():
            _check_apid(apid)
            _check_count("start count", count)
            self._next[apid] = count

    def next(self, apid: int) -> int:
        """The count for the next packet of ``apid``; advances the counter."""
        count = self._next.get(apid)
        if count is None:
            _check_apid(apid)
            count = 0
        self._next[apid] = (count + 1) % MODULUS
        return count

    def peek(self, apid: int) -> int:
        """The count the next packet of ``apid`` will get, without advancing."""
        _check_apid(apid)
        return self._next.get(apid, 0)


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Packets of ``apid`` went missing: ``missing`` counts from ``expected`` up to
    (not including) ``got``, modulo 16384."""

    apid: int
    expected: int
    got: int
    missing: int

    def __post_init__(self) -> None:
        _check_apid(self.apid)
        _check_count("expected", self.expected)
        _check_count("got", self.got)
        if self.missing != (self.got - self.expected) % MODULUS or self.missing == 0:
            raise UsageError(
                f"missing must be (got - expected) mod 16384 and non-zero, not {self.missing!r}."
            )


@dataclass(frozen=True, slots=True)
class SequenceDuplicate:
    """A packet of ``apid`` arrived with a count at or shortly before the last one seen
    (a repeat or a late packet). ``behind`` is how far before ``last``: 0 for an exact
    repeat."""

    apid: int
    last: int
    got: int
    behind: int

    def __post_init__(self) -> None:
        _check_apid(self.apid)
        _check_count("last", self.last)
        _check_count("got", self.got)
        if self.behind != (self.last - self.got) % MODULUS:
            raise UsageError(f"behind must be (last - got) mod 16384, not {self.behind!r}.")


class SequenceChecker:
    """The receive side: reports gaps and duplicates in each APID's sequence counts.

    ``receive(packet)`` (or ``receive_count(apid, count)``) returns the event this count
    causes, or None when it is the expected next one; the first packet of an APID sets
    the reference and is never an event. Counters: ``gaps``, ``missing``,
    ``duplicates``.

    ``duplicate_window`` (default 1): a count equal to one of the last
    ``duplicate_window`` counts accepted (the last one included) is a duplicate and
    does not move the reference back; any other unexpected count is a gap. The
    default treats only an exact repeat of the last packet as a duplicate, the case of
    one frame received twice; raise it for paths that reorder or replay, at the price of
    reading a gap of more than ``16384 - duplicate_window`` packets as a duplicate.
    Idle packets (APID 0x7FF) carry no meaningful count and are ignored by ``receive``.
    """

    def __init__(self, *, duplicate_window: int = 1) -> None:
        if (
            isinstance(duplicate_window, bool)
            or not isinstance(duplicate_window, int)
            or not 0 <= duplicate_window < MODULUS // 2
        ):
            raise UsageError(
                f"duplicate_window must be an integer from 0 to {MODULUS // 2 - 1}, "
                f"not {duplicate_window!r}."
            )
        self.duplicate_window = duplicate_window
        self._last: dict[int, int] = {}
        self.gaps = 0
        self.missing = 0
        self.duplicates = 0

    def receive(self, packet: SpacePacket) -> SequenceGap | SequenceDuplicate | None:
        """Check the count of ``packet`` against its APID's last one."""
        apid = packet.apid
        if apid == IDLE_APID:
            return None
        return self.receive_count(apid, packet.sequence_count)

    def receive_count(self, apid: int, count: int) -> SequenceGap | SequenceDuplicate | None:
        """Check ``count`` against the last count seen for ``apid``."""
        last = self._last.get(apid)
        if last is None:
            _check_apid(apid)
            _check_count("sequence count", count)
            self._last[apid] = count
            return None
        expected = (last + 1) % MODULUS
        if count == expected:
            self._last[apid] = count
            return None
        _check_count("sequence count", count)
        behind = (last - count) % MODULUS
        if behind < self.duplicate_window:
            self.duplicates += 1
            return SequenceDuplicate(apid, last, count, behind)
        missing = (count - expected) % MODULUS
        self._last[apid] = count
        self.gaps += 1
        self.missing += missing
        return SequenceGap(apid, expected, count, missing)

    def last(self, apid: int) -> int | None:
        """The last count accepted for ``apid`` (None before its first packet)."""
        return self._last.get(apid)

    def forget(self, apid: int | None = None) -> None:
        """Drop the reference count of ``apid`` (all APIDs if None), e.g. after a
        known restart of the source: its next packet is then not a gap."""
        if apid is None:
            self._last.clear()
        else:
            self._last.pop(apid, None)
