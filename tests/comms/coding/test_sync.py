"""ASM and the frame synchronizer (CCSDS 131.0-B-5 section 9).

Streams are built here from random frames with a seeded generator, shifted to every bit
offset, complemented, damaged and split; the synchronizer must recover the frames and
report exactly what happened, whatever the split.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.coding import (
    ASM,
    FrameSynchronizer,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    SyncedFrame,
    SyncState,
    attach_asm,
)
from comms.coding.sync import _TRANSITIONS, SyncEvent, SyncInput
from comms.errors import UsageError

LENGTH = 64


def _frames(count: int, seed: int = 1, length: int = LENGTH) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(length) for _ in range(count)]


class Bits:
    """A bit string under construction (to shift streams off octet boundaries)."""

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def add(self, data: bytes, nbits: int | None = None) -> Bits:
        nbits = 8 * len(data) if nbits is None else nbits
        word = int.from_bytes(data, "big") >> (8 * len(data) - nbits) if data else 0
        self.value = (self.value << nbits) | word
        self.length += nbits
        return self

    def octets(self, invert: bool = False) -> bytes:
        pad = -self.length % 8
        value = self.value << pad
        if invert:
            value ^= (1 << (self.length + pad)) - 1
        return value.to_bytes((self.length + pad) // 8, "big")


def _flip_bits(data: bytes, *bits: int) -> bytes:
    out = bytearray(data)
    for bit in bits:
        out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def _run(stream: bytes, sync: FrameSynchronizer, step: int | None = None) -> list[SyncEvent]:
    out: list[SyncEvent] = []
    if step is None:
        out += sync.feed(stream)
    else:
        for i in range(0, len(stream), step):
            out += sync.feed(stream[i : i + step])
    return out + sync.close()


def _data(events: list[SyncEvent]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, SyncedFrame)]


def _others(events: list[SyncEvent]) -> list[SyncEvent]:
    return [e for e in events if not isinstance(e, SyncedFrame)]


def test_attach_asm() -> None:
    assert bytes.fromhex("1ACFFC1D") == ASM  # 131.0-B-5 section 9
    assert attach_asm(b"\x01\x02") == bytes.fromhex("1ACFFC1D0102")


@pytest.mark.parametrize("invert", [False, True])
@pytest.mark.parametrize("offset", range(8))
def test_every_bit_offset_and_polarity(offset: int, invert: bool) -> None:
    frames = _frames(6)
    bits = Bits().add(b"\x5a" * 3).add(b"\xff", offset)  # 24 + offset bits of garbage
    for frame in frames:
        bits.add(attach_asm(frame))
    events = _run(bits.octets(invert), FrameSynchronizer(LENGTH))
    assert _data(events) == frames
    garbage = 24 + offset
    tail = -bits.length % 8
    expected: list[SyncEvent] = [
        GarbageSkipped(0, garbage),
        LockAcquired(garbage, invert),
    ]
    if tail:
        expected.append(GarbageSkipped(bits.length, tail))
    assert _others(events) == expected
    frames_seen = [e for e in events if isinstance(e, SyncedFrame)]
    assert [f.bit_offset for f in frames_seen] == [garbage + i * 8 * (LENGTH + 4) for i in range(6)]
    assert all(f.inverted is invert and not f.flywheel for f in frames_seen)


@pytest.mark.parametrize("errors", range(4))
def test_marker_bit_errors_up_to_the_tolerance(errors: int) -> None:
    frames = _frames(5)
    stream = b"".join(attach_asm(f) for f in frames)
    slot = 8 * (LENGTH + 4)
    # Errors in the first marker (search) and the fourth (lock), spread over the marker.
    damaged = _flip_bits(stream, *[5 * i for i in range(errors)])
    damaged = _flip_bits(damaged, *[3 * slot + 7 * i + 1 for i in range(errors)])
    sync = FrameSynchronizer(LENGTH, max_asm_errors=2)
    events = _run(damaged, sync)
    if errors <= 2:
        assert _data(events) == frames
        seen = [e for e in events if isinstance(e, SyncedFrame)]
        assert [f.asm_errors for f in seen] == [errors, 0, 0, errors, 0]
        assert not any(f.flywheel for f in seen)
    else:
        # The first marker is not accepted; lock comes from the second (checked by the
        # third), and the fourth is coasted over by the flywheel.
        assert _data(events) == frames[1:]
        seen = [e for e in events if isinstance(e, SyncedFrame)]
        assert [f.flywheel for f in seen] == [False, False, True, False]
        assert _others(events)[:2] == [GarbageSkipped(0, slot), LockAcquired(slot, False)]


def test_flywheel_then_lock_lost_then_relock() -> None:
    frames = _frames(12)
    slot = 8 * (LENGTH + 4)
    stream = b"".join(attach_asm(f) for f in frames)
    # Destroy markers 3..7 (5 in a row) with a flywheel of 3.
    damaged = stream
    for k in range(3, 8):
        damaged = _flip_bits(damaged, *range(k * slot, k * slot + 32, 2))
    events = _run(damaged, FrameSynchronizer(LENGTH, flywheel=3))
    seen = [e for e in events if isinstance(e, SyncedFrame)]
    # Frames 0..2 locked, 3..5 on the flywheel, 6 lost; search finds marker 8.
    assert [e.data for e in seen] == frames[:6] + frames[8:]
    assert [e.flywheel for e in seen] == [False] * 3 + [True] * 3 + [False] * 4
    assert _others(events) == [
        LockAcquired(0, False),
        LockLost(6 * slot),
        GarbageSkipped(6 * slot, 2 * slot),
        LockAcquired(8 * slot, False),
    ]


def test_flywheel_recovers_to_lock() -> None:
    frames = _frames(6)
    slot = 8 * (LENGTH + 4)
    stream = _flip_bits(b"".join(attach_asm(f) for f in frames), *range(2 * slot, 2 * slot + 32))
    sync = FrameSynchronizer(LENGTH)
    events = sync.feed(stream)
    assert _data(events) == frames
    assert sync.state is SyncState.LOCK


@pytest.mark.parametrize("slip", [1, -1])
def test_bit_slip_is_followed_and_reported(slip: int) -> None:
    frames = _frames(6)
    bits = Bits()
    for i, frame in enumerate(frames):
        framed = attach_asm(frame)
        if i == 3:
            if slip > 0:
                bits.add(b"\x00", 1)  # one extra bit before the marker
            else:
                bits.value >>= 1  # one bit of the previous frame lost
                bits.length -= 1
        bits.add(framed)
    events = _run(bits.octets(), FrameSynchronizer(LENGTH, max_slip_bits=1))
    data = _data(events)
    assert data[:2] == frames[:2] and data[3:] == frames[3:]
    slot = 8 * (LENGTH + 4)
    assert SlipDetected(3 * slot + slip, slip) in events
    assert not any(isinstance(e, LockLost) for e in events)


def test_garbage_between_frames_and_false_markers() -> None:
    frames = _frames(8)
    rng = random.Random(7)
    # Garbage holding a marker not followed by another one frame later: check rejects it.
    garbage = rng.randbytes(50) + ASM + rng.randbytes(30)
    stream = garbage + b"".join(attach_asm(f) for f in frames[:4])
    stream += rng.randbytes(333) + b"".join(attach_asm(f) for f in frames[4:])
    events = _run(stream, FrameSynchronizer(LENGTH))
    data = _data(events)
    assert data[:4] == frames[:4]
    assert data[-4:] == frames[4:]
    lost = [e for e in events if isinstance(e, LockLost)]
    assert len(lost) == 1
    skipped = [e for e in events if isinstance(e, GarbageSkipped)]
    assert skipped[0] == GarbageSkipped(0, 8 * len(garbage))
    assert sum(e.bits for e in skipped) + 8 * 68 * len(data) == 8 * len(stream)


@pytest.mark.parametrize("offset", [0, 3])
def test_byte_by_byte_equals_whole(offset: int) -> None:
    frames = _frames(10)
    rng = random.Random(3)
    bits = Bits().add(rng.randbytes(20)).add(b"\x00", offset)
    for i, frame in enumerate(frames):
        if i == 5:
            bits.add(rng.randbytes(100))
        bits.add(attach_asm(frame))
    stream = _flip_bits(bits.octets(), 8 * 20 + offset + 3 * 8 * 68 + 5)
    whole = _run(stream, FrameSynchronizer(LENGTH))
    assert len(_data(whole)) >= 9
    assert _run(stream, FrameSynchronizer(LENGTH), step=1) == whole
    assert _run(stream, FrameSynchronizer(LENGTH), step=67) == whole


@given(st.binary(max_size=600), st.lists(st.integers(1, 200), max_size=10), st.booleans())
def test_any_bytes_and_any_split(garbage: bytes, cuts: list[int], with_frames: bool) -> None:
    frames = _frames(3, length=16)
    stream = garbage + (b"".join(attach_asm(f) for f in frames) if with_frames else b"")
    whole = _run(stream, FrameSynchronizer(16))
    split = FrameSynchronizer(16)
    out: list[SyncEvent] = []
    i = 0
    for cut in cuts:
        out += split.feed(stream[i : i + cut])
        i += cut
    out += split.feed(stream[i:])
    out += split.close()
    assert out == whole
    covered = sum(8 * 20 for _ in _data(whole)) + sum(
        e.bits for e in whole if isinstance(e, GarbageSkipped)
    )
    assert covered >= 8 * len(stream) - 8  # every bit is a frame's or reported garbage


def test_only_garbage() -> None:
    sync = FrameSynchronizer(LENGTH)
    noise = bytes(1000)  # zeros: far from the marker in both polarities
    assert sync.feed(noise) == []
    assert sync.state is SyncState.SEARCH
    assert sync.close() == [GarbageSkipped(0, 8000)]


def test_large_frame_in_many_chunks() -> None:
    frames = _frames(4, length=1275)
    stream = b"".join(attach_asm(f) for f in frames)
    assert _data(_run(stream, FrameSynchronizer(1275), step=1000)) == frames


def test_inverted_polarity_can_be_refused() -> None:
    frames = _frames(4)
    stream = bytes(255 - b for b in b"".join(attach_asm(f) for f in frames))
    assert _data(_run(stream, FrameSynchronizer(LENGTH, allow_inverted=False))) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frame_length": 0},
        {"frame_length": 10, "asm": b"\x1a\xcf"},
        {"frame_length": 10, "max_asm_errors": 8},
        {"frame_length": 10, "max_asm_errors": 1, "max_search_errors": 2},
        {"frame_length": 10, "check_count": -1},
        {"frame_length": 10, "flywheel": -1},
        {"frame_length": 10, "max_slip_bits": 8},
    ],
)
def test_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        FrameSynchronizer(**kwargs)  # type: ignore[arg-type]


def test_events_validate() -> None:
    with pytest.raises(UsageError):
        GarbageSkipped(0, 0)
    with pytest.raises(UsageError):
        SlipDetected(10, 0)
    with pytest.raises(UsageError):
        LockLost(-1)


def test_state_table_is_closed() -> None:
    # Every state has a way out and every target is a state the table leaves again.
    sources = {state for state, _ in _TRANSITIONS}
    assert sources == set(SyncState)
    assert set(_TRANSITIONS.values()) <= sources
    assert {event for _, event in _TRANSITIONS} == set(SyncInput)
