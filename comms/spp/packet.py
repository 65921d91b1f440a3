"""The Space Packet value (CCSDS 133.0-B-2, Space Packet Protocol, section 4.1).

A :class:`SpacePacket` is the primary header fields plus the packet data field, which
holds the secondary header (if any) and the user data as one opaque ``bytes`` value:
133.0-B-2 leaves the secondary header format to the mission (4.1.4.2), so splitting it
off is the job of the mission's packet decoder, not of this module.

Left out: the Packet Service primitives and the managed parameters tables (4.1.3,
annex B); packet version numbers other than 0 are refused on decode (4.1.3.2.2: "shall be
set to 000"), though a caller may still build one to test a peer.

Design note (measured with ``python -m tools.bench spp``): the packet keeps its own
wire encoding as its only state and reads every header field from it on demand. Decode
is then one length/version check and one object allocation, encode is free, equality
and hashing are those of ``bytes``. A frozen dataclass with seven fields decoded about
six times slower; the fields cost two octet reads when you look at them.
"""

from __future__ import annotations

import struct
from enum import IntEnum
from typing import TYPE_CHECKING, Final

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError

if TYPE_CHECKING:
    from comms.spp.header import PrimaryHeader

__all__ = [
    "IDLE_APID",
    "MAX_DATA_LENGTH",
    "MAX_SEQUENCE_COUNT",
    "PRIMARY_HEADER_LENGTH",
    "PacketType",
    "SequenceFlags",
    "SpacePacket",
]

PRIMARY_HEADER_LENGTH: Final = 6
"""Octets in the primary header (4.1.3.1)."""

IDLE_APID: Final = 0x7FF
"""The APID reserved for idle packets (4.1.3.3.4.4: all ones)."""

MAX_APID: Final = 0x7FF
MAX_SEQUENCE_COUNT: Final = 0x3FFF
"""Largest packet sequence count; counts wrap modulo 16384 (4.1.3.4.3.2)."""

MAX_DATA_LENGTH: Final = 65536
"""Most octets in a packet data field (the 16-bit length field holds octets - 1)."""


class PacketType(IntEnum):
    """Packet type field (4.1.3.3.2): telemetry or telecommand."""

    TM = 0
    TC = 1


class SequenceFlags(IntEnum):
    """Sequence flags (4.1.3.4.2): where this packet sits in a segmented unit."""

    CONTINUATION = 0
    FIRST = 1
    LAST = 2
    UNSEGMENTED = 3


# Tuple lookups are several times faster than calling the enum on the hot path.
_PACKET_TYPES: Final = (PacketType.TM, PacketType.TC)
_SEQUENCE_FLAGS: Final = tuple(SequenceFlags)
_HEADER: Final = struct.Struct(">HHH")
_new = object.__new__


class SpacePacket:
    """One Space Packet: primary header fields and the whole packet data field.

    Build one by keyword; every field is checked and a bad one raises
    :class:`~comms.errors.UsageError`::

        >>> p = SpacePacket(apid=0x42, data=b"hello", sequence_count=7)
        >>> p.encode().hex(" ")
        '00 42 c0 07 00 04 68 65 6c 6c 6f'
        >>> SpacePacket.decode(p.encode()) == p
        True

    ``data`` is the packet data field: with ``sec_header_flag`` set, the secondary
    header is its first octets. Instances are immutable (every field is a read-only
    property; ``replace()`` makes a changed copy), compare and hash by value, and
    pickle.
    """

    # The wire encoding is the whole state (see the module docstring for why). No
    # __setattr__ guard: it would cost decode ~20 %, and the public fields are
    # read-only properties already.
    __slots__ = ("_raw",)
    _raw: bytes

    def __init__(
        self,
        *,
        apid: int,
        data: BytesLike,
        packet_type: PacketType | int = PacketType.TM,
        sec_header_flag: bool = False,
        sequence_flags: SequenceFlags | int = SequenceFlags.UNSEGMENTED,
        sequence_count: int = 0,
        version: int = 0,
    ) -> None:
        # Fast path for the usual argument types; anything else goes through the
        # full checks, which either normalise it or raise a UsageError that names it.
        if not (
            type(apid) is int
            and 0 <= apid <= MAX_APID
            and type(sequence_count) is int
            and 0 <= sequence_count <= MAX_SEQUENCE_COUNT
            and (packet_type is PacketType.TM or packet_type is PacketType.TC)
            and type(sequence_flags) is SequenceFlags
            and (sec_header_flag is False or sec_header_flag is True)
            and version == 0
            and type(version) is int
            and type(data) is bytes
            and 0 < len(data) <= MAX_DATA_LENGTH
        ):
            data = _check_fields(
                apid, data, packet_type, sec_header_flag, sequence_flags, sequence_count, version
            )
        self._raw = (
            _HEADER.pack(
                (version << 13) | (packet_type << 12) | (sec_header_flag << 11) | apid,
                (sequence_flags << 14) | sequence_count,
                len(data) - 1,
            )
            + data
        )

    # -- decode / encode -------------------------------------------------------------

    @classmethod
    def decode(cls, buf: BytesLike) -> SpacePacket:
        """Decode ``buf``, which must hold exactly one packet.

        Raises :class:`~comms.errors.DecodeError` for a buffer shorter than a header and
        one data octet, a version other than 0, or a length field that disagrees with
        the buffer (truncated packet or trailing octets).
        """
        # An attribute test, not a bytes() call: measurably faster for the usual bytes.
        raw = buf if buf.__class__ is bytes else bytes(buf)
        # One test for the good case; a buffer too short to index lands in the except
        # (try is free in 3.11, and a 6-octet buffer fails the length test anyway).
        try:
            if raw[0] < 0x20 and (raw[4] << 8 | raw[5]) + 7 == len(raw):
                packet = _new(cls)
                packet._raw = raw
                return packet
        except IndexError:
            pass
        raise _decode_error(raw)

    def encode(self) -> bytes:
        """The packet on the wire: primary header then data field."""
        return self._raw

    def __bytes__(self) -> bytes:
        return self._raw

    def __len__(self) -> int:
        """Octets on the wire (the packet length)."""
        return len(self._raw)

    @classmethod
    def _from_raw(cls, raw: bytes) -> SpacePacket:
        # Trusted constructor for callers that already checked raw (extractor, pickle).
        packet = _new(cls)
        packet._raw = raw
        return packet

    # -- fields ----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Packet version number (3 bits; 0 for every packet 133.0-B-2 defines)."""
        return self._raw[0] >> 5

    @property
    def packet_type(self) -> PacketType:
        return _PACKET_TYPES[(self._raw[0] >> 4) & 1]

    @property
    def sec_header_flag(self) -> bool:
        """Whether the data field starts with a secondary header."""
        return bool(self._raw[0] & 0x08)

    @property
    def apid(self) -> int:
        """Application process identifier (11 bits)."""
        raw = self._raw
        return (raw[0] & 0x07) << 8 | raw[1]

    @property
    def sequence_flags(self) -> SequenceFlags:
        return _SEQUENCE_FLAGS[self._raw[2] >> 6]

    @property
    def sequence_count(self) -> int:
        """Packet sequence count (14 bits, per APID, wrapping at 16384)."""
        raw = self._raw
        return (raw[2] & 0x3F) << 8 | raw[3]

    @property
    def data(self) -> bytes:
        """The packet data field (secondary header included)."""
        return self._raw[PRIMARY_HEADER_LENGTH:]

    @property
    def data_length(self) -> int:
        """The packet data length field as on the wire: data octets minus one."""
        return len(self._raw) - 7

    @property
    def packet_length(self) -> int:
        """Octets in the whole packet, primary header included."""
        return len(self._raw)

    @property
    def is_idle(self) -> bool:
        """Whether this is an idle packet (APID 0x7FF, 4.1.3.3.4.4)."""
        raw = self._raw
        return (raw[0] & 0x07) == 0x07 and raw[1] == 0xFF

    @property
    def header(self) -> PrimaryHeader:
        """All six header fields at once, as a :class:`~comms.spp.PrimaryHeader`."""
        from comms.spp.header import PrimaryHeader  # header.py imports this module

        return (
            PrimaryHeader.unpack_from(self._raw)
            if self.version == 0
            else PrimaryHeader(
                self.version,
                self.packet_type,
                self.sec_header_flag,
                self.apid,
                self.sequence_flags,
                self.sequence_count,
                self.data_length,
            )
        )

    def replace(
        self,
        *,
        apid: int | None = None,
        data: BytesLike | None = None,
        packet_type: PacketType | int | None = None,
        sec_header_flag: bool | None = None,
        sequence_flags: SequenceFlags | int | None = None,
        sequence_count: int | None = None,
        version: int | None = None,
    ) -> SpacePacket:
        """A copy with the given fields changed (and checked)."""
        return SpacePacket(
            apid=self.apid if apid is None else apid,
            data=self.data if data is None else data,
            packet_type=self.packet_type if packet_type is None else packet_type,
            sec_header_flag=self.sec_header_flag if sec_header_flag is None else sec_header_flag,
            sequence_flags=self.sequence_flags if sequence_flags is None else sequence_flags,
            sequence_count=self.sequence_count if sequence_count is None else sequence_count,
            version=self.version if version is None else version,
        )

    # -- value semantics -------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if type(other) is SpacePacket:
            return self._raw == other._raw
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._raw)

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        return (SpacePacket._from_raw, (self._raw,))

    def __repr__(self) -> str:
        data = self.data
        shown = repr(data) if len(data) <= 32 else f"<{len(data)} octets {data[:16].hex()}...>"
        version = f", version={self.version}" if self.version else ""
        return (
            f"SpacePacket(apid={self.apid:#05x}, packet_type=PacketType.{self.packet_type.name}, "
            f"sec_header_flag={self.sec_header_flag}, "
            f"sequence_flags=SequenceFlags.{self.sequence_flags.name}, "
            f"sequence_count={self.sequence_count}{version}, data={shown})"
        )


def _check_fields(
    apid: object,
    data: object,
    packet_type: object,
    sec_header_flag: object,
    sequence_flags: object,
    sequence_count: object,
    version: object,
) -> bytes:
    _check_int("version", version, 0, 7)
    _check_int("packet_type", packet_type, 0, 1)
    if not isinstance(sec_header_flag, bool | int) or sec_header_flag not in (0, 1):
        raise UsageError(f"sec_header_flag must be True or False, not {sec_header_flag!r}.")
    _check_int("apid", apid, 0, MAX_APID)
    _check_int("sequence_flags", sequence_flags, 0, 3)
    _check_int("sequence_count", sequence_count, 0, MAX_SEQUENCE_COUNT)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UsageError(f"data must be bytes, bytearray or memoryview, not {type(data).__name__}.")
    data = bytes(data)
    if not 1 <= len(data) <= MAX_DATA_LENGTH:
        raise UsageError(
            f"A Space Packet data field holds 1 to {MAX_DATA_LENGTH} octets "
            f"(133.0-B-2 4.1.4.1); got {len(data)}. Split larger units with "
            "comms.spp.segment()."
        )
    return data


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise UsageError(f"{name} must be an integer from {low} to {high}, not {value!r}.")


def _decode_error(raw: bytes) -> DecodeError:
    n = len(raw)
    if n < 7:
        return DecodeError(
            "Space Packet shorter than a primary header and one data octet",
            offset=n,
            expected="at least 7 octets",
            got=n,
        )
    if raw[0] >> 5:
        return DecodeError(
            "unsupported packet version number", offset=0, expected=0, got=raw[0] >> 5
        )
    declared = (raw[4] << 8 | raw[5]) + 7
    if n < declared:
        return DecodeError(
            "Space Packet truncated (packet data length field says more)",
            offset=n,
            expected=f"{declared} octets",
            got=n,
        )
    return DecodeError(
        "trailing octets after the Space Packet",
        offset=declared,
        expected=f"{declared} octets",
        got=n,
    )
