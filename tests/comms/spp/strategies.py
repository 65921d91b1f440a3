"""Hypothesis strategies shared by the Space Packet tests."""

from __future__ import annotations

from hypothesis import strategies as st

from comms.spp import PacketType, SequenceFlags, SpacePacket

apids = st.integers(0, 0x7FF)
counts = st.integers(0, 0x3FFF)


@st.composite
def packets(
    draw: st.DrawFn, max_data: int = 300, apid: st.SearchStrategy[int] = apids
) -> SpacePacket:
    return SpacePacket(
        apid=draw(apid),
        data=draw(st.binary(min_size=1, max_size=max_data)),
        packet_type=draw(st.sampled_from(PacketType)),
        sec_header_flag=draw(st.booleans()),
        sequence_flags=draw(st.sampled_from(SequenceFlags)),
        sequence_count=draw(counts),
    )
