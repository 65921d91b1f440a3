"""SA state persistence: a restart never reuses an IV nor reopens the replay window."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from comms.errors import UsageError
from comms.sdls import (
    FileStateStore,
    MemoryKeyStore,
    MemoryStateStore,
    RejectReason,
    SaRecord,
    SaState,
    SecurityEngine,
    SecurityError,
    ServiceType,
)
from tests.comms.sdls.support import CHANNELS, KEY

TC = CHANNELS[2]
AEAD = ServiceType.AUTHENTICATED_ENCRYPTION


def _engine(store: object, reserve: int = 10) -> SecurityEngine:
    engine = SecurityEngine(TC.params, MemoryKeyStore([KEY]), store, reserve=reserve)  # type: ignore[arg-type]
    engine.add(TC.sa(AEAD))
    return engine


def _iv(frame: bytes) -> int:
    return int.from_bytes(frame[8:20], "big")


def test_file_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sa-state.json"
    store = FileStateStore(path)
    record = SaRecord(SaState.OPERATIONAL, 3, 10, 20, 30)
    store.save(7, record)
    store.save(8, SaRecord(SaState.KEYED, 4))
    assert FileStateStore(path).load(7) == record
    assert FileStateStore(path).load(9) is None
    assert not (tmp_path / "sa-state.json.tmp").exists()
    assert path.stat().st_mode & 0o077 == 0  # written owner-only
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize("content", ["", "{", '{"version": 2, "sas": {}}', '{"version": 1}', "[]"])
def test_unreadable_state_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sa-state.json"
    path.write_text(content)
    with pytest.raises(UsageError, match="reuse IVs"):
        FileStateStore(path)


def test_restart_after_a_crash_never_reuses_an_iv(tmp_path: Path) -> None:
    path = tmp_path / "sa-state.json"
    tx = _engine(FileStateStore(path))
    tx.start(7)
    used = [_iv(tx.apply(TC.plain_frame(68, b"x"), 7)) for _ in range(25)]
    # "Crash": drop the engine and its store without any clean close.
    del tx
    gc.collect()
    tx = _engine(FileStateStore(path))
    assert tx.state_of(7) is SaState.OPERATIONAL  # restored, key loaded
    after = [_iv(tx.apply(TC.plain_frame(68, b"x"), 7)) for _ in range(25)]
    assert min(after) > max(used)
    assert not set(after) & set(used)


def test_reservations_persist_before_use() -> None:
    store = MemoryStateStore()
    tx = _engine(store, reserve=10)
    tx.start(7)
    for i in range(25):
        tx.apply(TC.plain_frame(68, b"x"), 7)
        record = store.load(7)
        assert record is not None
        # The persisted mark is always beyond every counter value used so far.
        assert record.iv_high_water > i and record.sequence_number_high_water > i
    # About one write per block, not one per frame.
    assert store.saves <= 2 + 25 // 10 + 2


def test_restart_does_not_reopen_the_replay_window(tmp_path: Path) -> None:
    sender = _engine(MemoryStateStore())
    sender.start(7)
    frames = [sender.apply(TC.plain_frame(68, b"x"), 7) for _ in range(30)]
    path = tmp_path / "rx.json"
    rx = _engine(FileStateStore(path))
    rx.start(7)
    for frame in frames[:20]:
        rx.process(frame)
    del rx
    gc.collect()
    rx = _engine(FileStateStore(path))
    for frame in frames[:20]:
        with pytest.raises(SecurityError) as info:
            rx.process(frame)
        assert info.value.rejection in (RejectReason.REPLAY, RejectReason.OUTSIDE_WINDOW)
    # Beyond the persisted mark new frames are accepted again (the mark is at most one
    # reservation past the last accepted number; the frames in between are lost).
    later = [sender.apply(TC.plain_frame(68, b"x"), 7) for _ in range(20)]
    assert rx.process(later[-1])


def test_state_changes_are_persisted() -> None:
    store = MemoryStateStore()
    engine = _engine(store)
    assert store.load(7) == SaRecord(SaState.KEYED, 1)
    engine.start(7)
    record = store.load(7)
    assert record is not None and record.state is SaState.OPERATIONAL
    engine.stop(7)
    engine.expire(7)
    record = store.load(7)
    assert record is not None and record.state is SaState.UNKEYED


def test_one_counter_per_sa_shared_by_all_stations() -> None:
    # Two stations uplinking for one SA draw from one engine: IVs never collide.
    tx = _engine(MemoryStateStore())
    tx.start(7)
    station_a = [_iv(tx.apply(TC.plain_frame(68, b"a"), 7)) for _ in range(10)]
    station_b = [_iv(tx.apply(TC.plain_frame(68, b"b"), 7)) for _ in range(10)]
    assert not set(station_a) & set(station_b)


def test_record_validation() -> None:
    with pytest.raises(UsageError):
        SaRecord("keyed", 1)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        SaRecord(SaState.KEYED, -1)
    with pytest.raises(UsageError):
        SaRecord(SaState.KEYED, 1, replay_high_water=-5)
