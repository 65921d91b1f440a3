"""What the virtual channel receivers report: events and counters.

Events are small frozen dataclasses, nouns for what happened, drained with
``events()``; they are rare (a lost frame, a bad frame, an unknown channel), so they are
checked when built like every other value. Counters are plain mutable attributes that
the hot path bumps: :class:`VcCounters` per virtual channel and
:class:`MasterChannelCounters` per master channel.

Nothing here is on the wire; the names follow 132.0-B-3 / 732.0-B-4 (VC frame count,
first header pointer) and 232.0-B-4 (MAP) where they can.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from comms.errors import UsageError

__all__ = [
    "DiscardReason",
    "FrameGap",
    "FrameRejected",
    "MapAborted",
    "MasterChannelCounters",
    "PacketDiscarded",
    "RejectReason",
    "UnknownSpacecraft",
    "UnknownVirtualChannel",
    "VcCounters",
    "VcEvent",
]


def _check_nonneg(cls: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{cls}.{name} must be a non-negative int, got {value!r}.")


class DiscardReason(enum.Enum):
    """Why octets of a virtual channel were thrown away instead of delivered."""

    LOST_FRAME = "lost frame"
    """A frame of the channel went missing while a packet spanned it: the partial packet
    is dropped, never glued to the octets after the gap."""
    NO_HEADER = "no header"
    """Octets before the first header pointer of the first frame after a gap (the tail of
    a packet whose start was lost), or a frame without a packet start while out of sync."""
    POINTER_MISMATCH = "pointer mismatch"
    """The first header pointer says a packet starts where the partial packet has not
    ended (or has already ended): the frame and the partial disagree, the pointer wins."""
    BAD_PACKET_HEADER = "bad packet header"
    """A packet header with an unknown version, or a length beyond ``max_packet_length``:
    the rest of the frame is dropped and extraction resumes at the next first header
    pointer."""
    MISSING_SEGMENT = "missing segment"
    """TC MAP: a segment of a segmented packet is missing (a new first segment or an
    unsegmented unit arrived while one was being reassembled, or a continuation came
    without a first)."""
    TOO_LONG = "too long"
    """TC MAP: a reassembled unit grew beyond its bound."""
    BAD_UNIT = "bad unit"
    """TC MAP: a reassembled unit does not split into whole packets."""


@dataclass(frozen=True, slots=True)
class PacketDiscarded:
    """``octets`` of virtual channel ``vcid`` were thrown away for ``reason``."""

    vcid: int
    reason: DiscardReason
    octets: int

    def __post_init__(self) -> None:
        _check_nonneg("PacketDiscarded", "vcid", self.vcid)
        _check_nonneg("PacketDiscarded", "octets", self.octets)
        if not isinstance(self.reason, DiscardReason):
            raise UsageError(
                f"PacketDiscarded.reason must be a DiscardReason, got {self.reason!r}."
            )


@dataclass(frozen=True, slots=True)
class FrameGap:
    """Frames of ``vcid`` went missing: ``missing`` VC frame counts from ``expected`` up to
    (not including) ``got``, modulo the counter's range (256 for TM, 2^24 for AOS)."""

    vcid: int
    expected: int
    got: int
    missing: int

    def __post_init__(self) -> None:
        for name in ("vcid", "expected", "got"):
            _check_nonneg("FrameGap", name, getattr(self, name))
        if isinstance(self.missing, bool) or not isinstance(self.missing, int) or self.missing < 1:
            raise UsageError(f"FrameGap.missing must be a positive int, got {self.missing!r}.")


@dataclass(frozen=True, slots=True)
class UnknownVirtualChannel:
    """A frame of spacecraft ``scid`` arrived on a VCID the receiver was not told about."""

    scid: int
    vcid: int

    def __post_init__(self) -> None:
        _check_nonneg("UnknownVirtualChannel", "scid", self.scid)
        _check_nonneg("UnknownVirtualChannel", "vcid", self.vcid)


@dataclass(frozen=True, slots=True)
class UnknownSpacecraft:
    """A frame arrived with a spacecraft id other than the master channel's."""

    scid: int

    def __post_init__(self) -> None:
        _check_nonneg("UnknownSpacecraft", "scid", self.scid)


class RejectReason(enum.Enum):
    """Why a whole frame was refused."""

    FECF = "FECF mismatch"
    """The CRC over the frame did not check (a :class:`~comms.frames.FecfError`)."""
    LENGTH = "wrong length"
    """The frame is not as long as the managed frame length."""
    VERSION = "wrong version"
    """The transfer frame version number is not the protocol's."""
    MALFORMED = "malformed"
    """Anything else the frame decoder refused (flags against the managed parameters,
    an uncorrectable AOS header, a first header pointer beyond the data field)."""


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """A frame was refused for ``reason``; ``detail`` is a sentence for the log."""

    reason: RejectReason
    detail: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.reason, RejectReason):
            raise UsageError(f"FrameRejected.reason must be a RejectReason, got {self.reason!r}.")


@dataclass(frozen=True, slots=True)
class MapAborted:
    """TC: the unit being reassembled on MAP ``map_id`` of ``vcid`` was dropped
    (``octets`` received so far) for ``reason``."""

    vcid: int
    map_id: int
    reason: DiscardReason
    octets: int

    def __post_init__(self) -> None:
        for name in ("vcid", "map_id", "octets"):
            _check_nonneg("MapAborted", name, getattr(self, name))
        if not isinstance(self.reason, DiscardReason):
            raise UsageError(f"MapAborted.reason must be a DiscardReason, got {self.reason!r}.")


VcEvent = (
    PacketDiscarded
    | FrameGap
    | UnknownVirtualChannel
    | UnknownSpacecraft
    | FrameRejected
    | MapAborted
)
"""Any event a virtual channel machine reports."""


@dataclass(slots=True)
class VcCounters:
    """Running totals of one virtual channel (mutable; the receiver bumps them)."""

    frames: int = 0
    """Frames accepted on this VC (idle frames included)."""
    idle_frames: int = 0
    packets: int = 0
    """Packets delivered."""
    idle_packets: int = 0
    """Idle packets skipped (Space Packet APID 0x7FF, Encapsulation idle)."""
    gaps: int = 0
    """VC frame count discontinuities seen."""
    frames_missing: int = 0
    """Sum of the ``missing`` of every gap."""
    partials_discarded: int = 0
    """Partial packets dropped (lost frame, pointer mismatch, bad header)."""
    octets_discarded: int = 0


@dataclass(slots=True)
class MasterChannelCounters:
    """Running totals of one master channel receiver."""

    frames: int = 0
    """Frames handed in, good or bad."""
    crc_failures: int = 0
    rejected: int = 0
    """Frames refused for any reason other than the FECF."""
    idle_frames: int = 0
    """Idle frames (TM first header pointer 0x7FE, AOS VCID 63, USLP idle)."""
    unknown_vcid: int = 0
    unknown_scid: int = 0
    mc_gaps: int = 0
    """TM master channel frame count discontinuities."""
