"""gateway.outbox without a broker: order, durability across reopen and kill -9, bounds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.errors import UsageError
from gateway.config import OverflowPolicy
from gateway.messages import OutboxMessage
from gateway.metrics import Registry
from gateway.outbox import Outbox, OutboxFull


def msg(i: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(f"t/{i % 3}", bytes([i % 256]) * size, f"id-{i}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_put_peek_acknowledge_in_order(tmp_path: Path) -> None:
    clock = Clock()
    with Outbox(tmp_path / "o.db", clock=clock) as ob:
        first = ob.put(msg(0))
        clock.now = 1005.0
        rest = ob.put_many([msg(i) for i in range(1, 10)])
        assert rest == list(range(first + 1, first + 10))
        rows = ob.peek(0, 100)
        assert [r.message_id for r in rows] == [f"id-{i}" for i in range(10)]
        assert rows[0].created == 1000.0 and rows[1].created == 1005.0
        assert [r.message_id for r in ob.peek(rows[4].rowid, 2)] == ["id-5", "id-6"]
        clock.now = 1010.0
        assert ob.oldest_age_s() == 10.0
        # Acknowledged out of order (PUBACKs may come so); the queue keeps its order.
        assert ob.acknowledge([rows[1].rowid, rows[0].rowid, 99999], retried=1) == 2
        assert ob.oldest_age_s() == 5.0
        assert ob.peek()[0].message_id == "id-2"
        stats = ob.stats()
        assert (stats.rows, stats.put, stats.published, stats.retried) == (8, 10, 2, 1)
        assert stats.nbytes == 8 * (10 + 3)
        ob.mark_attempted([rows[2].rowid])
        assert ob.peek()[0].attempts == 1


def test_reopen_keeps_rows_and_rowids_never_repeat(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path) as ob:
        ids = ob.put_many([msg(i) for i in range(5)])
        ob.acknowledge(ids[-2:])  # delete the newest: AUTOINCREMENT must not reuse them
    with Outbox(path) as ob:
        assert len(ob) == 3 and ob.stats().nbytes == 3 * 13
        assert ob.put(msg(5)) > ids[-1]
        assert [r.message_id for r in ob.peek()] == ["id-0", "id-1", "id-2", "id-5"]


def test_reject_new(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", max_rows=4, overflow=OverflowPolicy.REJECT_NEW) as ob:
        ob.put_many([msg(i) for i in range(3)])
        with pytest.raises(OutboxFull) as info:
            ob.put_many([msg(3), msg(4)])  # all or nothing
        assert info.value.rows == 3
        ob.put(msg(3))
        with pytest.raises(OutboxFull):
            ob.put(msg(4))
        assert [r.message_id for r in ob.peek()] == [f"id-{i}" for i in range(4)]
        assert ob.stats().rejected == 3
        assert ob.health(60.0) == "outbox: full (4 rows, 52 octets)"


def test_drop_oldest_by_rows_and_bytes(tmp_path: Path) -> None:
    registry = Registry()
    with Outbox(
        tmp_path / "o.db", max_rows=5, max_bytes=100, overflow=OverflowPolicy.DROP_OLDEST
    ) as ob:
        ob.register_metrics(registry)
        ob.put_many([msg(i) for i in range(5)])  # 5 x 13 octets
        ob.put_many([msg(5), msg(6)])
        assert [r.message_id for r in ob.peek()] == [f"id-{i}" for i in range(2, 7)]
        ob.put(msg(7, size=50))  # 53 octets: 65 + 53 > 100 forces two out, not one
        assert [r.message_id for r in ob.peek()] == ["id-4", "id-5", "id-6", "id-7"]
        assert ob.stats().dropped == 4 and ob.stats().nbytes == 3 * 13 + 53
        text = registry.render()
        assert "dawnlink_outbox_dropped_total 4" in text
        assert "dawnlink_outbox_rows 4" in text
        with pytest.raises(UsageError):
            ob.put(msg(8, size=200))  # can never fit, whatever the policy


@settings(max_examples=30)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.integers(2, 8))
def test_drop_oldest_keeps_the_newest_within_bounds(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], max_rows: int
) -> None:
    path = tmp_path_factory.mktemp("o") / "o.db"
    with Outbox(path, max_rows=max_rows, max_bytes=1024, overflow=OverflowPolicy.DROP_OLDEST) as ob:
        for i, size in enumerate(sizes):
            ob.put(msg(i, size))
            assert len(ob) <= max_rows
        kept = [r.message_id for r in ob.peek(0, 100)]
        assert kept == [f"id-{i}" for i in range(len(sizes))][-len(kept) :]
        assert len(kept) == min(len(sizes), max_rows)
        assert ob.stats().dropped == len(sizes) - len(kept)


_WRITER = """
import sys
from gateway.messages import OutboxMessage
from gateway.outbox import Outbox
ob = Outbox(sys.argv[1], synchronous=sys.argv[2])
i = 0
while True:
    ob.put(OutboxMessage("dawnlink/dawn/products/p", b"x" * 100, f"id-{i}"))
    print(i, flush=True)  # only after put returned: this row is promised durable
    i += 1
"""


def write_until_killed(path: Path, rows: int, synchronous: str = "normal") -> int:
    """Run a writer process, SIGKILL it once ``rows`` puts have returned; return how many
    puts it reported done (at least ``rows``)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), synchronous],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    done = -1
    try:
        for line in proc.stdout:
            done = int(line)
            if done + 1 >= rows:
                break
    finally:
        proc.kill()  # SIGKILL: no atexit, no close, no checkpoint
        proc.wait()
    assert proc.stdout is not None
    # Lines written before the kill but not yet read are puts that returned too.
    for line in proc.stdout:
        done = int(line)
    proc.stdout.close()
    return done + 1


@pytest.mark.parametrize("synchronous", ["normal", "full"])
def test_rows_survive_sigkill(tmp_path: Path, synchronous: str) -> None:
    path = tmp_path / "o.db"
    reported = write_until_killed(path, 200, synchronous)
    with Outbox(path) as ob:
        ids = [r.message_id for r in ob.peek(0, 100_000)]
    # Every put that returned is there, in order; at most the one in progress beyond.
    assert ids[:reported] == [f"id-{i}" for i in range(reported)]
    assert len(ids) in (reported, reported + 1)


@settings(max_examples=40, deadline=None)
@given(
    acks=st.lists(st.lists(st.integers(0, 59), max_size=30), max_size=5),
    synchronous=st.sampled_from(["normal", "full"]),
)
def test_acknowledge_in_ranges_deletes_exactly_what_it_is_given(
    tmp_path_factory: pytest.TempPathFactory, acks: list[list[int]], synchronous: str
) -> None:
    """Acknowledge deletes runs of consecutive rowids as ranges: whatever the order,
    duplicates and gaps, exactly the given rows go and the counters follow."""
    path = tmp_path_factory.mktemp("ack") / "o.db"
    with Outbox(path, synchronous=synchronous) as ob:
        ids = ob.put_many([msg(i) for i in range(60)])
        gone: set[int] = set()
        for batch in acks:
            rowids = [ids[i] for i in batch]
            assert ob.acknowledge(rowids) == len(set(rowids) - gone)
            gone |= set(rowids)
        left = [r.rowid for r in ob.peek(0, 100)]
        assert left == [r for r in ids if r not in gone]
        assert ob.try_peek(0, 100) == ob.peek(0, 100)
        stats = ob.stats()
        assert stats.rows == len(left) and stats.published == len(gone)
        assert stats.nbytes == sum(
            len(m.payload) + len(m.topic) for m in map(msg, range(60))
        ) - sum(len(msg(ids.index(r)).payload) + len(msg(ids.index(r)).topic) for r in gone)
    # The deletes were committed: a reopen sees the same rows.
    with Outbox(path) as ob:
        assert [r.rowid for r in ob.peek(0, 100)] == left
