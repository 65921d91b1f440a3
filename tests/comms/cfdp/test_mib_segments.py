"""The MIB's validation and profiles, the timers, and the received-range bookkeeping."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import (
    ChecksumType,
    ConditionCode,
    DiskFilestore,
    Entity,
    FaultHandlerCode,
    LocalEntityConfig,
    Mib,
    PduConfig,
    PduHeader,
    PutRequest,
    RemoteEntityConfig,
    TransactionFinished,
    cf_profile,
)
from comms.cfdp.segments import SegmentSet
from comms.cfdp.timers import Timer
from comms.errors import UsageError

from .loopback import A, B, Loopback, remote


def test_cf_profile_matches_cf_defaults() -> None:
    # nasa/CF fsw/tables/cf_def_config.c and cf_platform_cfg.h (CF_MAX_PDU_SIZE 512,
    # CF_NAK_MAX_SEGMENTS 58, ack/nak timers 3 s, limits 4, inactivity 30 s).
    cf = cf_profile(25)
    assert cf.max_pdu_length == 512
    assert cf.max_nak_segment_requests == 58
    assert (cf.ack_timer_interval, cf.ack_limit, cf.nak_timer_interval, cf.nak_limit) == (
        3.0,
        4,
        3.0,
        4,
    )
    assert cf.inactivity_timer_interval == 30.0
    assert cf.checksum_type is ChecksumType.MODULAR
    assert not cf.crc and not cf.large_file
    header = PduHeader(cf.pdu_config, 1, 1, 25)
    # 512 - (4 + 2*2 + 4) header - 4 offset = 496 octets of file data per PDU.
    assert cf.max_file_segment_length(header) == 496
    assert cf_profile(25, ack_limit=9).ack_limit == 9


@pytest.mark.parametrize(
    "bad",
    [
        {"ack_limit": 0},
        {"nak_timer_interval": -1},
        {"max_pdu_length": 10_000_000},
        {"checksum_type": ChecksumType.CRC32_PROXIMITY1},
        {"entity_id_length": 9},
        {"keep_alive_interval": 0},
        {"nak_mode": "deferred"},
    ],
)
def test_remote_config_refuses_bad_values(bad: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        RemoteEntityConfig(2, **bad)  # type: ignore[arg-type]


def test_remote_entity_id_must_fit_its_length() -> None:
    with pytest.raises(UsageError):
        RemoteEntityConfig(70000, entity_id_length=2)


def test_local_config_fault_handlers_and_mib() -> None:
    local = LocalEntityConfig(
        1, fault_handlers={ConditionCode.NAK_LIMIT_REACHED: FaultHandlerCode.ABANDON_TRANSACTION}
    )
    assert local.fault_handler(ConditionCode.NAK_LIMIT_REACHED) is (
        FaultHandlerCode.ABANDON_TRANSACTION
    )
    assert local.fault_handler(ConditionCode.INACTIVITY_DETECTED) is (
        FaultHandlerCode.ISSUE_NOTICE_OF_CANCELLATION
    )
    with pytest.raises(UsageError):
        LocalEntityConfig(1, fault_handlers={ConditionCode.NO_ERROR: 1})
    with pytest.raises(UsageError):
        LocalEntityConfig(1, fault_handlers={ConditionCode.NAK_LIMIT_REACHED: 9})
    with pytest.raises(UsageError):
        Mib(local, {3: RemoteEntityConfig(4)})
    mib = Mib(local, {}, default_remote=RemoteEntityConfig(0))
    found = mib.remote(77)
    assert found is not None and found.entity_id == 77
    assert mib.remote(1 << 40) is None  # does not fit the default's 2-octet ids
    assert Mib(local).remote(5) is None


def test_timer_freeze_keeps_the_time_left() -> None:
    timer = Timer("t", 10.0)
    timer.start(0.0)
    timer.freeze(4.0)
    assert timer.deadline is None and timer.running and not timer.expired(1e9)
    timer.thaw(100.0)
    assert timer.deadline == 106.0
    timer.freeze(101.0)
    timer.start(102.0)  # started while frozen: starts frozen with its whole interval
    timer.thaw(200.0)
    assert timer.deadline == 210.0
    timer.stop()
    assert not timer.running


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 50)), max_size=40))
def test_segment_set_matches_a_set_of_octets(pieces: list[tuple[int, int]]) -> None:
    ranges = SegmentSet()
    octets: set[int] = set()
    for start, length in pieces:
        new = ranges.add(start, start + length)
        fresh = {o for a, b in new for o in range(a, b)}
        assert fresh == set(range(start, start + length)) - octets
        octets |= fresh
        assert ranges.total == len(octets)
    gaps = {o for a, b in ranges.gaps(0, 260) for o in range(a, b)}
    assert gaps == set(range(260)) - octets
    held = ranges.ranges()
    assert all(b0 < a1 for (_, b0), (a1, _) in itertools.pairwise(held))
    assert ranges.covers(0, 0)
    for a, b in held:
        assert ranges.covers(a, b) and not ranges.covers(a, b + 1)


def test_segment_set_as_a_send_queue() -> None:
    queue = SegmentSet()
    queue.add(100, 250)
    queue.add(0, 10)
    assert queue.remove_first(64) == (0, 10)
    assert queue.remove_first(64) == (100, 164)
    assert queue.remove_first(1000) == (164, 250)
    assert queue.remove_first(1) is None and queue.total == 0


def test_class2_transfer_between_disk_filestores_with_large_file_pdus(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    data = bytes(range(256)) * 64
    (tmp_path / "a" / "src.bin").write_bytes(data)
    settings = {"large_file": True, "crc": True}
    a = Entity(Mib(LocalEntityConfig(A), {B: remote(B, **settings)}), DiskFilestore(tmp_path / "a"))
    b = Entity(Mib(LocalEntityConfig(B), {A: remote(A, **settings)}), DiskFilestore(tmp_path / "b"))
    lb = Loopback(4, a=a, b=b, loss=0.1)
    lb.a.put(PutRequest(B, "src.bin", "dst.bin"), 0.0)
    lb.run()
    (end,) = [e for e in lb.events_a if isinstance(e, TransactionFinished)]
    assert end.condition_code is ConditionCode.NO_ERROR
    assert (tmp_path / "b" / "dst.bin").read_bytes() == data
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["dst.bin"]


def test_put_of_a_file_over_4_gib_needs_large_file(tmp_path: Path) -> None:
    with open(tmp_path / "huge", "wb") as f:
        f.truncate(1 << 32)  # sparse: no disk used
    a = Entity(Mib(LocalEntityConfig(A), {B: remote(B)}), DiskFilestore(tmp_path))
    with pytest.raises(UsageError, match="large_file"):
        a.put(PutRequest(B, "huge", "x"), 0.0)
    big = Entity(
        Mib(LocalEntityConfig(A), {B: remote(B, large_file=True)}), DiskFilestore(tmp_path)
    )
    tid = big.put(PutRequest(B, "huge", "x"), 0.0)
    assert big.transaction(tid).file_size == 1 << 32
    assert PduConfig(2, 4, large_file=True).fss_length == 8
