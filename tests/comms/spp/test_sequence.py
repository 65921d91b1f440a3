"""Per-APID sequence counts: the send-side counter and the receive-side checker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.spp import (
    IDLE_APID,
    SequenceChecker,
    SequenceCounter,
    SequenceDuplicate,
    SequenceGap,
    SpacePacket,
)


def test_counter_is_per_apid_and_wraps() -> None:
    counter = SequenceCounter({7: 16382})
    assert [counter.next(7) for _ in range(4)] == [16382, 16383, 0, 1]
    assert counter.next(8) == 0
    assert counter.peek(7) == 2
    assert counter.peek(9) == 0


@pytest.mark.parametrize("apid", [-1, 2048, "1"])
def test_counter_rejects_bad_apid(apid: object) -> None:
    with pytest.raises(UsageError):
        SequenceCounter().next(apid)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        SequenceCounter({apid: 0})  # type: ignore[dict-item]


def test_counter_rejects_bad_start() -> None:
    with pytest.raises(UsageError):
        SequenceCounter({1: 16384})


def test_checker_in_order_is_quiet() -> None:
    checker = SequenceChecker()
    counts = [16382, 16383, 0, 1]  # across the wrap
    assert [checker.receive_count(5, c) for c in counts] == [None] * 4
    assert checker.last(5) == 1
    assert (checker.gaps, checker.duplicates) == (0, 0)


def test_checker_reports_gap_across_wrap() -> None:
    checker = SequenceChecker()
    checker.receive_count(5, 16380)
    assert checker.receive_count(5, 2) == SequenceGap(apid=5, expected=16381, got=2, missing=5)
    assert checker.receive_count(5, 3) is None
    assert (checker.gaps, checker.missing) == (1, 5)


def test_checker_reports_duplicate_and_keeps_reference() -> None:
    checker = SequenceChecker()
    checker.receive_count(1, 10)
    assert checker.receive_count(1, 10) == SequenceDuplicate(apid=1, last=10, got=10, behind=0)
    assert checker.receive_count(1, 11) is None
    assert checker.duplicates == 1


def test_duplicate_window() -> None:
    narrow, wide = SequenceChecker(), SequenceChecker(duplicate_window=4)
    for checker in (narrow, wide):
        for count in (0, 1, 2, 3):
            checker.receive_count(9, count)
    assert isinstance(narrow.receive_count(9, 1), SequenceGap)  # read as a 16382 gap
    assert wide.receive_count(9, 1) == SequenceDuplicate(9, 3, 1, 2)
    assert wide.receive_count(9, 4) is None


def test_apids_are_independent_and_idle_ignored() -> None:
    checker = SequenceChecker()
    for apid, count in ((1, 0), (2, 100), (1, 1), (2, 101)):
        assert checker.receive(SpacePacket(apid=apid, data=b"x", sequence_count=count)) is None
    assert checker.receive(SpacePacket(apid=IDLE_APID, data=b"x", sequence_count=7)) is None
    assert checker.last(IDLE_APID) is None
    checker.forget(1)
    assert checker.receive_count(1, 500) is None
    checker.forget()
    assert checker.last(2) is None


def test_event_checks() -> None:
    with pytest.raises(UsageError):
        SequenceGap(apid=1, expected=3, got=5, missing=3)
    with pytest.raises(UsageError):
        SequenceGap(apid=1, expected=3, got=3, missing=0)
    with pytest.raises(UsageError):
        SequenceDuplicate(apid=1, last=3, got=3, behind=1)
    with pytest.raises(UsageError):
        SequenceChecker(duplicate_window=8192)


@given(
    st.integers(0, 16383),
    st.lists(st.integers(1, 40), min_size=1, max_size=30),
)
def test_checker_accounts_for_every_missing_packet(start: int, steps: list[int]) -> None:
    # Send counts start, start+s1, start+s1+s2, ... (mod 16384): steps of 1 are in
    # order, larger steps lose step-1 packets each.
    checker = SequenceChecker()
    count = start
    checker.receive_count(3, count)
    for step in steps:
        count = (count + step) % 16384
        event = checker.receive_count(3, count)
        assert (event is None) == (step == 1)
    assert checker.missing == sum(s - 1 for s in steps)
    assert checker.gaps == sum(1 for s in steps if s > 1)


@given(st.lists(st.integers(0, 3), max_size=60))
def test_counter_feeds_checker_without_events(apids: list[int]) -> None:
    counter, checker = SequenceCounter(), SequenceChecker()
    for apid in apids:
        assert checker.receive_count(apid, counter.next(apid)) is None
