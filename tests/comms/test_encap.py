"""Encapsulation Packets (133.1-B-3): header forms, validation, decoding, stream extraction.

Header vectors: the first-octet values are those of NASA HDTN's ``CcsdsEncap.h``
(an independent implementation of 133.1-B-3: LTP = 0xE4 | LoL, BP = 0xF0 | LoL, idle
0xE0), and its decoder's rule that the Packet Length counts the header
(``payloadSize = length - headerLength``). Dario Lucia's ccsds-tmtc (Java,
``EncapsulationPacket``) independently reads the same four header forms and lists
Protocol ID '101' as "no entry".
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.encap import (
    EncapsulationPacket,
    EncapsulationPacketExtractor,
    ProtocolId,
    SkippedOctets,
    header_length,
    packet_length,
)
from comms.errors import DecodeError, UsageError
from tools.fuzz.fuzz_encap import test_one_input as fuzz_one_input


def test_idle_packet_is_one_octet() -> None:
    idle = EncapsulationPacket(ProtocolId.IDLE)
    assert idle.encode() == b"\xe0"
    assert idle.length_of_length == 0 and idle.is_idle
    assert EncapsulationPacket.decode(b"\xe0") == idle


def test_header_forms_vectors() -> None:
    # LTP, 3 data octets: two-octet header, length 5 = 2 + 3 (HDTN first octet 0xE4 | 0b01).
    assert EncapsulationPacket(ProtocolId.LTP, b"abc").encode() == b"\xe5\x05abc"
    # BP, 300 octets: four-octet header (0xF0 | 0b10), length 304.
    bp = EncapsulationPacket(ProtocolId.BP, bytes(300))
    assert bp.encode()[:4] == b"\xf2\x00\x01\x30"
    # Forced 8-octet header with a user-defined field and a CCSDS-defined field.
    big = EncapsulationPacket(
        ProtocolId.CFDP, b"x", user_defined=0xA, ccsds_defined=0x1234, length_of_length=3
    )
    assert big.encode() == b"\xef\xa0\x12\x34\x00\x00\x00\x09x"
    # Protocol ID '110' names the protocol in the extension: needs a 4-octet header.
    ext = EncapsulationPacket(ProtocolId.EXTENDED, b"", protocol_id_extension=5)
    assert ext.encode() == b"\xfa\x05\x00\x04"


@pytest.mark.parametrize(("size", "lol"), [(0, 1), (253, 1), (254, 2), (65531, 2), (65532, 3)])
def test_smallest_length_of_length_that_fits(size: int, lol: int) -> None:
    packet = EncapsulationPacket(ProtocolId.IPE, bytes(size))
    assert packet.length_of_length == lol
    assert packet.packet_length == size + header_length(packet.encode()[0])


def test_idle_of_any_length() -> None:
    for n in (1, 4, 5, 255, 256, 70000):
        packet = EncapsulationPacket.idle(n)
        assert len(packet.encode()) == n and packet.is_idle
    assert EncapsulationPacket.idle(3).encode() == b"\xe1\x03\x00"
    with pytest.raises(UsageError):
        EncapsulationPacket.idle(0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"protocol_id": 8},
        {"protocol_id": 1, "user_defined": 16},
        {"protocol_id": 1, "protocol_id_extension": 1},
        {"protocol_id": 6, "protocol_id_extension": 16},
        {"protocol_id": 1, "ccsds_defined": 0x10000},
        {"protocol_id": 1, "length_of_length": 0},
        {"protocol_id": 0, "data": b"x", "length_of_length": 0},
        {"protocol_id": 1, "user_defined": 1, "length_of_length": 1},
        {"protocol_id": 6, "length_of_length": 1},
        {"protocol_id": 1, "ccsds_defined": 1, "length_of_length": 2},
        {"protocol_id": 1, "data": bytes(300), "length_of_length": 1},
        {"protocol_id": 1, "length_of_length": 4},
        {"protocol_id": 0, "ccsds_defined": 1, "length_of_length": 0},
        {"protocol_id": 1, "data": "text"},
    ],
)
def test_bad_fields_are_usage_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        EncapsulationPacket(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", 0),  # empty
        (b"\x18\x02", 0),  # a Space Packet header (version 0)
        (b"\xe4", 0),  # LoL 00 with Protocol ID LTP (4.1.2.4.4)
        (b"\xe5\x01", 1),  # Packet Length 1 < header 2
        (b"\xe5\x05ab", 4),  # truncated
        (b"\xe5\x02z", 2),  # trailing octet
        (b"\xe6\x05\x00\x04", 1),  # extension set without Protocol ID '110'
        (b"\xf9\x02", 0),  # Protocol ID '110' in a two-octet header
        (b"\xe7\x00\x00", 3),  # truncated 8-octet header
    ],
)
def test_decode_errors_carry_offsets(data: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        EncapsulationPacket.decode(data)
    assert info.value.offset == offset


def test_packet_length_from_prefix() -> None:
    wire = EncapsulationPacket(ProtocolId.LTP, bytes(1000)).encode()
    assert packet_length(wire[:0]) is None
    assert packet_length(wire[:3]) is None  # 4-octet header not yet complete
    assert packet_length(wire[:4]) == 1004
    assert packet_length(b"\xe0") == 1
    assert packet_length(memoryview(wire)) == 1004


packets = st.builds(
    EncapsulationPacket,
    protocol_id=st.sampled_from([0, 1, 2, 3, 4, 5, 7]),
    data=st.binary(max_size=300),
    user_defined=st.integers(0, 15),
    ccsds_defined=st.integers(0, 3),
) | st.builds(
    EncapsulationPacket,
    protocol_id=st.just(6),
    data=st.binary(max_size=50),
    protocol_id_extension=st.integers(0, 15),
    length_of_length=st.sampled_from([2, 3]),
)


@given(packets)
def test_round_trip(packet: EncapsulationPacket) -> None:
    wire = packet.encode()
    assert EncapsulationPacket.decode(wire) == packet
    assert EncapsulationPacket.decode(bytearray(wire)) == packet
    assert packet_length(wire[:8]) == len(wire) == packet.packet_length


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_decode_error(data: bytes) -> None:
    fuzz_one_input(data)  # the fuzz harness's rule: accepted (and re-encodes), or DecodeError


@given(st.lists(packets, max_size=8), st.data())
def test_extractor_any_split(items: list[EncapsulationPacket], data: st.DataObject) -> None:
    wire = b"".join(p.encode() for p in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=6)))
    extractor = EncapsulationPacketExtractor()
    out: list[EncapsulationPacket | SkippedOctets] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        out += extractor.feed(wire[start:end])
    assert out == items
    assert extractor.pending == 0 and extractor.flush() == []


def test_extractor_byte_by_byte_reports_garbage() -> None:
    items = [
        EncapsulationPacket(ProtocolId.LTP, b"hello"),
        EncapsulationPacket.idle(),
        EncapsulationPacket(ProtocolId.BP, bytes(range(256)) * 2),
    ]
    garbage = b"\x00\x18\x02"
    wire = garbage + items[0].encode() + items[1].encode() + items[2].encode() + b"\xe5"
    extractor = EncapsulationPacketExtractor()
    out: list[EncapsulationPacket | SkippedOctets] = []
    for i in range(len(wire)):
        out += extractor.feed(wire[i : i + 1])
    # The run of garbage arrives octet by octet, so it may be reported in pieces.
    skipped = b"".join(x.data for x in out if isinstance(x, SkippedOctets))
    assert skipped == garbage
    assert [x for x in out if isinstance(x, EncapsulationPacket)] == items
    assert extractor.pending == 1  # the lone 0xE5 waits for its length octet
    assert extractor.flush() == [SkippedOctets(b"\xe5")]


def test_extractor_skips_oversized_claims() -> None:
    # A corrupt 8-octet header claiming 256 MiB must not swallow the stream.
    bogus = b"\xe7\x00\x00\x00\x10\x00\x00\x00"
    good = EncapsulationPacket(ProtocolId.LTP, b"ok").encode()
    extractor = EncapsulationPacketExtractor(max_packet_length=1000)
    out = extractor.feed(bogus + good)
    assert out == [SkippedOctets(bogus), EncapsulationPacket(ProtocolId.LTP, b"ok")]


def test_docs_examples_run() -> None:
    # docs/encap.md: every Python block runs, in order, in one namespace.
    doc = Path(__file__).resolve().parents[2] / "docs" / "encap.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)
