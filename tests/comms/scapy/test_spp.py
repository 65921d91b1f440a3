"""The scapy Space Packet layer against :class:`comms.spp.SpacePacket`, both ways.

scapy is an independent implementation of the bit-field packing (its BitField code),
so dissecting our encoding and decoding scapy's build is a differential test of the
primary header layout. The fixed vector is shared/REFERENCES.md's TC header
``18 02 40 34 00 16`` with 23 data octets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("scapy")

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Padding, Raw, split_layers
from scapy.utils import rdpcap, wrpcapng

from comms.errors import DecodeError, UsageError
from comms.scapy import spp as layer
from comms.spp import PacketType, SequenceFlags, SpacePacket

REFERENCE = bytes.fromhex("180240340016") + bytes(23)
# Fixed addresses: left unset, scapy would look up a route on this host.
ETHER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
PORT = 47001  # an unassigned port, so binding it disturbs no other dissector

fields = st.fixed_dictionaries(
    {
        "packet_type": st.sampled_from(PacketType),
        "sec_header_flag": st.booleans(),
        "apid": st.integers(0, 0x7FF),
        "sequence_flags": st.sampled_from(SequenceFlags),
        "sequence_count": st.integers(0, 0x3FFF),
        "data": st.binary(min_size=1, max_size=300),
    }
)


def same_fields(scapy_packet: layer.SpacePacket, ours: SpacePacket) -> None:
    assert scapy_packet.version == ours.version
    assert scapy_packet.packet_type == ours.packet_type
    assert scapy_packet.sec_header_flag == ours.sec_header_flag
    assert scapy_packet.apid == ours.apid
    assert scapy_packet.sequence_flags == ours.sequence_flags
    assert scapy_packet.sequence_count == ours.sequence_count
    assert scapy_packet.data_length == ours.data_length
    assert scapy_packet[Raw].load == ours.data


@pytest.fixture
def bound_port() -> Iterator[int]:
    layer.bind_udp_port(PORT)
    yield PORT
    # bind_layers is global scapy state: undo it so other tests see plain UDP.
    split_layers(UDP, layer.SpacePacket, dport=PORT)
    split_layers(UDP, layer.SpacePacket, sport=PORT)


def test_import_emits_no_warnings() -> None:
    # A fresh interpreter: in this one scapy is already imported and warned (or not).
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import comms.scapy.spp"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_reference_vector_dissects() -> None:
    p = layer.SpacePacket(REFERENCE)
    assert (p.version, p.packet_type, p.sec_header_flag, p.apid) == (0, 1, 1, 2)
    assert (p.sequence_flags, p.sequence_count, p.data_length) == (1, 0x34, 22)
    assert p[Raw].load == bytes(23)
    assert p.sprintf("%packet_type% %sequence_flags%") == "TC first"


def test_reference_vector_builds() -> None:
    built = layer.SpacePacket(packet_type=1, sec_header_flag=1, apid=2, sequence_flags=1)
    built.sequence_count = 0x34
    assert bytes(built / Raw(bytes(23))) == REFERENCE


@given(fields)
def test_our_encoding_dissects_to_the_same_fields(values: dict[str, object]) -> None:
    ours = SpacePacket(**values)  # type: ignore[arg-type]
    same_fields(layer.SpacePacket(ours.encode()), ours)


@given(fields)
def test_scapy_build_decodes_with_ours(values: dict[str, object]) -> None:
    header = {k: int(v) for k, v in values.items() if k != "data"}  # type: ignore[call-overload]
    built = bytes(layer.SpacePacket(**header) / Raw(values["data"]))
    ours = SpacePacket.decode(built)
    assert built == SpacePacket(**values).encode()  # type: ignore[arg-type]
    same_fields(layer.SpacePacket(built), ours)


def test_no_data_is_refused_on_build() -> None:
    with pytest.raises(UsageError, match="1 to 65536 octets"):
        bytes(layer.SpacePacket(apid=1))


def test_explicit_data_length_is_kept() -> None:
    # For crafting bad packets: a length field that disagrees with the data.
    built = bytes(layer.SpacePacket(apid=1, data_length=9) / Raw(b"ab"))
    assert built[4:6] == b"\x00\x09"
    with pytest.raises(DecodeError, match="truncated"):
        SpacePacket.decode(built)


def test_concatenated_packets_dissect_as_a_chain() -> None:
    packets = [SpacePacket(apid=n, sequence_count=n, data=bytes([n]) * (n + 1)) for n in range(5)]
    stream = b"".join(p.encode() for p in packets) + b"\x01\x02"
    dissected = layer.SpacePacket(stream)
    for index, ours in enumerate(packets, start=1):
        same_fields(dissected[layer.SpacePacket : index], ours)
    assert dissected[Padding].load == b"\x01\x02"  # too short to be a packet
    assert bytes(dissected) == stream


def test_chain_built_by_stacking_encodes_each_length() -> None:
    chain = layer.SpacePacket(apid=1) / Raw(b"ab") / layer.SpacePacket(apid=2) / Raw(b"xyz")
    expected = SpacePacket(apid=1, data=b"ab").encode() + SpacePacket(apid=2, data=b"xyz").encode()
    assert bytes(chain) == expected


def test_bound_udp_port_dissects_datagrams(bound_port: int) -> None:
    payload = SpacePacket(apid=3, data=b"one").encode() + SpacePacket(apid=4, data=b"2").encode()
    for udp in (UDP(sport=40000, dport=bound_port), UDP(sport=bound_port, dport=40000)):
        frame = Ether(bytes(ETHER / IP() / udp / payload))
        assert [p.apid for p in (frame[layer.SpacePacket : 1], frame[layer.SpacePacket : 2])] == [
            3,
            4,
        ]


def test_nothing_is_bound_at_import() -> None:
    frame = Ether(bytes(ETHER / IP() / UDP(dport=layer.DEFAULT_UDP_PORT) / REFERENCE))
    assert layer.SpacePacket not in frame


def test_bind_udp_port_checks_the_port() -> None:
    with pytest.raises(UsageError, match="0 to 65535"):
        layer.bind_udp_port(70000)


def test_write_then_read_pcap(tmp_path: Path) -> None:
    payloads = [REFERENCE, b"\x00", REFERENCE + REFERENCE]  # b"\x00" gets Ethernet padding
    path = tmp_path / "pass.pcap"
    layer.write_pcap(path, payloads)
    assert list(layer.read_pcap_payloads(path)) == payloads
    assert list(layer.read_pcap_payloads(path, port=layer.DEFAULT_UDP_PORT)) == payloads
    assert list(layer.read_pcap_payloads(path, port=1)) == []
    frames = rdpcap(str(path))
    assert [int(f.time) for f in frames] == [0, 1, 2]
    assert frames[0][UDP].dport == layer.DEFAULT_UDP_PORT


def test_write_pcap_is_reproducible(tmp_path: Path) -> None:
    layer.write_pcap(tmp_path / "a.pcap", [REFERENCE], dport=5000)
    layer.write_pcap(tmp_path / "b.pcap", [REFERENCE], dport=5000)
    assert (tmp_path / "a.pcap").read_bytes() == (tmp_path / "b.pcap").read_bytes()


def test_read_pcapng_with_frame_numbers(tmp_path: Path) -> None:
    path = tmp_path / "pass.pcapng"
    wrpcapng(str(path), [ETHER / IP() / b"not udp", ETHER / IP() / UDP(dport=9) / REFERENCE])
    assert list(layer.read_pcap_datagrams(path)) == [(2, REFERENCE)]


def test_not_a_capture_is_a_decode_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(b"")
    with pytest.raises(DecodeError, match="not a pcap or pcapng capture") as exc:
        list(layer.read_pcap_payloads(path))
    assert exc.value.offset == 0


def test_write_pcap_checks_ports(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="0 to 65535"):
        layer.write_pcap(tmp_path / "x.pcap", [REFERENCE], dport=-1)


def test_enum_names_build_like_numbers() -> None:
    # The example on docs/packet-tools.md.
    tc = layer.SpacePacket(packet_type="TC", apid=0x7F, sequence_flags="first")
    ours = SpacePacket(
        packet_type=PacketType.TC, apid=0x7F, sequence_flags=SequenceFlags.FIRST, data=b"set"
    )
    assert bytes(tc / Raw(b"set")) == ours.encode()


@given(st.binary(min_size=1, max_size=200))
def test_any_bytes_dissect_and_rebuild_unchanged(data: bytes) -> None:
    # (Empty bytes are scapy's "no packet given": a default layer, not a dissection.)
    if len(data) < 6:
        with pytest.raises(DecodeError, match="header truncated"):
            layer.SpacePacket(data)
        return
    # scapy keeps what it dissected, so even nonsense round-trips to the same octets.
    assert bytes(layer.SpacePacket(data)) == data


def test_short_udp_payload_stays_raw(bound_port: int) -> None:
    frame = Ether(bytes(ETHER / IP() / UDP(dport=bound_port) / b"\x00\x01"))
    assert layer.SpacePacket not in frame
    assert frame[Raw].load == b"\x00\x01"
