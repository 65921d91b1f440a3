"""The virtual channel fuzz harness's rules, over Hypothesis inputs: raw bytes, and
genuine frame streams (Space and Encapsulation packets spanning frames) that lose,
repeat, reorder and corrupt frames."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from comms.encap import EncapsulationPacket
from comms.spp import SpacePacket
from comms.vc import VcPacketSender
from tools.fuzz.fuzz_vc import TARGETS, check

SCID = 0x2A  # fits TM (10 bits), AOS (8) and USLP (16)


@settings(max_examples=300)
@given(st.integers(0, len(TARGETS) - 1), st.binary(max_size=200))
def test_any_bytes_are_taken_or_reported(target: int, stream: bytes) -> None:
    check(bytes([target]) + stream)


packet = st.one_of(
    st.builds(
        lambda apid, count, size: SpacePacket(
            apid=apid, sequence_count=count, data=bytes(range(size % 256)) * (size // 256 + 1)
        ).encode(),
        st.integers(0, 0x7FF),
        st.integers(0, 0x3FFF),
        st.integers(1, 90),
    ),
    st.builds(
        lambda size: EncapsulationPacket(protocol_id=2, data=bytes(size)).encode(),
        st.integers(0, 60),
    ),
)


@st.composite
def frame_stream(draw: st.DrawFn) -> bytes:
    """A selector octet, then frames of a target's channel with losses and damage."""
    index = draw(st.integers(0, len(TARGETS) - 1))
    target = TARGETS[index]
    vcids = target.vcids or (0, 1)
    # Two channels the receiver takes, one it was not told about (when it has a list)
    # and one of another spacecraft.
    senders = {v: VcPacketSender(target.params, SCID, v) for v in vcids[:2]}
    senders[7] = VcPacketSender(target.params, SCID, 7)
    senders[-1] = VcPacketSender(target.params, SCID + 1, vcids[0])
    frames: list[bytes] = []
    for vcid, raw in draw(st.lists(st.tuples(st.sampled_from(sorted(senders)), packet))):
        if len(raw) <= target.max_packet_length or draw(st.booleans()):
            frames += senders[vcid].add_packet(raw)
    for sender in senders.values():
        frames += sender.flush()
        if draw(st.booleans()):
            frames.append(sender.frame_due())  # an idle frame
    if frames:
        for _ in range(draw(st.integers(0, 3))):
            action = draw(st.sampled_from(["drop", "repeat", "swap", "flip"]))
            at = draw(st.integers(0, len(frames) - 1))
            if action == "drop" and len(frames) > 1:
                del frames[at]
            elif action == "repeat":
                frames.insert(at, frames[at])
            elif action == "swap":
                frames[at], frames[-1] = frames[-1], frames[at]
            else:
                bit = draw(st.integers(0, 8 * len(frames[at]) - 1))
                hit = bytearray(frames[at])
                hit[bit // 8] ^= 0x80 >> (bit % 8)
                frames[at] = bytes(hit)
    tail = draw(st.binary(max_size=8))
    return bytes([index]) + b"".join(frames) + tail


@settings(max_examples=200, deadline=None)
@given(frame_stream())
def test_damaged_frame_streams_are_accounted_for(stream: bytes) -> None:
    check(stream)


def test_clean_stream_delivers_every_packet() -> None:
    # The rules hold on a clean stream too, and the harness really reaches extraction.
    from tools.fuzz.fuzz_vc import Target

    target = TARGETS[0]
    assert isinstance(target, Target)
    sender = VcPacketSender(target.params, SCID, 1)
    packets = [SpacePacket(apid=5, sequence_count=i, data=bytes(30)).encode() for i in range(9)]
    frames = [f for p in packets for f in sender.add_packet(p)] + sender.flush()
    stream = b"".join(frames)
    check(bytes([0]) + stream)
    receiver = target.receiver(stream)
    receiver.receive_many(stream)
    assert [p.encode() for p in receiver.packets()] == packets
    check(b"")
