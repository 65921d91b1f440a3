"""Sender -> frames -> receiver: the same packets in order, with and without loss."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from comms.frames import TmParams
from comms.vc import (
    DiscardReason,
    FrameGap,
    MasterChannelReceiver,
    PacketDiscarded,
    VcPacketSender,
)
from tests.comms.vc.helpers import SCID, packet, packet_lengths, params_strategy


def _send(params: object, lengths: list[int], vcid: int = 1) -> tuple[list[bytes], list[bytes]]:
    sender = VcPacketSender(params, SCID, vcid)  # type: ignore[arg-type]
    packets = [packet(i, n) for i, n in enumerate(lengths)]
    frames: list[bytes] = []
    for p in packets:
        frames += sender.add_packet(p)
    frames += sender.flush()
    return packets, frames


@settings(max_examples=60, deadline=None)
@given(params_strategy, st.lists(packet_lengths, min_size=1, max_size=30))
def test_round_trip(params: object, lengths: list[int]) -> None:
    packets, frames = _send(params, lengths)
    receiver = MasterChannelReceiver(params, SCID)  # type: ignore[arg-type]
    for frame in frames:
        receiver.receive_bytes(frame)
    assert [p.encode() for p in receiver.packets()] == packets
    assert receiver.events() == []
    counters = receiver.vc_counters(1)
    assert counters.packets == len(packets)
    assert counters.frames == len(frames)


@settings(max_examples=30, deadline=None)
@given(st.lists(packet_lengths, min_size=1, max_size=20))
def test_byte_by_byte_sender_input_same_frames(lengths: list[int]) -> None:
    # add_packets and packet-by-packet add_packet make the same frames.
    params = TmParams(64)
    packets, frames = _send(params, lengths)
    sender = VcPacketSender(params, SCID, 1)
    assert sender.add_packets(list(packets)) + sender.flush() == frames


@settings(max_examples=60, deadline=None)
@given(
    params_strategy,
    st.lists(packet_lengths, min_size=2, max_size=30),
    st.data(),
)
def test_loss_never_glues_and_gaps_account_for_it(
    params: object, lengths: list[int], data: st.DataObject
) -> None:
    sender = VcPacketSender(params, SCID, 1)  # type: ignore[arg-type]
    size = sender.data_length
    packets = [packet(i, n) for i, n in enumerate(lengths)]
    frames: list[bytes] = []
    spans = []  # (first frame, last frame) each packet's octets touch
    offset = 0
    for p in packets:
        frames += sender.add_packet(p)
        spans.append((offset // size, (offset + len(p) - 1) // size))
        offset += len(p)
    frames += sender.flush()
    # Never drop the first or the last frame: a loss there is invisible to any receiver.
    middle = list(range(1, len(frames) - 1))
    dropped = set(data.draw(st.lists(st.sampled_from(middle), unique=True))) if middle else set()
    receiver = MasterChannelReceiver(params, SCID)  # type: ignore[arg-type]
    for index, frame in enumerate(frames):
        if index not in dropped:
            receiver.receive_bytes(frame)
    got = [p.encode() for p in receiver.packets()]
    expected = [
        p
        for p, (first, last) in zip(packets, spans, strict=True)
        if not any(first <= d <= last for d in dropped)
    ]
    assert got == expected
    events = receiver.events()
    gaps = [e for e in events if isinstance(e, FrameGap)]
    assert sum(g.missing for g in gaps) == len(dropped)
    assert all(
        e.reason in (DiscardReason.LOST_FRAME, DiscardReason.NO_HEADER)
        for e in events
        if isinstance(e, PacketDiscarded)
    )
    assert receiver.vc_counters(1).frames_missing == len(dropped)


@settings(max_examples=40, deadline=None)
@given(params_strategy, st.lists(packet_lengths, min_size=1, max_size=20), st.data())
def test_any_frame_split_into_batches(
    params: object, lengths: list[int], data: st.DataObject
) -> None:
    # receive_many over any batching gives what receive_bytes gives frame by frame.
    packets, frames = _send(params, lengths)
    receiver = MasterChannelReceiver(params, SCID)  # type: ignore[arg-type]
    i = 0
    while i < len(frames):
        k = data.draw(st.integers(1, len(frames) - i))
        receiver.receive_many(b"".join(frames[i : i + k]))
        i += k
    assert [p.encode() for p in receiver.packets()] == packets


@settings(max_examples=30, deadline=None)
@given(st.lists(packet_lengths, min_size=1, max_size=20), st.booleans())
def test_corrupted_frames_yield_only_sent_packets(lengths: list[int], flip_high: bool) -> None:
    # A frame that fails its CRC is a rejected frame; what follows resynchronizes.
    params = TmParams(90)
    packets, frames = _send(params, lengths)
    receiver = MasterChannelReceiver(params, SCID)
    for index, frame in enumerate(frames):
        if index == len(frames) // 2 and 0 < index < len(frames) - 1:
            bad = bytearray(frame)
            bad[10] ^= 0x80 if flip_high else 0x01
            frame = bytes(bad)
        receiver.receive_bytes(frame)
    got = [p.encode() for p in receiver.packets()]
    it = iter(packets)
    assert all(g in it for g in got)  # an in-order subsequence of what was sent
