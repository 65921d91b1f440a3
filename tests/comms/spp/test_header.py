"""Zero-copy header reads: peek_* and PrimaryHeader."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.spp import (
    PacketType,
    PrimaryHeader,
    SequenceFlags,
    SpacePacket,
    peek_apid,
    peek_packet_length,
    peek_sequence_count,
)
from tests.comms.spp.strategies import packets

# shared/REFERENCES.md: APID 2, TC, secondary header, FIRST, count 0x34, 23 data octets.
TC_HEADER = bytes.fromhex("180240340016")


def test_reference_header() -> None:
    header = PrimaryHeader.unpack_from(TC_HEADER)
    assert header == PrimaryHeader(
        version=0,
        packet_type=PacketType.TC,
        sec_header_flag=True,
        apid=2,
        sequence_flags=SequenceFlags.FIRST,
        sequence_count=0x34,
        data_length=22,
    )
    assert header.packet_length == 29
    assert header.pack() == TC_HEADER
    assert not header.is_idle


def test_peek_at_an_offset_in_a_memoryview() -> None:
    buf = memoryview(b"\xaa\xbb" + TC_HEADER + bytes(23))
    assert peek_apid(buf, 2) == 2
    assert peek_sequence_count(buf, 2) == 0x34
    assert peek_packet_length(buf, 2) == 29
    assert PrimaryHeader.unpack_from(buf, 2).apid == 2


@pytest.mark.parametrize("peek", [peek_apid, peek_sequence_count, peek_packet_length])
def test_peek_short_buffer(peek: object) -> None:
    with pytest.raises(DecodeError) as info:
        peek(TC_HEADER[:5])  # type: ignore[operator]
    assert (info.value.offset, info.value.got) == (0, 5)
    with pytest.raises(DecodeError) as info:
        peek(TC_HEADER, 3)  # type: ignore[operator]
    assert (info.value.offset, info.value.got) == (3, 3)
    with pytest.raises(DecodeError):
        peek(TC_HEADER, -1)  # type: ignore[operator]


def test_packet_header_of_other_version() -> None:
    header = SpacePacket(apid=3, data=b"x", version=2).header
    assert (header.version, header.apid, header.packet_length) == (2, 3, 7)


def test_unpack_from_refuses_other_versions() -> None:
    with pytest.raises(DecodeError) as info:
        PrimaryHeader.unpack_from(b"\x00" + bytes([0x40]) + TC_HEADER[1:], 1)
    assert (info.value.offset, info.value.expected, info.value.got) == (1, 0, 2)


@pytest.mark.parametrize(
    "fields",
    [{"apid": 2048}, {"sequence_count": -1}, {"data_length": 65536}, {"version": 8}],
)
def test_construction_checks(fields: dict[str, int]) -> None:
    with pytest.raises(UsageError):
        PrimaryHeader(**fields)


@given(packets(max_data=40), st.binary(max_size=5))
def test_header_agrees_with_packet(packet: SpacePacket, prefix: bytes) -> None:
    buf = prefix + packet.encode()
    header = PrimaryHeader.unpack_from(buf, len(prefix))
    assert header.apid == packet.apid == peek_apid(buf, len(prefix))
    assert header.sequence_count == packet.sequence_count == peek_sequence_count(buf, len(prefix))
    assert header.packet_length == packet.packet_length == peek_packet_length(buf, len(prefix))
    assert (header.packet_type, header.sec_header_flag, header.sequence_flags) == (
        packet.packet_type,
        packet.sec_header_flag,
        packet.sequence_flags,
    )
    assert header.pack() == packet.encode()[:6]
    assert packet.header == header


@given(st.binary(max_size=12), st.integers(0, 12))
def test_any_bytes_header_or_decode_error(buf: bytes, offset: int) -> None:
    try:
        header = PrimaryHeader.unpack_from(buf, offset)
    except DecodeError:
        assert len(buf) - offset < 6 or buf[offset] >> 5
    else:
        assert header.pack() == buf[offset : offset + 6]
