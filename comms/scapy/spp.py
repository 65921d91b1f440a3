"""A scapy layer for the CCSDS Space Packet (133.0-B-2) and pcap helpers.

:class:`SpacePacket` dissects and builds the 6-octet primary header (4.1.3) with its
fields as bit fields named like :class:`comms.spp.SpacePacket`'s. The packet data field
is the layer's payload (``Raw`` unless a layer is bound to an APID), bounded by the
packet data length field, so the octets after one packet dissect as the next
``SpacePacket``: a UDP datagram carrying several packets becomes the chain
``UDP/SpacePacket/Raw/SpacePacket/Raw/...`` and ``pkt[SpacePacket:2]`` is the second.
On build ``data_length`` is computed from the data when left unset, so
``raw(layer) == comms.spp.SpacePacket(...).encode()`` for the same fields.

Left out: the secondary header (mission-defined; bind a layer to the APID), and any
check of the fields beyond their widths -- scapy is for looking at and crafting bad
packets too; :meth:`comms.spp.SpacePacket.decode` is the validating decoder.

Each packet in a chain is a few nested scapy layers and scapy dissects and builds them
recursively, so a datagram of many hundreds of packets exceeds Python's recursion
limit; the pcap helpers here return the raw UDP payloads for that reason, and
``dawnlink packet decode --pcap`` extracts packets from them with :mod:`comms.spp`.

Nothing is bound to UDP at import (there is no registered port for Space Packets over
UDP); call :func:`bind_udp_port`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from scapy.config import conf
from scapy.error import Scapy_Exception
from scapy.fields import BitEnumField, BitField, ShortField, XBitField
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet, bind_layers
from scapy.utils import PcapReader, PcapWriter

from comms.errors import DecodeError, UsageError

__all__ = [
    "DEFAULT_UDP_PORT",
    "HEADER_LENGTH",
    "SpacePacket",
    "bind_udp_port",
    "read_pcap_datagrams",
    "read_pcap_payloads",
    "write_pcap",
]

HEADER_LENGTH = 6
"""Octets in the packet primary header (133.0-B-2 4.1.3)."""

# No port is registered for Space Packets over UDP; 10015 is the port Yamcs's example
# projects configure their UdpTmDataLink on, so captures from those rigs dissect as-is.
DEFAULT_UDP_PORT = 10015
"""The UDP destination port :func:`write_pcap` uses unless told otherwise."""

_LINKTYPE_ETHERNET = 1
# Locally administered unicast addresses (IEEE 802 U/L bit set): never a real NIC's.
_SRC_MAC = "02:00:00:00:00:01"
_DST_MAC = "02:00:00:00:00:02"

# The smallest whole packet: a header and one data octet (4.1.4.1: 1 to 65536 octets).
_MIN_PACKET = HEADER_LENGTH + 1


class SpacePacket(Packet):
    """The Space Packet primary header; the packet data field is the payload."""

    name = "CCSDS Space Packet"
    fields_desc = [  # noqa: RUF012 -- scapy's declared field list, not a shared mutable
        BitField("version", 0, 3),
        BitEnumField("packet_type", 0, 1, {0: "TM", 1: "TC"}),
        BitField("sec_header_flag", 0, 1),
        XBitField("apid", 0, 11),
        BitEnumField(
            "sequence_flags",
            3,
            2,
            {0: "continuation", 1: "first", 2: "last", 3: "unsegmented"},
        ),
        BitField("sequence_count", 0, 14),
        ShortField("data_length", None),
    ]

    def post_build(self, pkt: bytes, pay: bytes) -> bytes:
        if self.data_length is None:
            # ``pay`` holds this packet's data and every packet chained after it.
            following = self.payload.getlayer(SpacePacket)
            data = len(pay) - (len(following) if following is not None else 0)
            if not 1 <= data <= 0x10000:
                raise UsageError(
                    f"A Space Packet's data field holds 1 to 65536 octets (133.0-B-2 "
                    f"4.1.4.1), not {data}; add a payload, e.g. SpacePacket()/Raw(b'...')."
                )
            pkt = pkt[:4] + (data - 1).to_bytes(2, "big") + pkt[6:]
        return pkt + pay

    def extract_padding(self, s: bytes) -> tuple[bytes, bytes]:
        # The data length field bounds this packet; what follows is the next packet.
        end = (self.data_length or 0) + 1
        return s[:end], s[end:]

    def dissect(self, s: bytes) -> None:
        if len(s) < HEADER_LENGTH:
            # scapy would let struct.error out; inside a chain or under UDP scapy turns
            # this into Raw, at the top it is the documented error of every comms decoder.
            raise DecodeError(
                "Space Packet primary header truncated",
                offset=len(s),
                expected=f"{HEADER_LENGTH} octets",
                got=len(s),
            )
        s = self.pre_dissect(s)
        s = self.do_dissect(s)
        s = self.post_dissect(s)
        data, rest = self.extract_padding(s)
        self.do_dissect_payload(data)
        if rest:
            # A whole packet's worth starts the next packet of the chain; a shorter
            # tail cannot be one, so it stays padding as scapy would leave it.
            following = SpacePacket if len(rest) >= _MIN_PACKET else conf.padding_layer
            self.add_payload(following(rest))

    def mysummary(self) -> str:
        return str(
            self.sprintf(
                "SpacePacket %packet_type% apid=%apid% %sequence_flags% "
                "count=%sequence_count% len=%data_length%"
            )
        )


def bind_udp_port(port: int = DEFAULT_UDP_PORT) -> None:
    """Dissect UDP datagrams to or from ``port`` as Space Packets.

    Binding is explicit rather than done at import because the port is a convention of
    the ground segment, not of the standard.
    """
    if not 0 <= port <= 0xFFFF:
        raise UsageError(f"A UDP port is 0 to 65535, not {port}.")
    bind_layers(UDP, SpacePacket, dport=port)
    bind_layers(UDP, SpacePacket, sport=port)


def read_pcap_datagrams(path: str | Path, port: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield ``(frame_number, udp_payload)`` for each UDP datagram in a pcap or pcapng file.

    ``frame_number`` counts every record in the capture from 1, as Wireshark does, so a
    problem can be found in the capture. With ``port`` only datagrams whose source or
    destination port equals it are yielded. Link-layer padding after the UDP length is
    dropped (scapy honours the UDP length field).

    Raises :class:`DecodeError` (offset 0) when the file is not a capture scapy reads,
    and ``OSError`` when it cannot be opened.
    """
    # Opened here, not by scapy: scapy leaves its own handle open when it rejects a
    # file, which surfaces later as a ResourceWarning.
    with open(path, "rb") as stream:
        try:
            # scapy's reader takes a file object too; its __init__ annotation says str.
            reader = PcapReader(stream)  # type: ignore[arg-type]
        except Scapy_Exception as exc:
            stream.seek(0)
            raise DecodeError(
                "not a pcap or pcapng capture",
                offset=0,
                expected="a pcap or pcapng magic number",
                got=stream.read(4).hex() or "an empty file",
            ) from exc
        for number, frame in enumerate(reader, start=1):
            if UDP not in frame:
                continue
            udp = frame[UDP]
            if port is not None and port not in (udp.sport, udp.dport):
                continue
            yield number, bytes(udp.payload)


def read_pcap_payloads(path: str | Path, port: int | None = None) -> Iterator[bytes]:
    """Yield the payload of each UDP datagram in a capture (see :func:`read_pcap_datagrams`)."""
    for _, payload in read_pcap_datagrams(path, port):
        yield payload


def write_pcap(
    path: str | Path,
    payloads: Iterable[bytes],
    dport: int = DEFAULT_UDP_PORT,
    *,
    sport: int = DEFAULT_UDP_PORT,
    src: str = "127.0.0.1",
    dst: str = "127.0.0.1",
) -> None:
    """Write each payload as one Ether/IPv4/UDP datagram to a pcap file at ``path``.

    The payload octets are written as given, so a payload may hold several packets or
    deliberately bad ones. Datagram ``i`` is stamped ``i`` seconds after the epoch and
    the MAC addresses are fixed, so the same payloads always give the same file.
    """
    if not 0 <= dport <= 0xFFFF or not 0 <= sport <= 0xFFFF:
        raise UsageError(f"UDP ports are 0 to 65535, not sport={sport} dport={dport}.")
    with PcapWriter(str(path), linktype=_LINKTYPE_ETHERNET) as writer:
        for index, payload in enumerate(payloads):
            # Explicit MACs: left unset, scapy would look the route up on this host.
            datagram = (
                Ether(src=_SRC_MAC, dst=_DST_MAC)
                / IP(src=src, dst=dst)
                / UDP(sport=sport, dport=dport)
                / bytes(payload)
            )
            datagram.time = index
            writer.write(datagram)
