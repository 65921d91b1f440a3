"""PacketExtractor: any split, gaps, idle packets, sync loss, counters."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.spp import (
    IDLE_APID,
    DiscardReason,
    OctetsDiscarded,
    PacketExtractor,
    SpacePacket,
)
from tests.comms.spp.strategies import packets


def _stream(items: list[SpacePacket]) -> bytes:
    return b"".join(p.encode() for p in items)


def _feed_all(extractor: PacketExtractor, chunks: list[bytes]) -> list[SpacePacket]:
    found: list[SpacePacket] = []
    for chunk in chunks:
        found += extractor.feed(chunk)
    return found


def _counters(e: PacketExtractor) -> tuple[int, ...]:
    return (
        e.packets,
        e.idle_packets,
        e.packet_octets,
        e.partials_dropped,
        e.sync_losses,
        e.discarded_octets,
        e.pending,
    )


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


PACKETS = [
    SpacePacket(apid=1, data=b"a"),
    SpacePacket(apid=2, data=bytes(range(200)), sequence_count=5),
    SpacePacket(apid=IDLE_APID, data=b"\xff" * 9),
    SpacePacket(apid=0x700, data=b"not idle: APID 0x700"),
    SpacePacket(apid=3, data=b"xyz" * 50, sec_header_flag=True),
]


def test_whole_buffer() -> None:
    extractor = PacketExtractor()
    stream = _stream(PACKETS)
    found = extractor.feed(stream)
    assert found == [p for p in PACKETS if not p.is_idle]
    assert (extractor.packets, extractor.idle_packets) == (4, 1)
    assert extractor.packet_octets == len(stream)
    assert extractor.pending == 0
    assert extractor.events() == []


def test_byte_by_byte_equals_whole() -> None:
    stream = _stream(PACKETS)
    whole = PacketExtractor()
    expected = whole.feed(stream)
    split = PacketExtractor()
    assert _feed_all(split, [stream[i : i + 1] for i in range(len(stream))]) == expected
    assert _counters(split) == _counters(whole)


def test_memoryview_and_bytearray_chunks() -> None:
    stream = _stream(PACKETS)
    extractor = PacketExtractor()
    found = extractor.feed(memoryview(stream)[:100]) + extractor.feed(bytearray(stream[100:]))
    assert found == [p for p in PACKETS if not p.is_idle]


def test_idle_packets_can_be_kept() -> None:
    extractor = PacketExtractor(skip_idle=False)
    assert extractor.feed(_stream(PACKETS)) == PACKETS
    assert extractor.idle_packets == 0


def test_gap_drops_the_partial_and_never_glues() -> None:
    first, second = PACKETS[1].encode(), PACKETS[4].encode()
    extractor = PacketExtractor()
    assert extractor.feed(first[:50]) == []
    assert extractor.pending == 50
    extractor.gap()
    # Without gap() the tail of `second` would be read as the rest of `first`.
    assert extractor.feed(second) == [PACKETS[4]]
    assert extractor.partials_dropped == 1
    assert extractor.events() == [OctetsDiscarded(DiscardReason.GAP, first[:50])]
    assert extractor.discarded_octets == 50


def test_gap_without_partial_is_quiet() -> None:
    extractor = PacketExtractor()
    extractor.feed(PACKETS[0].encode())
    extractor.gap()
    assert extractor.partials_dropped == 0
    assert extractor.events() == []


def test_gap_inside_a_header() -> None:
    extractor = PacketExtractor()
    extractor.feed(PACKETS[1].encode()[:3])
    extractor.gap()
    assert extractor.feed(PACKETS[0].encode()) == [PACKETS[0]]
    assert extractor.partials_dropped == 1


def test_bad_version_loses_sync_until_gap() -> None:
    good = PACKETS[0].encode()
    bad = b"\x20" + good[1:]  # version 1
    extractor = PacketExtractor()
    found = extractor.feed(good + bad + good)
    assert found == [PACKETS[0]]
    assert not extractor.in_sync
    assert extractor.feed(good) == []  # out of sync: discarded, not parsed
    assert extractor.events() == [
        OctetsDiscarded(DiscardReason.BAD_VERSION, bad + good),
        OctetsDiscarded(DiscardReason.OUT_OF_SYNC, good),
    ]
    assert extractor.sync_losses == 1
    assert extractor.discarded_octets == len(bad) + 2 * len(good)
    extractor.gap()
    assert extractor.in_sync
    assert extractor.feed(good) == [PACKETS[0]]


def test_max_packet_length_bound() -> None:
    extractor = PacketExtractor(max_packet_length=100)
    small, big = PACKETS[0].encode(), PACKETS[1].encode()
    assert extractor.feed(small + big[:6]) == [PACKETS[0]]
    assert extractor.events() == [OctetsDiscarded(DiscardReason.TOO_LONG, big[:6])]
    assert extractor.sync_losses == 1


@pytest.mark.parametrize("bound", [6, 65543, "100"])
def test_bad_bound(bound: object) -> None:
    with pytest.raises(UsageError):
        PacketExtractor(max_packet_length=bound)  # type: ignore[arg-type]


@given(st.lists(packets(max_data=80), max_size=12), st.lists(st.integers(0, 2000), max_size=12))
def test_any_split_equals_whole(items: list[SpacePacket], cuts: list[int]) -> None:
    stream = _stream(items)
    whole = PacketExtractor()
    expected = whole.feed(stream)
    assert expected == [p for p in items if not p.is_idle]
    split = PacketExtractor()
    assert _feed_all(split, _split(stream, cuts)) == expected
    assert _counters(split) == _counters(whole)


@given(
    st.binary(max_size=300),
    st.lists(st.integers(0, 300), max_size=6),
    st.booleans(),
    st.sampled_from([65542, 40]),
)
def test_any_chunks_never_raise(
    garbage: bytes, cuts: list[int], skip_idle: bool, bound: int
) -> None:
    # Any octets, any split: feed() returns packets and reports discards, never raises,
    # and every octet is accounted for as packet, pending or discarded. Both the
    # unbounded and the bounded loop run.
    whole = PacketExtractor(skip_idle=skip_idle, max_packet_length=bound)
    whole_found = whole.feed(garbage)
    split = PacketExtractor(skip_idle=skip_idle, max_packet_length=bound)
    found = _feed_all(split, _split(garbage, cuts))
    assert found == whole_found
    assert _counters(split) == _counters(whole)
    discarded = b"".join(e.data for e in split.events())
    assert discarded == b"".join(e.data for e in whole.events())
    assert split.packet_octets + split.pending + split.discarded_octets == len(garbage)
    if not skip_idle:
        assert b"".join(p.encode() for p in found) == garbage[: split.packet_octets]
    split.gap()
    assert split.pending == 0 and split.in_sync
