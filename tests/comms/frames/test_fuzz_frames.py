"""The frame fuzz harness's rule, run over Hypothesis inputs and valid frames."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from comms.frames import TcFrame, TmFrame
from tools.fuzz.fuzz_frames import TARGETS, check


@given(st.integers(0, len(TARGETS) - 1), st.binary(max_size=64))
def test_any_input_is_accepted_or_rejected(target: int, frame: bytes) -> None:
    check(bytes([target]) + frame)


def test_valid_frames_pass_the_round_trip_rule() -> None:
    tm = TmFrame(1, 2, 3, 4, 5, bytes(10), has_fecf=False).encode()
    check(bytes([0]) + tm)
    tc = TcFrame(1, 2, 3, b"abc").encode()
    check(bytes([6]) + tc)
    check(b"")
