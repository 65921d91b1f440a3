"""The SDLS fuzz harness's rule, over Hypothesis inputs and genuine protected frames."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from comms.frames import TcFrame
from tools.fuzz.fuzz_sdls import ENGINES, check


@settings(max_examples=400)
@given(st.integers(0, 255), st.binary(max_size=80))
def test_any_input_is_accepted_or_rejected(selector: int, frame: bytes) -> None:
    check(bytes([selector]) + frame)


def test_genuine_frames_pass_the_rule() -> None:
    encryption_only = ENGINES[5]
    protected = encryption_only.apply(TcFrame(1, 1, 0, b"abc"), 7)
    check(bytes([5 | 0x80]) + protected)
    check(b"")
