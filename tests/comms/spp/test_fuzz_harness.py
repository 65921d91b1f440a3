"""The atheris harness's rule, run under Hypothesis so the suite checks it without
atheris (tools/fuzz/fuzz_spp.py runs the same function under libFuzzer)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from comms.spp import SpacePacket
from tools.fuzz.fuzz_spp import test_one_input as fuzz_one_input

_VALID = (
    SpacePacket(apid=0x7FF, data=b"\x00" * 3).encode() + SpacePacket(apid=1, data=b"x").encode()
)


@given(st.binary(max_size=200))
def test_harness_rule_holds(data: bytes) -> None:
    fuzz_one_input(data)


def test_harness_seeds() -> None:
    for seed in (b"", b"\x00", b"\x40" + _VALID, b"\x01" + _VALID + b"\xe0" + _VALID):
        fuzz_one_input(seed)
