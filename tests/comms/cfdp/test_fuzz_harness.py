"""The atheris harness's rule, run under Hypothesis so the suite checks it without
atheris (tools/fuzz/fuzz_cfdp.py runs the same function under libFuzzer)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import PduConfig, PduHeader, ProxyPutRequest
from tests.comms.cfdp.strategies import pdus
from tools.fuzz.fuzz_cfdp import test_one_input as fuzz_one_input


@given(st.binary(max_size=200))
def test_harness_rule_holds(data: bytes) -> None:
    fuzz_one_input(data)


@given(pdus(), st.binary(max_size=4))
def test_harness_on_pdus_and_suffixes(pdu: object, tail: bytes) -> None:
    raw = pdu.encode()  # type: ignore[attr-defined]
    fuzz_one_input(raw)
    fuzz_one_input(raw[:-1] + tail)


def test_harness_seeds() -> None:
    header = PduHeader(PduConfig(crc=True), 1, 2, 3)
    for seed in (b"", b"\x00", ProxyPutRequest(5, "a", "b").encode()[4:], header.length.to_bytes()):
        fuzz_one_input(seed)
