"""The receive side: demux, gaps, pointer edge cases, bad frames, any input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.coding import randomize_tm_many
from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import (
    FHP_IDLE,
    FHP_NO_PACKET_START,
    AosDataUnit,
    AosFrame,
    AosParams,
    TmFrame,
    TmParams,
    UslpParams,
)
from comms.spp import SpacePacket
from comms.vc import (
    DiscardReason,
    FrameGap,
    FrameRejected,
    MasterChannelReceiver,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcPacketSender,
)
from tests.comms.vc.helpers import SCID, packet, params_strategy

TM = TmParams(64)
ZONE = 56


def tm(vc_count: int, fhp: int, data: bytes, vcid: int = 0, scid: int = SCID) -> bytes:
    """A hand-built TM frame of the 64-octet test channel."""
    data = data + bytes(ZONE - len(data))
    return TmFrame(scid, vcid, 0, vc_count, fhp, data).encode()


def test_unknown_vcid_and_scid_are_events_not_errors() -> None:
    receiver = MasterChannelReceiver(TM, SCID, vcids=[1])
    receiver.receive_bytes(tm(0, 0, packet(0, 20), vcid=2))
    receiver.receive_bytes(tm(0, 0, packet(0, 20), vcid=1, scid=SCID + 1))
    receiver.receive_bytes(tm(0, 0, packet(1, 20) + packet(99, 36), vcid=1))
    assert receiver.events() == [UnknownVirtualChannel(SCID, 2), UnknownSpacecraft(SCID + 1)]
    assert [p.encode() for p in receiver.packets()] == [packet(1, 20), packet(99, 36)]
    assert receiver.counters.unknown_vcid == 1
    assert receiver.counters.unknown_scid == 1
    assert receiver.vcids == [1]


def test_crc_failure_counted_and_reported() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    frame = bytearray(tm(0, 0, packet(0, 56)))
    frame[20] ^= 1
    receiver.receive_bytes(bytes(frame))
    assert receiver.events() == [FrameRejected(RejectReason.FECF, "FECF mismatch")]
    assert receiver.counters.crc_failures == 1
    # A frame the caller decoded and got FecfError for counts the same.
    with pytest.raises(DecodeError) as caught:
        TmFrame.decode(bytes(frame), TM)
    receiver.receive_error(caught.value)
    assert receiver.counters.crc_failures == 2
    assert receiver.packets() == []


def test_wrong_length_and_version_rejected() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(b"\x00" * 10)
    body = bytearray(tm(0, 0, packet(0, 56))[:-2])
    body[0] |= 0x40  # version 01
    receiver.receive_bytes(bytes(body) + crc16_ccitt(body).to_bytes(2, "big"))
    reasons = [e.reason for e in receiver.events() if isinstance(e, FrameRejected)]
    assert reasons == [RejectReason.LENGTH, RejectReason.VERSION]
    assert receiver.counters.rejected == 2


def test_gap_drops_spanning_packet_and_resyncs_at_pointer() -> None:
    big = packet(1, 120)  # octets 20..139 of the stream: frames 0, 1, 2
    stream = packet(0, 20) + big + packet(2, 10) + packet(3, 18)
    frames = [tm(i, fhp, stream[i * ZONE : (i + 1) * ZONE]) for i, fhp in enumerate((0, 0x7FF, 28))]
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(frames[0])
    receiver.receive_bytes(frames[2])  # frame 1 lost
    assert [p.encode() for p in receiver.packets()] == [packet(0, 20), packet(2, 10), packet(3, 18)]
    events = receiver.events()
    assert events == [
        FrameGap(0, expected=1, got=2, missing=1),
        PacketDiscarded(0, DiscardReason.LOST_FRAME, 36),
        PacketDiscarded(0, DiscardReason.NO_HEADER, 28),
    ]
    counters = receiver.vc_counters(0)
    assert (counters.gaps, counters.frames_missing, counters.partials_discarded) == (1, 1, 1)


def test_gap_counts_wrap() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(254, 0, packet(0, 56)))
    receiver.receive_bytes(tm(1, 0, packet(1, 56)))
    assert receiver.events() == [FrameGap(0, expected=255, got=1, missing=2)]
    aos = AosParams(80)
    receiver = MasterChannelReceiver(aos, SCID)
    for count in ((1 << 24) - 2, 3):
        receiver.receive_bytes(AosFrame(SCID, 1, count, packet(count, 70), 0).encode())
    assert receiver.events() == [FrameGap(1, expected=(1 << 24) - 1, got=3, missing=4)]


def test_no_packet_start_frame_while_out_of_sync_is_discarded() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(0, FHP_NO_PACKET_START, bytes(ZONE)))
    assert receiver.events() == [PacketDiscarded(0, DiscardReason.NO_HEADER, ZONE)]
    assert receiver.packets() == []


def test_pointer_mismatch_pointer_wins() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    # Frame 0 ends with the first 16 octets of a 30-octet packet; frame 1 says a packet
    # starts at 4, where the partial would need 14 more octets: they disagree.
    receiver.receive_bytes(tm(0, 0, packet(0, 40) + packet(1, 30)[:16]))
    receiver.receive_bytes(tm(1, 4, b"\xaa" * 4 + packet(2, 52)))
    assert [p.encode() for p in receiver.packets()] == [packet(0, 40), packet(2, 52)]
    assert receiver.events() == [PacketDiscarded(0, DiscardReason.POINTER_MISMATCH, 20)]


def test_pointer_beyond_data_field_rejected() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(0, 200, bytes(ZONE)))
    (event,) = receiver.events()
    assert isinstance(event, FrameRejected) and event.reason is RejectReason.MALFORMED


def test_bad_packet_version_drops_rest_of_frame() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(0, 0, packet(0, 20) + b"\x40" + bytes(35)))
    receiver.receive_bytes(tm(1, 0, packet(1, 56)))
    assert [p.encode() for p in receiver.packets()] == [packet(0, 20), packet(1, 56)]
    assert receiver.events() == [PacketDiscarded(0, DiscardReason.BAD_PACKET_HEADER, 36)]


def test_max_packet_length_catches_corrupt_length_early() -> None:
    receiver = MasterChannelReceiver(TM, SCID, max_packet_length=100)
    receiver.receive_bytes(tm(0, 0, packet(0, 20) + packet(1, 300)[:36]))
    assert receiver.events() == [PacketDiscarded(0, DiscardReason.BAD_PACKET_HEADER, 36)]


def test_idle_frames_skipped() -> None:
    receiver = MasterChannelReceiver(TM, SCID, vcids=[0])
    receiver.receive_bytes(tm(0, FHP_IDLE, b"", vcid=7))  # an OID frame on an unlisted VC
    receiver.receive_bytes(tm(0, FHP_IDLE, b"", vcid=0))
    receiver.receive_bytes(tm(1, 0, packet(0, 56), vcid=0))
    assert receiver.events() == []
    assert receiver.counters.idle_frames == 2
    assert receiver.vc_counters(0).idle_frames == 1
    aos = AosParams(80)
    receiver = MasterChannelReceiver(aos, SCID)
    receiver.receive_bytes(AosFrame(SCID, 63, 0, bytes(72)).encode())
    assert receiver.counters.idle_frames == 1 and receiver.events() == []


def test_aos_vc_without_mpdu_is_not_the_packet_service() -> None:
    aos = AosParams(80, vc_data_units=((5, AosDataUnit.VCA_SDU),))
    receiver = MasterChannelReceiver(aos, SCID)
    receiver.receive_bytes(AosFrame(SCID, 5, 0, bytes(72)).encode())
    assert receiver.events() == [UnknownVirtualChannel(SCID, 5)]
    with pytest.raises(UsageError):
        MasterChannelReceiver(aos, SCID, vcids=[5])


def test_caller_reported_gap() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(0, 0, packet(0, 20) + packet(1, 100)[:36]))
    receiver.gap()
    receiver.receive_bytes(tm(5, 0, packet(2, 56)))
    assert [p.encode() for p in receiver.packets()] == [packet(0, 20), packet(2, 56)]
    assert receiver.events() == [PacketDiscarded(0, DiscardReason.LOST_FRAME, 36)]


def test_receive_many_derandomizes_arrays_and_bytes() -> None:
    sender = VcPacketSender(TM, SCID, 0)
    sent = [packet(i, 30 + i) for i in range(20)]
    frames = sender.add_packets(list(sent)) + sender.flush()
    array = np.frombuffer(b"".join(frames), dtype=np.uint8).reshape(-1, 64)
    randomized = randomize_tm_many(array)
    for batch in (randomized, randomized.tobytes()):
        receiver = MasterChannelReceiver(TM, SCID)
        receiver.receive_many(batch, derandomize=True)
        assert [p.encode() for p in receiver.packets()] == sent
    with pytest.raises(UsageError):
        MasterChannelReceiver(TM, SCID).receive_many(b"\x00" * 65)


def test_received_packets_offer_header_fields() -> None:
    receiver = MasterChannelReceiver(TM, SCID)
    receiver.receive_bytes(tm(0, 0, packet(5, 56, apid=0x123)))
    (p,) = receiver.packets()
    assert isinstance(p, SpacePacket)
    assert (p.apid, p.sequence_count, len(p)) == (0x123, 5, 56)


@settings(max_examples=200, deadline=None)
@given(params_strategy, st.binary(min_size=0, max_size=200), st.booleans())
def test_any_bytes_never_raise(params: object, body: bytes, fix_crc: bool) -> None:
    # Whatever arrives, the receiver lands in a defined state: packets or events.
    receiver = MasterChannelReceiver(params, SCID)  # type: ignore[arg-type]
    length = params.frame_length  # type: ignore[attr-defined]
    frame = (body * (length // max(len(body), 1) + 1))[:length] if body else bytes(length)
    if fix_crc and length > 2:
        frame = frame[:-2] + crc16_ccitt(frame[:-2]).to_bytes(2, "big")
    for _ in range(2):
        receiver.receive_bytes(frame)
    receiver.receive_bytes(body)
    receiver.packets()
    receiver.events()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=ZONE, max_size=ZONE), min_size=1, max_size=6), st.data())
def test_garbage_zones_with_valid_crc(zones: list[bytes], data: st.DataObject) -> None:
    # Valid frames around garbage packet zones: only whole, length-consistent packets out.
    receiver = MasterChannelReceiver(TM, SCID)
    for i, zone in enumerate(zones):
        fhp = data.draw(st.sampled_from([0, 3, 55, FHP_NO_PACKET_START]))
        receiver.receive_bytes(tm(i, fhp, zone))
    for p in receiver.packets():
        raw = p.encode()
        assert len(raw) >= 2


def test_usage_errors() -> None:
    with pytest.raises(UsageError):
        MasterChannelReceiver(TM, 1 << 10)
    with pytest.raises(UsageError):
        MasterChannelReceiver(TM, SCID, vcids=[8])
    with pytest.raises(UsageError):
        MasterChannelReceiver(UslpParams(), SCID)
    with pytest.raises(UsageError):
        MasterChannelReceiver(AosParams(80), SCID).receive_frame(
            TmFrame(SCID, 0, 0, 0, 0, bytes(ZONE))
        )
