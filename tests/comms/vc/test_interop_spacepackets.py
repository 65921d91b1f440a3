"""Differential: frames our sender builds, read by spacepackets' TM frame decoder.

spacepackets (an independent implementation) has no virtual channel service, but it
decodes TM transfer frames and parses Space Packets out of a buffer. Its frame decoder
must agree with ours on every header field (first header pointer included), and its
packet parser, run from the first header pointer of the first frame over the
concatenated data fields, must find exactly the packets we sent. The FECF is checked
with crcmod's catalogued CRC-16/CCITT-FALSE, a third implementation.
"""

from __future__ import annotations

import crcmod.predefined
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import PacketId, PacketType, parse_space_packets
from spacepackets.ccsds.tm_frame import TmTransferFrame

from comms.frames import FHP_NO_PACKET_START, TmParams
from comms.vc import VcPacketSender
from tests.comms.vc.helpers import SCID, packet

pytestmark = pytest.mark.interop

_crc = crcmod.predefined.mkCrcFun("crc-ccitt-false")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(7, 400), min_size=1, max_size=15),
    st.sampled_from([TmParams(80), TmParams(200, has_ocf=True), TmParams(1115)]),
)
def test_spacepackets_reads_our_frames(lengths: list[int], params: TmParams) -> None:
    sender = VcPacketSender(params, SCID, 2)
    apid = 0x55
    sent = [packet(i, n, apid=apid) for i, n in enumerate(lengths)]
    frames = sender.add_packets(list(sent)) + sender.flush()
    zones = []
    for index, raw in enumerate(frames):
        assert _crc(raw) == 0  # the FECF checks under an independent CRC
        theirs = TmTransferFrame.unpack(raw, len(raw), True)
        header = theirs.primary_header
        assert header.master_channel_id.spacecraft_id == SCID
        assert header.vc_id == 2
        assert header.vc_frame_count == index % 256
        assert header.master_ch_frame_count == index % 256
        fhp = header.frame_datafield_status.first_header_pointer
        if index == 0:
            assert fhp == 0
        zones.append((fhp, theirs.data_field))
    stream = b"".join(zone for _, zone in zones)
    # parse_space_packets does not skip a packet whose id it was not given by its
    # length: it scans on octet by octet, so inside the idle fill after our packets it
    # can "find" a packet wherever two octets happen to equal our id (the idle header's
    # own length field 00 55 did, for apid 0x55). Parse the packet zone we filled and
    # check the fill after it is an idle packet.
    used = sum(len(p) for p in sent)
    result = parse_space_packets(stream[:used], [PacketId(PacketType.TM, False, apid)])
    assert result.tm_list == sent
    # After our packets: the start of an idle packet (APID 0x7FF). A flush can leave
    # only its first octets in the last frame (the rest spills into the next one).
    fill = stream[used : used + 2]
    if fill:
        assert fill[0] & 0x07 == 0x07
    if len(fill) == 2:
        assert fill[1] == 0xFF
    # Every first header pointer other than 0x7FF points at a packet start.
    starts = set()
    offset = 0
    for p in [*sent, b"\x07\xff"]:
        starts.add(offset)
        offset += len(p)
    size = len(zones[0][1])
    for index, (fhp, _) in enumerate(zones):
        if fhp != FHP_NO_PACKET_START:
            assert index * size + fhp in starts
