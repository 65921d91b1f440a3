"""Zero-copy reads of the Space Packet primary header (CCSDS 133.0-B-2 4.1.3).

For code that walks a receive buffer and only needs a field or two of each packet
(routing by APID, skipping to the next packet) without building a
:class:`~comms.spp.SpacePacket`:

- :func:`peek_apid`, :func:`peek_sequence_count`, :func:`peek_packet_length` read one
  field of the header that starts at ``offset``;
- :meth:`PrimaryHeader.unpack_from` reads all of them into a small named tuple.

All take any bytes-like buffer (bytes, bytearray, memoryview) and an offset, copy
nothing, and raise :class:`~comms.errors.DecodeError` when the buffer holds less than
a header from ``offset`` on; none of them checks the version field except
:meth:`PrimaryHeader.unpack_from`.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError
from comms.spp.packet import (
    IDLE_APID,
    MAX_DATA_LENGTH,
    MAX_SEQUENCE_COUNT,
    PRIMARY_HEADER_LENGTH,
    PacketType,
    SequenceFlags,
)

__all__ = [
    "PrimaryHeader",
    "peek_apid",
    "peek_packet_length",
    "peek_sequence_count",
]

_HEADER: Final = struct.Struct(">HHH")
_PACKET_TYPES: Final = (PacketType.TM, PacketType.TC)
_SEQUENCE_FLAGS: Final = tuple(SequenceFlags)
_tuple_new = tuple.__new__


def _short(buf: BytesLike, offset: int) -> DecodeError:
    return DecodeError(
        "buffer ends inside a Space Packet primary header",
        offset=offset,
        expected=f"{PRIMARY_HEADER_LENGTH} octets",
        got=max(0, len(buf) - offset),
    )


def peek_apid(buf: BytesLike, offset: int = 0) -> int:
    """APID of the packet whose header starts at ``buf[offset]``."""
    if offset < 0 or len(buf) - offset < PRIMARY_HEADER_LENGTH:
        raise _short(buf, offset)
    return (buf[offset] & 0x07) << 8 | buf[offset + 1]


def peek_sequence_count(buf: BytesLike, offset: int = 0) -> int:
    """Packet sequence count of the packet whose header starts at ``buf[offset]``."""
    if offset < 0 or len(buf) - offset < PRIMARY_HEADER_LENGTH:
        raise _short(buf, offset)
    return (buf[offset + 2] & 0x3F) << 8 | buf[offset + 3]


def peek_packet_length(buf: BytesLike, offset: int = 0) -> int:
    """Total octets (header included) of the packet whose header starts at ``buf[offset]``.

    The next packet in a contiguous buffer starts at ``offset + peek_packet_length(...)``.
    """
    if offset < 0 or len(buf) - offset < PRIMARY_HEADER_LENGTH:
        raise _short(buf, offset)
    return (buf[offset + 4] << 8 | buf[offset + 5]) + 7


class _Fields(NamedTuple):
    version: int
    packet_type: PacketType
    sec_header_flag: bool
    apid: int
    sequence_flags: SequenceFlags
    sequence_count: int
    data_length: int


class PrimaryHeader(_Fields):
    """The six header fields of a Space Packet, as a named tuple.

    ``data_length`` is the wire field (data field octets minus one). Public
    construction checks every field; :meth:`unpack_from` builds one straight from a
    buffer.
    """

    __slots__ = ()

    def __new__(
        cls,
        version: int = 0,
        packet_type: PacketType | int = PacketType.TM,
        sec_header_flag: bool = False,
        apid: int = 0,
        sequence_flags: SequenceFlags | int = SequenceFlags.UNSEGMENTED,
        sequence_count: int = 0,
        data_length: int = 0,
    ) -> PrimaryHeader:
        for name, value, high in (
            ("version", version, 7),
            ("packet_type", packet_type, 1),
            ("sec_header_flag", sec_header_flag, 1),
            ("apid", apid, IDLE_APID),
            ("sequence_flags", sequence_flags, 3),
            ("sequence_count", sequence_count, MAX_SEQUENCE_COUNT),
            ("data_length", data_length, MAX_DATA_LENGTH - 1),
        ):
            if not isinstance(value, int) or not 0 <= value <= high:
                raise UsageError(f"{name} must be an integer from 0 to {high}, not {value!r}.")
        return _tuple_new(
            cls,
            (
                version,
                _PACKET_TYPES[packet_type],
                bool(sec_header_flag),
                apid,
                _SEQUENCE_FLAGS[sequence_flags],
                sequence_count,
                data_length,
            ),
        )

    @classmethod
    def unpack_from(cls, buf: BytesLike, offset: int = 0) -> PrimaryHeader:
        """Read the header at ``buf[offset:offset + 6]``; refuses a version other than 0."""
        if offset < 0 or len(buf) - offset < PRIMARY_HEADER_LENGTH:
            raise _short(buf, offset)
        packet_id, sequence_control, data_length = _HEADER.unpack_from(buf, offset)
        if packet_id >> 13:
            raise DecodeError(
                "unsupported packet version number", offset=offset, expected=0, got=packet_id >> 13
            )
        return _tuple_new(
            cls,
            (
                0,
                _PACKET_TYPES[(packet_id >> 12) & 1],
                bool(packet_id & 0x0800),
                packet_id & 0x07FF,
                _SEQUENCE_FLAGS[sequence_control >> 14],
                sequence_control & 0x3FFF,
                data_length,
            ),
        )

    def pack(self) -> bytes:
        """The six header octets."""
        return _HEADER.pack(
            (self.version << 13)
            | (self.packet_type << 12)
            | (self.sec_header_flag << 11)
            | self.apid,
            (self.sequence_flags << 14) | self.sequence_count,
            self.data_length,
        )

    @property
    def packet_length(self) -> int:
        """Octets in the whole packet this header announces."""
        return self.data_length + 7

    @property
    def is_idle(self) -> bool:
        return self.apid == IDLE_APID
