"""Scapy layers for the transfer frame primary headers of TM, TC, AOS and USLP.

Each layer dissects and builds one primary header as bit fields named like the fields of
the matching :mod:`comms.frames` value; everything after the header (secondary header or
insert zone, data field, OCF, FECF) is the layer's payload (``Raw``), because where
those parts end is a managed parameter the header does not carry:

- :class:`TmFrame`: 132.0-B-3 4.1.2, 6 octets;
- :class:`TcFrame`: 232.0-B-4 4.1.2, 5 octets; ``frame_length`` (octets - 1) is computed
  on build when left unset;
- :class:`AosFrame`: 732.0-B-4 4.1.2, 6 octets (the optional FHEC is payload);
- :class:`UslpFrame`: 732.1-B-2 4.1.2, 4 octets for a truncated frame, else 7 plus the
  0..7-octet VC frame count; ``frame_length`` computed on build when unset.

So ``raw(TmFrame(...) / Raw(rest))`` equals :meth:`comms.frames.TmFrame.encode` for the
same fields when ``rest`` is the encoded frame after its header (FECF included: the
layers never compute a FECF, so that bad frames can be crafted too). No field is checked
beyond its width; :mod:`comms.frames` has the validating decoders.

Left out: the secondary header, insert zone, FHEC, TFDF header, OCF and FECF as fields
(they need the managed parameters), and any UDP binding done at import (there is no
registered port; call :func:`bind_udp_port`).
"""

from __future__ import annotations

from typing import Any

from scapy.fields import (
    BitEnumField,
    BitField,
    ConditionalField,
    Field,
    ShortField,
    XBitField,
)
from scapy.layers.inet import UDP
from scapy.packet import Packet, bind_layers

from comms.errors import DecodeError, UsageError

__all__ = ["AosFrame", "TcFrame", "TmFrame", "UslpFrame", "bind_udp_port"]


def _need(s: bytes, octets: int, what: str) -> None:
    # scapy would let struct.error out of a short buffer; at the top level we raise the
    # documented error of every comms decoder instead (under UDP scapy makes it Raw).
    if len(s) < octets:
        raise DecodeError(
            f"{what} primary header truncated",
            offset=len(s),
            expected=f"{octets} octets",
            got=len(s),
        )


class TmFrame(Packet):
    """TM Transfer Frame primary header (132.0-B-3 4.1.2); the rest is payload."""

    name = "CCSDS TM Transfer Frame"
    fields_desc = [  # noqa: RUF012 -- scapy's declared field list, not a shared mutable
        BitField("version", 0, 2),
        XBitField("scid", 0, 10),
        BitField("vcid", 0, 3),
        BitField("ocf_flag", 0, 1),
        BitField("mc_frame_count", 0, 8),
        BitField("vc_frame_count", 0, 8),
        BitField("sec_header_flag", 0, 1),
        BitField("sync_flag", 0, 1),
        BitField("packet_order_flag", 0, 1),
        BitField("segment_length_id", 3, 2),
        XBitField("first_header_pointer", 0, 11),
    ]

    def pre_dissect(self, s: bytes) -> bytes:
        _need(s, 6, "TM frame")
        return s

    def mysummary(self) -> str:
        return str(
            self.sprintf(
                "TmFrame scid=%scid% vcid=%vcid% mc=%mc_frame_count% vc=%vc_frame_count% "
                "fhp=%first_header_pointer%"
            )
        )


class TcFrame(Packet):
    """TC Transfer Frame primary header (232.0-B-4 4.1.2); the rest is payload."""

    name = "CCSDS TC Transfer Frame"
    fields_desc = [  # noqa: RUF012
        BitField("version", 0, 2),
        BitEnumField("bypass_flag", 0, 1, {0: "AD", 1: "BD"}),
        BitEnumField("control_command_flag", 0, 1, {0: "data", 1: "control"}),
        BitField("spare", 0, 2),
        XBitField("scid", 0, 10),
        BitField("vcid", 0, 6),
        BitField("frame_length", None, 10),  # octets - 1; computed when None
        BitField("frame_sequence_number", 0, 8),
    ]

    def pre_dissect(self, s: bytes) -> bytes:
        _need(s, 5, "TC frame")
        return s

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.frame_length is None:
            length = len(pkt) + len(pay)
            if not 6 <= length <= 1024:
                raise UsageError(
                    f"A TC frame is 6 to 1024 octets (232.0-B-4 4.1.2.7), not {length}; "
                    "add a data field, e.g. TcFrame()/Raw(b'...')."
                )
            word = (self.vcid << 10) | (length - 1)
            pkt = pkt[:2] + word.to_bytes(2, "big") + pkt[4:]
        return pkt + pay

    def mysummary(self) -> str:
        return str(
            self.sprintf(
                "TcFrame %bypass_flag% %control_command_flag% scid=%scid% vcid=%vcid% "
                "len=%frame_length% seq=%frame_sequence_number%"
            )
        )


class AosFrame(Packet):
    """AOS Transfer Frame primary header (732.0-B-4 4.1.2); the rest is payload."""

    name = "CCSDS AOS Transfer Frame"
    fields_desc = [  # noqa: RUF012
        BitField("version", 1, 2),
        XBitField("scid", 0, 8),
        BitField("vcid", 0, 6),
        BitField("vc_frame_count", 0, 24),
        BitField("replay_flag", 0, 1),
        BitField("vc_frame_count_usage_flag", 0, 1),
        BitField("spare", 0, 2),
        BitField("vc_frame_count_cycle", 0, 4),
    ]

    def pre_dissect(self, s: bytes) -> bytes:
        _need(s, 6, "AOS frame")
        return s

    def mysummary(self) -> str:
        return str(
            self.sprintf(
                "AosFrame scid=%scid% vcid=%vcid% vc=%vc_frame_count% replay=%replay_flag%"
            )
        )


class _VcfCountField(Field[int, int]):
    """The USLP VC frame count: ``vcf_count_length`` octets (0..7), big-endian."""

    def __init__(self, name: str, default: int) -> None:
        super().__init__(name, default, fmt="Q")

    def _octets(self, pkt: Packet) -> int:
        return int(pkt.vcf_count_length or 0)

    def addfield(self, pkt: Packet, s: bytes, val: int | None) -> bytes:
        return s + int(val or 0).to_bytes(self._octets(pkt), "big")

    def getfield(self, pkt: Packet, s: bytes) -> tuple[bytes, int]:
        n = self._octets(pkt)
        if len(s) < n:
            raise DecodeError(
                "USLP VC frame count truncated", offset=7 + len(s), expected=n, got=len(s)
            )
        return s[n:], int.from_bytes(s[:n], "big")

    def i2len(self, pkt: Packet, x: Any) -> int:
        return self._octets(pkt)


def _full_header(pkt: Packet) -> bool:
    return not pkt.end_of_frame_primary_header


class UslpFrame(Packet):
    """USLP Transfer Frame primary header (732.1-B-2 4.1.2); the rest is payload.

    With ``end_of_frame_primary_header`` set (a truncated frame) only the first four
    octets exist and the other fields are absent.
    """

    name = "CCSDS USLP Transfer Frame"
    fields_desc = [  # noqa: RUF012
        BitField("version", 0b1100, 4),
        XBitField("scid", 0, 16),
        BitEnumField("source_or_destination_id", 0, 1, {0: "source", 1: "destination"}),
        BitField("vcid", 0, 6),
        BitField("map_id", 0, 4),
        BitField("end_of_frame_primary_header", 0, 1),
        ConditionalField(ShortField("frame_length", None), _full_header),
        ConditionalField(BitField("bypass_flag", 0, 1), _full_header),
        ConditionalField(BitField("protocol_control_command_flag", 0, 1), _full_header),
        ConditionalField(BitField("spare", 0, 2), _full_header),
        ConditionalField(BitField("ocf_flag", 0, 1), _full_header),
        ConditionalField(BitField("vcf_count_length", 0, 3), _full_header),
        ConditionalField(_VcfCountField("vcf_count", 0), _full_header),
    ]

    def pre_dissect(self, s: bytes) -> bytes:
        _need(s, 4, "USLP frame")
        if not s[3] & 1:
            _need(s, 7, "USLP frame")
        return s

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if not self.end_of_frame_primary_header and self.frame_length is None:
            length = len(pkt) + len(pay)
            if not 8 <= length <= 65536:
                raise UsageError(
                    f"A USLP frame is at most 65536 octets with a data field (732.1-B-2 "
                    f"4.1.2.7), not {length}; add a payload, e.g. UslpFrame()/Raw(b'...')."
                )
            pkt = pkt[:4] + (length - 1).to_bytes(2, "big") + pkt[6:]
        return pkt + pay

    def mysummary(self) -> str:
        return str(self.sprintf("UslpFrame scid=%scid% vcid=%vcid% map=%map_id%"))


_LAYERS: dict[str, type[Packet]] = {
    "tm": TmFrame,
    "tc": TcFrame,
    "aos": AosFrame,
    "uslp": UslpFrame,
}


def bind_udp_port(port: int, kind: str = "tm") -> None:
    """Dissect UDP datagrams to or from ``port`` as one ``kind`` frame each.

    ``kind`` is ``tm``, ``tc``, ``aos`` or ``uslp``. Explicit, as for Space Packets:
    the port is a convention of the ground segment, not of the standard.
    """
    if not 0 <= port <= 0xFFFF:
        raise UsageError(f"A UDP port is 0 to 65535, not {port}.")
    if kind not in _LAYERS:
        raise UsageError(f"kind must be one of {sorted(_LAYERS)}, not {kind!r}.")
    bind_layers(UDP, _LAYERS[kind], dport=port)
    bind_layers(UDP, _LAYERS[kind], sport=port)
