"""Properties of whole CFDP transfers over an impaired loopback (Hypothesis, virtual time).

Whatever the seed, loss (0-30 %), duplication, reordering, corruption (caught by the PDU
CRC), outages and user suspend/resume at random moments: a transfer ends on both sides
within bounded virtual time, with the exact file or with a fault reported -- never a
hang, never a silently wrong file.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comms.cfdp import (
    Abandoned,
    ConditionCode,
    MemoryFilestore,
    NakMode,
    PutRequest,
    TransactionFinished,
    TransmissionMode,
)

from .loopback import A, B, Loopback, make_entity

BOUND = 2000.0  # virtual seconds: far beyond every timer x limit of the loopback MIB


@st.composite
def impairments(draw: st.DrawFn) -> dict[str, object]:
    start = draw(st.floats(0, 5))
    return {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "loss": draw(st.floats(0, 0.3)),
        "duplicate": draw(st.floats(0, 0.2)),
        "reorder": draw(st.floats(0, 0.3)),
        "corrupt": draw(st.floats(0, 0.05)),
        "outages": draw(st.lists(st.just((start, start + draw(st.floats(0.1, 8)))), max_size=1)),
    }


def _run(
    channel: dict[str, object],
    size: int,
    mode: TransmissionMode,
    nak_mode: NakMode,
    suspend_at: float | None,
    max_pdu_length: int,
) -> tuple[Loopback, bytes]:
    settings_ = {"crc": True, "nak_mode": nak_mode, "max_pdu_length": max_pdu_length}
    a = make_entity(A, B, MemoryFilestore(), **settings_)
    b = make_entity(B, A, MemoryFilestore(), **settings_)
    lb = Loopback(a=a, b=b, **channel)  # type: ignore[arg-type]
    data = random.Random(size).randbytes(size)
    lb.fs_a.files[b"src"] = bytearray(data)
    tid = lb.a.put(PutRequest(B, "src", "dst", transmission_mode=mode, closure_requested=True), 0.0)
    if suspend_at is not None:
        lb.run(until=suspend_at)
        if tid in lb.a.transactions:
            lb.a.suspend(tid, lb.now)
            lb.run(until=lb.now + 50)
            if tid in lb.a.transactions:  # a Finished may end it while suspended
                lb.a.resume(tid, lb.now)
        if tid in lb.b.transactions:
            lb.b.suspend(tid, lb.now)
            lb.run(until=lb.now + 50)
            if tid in lb.b.transactions:
                lb.b.resume(tid, lb.now)
    lb.run(until=BOUND, max_steps=200_000)
    return lb, data


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    channel=impairments(),
    size=st.sampled_from([0, 1, 300, 5000, 20_000]),
    nak_mode=st.sampled_from(list(NakMode)),
    suspend_at=st.none() | st.floats(0, 3),
    max_pdu_length=st.sampled_from([64, 256, 1024]),
)
def test_class2_transfer_ends_with_the_file_or_a_reported_fault(
    channel: dict[str, object],
    size: int,
    nak_mode: NakMode,
    suspend_at: float | None,
    max_pdu_length: int,
) -> None:
    lb, data = _run(
        channel, size, TransmissionMode.ACKNOWLEDGED, nak_mode, suspend_at, max_pdu_length
    )
    assert lb.now < BOUND, "the transfer did not end in bounded virtual time"
    assert lb.a.transactions == [] and lb.b.transactions == []
    ends_a = [e for e in lb.events_a if isinstance(e, TransactionFinished | Abandoned)]
    ends_b = [e for e in lb.events_b if isinstance(e, TransactionFinished | Abandoned)]
    assert len(ends_a) == 1  # the source always reports how it ended
    assert len(ends_b) <= 1
    got = lb.fs_b.files.get(b"dst")
    if got is not None:
        assert bytes(got) == data, "a wrong file was delivered"
    if ends_a[0].condition_code is ConditionCode.NO_ERROR:
        assert got is not None and bytes(got) == data
    if ends_b and ends_b[0].condition_code is ConditionCode.NO_ERROR:
        assert got is not None
    # No part file is ever left behind (incomplete files are not retained by default).
    assert all(not name.startswith(b".cfdp-") for name in lb.fs_b.files)


@settings(max_examples=30, deadline=None)
@given(channel=impairments(), size=st.sampled_from([0, 300, 5000]))
def test_class1_never_delivers_a_wrong_file(channel: dict[str, object], size: int) -> None:
    lb, data = _run(channel, size, TransmissionMode.UNACKNOWLEDGED, NakMode.DEFERRED, None, 256)
    assert lb.a.transactions == [] and lb.b.transactions == []
    got = lb.fs_b.files.get(b"dst")
    if got is not None:
        assert bytes(got) == data


def test_zero_loss_is_never_a_fault() -> None:
    for seed in range(20):
        lb, data = _run(
            {"seed": seed}, 3000, TransmissionMode.ACKNOWLEDGED, NakMode.DEFERRED, None, 256
        )
        (end,) = [e for e in lb.events_a if isinstance(e, TransactionFinished)]
        assert end.condition_code is ConditionCode.NO_ERROR
        assert bytes(lb.fs_b.files[b"dst"]) == data


@pytest.mark.slow
def test_soak_one_megabyte_at_ten_percent_loss() -> None:
    lb, data = _run(
        {"seed": 7, "loss": 0.1, "reorder": 0.1, "duplicate": 0.05},
        1 << 20,
        TransmissionMode.ACKNOWLEDGED,
        NakMode.IMMEDIATE,
        None,
        1024,
    )
    (end,) = [e for e in lb.events_a if isinstance(e, TransactionFinished)]
    assert end.condition_code is ConditionCode.NO_ERROR
    assert bytes(lb.fs_b.files[b"dst"]) == data
