"""The anti-replay window against a set-based model, and the multi-station merge."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.sdls import RejectReason, ReplayWindow, merge_by_sequence


def _model(width: int, accepted: set[int], n: int, limit: int | None) -> RejectReason | None:
    if not accepted:
        return None
    top = max(accepted)
    if n > top:
        return RejectReason.OUTSIDE_WINDOW if limit is not None and n - top > limit else None
    if top - n >= width:
        return RejectReason.OUTSIDE_WINDOW
    return RejectReason.REPLAY if n in accepted else None


@given(
    st.integers(1, 70),
    st.none() | st.integers(1, 200),
    st.lists(st.integers(0, 400), max_size=200),
)
def test_window_matches_the_model(width: int, limit: int | None, numbers: list[int]) -> None:
    window = ReplayWindow(width, forward_limit=limit)
    accepted: set[int] = set()
    for n in numbers:
        expected = _model(width, accepted, n, limit)
        assert window.check(n) is expected
        if expected is None:
            window.accept(n)
            accepted.add(n)
    assert window.top == (max(accepted) if accepted else None)


def test_restored_window_treats_everything_up_to_top_as_seen() -> None:
    window = ReplayWindow(8, top=100)
    assert window.check(100) is RejectReason.REPLAY
    assert window.check(95) is RejectReason.REPLAY
    assert window.check(92) is RejectReason.OUTSIDE_WINDOW
    assert window.check(101) is None


def test_big_jump_clears_the_bitmap() -> None:
    window = ReplayWindow(4)
    window.accept(1)
    window.accept(1000)
    assert window.check(999) is None
    assert window.check(1000) is RejectReason.REPLAY


def test_validation() -> None:
    with pytest.raises(UsageError):
        ReplayWindow(0)
    with pytest.raises(UsageError):
        ReplayWindow(8, top=-1)


def test_merge_orders_and_drops_identical_copies() -> None:
    station_a = [(1, "a"), (2, "b"), (4, "d")]
    station_b = [(2, "b"), (3, "c"), (4, "D?")]
    merged = merge_by_sequence([station_a, station_b], lambda f: f[0])
    assert merged == [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (4, "D?")]
