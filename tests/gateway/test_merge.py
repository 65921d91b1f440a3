"""Station merge: de-duplication, order, gap fill and give-up, per-station quality."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.frames import AosFrame, AosParams, TmFrame, TmParams
from gateway.merge import (
    FrameRefused,
    FramesGivenUp,
    LateFrame,
    RefuseReason,
    StationMerge,
    StreamReset,
)

TM = TmParams(frame_length=64)
AOS = AosParams(frame_length=64)


def tm_frame(n: int, *, vcid: int = 1, scid: int = 42) -> bytes:
    """Frame number ``n`` of a pass: VC count n mod 256, its number in the data field."""
    body = n.to_bytes(4, "big") * 14
    return TmFrame(
        scid=scid,
        vcid=vcid,
        mc_frame_count=n & 0xFF,
        vc_frame_count=n & 0xFF,
        first_header_pointer=0x7FE,
        data_field=body[:56],
    ).encode()


def aos_frame(n: int, *, vcid: int = 1) -> bytes:
    return AosFrame(
        scid=42,
        vcid=vcid,
        vc_frame_count=n & 0xFFFFFF,
        data_field=n.to_bytes(4, "big") * 13 + bytes(4),
    ).encode()


def corrupt(frame: bytes) -> bytes:
    damaged = bytearray(frame)
    damaged[10] ^= 0x5A
    return bytes(damaged)


def numbers(merge: StationMerge) -> list[int]:
    return [int.from_bytes(f.data[6:10], "big") for f in merge.frames()]


def test_in_order_single_station_passes_straight_through() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    for n in range(10):
        merge.receive("A", tm_frame(n), now=0.0)
    assert numbers(merge) == list(range(10))
    assert merge.next_deadline() is None
    assert merge.quality()["A"].contributed == 10


def test_two_stations_fill_each_others_gaps_and_duplicates_are_dropped() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    a = [n for n in range(40) if not 10 <= n <= 20]
    b = [n for n in range(40) if not 15 <= n <= 30]
    for step in range(40):  # both stations in step, A first
        if step in a:
            merge.receive("A", tm_frame(step), now=step * 0.01)
        if step in b:
            merge.receive("B", tm_frame(step), now=step * 0.01)
    merge.flush()
    out = merge.frames()
    # 15..20 were lost at both stations: given up; everything else exactly once, in order.
    union = sorted(set(a) | set(b))
    assert [f.vc_frame_count for f in out] == union
    assert [f.data for f in out] == [tm_frame(n) for n in union]
    by_count = {f.vc_frame_count: f for f in out}
    assert by_count[12].station == "B" and by_count[25].station == "A"
    assert out[0].stations == ("A",)  # released at once: B's copy came after
    qa, qb = merge.quality()["A"], merge.quality()["B"]
    assert qa.unique == len(set(a) - set(b)) and qb.unique == len(set(b) - set(a))
    assert qa.contributed + qb.contributed == len(union)
    assert qb.duplicates == len(set(a) & set(b))
    assert (qa.gaps, qb.gaps) == (1, 1)
    assert [e for e in merge.events() if isinstance(e, FramesGivenUp)] == [
        FramesGivenUp(42, 1, 15, 6)
    ]


def test_crc_bad_copy_never_wins_and_is_counted() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    merge.receive("A", tm_frame(0), now=0)
    merge.receive("A", corrupt(tm_frame(1)), now=0)
    merge.receive("B", tm_frame(1), now=0)
    merge.receive("A", tm_frame(2), now=0)
    assert numbers(merge) == [0, 1, 2]
    assert merge.quality()["A"].crc_failures == 1
    events = merge.events()
    assert FrameRefused("A", RefuseReason.FECF, "FECF mismatch") in events


def test_malformed_frames_are_refused_not_fatal() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    merge.receive("A", b"\x00" * 10, now=0)
    bad_version = bytearray(tm_frame(0))
    bad_version[0] |= 0x40
    from comms.crc import crc16_ccitt

    bad_version[-2:] = crc16_ccitt(bytes(bad_version[:-2])).to_bytes(2, "big")
    merge.receive("A", bytes(bad_version), now=0)
    assert merge.quality()["A"].malformed == 2
    reasons = [e.reason for e in merge.events() if isinstance(e, FrameRefused)]
    assert reasons == [RefuseReason.LENGTH, RefuseReason.VERSION]
    assert merge.frames() == []


def test_hole_is_given_up_after_the_timeout() -> None:
    merge = StationMerge(TM, timeout_s=2.0, start_hold_s=0)
    merge.receive("A", tm_frame(0), now=10.0)
    merge.receive("A", tm_frame(2), now=10.5)
    merge.receive("A", tm_frame(3), now=11.0)
    assert numbers(merge) == [0]
    assert merge.next_deadline() == 12.5
    merge.on_timer(12.4)
    assert numbers(merge) == []
    merge.on_timer(12.5)
    assert numbers(merge) == [2, 3]
    assert merge.events() == [FramesGivenUp(42, 1, 1, 1)]
    assert merge.next_deadline() is None
    # The missing frame arriving now is late: dropped, never released out of order.
    merge.receive("B", tm_frame(1), now=13.0)
    assert numbers(merge) == []
    assert merge.events() == [LateFrame("B", 42, 1, 1)]
    assert merge.quality()["B"].late == 1


def test_frame_a_window_ahead_forces_the_hole_out() -> None:
    merge = StationMerge(TM, window=8, start_hold_s=0)
    merge.receive("A", tm_frame(0), now=0)
    for n in range(2, 9):
        merge.receive("A", tm_frame(n), now=0)
    assert numbers(merge) == [0]
    merge.receive("A", tm_frame(9), now=0)  # 9 - 1 >= 8: count 1 is given up
    assert numbers(merge) == list(range(2, 10))
    assert merge.events() == [FramesGivenUp(42, 1, 1, 1)]


def test_start_hold_lets_an_earlier_station_contribute() -> None:
    merge = StationMerge(TM, timeout_s=1.0)
    merge.receive("B", tm_frame(5), now=0.0)
    merge.receive("B", tm_frame(6), now=0.1)
    merge.receive("A", tm_frame(3), now=0.2)
    merge.receive("A", tm_frame(4), now=0.3)
    assert numbers(merge) == []
    assert merge.next_deadline() == 1.0
    merge.on_timer(1.0)
    assert numbers(merge) == [3, 4, 5, 6]
    assert merge.events() == []


def test_wrap_of_the_8_bit_tm_count() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    for n in range(250, 262):
        if n != 256:
            merge.receive("A", tm_frame(n), now=0)
    merge.receive("B", tm_frame(256), now=0)
    assert numbers(merge) == list(range(250, 262))


def test_aos_24_bit_counts_and_idle_frames() -> None:
    merge = StationMerge(AOS, start_hold_s=0)
    for n in range(0xFFFFFE, 0x1000003):
        if n != 0xFFFFFF:
            merge.receive("A", aos_frame(n), now=0)
    merge.receive("A", aos_frame(7, vcid=63), now=0)
    assert numbers(merge) == [0xFFFFFE]
    merge.receive("B", aos_frame(0xFFFFFF), now=0)
    assert numbers(merge) == list(range(0xFFFFFF, 0x1000003))
    assert merge.quality()["A"].idle_frames == 1


def test_virtual_channels_are_merged_independently() -> None:
    merge = StationMerge(TM, start_hold_s=0)
    merge.receive("A", tm_frame(0, vcid=1), now=0)
    merge.receive("A", tm_frame(0, vcid=2), now=0)
    merge.receive("A", tm_frame(2, vcid=1), now=0)
    merge.receive("A", tm_frame(1, vcid=2), now=0)
    out = merge.frames()
    assert [(f.vcid, f.vc_frame_count) for f in out] == [(1, 0), (2, 0), (2, 1)]


def test_silent_channel_starts_over() -> None:
    merge = StationMerge(TM, start_hold_s=0, idle_reset_s=30)
    merge.receive("A", tm_frame(100), now=0)
    merge.receive("A", tm_frame(0), now=100)  # a new pass: counts restarted
    assert numbers(merge) == [100, 0]
    assert merge.events() == [StreamReset(42, 1, "silent longer than idle_reset_s")]


def test_options_are_checked() -> None:
    with pytest.raises(UsageError, match="below half"):
        StationMerge(TM, window=128)
    with pytest.raises(UsageError, match="timeout_s"):
        StationMerge(TM, timeout_s=-1)
    with pytest.raises(UsageError, match="TmParams or AosParams"):
        StationMerge(object())  # type: ignore[arg-type]


# -- Hypothesis: any loss/duplication/corruption pattern over 2-3 stations -------------

FATES = st.sampled_from(["ok", "ok", "ok", "lost", "bad", "dup"])


@st.composite
def passes(draw: st.DrawFn) -> tuple[int, int, list[list[str]], list[list[int]]]:
    start = draw(st.integers(0, 255))
    n = draw(st.integers(1, 400))
    stations = draw(st.integers(2, 3))
    fates = [draw(st.lists(FATES, min_size=n, max_size=n)) for _ in range(stations)]
    # Delivery skew between stations, in frames; below the window so that nothing a
    # station still holds is pushed out by count distance.
    jitter = [draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)) for _ in range(stations)]
    return start, n, fates, jitter


@settings(max_examples=150)
@given(passes())
def test_merge_is_the_deduplicated_union_in_order(
    case: tuple[int, int, list[list[str]], list[list[int]]],
) -> None:
    start, n, fates, jitter = case
    frames = [tm_frame(start + i) for i in range(n)]
    deliveries: list[tuple[int, int, int, bytes]] = []  # (key, order, station, frame)
    order = 0
    for s, (station_fates, station_jitter) in enumerate(zip(fates, jitter, strict=True)):
        for i, fate in enumerate(station_fates):
            key = i + station_jitter[i]
            if fate == "lost":
                continue
            if fate == "bad":
                deliveries.append((key, order, s, corrupt(frames[i])))
            else:
                deliveries.append((key, order, s, frames[i]))
                if fate == "dup":
                    deliveries.append((key + 1, order + 1, s, frames[i]))
            order += 2
    deliveries.sort()
    merge = StationMerge(TM, window=64, timeout_s=5.0)
    names = ["A", "B", "C"]
    for name in names[: len(fates)]:
        merge.add_station(name)
    for _key, _order, s, frame in deliveries:
        merge.receive(names[s], frame, now=0.0)
    merge.flush()
    out = merge.frames()
    had = [i for i in range(n) if any(f[i] in ("ok", "dup") for f in fates)]
    assert [f.data for f in out] == [frames[i] for i in had]
    assert [f.vc_frame_count for f in out] == [(start + i) & 0xFF for i in had]
    quality = merge.quality()
    assert sum(q.contributed for q in quality.values()) == len(had)
    assert sum(q.crc_failures for q in quality.values()) == sum(f.count("bad") for f in fates)
    assert not [e for e in merge.events() if isinstance(e, LateFrame | StreamReset)]
    for s, name in enumerate(names[: len(fates)]):
        alone = [
            i
            for i in had
            if fates[s][i] in ("ok", "dup")
            and all(f[i] not in ("ok", "dup") for k, f in enumerate(fates) if k != s)
        ]
        assert quality[name].unique == len(alone)
