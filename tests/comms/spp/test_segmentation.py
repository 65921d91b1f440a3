"""Segmentation with the sequence flags, and per-APID reassembly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.spp import (
    IDLE_APID,
    AbortReason,
    PacketExtractor,
    Reassembler,
    SegmentMissing,
    SequenceCounter,
    SequenceFlags,
    SpacePacket,
    UnitReassembled,
    segment,
)

F, C, L, U = (
    SequenceFlags.FIRST,
    SequenceFlags.CONTINUATION,
    SequenceFlags.LAST,
    SequenceFlags.UNSEGMENTED,
)


def _packet(flags: SequenceFlags, count: int, data: bytes = b"ab", apid: int = 4) -> SpacePacket:
    return SpacePacket(apid=apid, data=data, sequence_flags=flags, sequence_count=count)


def _run(packets: list[SpacePacket], **options: int) -> list[object]:
    reassembler = Reassembler(**options)
    for packet in packets:
        reassembler.receive(packet)
    return list(reassembler.events())


def test_segment_flags_and_counts() -> None:
    counter = SequenceCounter({9: 16383})
    packets = segment(bytes(range(10)), apid=9, max_data_length=4, counter=counter)
    assert [p.sequence_flags for p in packets] == [F, C, L]
    assert [p.sequence_count for p in packets] == [16383, 0, 1]
    assert [p.data for p in packets] == [bytes(range(4)), bytes(range(4, 8)), b"\x08\x09"]
    assert counter.peek(9) == 2


def test_segment_fits_in_one_packet() -> None:
    (packet,) = segment(b"abcd", apid=1, max_data_length=4)
    assert packet.sequence_flags is U
    assert [p.sequence_flags for p in segment(b"abcde", apid=1, max_data_length=4)] == [F, L]


@pytest.mark.parametrize(
    ("unit", "options"),
    [
        (b"", {}),
        (b"x", {"max_data_length": 0}),
        (b"x", {"max_data_length": 65537}),
        (b"x", {"apid": 2048}),
        ("text", {}),
    ],
)
def test_segment_checks(unit: object, options: dict[str, int]) -> None:
    kwargs: dict[str, object] = {"apid": 1, **options}
    with pytest.raises(UsageError):
        segment(unit, **kwargs)  # type: ignore[arg-type]


def test_reassembles_units_per_apid_interleaved() -> None:
    a = segment(b"A" * 10, apid=1, max_data_length=3)
    b = segment(b"B" * 7, apid=2, max_data_length=3)
    interleaved = [a[0], b[0], a[1], b[1], a[2], b[2], a[3]]
    events = _run(interleaved)
    assert events == [
        UnitReassembled(apid=2, data=b"B" * 7, first_sequence_count=0, segments=3),
        UnitReassembled(apid=1, data=b"A" * 10, first_sequence_count=0, segments=4),
    ]


def test_unsegmented_and_idle() -> None:
    events = _run([_packet(U, 5), _packet(U, 1, apid=IDLE_APID)])
    assert events == [UnitReassembled(4, b"ab", 5, 1)]


def test_sequence_gap_aborts_and_skips_rest_of_unit() -> None:
    events = _run([_packet(F, 1), _packet(C, 2), _packet(C, 4), _packet(C, 5), _packet(L, 6)])
    assert events == [SegmentMissing(4, AbortReason.SEQUENCE_GAP, 4, 3, 6)]


def test_gap_on_last_segment() -> None:
    events = _run([_packet(F, 1), _packet(L, 3), _packet(U, 4)])
    assert events == [
        SegmentMissing(4, AbortReason.SEQUENCE_GAP, 3, 2, 4),
        UnitReassembled(4, b"ab", 4, 1),
    ]


def test_continuation_without_first_reported_once() -> None:
    reassembler = Reassembler()
    for packet in (_packet(C, 1), _packet(C, 2), _packet(L, 3), _packet(F, 4), _packet(L, 5)):
        reassembler.receive(packet)
    assert reassembler.events() == [
        SegmentMissing(4, AbortReason.NO_FIRST, 1, 1, 2),
        UnitReassembled(4, b"abab", 4, 2),
    ]
    assert reassembler.discarded_segments == 3
    assert (reassembler.units, reassembler.aborted) == (1, 1)


def test_last_without_first() -> None:
    assert _run([_packet(L, 3)]) == [SegmentMissing(4, AbortReason.NO_FIRST, 3, 1, 2)]


def test_first_while_open() -> None:
    events = _run([_packet(F, 1), _packet(F, 2), _packet(L, 3)])
    assert events == [
        SegmentMissing(4, AbortReason.FIRST_WHILE_OPEN, 2, 1, 2),
        UnitReassembled(4, b"abab", 2, 2),
    ]


def test_unsegmented_while_open() -> None:
    events = _run([_packet(F, 1), _packet(U, 2)])
    assert events == [
        SegmentMissing(4, AbortReason.UNSEGMENTED_WHILE_OPEN, 2, 1, 2),
        UnitReassembled(4, b"ab", 2, 1),
    ]


def test_bound_on_reassembly() -> None:
    packets = segment(bytes(10), apid=4, max_data_length=4)
    assert _run(packets, max_unit_length=7) == [SegmentMissing(4, AbortReason.TOO_LONG, 1, 2, 8)]
    assert _run(packets, max_unit_length=3) == [SegmentMissing(4, AbortReason.TOO_LONG, 0, 1, 4)]
    assert _run(packets, max_unit_length=10) == [UnitReassembled(4, bytes(10), 0, 3)]


def test_abort_after_stream_gap() -> None:
    reassembler = Reassembler()
    reassembler.receive(_packet(F, 1))
    reassembler.receive(_packet(F, 1, apid=5))
    assert reassembler.open_units() == {4: 2, 5: 2}
    reassembler.abort(4)
    reassembler.receive(_packet(L, 2))  # the rest of the abandoned unit: quiet
    reassembler.abort()
    assert reassembler.events() == [
        SegmentMissing(4, AbortReason.ABORTED, None, 1, 2),
        SegmentMissing(5, AbortReason.ABORTED, None, 1, 2),
    ]
    assert reassembler.open_units() == {}


def test_reassembler_checks() -> None:
    with pytest.raises(UsageError):
        Reassembler(max_unit_length=0)
    with pytest.raises(UsageError):
        SegmentMissing(1, "gap", 1, 0, 0)  # type: ignore[arg-type]


@given(
    st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=6),
    st.integers(1, 64),
)
def test_round_trip_through_extractor(units: list[bytes], max_data_length: int) -> None:
    counter = SequenceCounter()
    packets = [
        p
        for u in units
        for p in segment(u, apid=7, max_data_length=max_data_length, counter=counter)
    ]
    stream = b"".join(p.encode() for p in packets)
    extractor, reassembler = PacketExtractor(), Reassembler()
    for i in range(0, len(stream), 97):
        for packet in extractor.feed(stream[i : i + 97]):
            reassembler.receive(packet)
    events = reassembler.events()
    assert [e.data for e in events if isinstance(e, UnitReassembled)] == units
    assert len(events) == len(units)


@given(
    st.lists(st.binary(min_size=1, max_size=60), min_size=1, max_size=6),
    st.integers(1, 16),
    st.data(),
)
def test_lost_packets_never_glue(
    units: list[bytes], max_data_length: int, data: st.DataObject
) -> None:
    # Drop any subset of packets: every delivered unit is one that was sent, whole.
    counter = SequenceCounter()
    packets = [
        p
        for u in units
        for p in segment(u, apid=7, max_data_length=max_data_length, counter=counter)
    ]
    keep = data.draw(st.lists(st.booleans(), min_size=len(packets), max_size=len(packets)))
    events = _run([p for p, k in zip(packets, keep, strict=True) if k])
    for event in events:
        if isinstance(event, UnitReassembled):
            assert event.data in units
        else:
            assert isinstance(event, SegmentMissing)
