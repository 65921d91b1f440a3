"""TC MAP packet service: segmentation round trips and clean aborts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.frames import TcFrame, TcParams
from comms.vc import DiscardReason, MapAborted, MapReassembler, MapSender
from comms.vc.events import FrameRejected, RejectReason
from tests.comms.vc.helpers import SCID, packet

TC = TcParams(has_segment_header=True)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(7, 3000), min_size=1, max_size=8), st.integers(20, 1024))
def test_segmentation_round_trip(lengths: list[int], max_frame_length: int) -> None:
    sender = MapSender(TC, SCID, 1, map_id=5, max_frame_length=max_frame_length)
    receiver = MapReassembler(TC)
    sent = [packet(i, n) for i, n in enumerate(lengths)]
    for p in sent:
        frames = sender.add_packet(p)
        assert all(len(f) <= max_frame_length for f in frames)
        if len(frames) == 1:
            assert frames[0].sequence_flags == 0b11
        else:
            flags = [f.sequence_flags for f in frames]
            assert flags == [0b01] + [0b00] * (len(frames) - 2) + [0b10]
        for f in frames:
            receiver.receive_bytes(f.encode())
    assert [p.encode() for p in receiver.packets()] == sent
    assert receiver.events() == [] and receiver.open_units == 0


def test_missing_segment_aborts_cleanly() -> None:
    sender = MapSender(TC, SCID, 1, map_id=2, max_frame_length=64)  # 56-octet segments
    receiver = MapReassembler(TC)
    a = sender.add_packet(packet(0, 200))  # 56 + 56 + 56 + 32
    b = sender.add_packet(packet(1, 200))
    c = sender.add_packet(packet(2, 30))
    for f in a[:2] + b[1:] + c:  # a loses its tail, b its first segment
        receiver.receive_frame(f)
    # b's continuations must not be glued to a: a announces 200 octets and would grow
    # to 224 with the second of them, so a is aborted there; b's last then has no first.
    assert [p.encode() for p in receiver.packets()] == [packet(2, 30)]
    assert receiver.events() == [
        MapAborted(1, 2, DiscardReason.MISSING_SEGMENT, 224),
        MapAborted(1, 2, DiscardReason.MISSING_SEGMENT, 32),
    ]
    assert receiver.open_units == 0
    # A first segment while one is open aborts the open one.
    for f in a[:2] + b:
        receiver.receive_frame(f)
    assert [p.encode() for p in receiver.packets()] == [packet(1, 200)]
    assert receiver.events() == [MapAborted(1, 2, DiscardReason.MISSING_SEGMENT, 112)]


def test_maps_are_independent_and_bounded() -> None:
    receiver = MapReassembler(TC, max_unit_length=100)
    s1 = MapSender(TC, SCID, 1, map_id=1, max_frame_length=40)
    s2 = MapSender(TC, SCID, 1, map_id=2, max_frame_length=40)
    f1 = s1.add_packet(packet(0, 90))
    f2 = s2.add_packet(packet(1, 90))
    for x, y in zip(f1, f2, strict=True):
        receiver.receive_frame(x)
        receiver.receive_frame(y)
    assert [p.encode() for p in receiver.packets()] == [packet(0, 90), packet(1, 90)]
    for f in s1.add_packet(packet(2, 300)):
        receiver.receive_frame(f)
    assert receiver.packets() == []
    events = receiver.events()
    assert events[0] == MapAborted(1, 1, DiscardReason.TOO_LONG, 128)


def test_blocked_unit_and_bad_unit() -> None:
    receiver = MapReassembler(TC)
    receiver.receive_frame(TcFrame(SCID, 1, 0, packet(0, 10) + packet(1, 12), map_id=0))
    assert [p.encode() for p in receiver.packets()] == [packet(0, 10), packet(1, 12)]
    receiver.receive_frame(TcFrame(SCID, 1, 0, packet(0, 10) + b"\x00\x01", map_id=0))
    assert [p.encode() for p in receiver.packets()] == [packet(0, 10)]
    assert receiver.events() == [MapAborted(1, 0, DiscardReason.BAD_UNIT, 2)]


def test_control_frames_ignored_and_bad_frames_reported() -> None:
    receiver = MapReassembler(TC)
    receiver.receive_frame(TcFrame.unlock(SCID, 1))
    raw = bytearray(TcFrame(SCID, 1, 0, packet(0, 10), map_id=0).encode())
    raw[-1] ^= 1
    receiver.receive_bytes(bytes(raw))
    assert receiver.events() == [FrameRejected(RejectReason.FECF, "TC frame FECF mismatch")]
    assert receiver.packets() == []


def test_without_segment_header() -> None:
    params = TcParams()
    sender = MapSender(params, SCID, 1, max_frame_length=64)
    (frame,) = sender.add_packet(packet(0, 50))
    assert frame.map_id is None
    receiver = MapReassembler(params)
    receiver.receive_bytes(frame.encode())
    assert [p.encode() for p in receiver.packets()] == [packet(0, 50)]
    with pytest.raises(UsageError, match="segment header"):
        sender.add_packet(packet(1, 100))


def test_frame_sequence_numbers_wrap() -> None:
    sender = MapSender(TC, SCID, 1, frame_sequence_number=255, max_frame_length=20)
    frames = sender.add_packet(packet(0, 30))
    assert [f.frame_sequence_number for f in frames] == [255, 0, 1]
