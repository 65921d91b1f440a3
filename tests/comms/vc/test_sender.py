"""The send side, checked frame by frame with the frame decoders of comms.frames."""

from __future__ import annotations

import pytest

from comms.encap import EncapsulationPacket, ProtocolId
from comms.errors import UsageError
from comms.frames import (
    FHP_IDLE,
    FHP_NO_PACKET_START,
    AosFrame,
    AosParams,
    Clcw,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from comms.spp import SpacePacket
from comms.vc import MasterChannelReceiver, VcPacketSender
from tests.comms.vc.helpers import SCID, packet

TM = TmParams(64)  # 56 octets of packet zone: 64 - 6 header - 2 FECF


def test_first_header_pointers_and_spanning() -> None:
    sender = VcPacketSender(TM, SCID, 3)
    assert sender.data_length == 56
    assert sender.add_packet(packet(0, 20)) == []
    # Octets 0..169 are packets 0 and 1: frames 0-2 (octets 0..167) complete; frame 0
    # starts with packet 0, frames 1 and 2 hold only the middle of packet 1.
    frames = sender.add_packet(packet(1, 150))
    decoded = [TmFrame.decode(f, TM) for f in frames]
    assert [f.first_header_pointer for f in decoded] == [
        0,
        FHP_NO_PACKET_START,
        FHP_NO_PACKET_START,
    ]
    assert [f.vc_frame_count for f in decoded] == [0, 1, 2]
    assert [f.mc_frame_count for f in decoded] == [0, 1, 2]
    assert all(f.vcid == 3 and f.scid == SCID for f in decoded)
    assert sender.add_packet(packet(2, 7)) == []
    last = TmFrame.decode(sender.flush()[0], TM)
    # Frame 3 starts with the last 2 octets of packet 1; packet 2 starts after them.
    assert last.first_header_pointer == 2
    assert last.vc_frame_count == 3
    assert last.data_field[2:9] == packet(2, 7)
    assert sender.pending == 0


def test_packet_header_split_across_frames() -> None:
    sender = VcPacketSender(TM, SCID, 0)
    # 53 octets leave 3: the next packet's header straddles the frame boundary.
    sender.add_packet(packet(0, 53))
    frames = sender.add_packet(packet(1, 30))
    assert len(frames) == 1
    assert TmFrame.decode(frames[0], TM).first_header_pointer == 0
    nxt = TmFrame.decode(sender.flush()[0], TM)
    # Packet 1 ends 27 octets into the next frame; the idle fill starts there.
    assert nxt.first_header_pointer == 27
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(frames[0])
    receiver.receive_frame(nxt)
    assert [p.encode() for p in receiver.packets()] == [packet(0, 53), packet(1, 30)]
    assert receiver.vc_counters(0).idle_packets == 1


def test_idle_fill_short_remainder_spills_into_next_frame() -> None:
    sender = VcPacketSender(TM, SCID, 0)
    sender.add_packet(packet(0, 52))  # 4 octets left: less than an idle Space Packet
    first = TmFrame.decode(sender.flush()[0], TM)
    assert first.data_field[52:] == b"\x07\xff\xc0\x00"
    assert sender.pending == 3  # the rest of the 7-octet idle packet
    second = TmFrame.decode(sender.frame_due(), TM)
    assert second.first_header_pointer == 3  # an idle packet after the spilled tail
    assert sender.pending == 0
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_frame(first)
    receiver.receive_frame(second)
    assert [p.encode() for p in receiver.packets()] == [packet(0, 52)]
    assert receiver.events() == []
    assert receiver.vc_counters(0).idle_packets == 2


def test_encapsulation_idle_fills_exactly() -> None:
    sender = VcPacketSender(TM, SCID, 0, encapsulation_idle=True)
    sender.add_packet(packet(0, 55))  # one octet left: the one-octet idle packet
    frame = TmFrame.decode(sender.flush()[0], TM)
    assert frame.data_field[55:] == EncapsulationPacket.idle(1).encode()
    assert sender.pending == 0


def test_encapsulation_packets_round_trip() -> None:
    sender = VcPacketSender(TM, SCID, 0, encapsulation_idle=True)
    sent = [
        EncapsulationPacket(ProtocolId.CFDP, bytes(range(n)), length_of_length=lol)
        for n, lol in ((10, 1), (100, 2), (3, 1), (200, 3))
    ]
    frames = []
    for p in sent:
        frames += sender.add_packet(p)
        frames += sender.add_packet(packet(len(frames), 9))
    frames += sender.flush()
    receiver = MasterChannelReceiver(TM, SCID)
    for frame in frames:
        receiver.receive_bytes(frame)
    got = receiver.packets()
    assert [p for p in got if isinstance(p, EncapsulationPacket)] == sent
    assert len([p for p in got if isinstance(p, SpacePacket)]) == len(sent)
    assert receiver.events() == []


def test_frame_due_idle_frame_when_nothing_pending() -> None:
    sender = VcPacketSender(TM, SCID, 7)
    idle = TmFrame.decode(sender.frame_due(), TM)
    assert idle.first_header_pointer == FHP_IDLE and idle.is_idle
    assert idle.vc_frame_count == 0
    assert sender.flush() == []
    aos = AosParams(80)
    aos_idle = AosFrame.decode(VcPacketSender(aos, SCID, 1).frame_due(), aos)
    assert aos_idle.is_idle
    uslp = UslpParams(frame_length=80)
    uslp_idle = UslpFrame.decode(VcPacketSender(uslp, SCID, 1).frame_due(), uslp)
    assert uslp_idle.vcid == 63 and uslp_idle.upid == 0x1F


def test_vc_frame_count_wraps() -> None:
    sender = VcPacketSender(TM, SCID, 1, vc_frame_count=254)
    frames = sender.add_packet(packet(0, 56 * 4))
    assert [TmFrame.decode(f, TM).vc_frame_count for f in frames] == [254, 255, 0, 1]
    receiver = MasterChannelReceiver(TM, SCID)
    for frame in frames:
        receiver.receive_bytes(frame)
    assert receiver.events() == []  # the wrap is not a gap
    aos = AosParams(80)
    sender = VcPacketSender(aos, SCID, 1, vc_frame_count=(1 << 24) - 1)
    frames = sender.add_packet(packet(0, 300))
    counts = [AosFrame.decode(f, aos).vc_frame_count for f in frames]
    assert counts[:2] == [(1 << 24) - 1, 0]


def test_clcw_in_ocf() -> None:
    params = TmParams(80, has_ocf=True)
    sender = VcPacketSender(params, SCID, 0)
    clcw = Clcw(vcid=5, report_value=0x42, retransmit=True)
    sender.set_clcw(clcw)
    frame = TmFrame.decode(sender.frame_due(), params)
    assert frame.ocf is not None and Clcw.decode(frame.ocf) == clcw
    receiver = MasterChannelReceiver(params, SCID)
    receiver.receive_bytes(frame.encode())
    assert receiver.last_ocf == clcw.encode()
    with pytest.raises(UsageError):
        VcPacketSender(TM, SCID, 0).set_clcw(clcw)


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="whole Space Packet"):
        VcPacketSender(TM, SCID, 0).add_packet(b"\x00\x01\xc0\x00\x00\x05ab")
    with pytest.raises(UsageError):
        VcPacketSender(TM, SCID, 8)
    with pytest.raises(UsageError):
        VcPacketSender(TM, 1024, 0)
    with pytest.raises(UsageError):
        VcPacketSender(UslpParams(), SCID, 0)  # variable-length USLP frames
    with pytest.raises(UsageError):
        VcPacketSender(TM, SCID, 0, vc_frame_count=256)
    with pytest.raises(UsageError):
        VcPacketSender(TM, SCID, 0, secondary_header=b"x")
