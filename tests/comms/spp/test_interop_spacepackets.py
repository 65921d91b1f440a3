"""Differential tests against spacepackets (us-irs/spacepackets-py), an independent
implementation of 133.0-B-2: same bytes for the same fields, and each side decodes
the other's packets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketId, SpacePacketHeader, parse_space_packets
from spacepackets.ccsds.spacepacket import PacketType as SpPacketType
from spacepackets.ccsds.spacepacket import SequenceFlags as SpSequenceFlags
from spacepackets.ccsds.spacepacket import SpacePacket as SpSpacePacket

from comms.spp import PacketExtractor, PacketType, SequenceFlags, SpacePacket
from tests.comms.spp.strategies import apids, counts, packets

pytestmark = pytest.mark.interop


def _theirs(packet: SpacePacket) -> SpSpacePacket:
    header = SpacePacketHeader(
        packet_type=SpPacketType(int(packet.packet_type)),
        apid=packet.apid,
        seq_count=packet.sequence_count,
        data_len=packet.data_length,
        sec_header_flag=packet.sec_header_flag,
        seq_flags=SpSequenceFlags(int(packet.sequence_flags)),
    )
    # spacepackets wants the secondary header apart when the flag is set; the
    # split point does not change the bytes, so give it the whole data field.
    if packet.sec_header_flag:
        return SpSpacePacket(header, packet.data, None)
    return SpSpacePacket(header, None, packet.data)


@given(packets(max_data=600))
def test_same_bytes(packet: SpacePacket) -> None:
    assert bytes(_theirs(packet).pack()) == packet.encode()


@given(packets(max_data=600))
def test_they_decode_ours(packet: SpacePacket) -> None:
    raw = packet.encode()
    header = SpacePacketHeader.unpack(raw)
    assert header.ccsds_version == 0
    assert int(header.packet_type) == packet.packet_type
    assert header.sec_header_flag == packet.sec_header_flag
    assert header.apid == packet.apid
    assert int(header.seq_flags) == packet.sequence_flags
    assert header.seq_count == packet.sequence_count
    assert header.data_len == packet.data_length
    assert header.packet_len == len(raw)


@given(
    apids,
    counts,
    st.sampled_from(SpPacketType),
    st.sampled_from(SpSequenceFlags),
    st.booleans(),
    st.binary(min_size=1, max_size=600),
)
def test_we_decode_theirs(
    apid: int,
    count: int,
    packet_type: SpPacketType,
    flags: SpSequenceFlags,
    sec_header_flag: bool,
    data: bytes,
) -> None:
    header = SpacePacketHeader(
        packet_type=packet_type,
        apid=apid,
        seq_count=count,
        data_len=len(data) - 1,
        sec_header_flag=sec_header_flag,
        seq_flags=flags,
    )
    theirs = (
        SpSpacePacket(header, data, None) if sec_header_flag else SpSpacePacket(header, None, data)
    )
    ours = SpacePacket.decode(theirs.pack())
    assert ours.packet_type is PacketType(int(packet_type))
    assert ours.sequence_flags is SequenceFlags(int(flags))
    assert (ours.apid, ours.sequence_count, ours.sec_header_flag, ours.data) == (
        apid,
        count,
        sec_header_flag,
        data,
    )


@given(st.lists(packets(max_data=100, apid=st.integers(0, 0x7FE)), min_size=1, max_size=10))
def test_extraction_agrees_with_parse_space_packets(items: list[SpacePacket]) -> None:
    stream = b"".join(p.encode() for p in items)
    ids = list(
        {PacketId(SpPacketType(int(p.packet_type)), p.sec_header_flag, p.apid) for p in items}
    )
    theirs = parse_space_packets(stream, ids).tm_list
    ours = PacketExtractor().feed(stream)
    assert [p.encode() for p in ours] == [bytes(raw) for raw in theirs]
