"""Units larger than one packet, carried with the sequence flags (CCSDS 133.0-B-2
4.1.3.4.2).

:func:`segment` cuts a unit of user data into packets of at most ``max_data_length``
data octets flagged FIRST, CONTINUATION..., LAST (one UNSEGMENTED packet when it
fits), with consecutive sequence counts from a :class:`~comms.spp.SequenceCounter`.
:class:`Reassembler` puts units back together per APID and reports each outcome as an
event: :class:`UnitReassembled`, or :class:`SegmentMissing` with an
:class:`AbortReason` when a unit cannot be completed. It never glues segments across a
gap: a sequence count jump inside a unit aborts it, and the rest of that unit is
discarded (counted, not reported again) until the next FIRST or UNSEGMENTED packet.

133.0-B-2 keeps the flags "for compatibility" and leaves segmentation to the user of
the service; the segments here carry slices of the unit and no secondary header
(a unit that needs one carries it in its own first octets). Left out: interleaving
several units of one APID (the flags cannot express it) and time-outs for a unit whose
LAST never comes (call ``abort()`` when you know the stream broke, e.g. after
``PacketExtractor.gap()``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.errors import UsageError
from comms.spp.packet import (
    IDLE_APID,
    MAX_DATA_LENGTH,
    MAX_SEQUENCE_COUNT,
    PacketType,
    SequenceFlags,
    SpacePacket,
)
from comms.spp.sequence import SequenceCounter

__all__ = ["AbortReason", "Reassembler", "SegmentMissing", "UnitReassembled", "segment"]

_MODULUS: Final = MAX_SEQUENCE_COUNT + 1
DEFAULT_MAX_UNIT_LENGTH: Final = 1 << 20


def segment(
    unit: BytesLike,
    *,
    apid: int,
    max_data_length: int = MAX_DATA_LENGTH,
    counter: SequenceCounter | None = None,
    packet_type: PacketType | int = PacketType.TM,
) -> list[SpacePacket]:
    """Cut ``unit`` into packets of at most ``max_data_length`` data octets.

    Counts come from ``counter`` (a fresh one starting at 0 if None), so segments of
    one unit have consecutive counts, as the reassembler requires.

    >>> packets = segment(b"x" * 10, apid=1, max_data_length=4)
    >>> [(p.sequence_flags.name, len(p.data)) for p in packets]
    [('FIRST', 4), ('CONTINUATION', 4), ('LAST', 2)]
    """
    if (
        isinstance(max_data_length, bool)
        or not isinstance(max_data_length, int)
        or not 1 <= max_data_length <= MAX_DATA_LENGTH
    ):
        raise UsageError(
            f"max_data_length must be an integer from 1 to {MAX_DATA_LENGTH}, "
            f"not {max_data_length!r}."
        )
    if not isinstance(unit, bytes | bytearray | memoryview):
        raise UsageError(f"unit must be bytes-like, not {type(unit).__name__}.")
    data = bytes(unit)
    if not data:
        raise UsageError("An empty unit cannot be sent: a Space Packet carries 1 octet or more.")
    if counter is None:
        counter = SequenceCounter()
    counter.peek(apid)  # checks apid before any count is drawn
    pieces = [data[i : i + max_data_length] for i in range(0, len(data), max_data_length)]
    if len(pieces) == 1:
        flags = [SequenceFlags.UNSEGMENTED]
    else:
        flags = [SequenceFlags.FIRST]
        flags += [SequenceFlags.CONTINUATION] * (len(pieces) - 2)
        flags.append(SequenceFlags.LAST)
    return [
        SpacePacket(
            apid=apid,
            data=piece,
            packet_type=packet_type,
            sequence_flags=flag,
            sequence_count=counter.next(apid),
        )
        for piece, flag in zip(pieces, flags, strict=True)
    ]


class AbortReason(enum.Enum):
    """Why a unit could not be completed."""

    SEQUENCE_GAP = "sequence count jump inside the unit"
    NO_FIRST = "continuation or last segment without a first"
    FIRST_WHILE_OPEN = "first segment while a unit was open"
    UNSEGMENTED_WHILE_OPEN = "unsegmented packet while a unit was open"
    TOO_LONG = "unit longer than max_unit_length"
    ABORTED = "abort() called, e.g. after a stream gap"


@dataclass(frozen=True, slots=True)
class UnitReassembled:
    """A complete unit of ``apid``: ``segments`` packets from ``first_sequence_count``."""

    apid: int
    data: bytes
    first_sequence_count: int
    segments: int

    def __post_init__(self) -> None:
        if not 0 <= self.apid <= IDLE_APID or not 0 <= self.first_sequence_count < _MODULUS:
            raise UsageError("apid or first_sequence_count out of range.")
        if self.segments < 1 or not self.data:
            raise UsageError("A unit has at least one segment and one octet.")


@dataclass(frozen=True, slots=True)
class SegmentMissing:
    """A unit of ``apid`` was abandoned.

    ``sequence_count`` is that of the packet that revealed the problem,
    ``discarded_segments``/``discarded_octets`` what was thrown away with it (the open
    unit's segments, plus that packet if it could not start a new unit).
    """

    apid: int
    reason: AbortReason
    sequence_count: int | None
    discarded_segments: int
    discarded_octets: int

    def __post_init__(self) -> None:
        if not isinstance(self.reason, AbortReason):
            raise UsageError(f"reason must be an AbortReason, not {self.reason!r}.")
        if self.discarded_segments < 0 or self.discarded_octets < 0:
            raise UsageError("discarded counts cannot be negative.")


class _Unit:
    __slots__ = ("first_count", "last_count", "length", "pieces")

    def __init__(self, packet: SpacePacket) -> None:
        self.pieces = [packet.data]
        self.first_count = self.last_count = packet.sequence_count
        self.length = len(self.pieces[0])


class Reassembler:
    """Per-APID reassembly of segmented units.

    ``receive(packet)`` takes packets in arrival order; ``events()`` drains
    :class:`UnitReassembled` and :class:`SegmentMissing` events. Idle packets are
    ignored. Counters: ``units``, ``aborted``, ``discarded_segments``.

    ``max_unit_length`` (default 1 MiB) bounds the octets held for one APID: the
    standard sets no limit, and without one a lost LAST segment lets a unit grow
    forever. Unsegmented packets are delivered whatever their size (nothing is held).
    """

    def __init__(self, *, max_unit_length: int = DEFAULT_MAX_UNIT_LENGTH) -> None:
        if isinstance(max_unit_length, bool) or not isinstance(max_unit_length, int):
            raise UsageError(f"max_unit_length must be an integer, not {max_unit_length!r}.")
        if max_unit_length < 1:
            raise UsageError(f"max_unit_length must be at least 1, not {max_unit_length}.")
        self.max_unit_length = max_unit_length
        self._open: dict[int, _Unit] = {}
        # APIDs whose current unit was abandoned: swallow its remaining segments quietly.
        self._skipping: set[int] = set()
        self._events: list[UnitReassembled | SegmentMissing] = []
        self.units = 0
        self.aborted = 0
        self.discarded_segments = 0

    def events(self) -> list[UnitReassembled | SegmentMissing]:
        """Drain the events gathered since the last call."""
        events, self._events = self._events, []
        return events

    def open_units(self) -> dict[int, int]:
        """Octets held per APID with a unit in progress."""
        return {apid: unit.length for apid, unit in self._open.items()}

    def abort(self, apid: int | None = None) -> None:
        """Abandon the open unit of ``apid`` (of every APID if None)."""
        for key in list(self._open) if apid is None else [apid]:
            unit = self._open.pop(key, None)
            if unit is not None:
                self._abort(key, unit, AbortReason.ABORTED, None, 0, 0)
                self._skipping.add(key)

    def receive(self, packet: SpacePacket) -> None:
        """Take the next packet (of any APID)."""
        apid = packet.apid
        if apid == IDLE_APID:
            return
        flags = packet.sequence_flags
        count = packet.sequence_count
        unit = self._open.get(apid)

        if flags is SequenceFlags.UNSEGMENTED or flags is SequenceFlags.FIRST:
            self._skipping.discard(apid)
            if unit is not None:
                del self._open[apid]
                reason = (
                    AbortReason.FIRST_WHILE_OPEN
                    if flags is SequenceFlags.FIRST
                    else AbortReason.UNSEGMENTED_WHILE_OPEN
                )
                self._abort(apid, unit, reason, count, 0, 0)
            if flags is SequenceFlags.UNSEGMENTED:
                self._deliver(apid, packet.data, count, 1)
                return
            unit = _Unit(packet)
            if unit.length > self.max_unit_length:
                self._abort(apid, unit, AbortReason.TOO_LONG, count, 0, 0)
                self._skipping.add(apid)
            else:
                self._open[apid] = unit
            return

        # CONTINUATION or LAST
        last = flags is SequenceFlags.LAST
        size = packet.data_length + 1
        if unit is None:
            if apid in self._skipping:
                self.discarded_segments += 1
                if last:
                    self._skipping.discard(apid)
                return
            self._report(apid, AbortReason.NO_FIRST, count, 1, size)
            self.discarded_segments += 1
            if not last:
                self._skipping.add(apid)
            return
        if count != (unit.last_count + 1) % _MODULUS:
            reason = AbortReason.SEQUENCE_GAP
        elif unit.length + size > self.max_unit_length:
            reason = AbortReason.TOO_LONG
        else:
            unit.pieces.append(packet.data)
            unit.length += size
            unit.last_count = count
            if last:
                del self._open[apid]
                self._deliver(apid, b"".join(unit.pieces), unit.first_count, len(unit.pieces))
            return
        del self._open[apid]
        self.discarded_segments += 1
        self._abort(apid, unit, reason, count, 1, size)
        if not last:
            self._skipping.add(apid)

    def _deliver(self, apid: int, data: bytes, first_count: int, segments: int) -> None:
        self.units += 1
        self._events.append(UnitReassembled(apid, data, first_count, segments))

    def _abort(
        self,
        apid: int,
        unit: _Unit,
        reason: AbortReason,
        count: int | None,
        extra_segments: int,
        extra_octets: int,
    ) -> None:
        self.discarded_segments += len(unit.pieces)
        self._report(
            apid, reason, count, len(unit.pieces) + extra_segments, unit.length + extra_octets
        )

    def _report(
        self, apid: int, reason: AbortReason, count: int | None, segments: int, octets: int
    ) -> None:
        self.aborted += 1
        self._events.append(SegmentMissing(apid, reason, count, segments, octets))
