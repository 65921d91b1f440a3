"""Encapsulation Packets (CCSDS 133.1-B-3, Encapsulation Packet Protocol).

An Encapsulation Packet carries one protocol data unit that is not a Space Packet (an LTP
segment, a bundle, a CFDP PDU, an IP datagram behind IPE) over the same packet service:
the packet version number '111' (7) tells it apart from a Space Packet (version '000')
inside a packet zone (133.1-B-3 4.1.2.2).

Header (4.1.2), big-endian, its length fixed by the Length of Length:

=========  ======================================================================
LoL        header
=========  ======================================================================
``00``     1 octet: version(3) protocol_id(3) LoL(2); an Encapsulation Idle Packet
           of exactly one octet, no Packet Length, no data (4.1.2.4.4)
``01``     2 octets: ... + Packet Length (8)
``10``     4 octets: ... + User Defined Field (4) + Protocol ID Extension (4)
           + Packet Length (16)
``11``     8 octets: ... + User Defined Field (4) + Protocol ID Extension (4)
           + CCSDS Defined Field (16) + Packet Length (32)
=========  ======================================================================

The Packet Length counts every octet of the packet, header included (4.1.2); it is not
"length minus one" as in the Space Packet. Protocol IDs are the SANA "Protocol
Identifier" registry values (4.1.2.3, :class:`ProtocolId`); '110' says the protocol is
named by the Protocol ID Extension, '111' is mission-specific.

What this module adds beyond the book: the encoder picks the smallest Length of Length
that fits unless one is forced, and :class:`EncapsulationPacketExtractor` pulls packets
out of a byte stream split anywhere.

Left out: the Encapsulation Service interface (its service primitives) and the IPE
octets inside the data field (135.0-B / 702.1-B: they belong to the IP layer above). The
CCSDS Defined Field is carried as read, not checked to be zero, so a later issue of the
book that assigns it does not make this decoder drop packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError

__all__ = [
    "ENCAPSULATION_VERSION",
    "EncapsulationPacket",
    "EncapsulationPacketExtractor",
    "ProtocolId",
    "SkippedOctets",
    "header_length",
    "packet_length",
]

ENCAPSULATION_VERSION = 0b111
"""Packet Version Number of an Encapsulation Packet (133.1-B-3 4.1.2.2; SANA registry)."""

# Header length and Packet Length field width by Length of Length (4.1.2.4).
_HEADER_LENGTH = (1, 2, 4, 8)
_LENGTH_FIELD_OCTETS = (0, 1, 2, 4)
_MAX_PACKET_LENGTH = (1, 0xFF, 0xFFFF, 0xFFFF_FFFF)


class ProtocolId(IntEnum):
    """Protocol ID values (133.1-B-3 4.1.2.3; SANA Protocol Identifier registry).

    '101' is unassigned; the decoder still accepts it (a reserved value is a registry
    question, not a framing error) and exposes it as a plain ``int``.
    """

    IDLE = 0b000
    LTP = 0b001
    IPE = 0b010
    CFDP = 0b011
    BP = 0b100
    EXTENDED = 0b110
    MISSION_SPECIFIC = 0b111


_ASSIGNED = frozenset(int(p) for p in ProtocolId)


def header_length(first_octet: int) -> int:
    """Header length in octets (1, 2, 4 or 8) told by the first octet's Length of Length."""
    return _HEADER_LENGTH[first_octet & 0b11]


def packet_length(prefix: BytesLike) -> int | None:
    """Total packet length told by the start of a header, or None if more octets are needed.

    For stream extraction: hand in whatever has arrived (one octet is enough for an idle
    packet, at most eight for any header). Raises :class:`DecodeError` when the prefix
    cannot start an Encapsulation Packet (wrong version, a one-octet header that is not
    idle, a Packet Length shorter than the header).
    """
    if not prefix:
        return None
    first = prefix[0]
    _check_first_octet(first, 0)
    lol = first & 0b11
    hlen = _HEADER_LENGTH[lol]
    if lol == 0:
        return 1
    if len(prefix) < hlen:
        return None
    width = _LENGTH_FIELD_OCTETS[lol]
    total = int.from_bytes(prefix[hlen - width : hlen], "big")
    if total < hlen:
        raise DecodeError(
            "Packet Length shorter than the header",
            offset=hlen - width,
            expected=f">= {hlen}",
            got=total,
        )
    return total


def _check_first_octet(first: int, offset: int) -> None:
    version = first >> 5
    if version != ENCAPSULATION_VERSION:
        raise DecodeError(
            "not an Encapsulation Packet (packet version number)",
            offset=offset,
            expected=ENCAPSULATION_VERSION,
            got=version,
        )
    if first & 0b11 == 0 and (first >> 2) & 0b111 != ProtocolId.IDLE:
        # 4.1.2.4.4: a Length of Length of '00' is only allowed for the idle packet.
        raise DecodeError(
            "Length of Length '00' with a Protocol ID other than idle",
            offset=offset,
            expected=0,
            got=(first >> 2) & 0b111,
        )


@dataclass(frozen=True, slots=True)
class EncapsulationPacket:
    """One Encapsulation Packet (133.1-B-3 4.1).

    ``length_of_length`` None picks the smallest header that carries the fields and the
    length: a user-defined field, a protocol id extension or a CCSDS-defined field need the
    4- or 8-octet header; the 1-octet header only holds an empty idle packet. Pass 0..3 to
    force one (for instance 1 for a two-octet idle packet). After construction the field
    holds the value used.
    """

    protocol_id: int
    data: bytes = b""
    user_defined: int = 0
    protocol_id_extension: int = 0
    ccsds_defined: int = 0
    length_of_length: int | None = field(default=None, compare=True)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            if not isinstance(self.data, bytearray | memoryview):
                raise UsageError(
                    f"data must be bytes, bytearray or memoryview, not {type(self.data).__name__}."
                )
            object.__setattr__(self, "data", bytes(self.data))
        if not 0 <= self.protocol_id <= 7:
            raise UsageError(f"protocol_id must be 0..7 (3 bits), not {self.protocol_id}.")
        if self.protocol_id in _ASSIGNED:
            object.__setattr__(self, "protocol_id", ProtocolId(self.protocol_id))
        if not 0 <= self.user_defined <= 0xF:
            raise UsageError(f"user_defined must be 0..15 (4 bits), not {self.user_defined}.")
        if not 0 <= self.protocol_id_extension <= 0xF:
            raise UsageError(
                f"protocol_id_extension must be 0..15 (4 bits), not {self.protocol_id_extension}."
            )
        if self.protocol_id_extension and self.protocol_id != ProtocolId.EXTENDED:
            raise UsageError(
                "protocol_id_extension is only meaningful with protocol_id EXTENDED (6); "
                f"set protocol_id=6 or leave the extension 0 (got {self.protocol_id_extension})."
            )
        if not 0 <= self.ccsds_defined <= 0xFFFF:
            raise UsageError(f"ccsds_defined must be 0..65535 (16 bits), not {self.ccsds_defined}.")
        lol = self.length_of_length
        smallest = self._smallest_length_of_length()
        if lol is None:
            lol = smallest
            object.__setattr__(self, "length_of_length", lol)
        elif not 0 <= lol <= 3:
            raise UsageError(f"length_of_length must be 0..3 or None, not {lol}.")
        elif lol < smallest:
            raise UsageError(
                f"length_of_length {lol} cannot carry this packet "
                f"({self._why_not(lol)}); use {smallest} or more, or None to choose."
            )

    def _smallest_length_of_length(self) -> int:
        for lol in range(4):
            if self._fits(lol):
                return lol
        raise UsageError(
            f"data of {len(self.data)} octets does not fit an Encapsulation Packet "
            f"(at most {0xFFFF_FFFF - 8} octets)."
        )

    def _fits(self, lol: int) -> bool:
        if lol == 0:
            return (
                self.protocol_id == ProtocolId.IDLE
                and not self.data
                and not (self.user_defined or self.ccsds_defined)
            )
        if lol < 2 and (
            self.user_defined
            or self.protocol_id_extension
            or self.protocol_id == ProtocolId.EXTENDED
        ):
            return False
        if lol < 3 and self.ccsds_defined:
            return False
        return _HEADER_LENGTH[lol] + len(self.data) <= _MAX_PACKET_LENGTH[lol]

    def _why_not(self, lol: int) -> str:
        if lol == 0:
            return "the one-octet header is only for an empty idle packet with no other fields"
        if lol < 2 and (self.user_defined or self.protocol_id == ProtocolId.EXTENDED):
            return "a two-octet header has no user-defined or protocol id extension field"
        if lol < 3 and self.ccsds_defined:
            return "only the eight-octet header has a CCSDS-defined field"
        return f"{_HEADER_LENGTH[lol] + len(self.data)} octets exceed {_MAX_PACKET_LENGTH[lol]}"

    @property
    def header_length(self) -> int:
        """Header octets: 1, 2, 4 or 8."""
        assert self.length_of_length is not None
        return _HEADER_LENGTH[self.length_of_length]

    @property
    def packet_length(self) -> int:
        """The Packet Length field: every octet of the packet, header included (4.1.2)."""
        return self.header_length + len(self.data)

    @property
    def is_idle(self) -> bool:
        """True for an Encapsulation Idle Packet (Protocol ID '000'); its data is fill."""
        return self.protocol_id == ProtocolId.IDLE

    @classmethod
    def idle(cls, length: int = 1) -> EncapsulationPacket:
        """An idle packet of exactly ``length`` octets (fill for a packet zone)."""
        if length < 1:
            raise UsageError(f"an idle packet is at least 1 octet long, not {length}.")
        if length == 1:
            return cls(ProtocolId.IDLE)
        for lol in (1, 2, 3):
            hlen = _HEADER_LENGTH[lol]
            if hlen <= length <= _MAX_PACKET_LENGTH[lol]:
                return cls(ProtocolId.IDLE, bytes(length - hlen), length_of_length=lol)
        raise UsageError(
            f"an idle packet of {length} octets does not fit; the most is {0xFFFF_FFFF}."
        )

    def encode(self) -> bytes:
        lol = self.length_of_length
        assert lol is not None
        first = (ENCAPSULATION_VERSION << 5) | (self.protocol_id << 2) | lol
        if lol == 0:
            return bytes((first,))
        total = _HEADER_LENGTH[lol] + len(self.data)
        if lol == 1:
            header = bytes((first, total))
        else:
            second = (self.user_defined << 4) | self.protocol_id_extension
            if lol == 2:
                header = bytes((first, second)) + total.to_bytes(2, "big")
            else:
                header = (
                    bytes((first, second))
                    + self.ccsds_defined.to_bytes(2, "big")
                    + total.to_bytes(4, "big")
                )
        return header + self.data

    @classmethod
    def decode(cls, buf: BytesLike) -> EncapsulationPacket:
        """Decode exactly one packet; extra or missing octets raise :class:`DecodeError`."""
        packet, end = cls.decode_from(buf)
        if end != len(buf):
            raise DecodeError(
                "octets after the end of the Encapsulation Packet",
                offset=end,
                expected=f"{end} octets",
                got=f"{len(buf)} octets",
            )
        return packet

    @classmethod
    def decode_from(cls, buf: BytesLike, offset: int = 0) -> tuple[EncapsulationPacket, int]:
        """Decode the packet starting at ``offset``; return it and the offset just past it."""
        if offset >= len(buf):
            raise DecodeError("empty buffer", offset=offset, expected="an Encapsulation Packet")
        view = memoryview(buf)[offset:]
        total = packet_length(view)
        lol = view[0] & 0b11
        hlen = _HEADER_LENGTH[lol]
        if total is None or total > len(view):
            raise DecodeError(
                "truncated Encapsulation Packet",
                offset=offset + len(view),
                expected=f"{total if total is not None else hlen} octets",
                got=f"{len(view)} octets",
            )
        protocol_id = (view[0] >> 2) & 0b111
        user_defined = extension = ccsds_defined = 0
        if lol >= 2:
            user_defined = view[1] >> 4
            extension = view[1] & 0xF
            if extension and protocol_id != ProtocolId.EXTENDED:
                raise DecodeError(
                    "Protocol ID Extension set without Protocol ID '110'",
                    offset=offset + 1,
                    expected=0,
                    got=extension,
                )
            if lol == 3:
                ccsds_defined = (view[2] << 8) | view[3]
        elif protocol_id == ProtocolId.EXTENDED:
            raise DecodeError(
                "Protocol ID '110' in a header without a Protocol ID Extension",
                offset=offset,
                expected="Length of Length '10' or '11'",
                got=lol,
            )
        packet = cls(
            protocol_id,
            bytes(view[hlen:total]),
            user_defined,
            extension,
            ccsds_defined,
            lol,
        )
        return packet, offset + total


@dataclass(frozen=True, slots=True)
class SkippedOctets:
    """Octets the extractor could not read as a packet header, reported rather than lost."""

    data: bytes


class EncapsulationPacketExtractor:
    """Sans-I/O extraction of Encapsulation Packets from a byte stream, split anywhere.

    ``feed(chunk)`` returns, in stream order, every packet completed by the chunk and
    every run of octets skipped while hunting for a header (:class:`SkippedOctets`).
    A header is skipped, one octet at a time, when its version is not 7, its one-octet
    form is not idle, its Packet Length is shorter than its header, or it claims more than
    ``max_packet_length`` octets (the guard that keeps a corrupt 32-bit length from
    swallowing the stream; the default, 65 544, is a 64 KiB payload in the 8-octet header;
    raise it if your link carries larger packets). ``flush()`` returns what is left at
    the end of the stream as skipped octets.
    """

    def __init__(self, max_packet_length: int = 0x1_0008) -> None:
        if max_packet_length < 1:
            raise UsageError(f"max_packet_length must be at least 1, not {max_packet_length}.")
        self.max_packet_length = max_packet_length
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Octets held waiting for the rest of a packet."""
        return len(self._buf)

    def feed(self, chunk: BytesLike) -> list[EncapsulationPacket | SkippedOctets]:
        self._buf += chunk
        out: list[EncapsulationPacket | SkippedOctets] = []
        buf = self._buf
        pos = 0
        skip_start = -1
        n = len(buf)
        while pos < n:
            # Slices of the bytearray are copies: no memoryview may outlive this loop, or
            # the ``del buf[:pos]`` below could not resize the buffer.
            try:
                total = packet_length(buf[pos : pos + 8])
                if total is not None and total > self.max_packet_length:
                    raise DecodeError("oversized", offset=pos)
                if total is not None and total <= n - pos:
                    packet = EncapsulationPacket.decode(buf[pos : pos + total])
            except DecodeError:
                if skip_start < 0:
                    skip_start = pos
                pos += 1
                continue
            if total is None or total > n - pos:
                break  # a plausible header whose packet has not all arrived
            if skip_start >= 0:
                out.append(SkippedOctets(bytes(buf[skip_start:pos])))
                skip_start = -1
            out.append(packet)
            pos += total
        if skip_start >= 0:
            out.append(SkippedOctets(bytes(buf[skip_start:pos])))
        del buf[:pos]
        return out

    def flush(self) -> list[SkippedOctets]:
        """End of stream: whatever is held can no longer complete a packet."""
        if not self._buf:
            return []
        rest = SkippedOctets(bytes(self._buf))
        self._buf.clear()
        return [rest]
