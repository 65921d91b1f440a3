"""The durable outbox: an SQLite queue between the pipeline and MQTT.

:class:`Outbox` stores each message durably before ``put`` returns; an
:class:`OutboxPublisher` drains it in rowid order through a bounded window of QoS 1
publishes and deletes a row only once its PUBACK came back. Delivery is therefore
at-least-once: a crash, a kill -9 or a broker restart between PUBLISH and the delete
republishes the row with the same message id, never loses it.

Why these SQLite settings:

- WAL journal: readers (the publisher's peek) do not block the writer (the pipeline's
  put), and a commit is one sequential append to the WAL.
- ``synchronous=FULL`` by default: every commit is fsynced, so it survives power loss
  as well as kill -9. ``NORMAL`` (configurable) is enough for "everything put before a
  kill -9 is published" -- in WAL mode a committed transaction is in the WAL file (the
  OS page cache) before ``COMMIT`` returns and the OS writes it out after the process
  dies -- but on power loss the last commits may go. Batch with :meth:`Outbox.put_many`
  to share one fsync between many messages (docs/gateway.md has the measured costs).
- ``INTEGER PRIMARY KEY AUTOINCREMENT``: rowids never repeat, even after the newest row
  was deleted, so "drain by rowid" is "drain in put order" across restarts.

All SQLite calls of the publisher run in worker threads (``asyncio.to_thread``); the
connection is shared between threads under one lock. The size bound counts rows and the
octets of topic + payload; when a put would cross it the :class:`OverflowPolicy` decides:
reject the new messages (:class:`OutboxFull`, backpressure) or drop the oldest rows
(counted as dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from comms.errors import CommsError, UsageError
from gateway.config import MqttConfig, OverflowPolicy
from gateway.messages import OutboxMessage
from gateway.metrics import Registry

__all__ = ["Outbox", "OutboxFull", "OutboxPublisher", "OutboxRow", "OutboxStats"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    message_id TEXT NOT NULL,
    qos INTEGER NOT NULL,
    retain INTEGER NOT NULL,
    created REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL
)
"""
_COLUMNS: Final = "id, topic, payload, message_id, qos, retain, created, attempts"
# SQLite's default limit on bound parameters is 32766 since 3.32; stay well below.
_CHUNK: Final = 500


class OutboxFull(CommsError):
    """The outbox is at its bound and the policy is reject-new: the put did not happen."""

    def __init__(self, message: str, *, rows: int, nbytes: int) -> None:
        super().__init__(message)
        self.rows = rows
        self.nbytes = nbytes


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored message with its place in the queue and how often it was sent before."""

    rowid: int
    topic: str
    payload: bytes
    message_id: str
    qos: int
    retain: bool
    created: float
    attempts: int


@dataclass(frozen=True)
class OutboxStats:
    rows: int
    nbytes: int
    oldest_created: float | None
    put: int  # messages stored since open
    published: int  # rows deleted on PUBACK since open
    retried: int  # of those, rows that had been sent before (broker loss, restart)
    dropped: int  # rows deleted by the drop-oldest policy
    rejected: int  # messages refused by the reject-new policy


def _size(message: OutboxMessage) -> int:
    return len(message.payload) + len(message.topic.encode())


class Outbox:
    """A bounded, durable FIFO of :class:`OutboxMessage` in one SQLite file.

    ``clock`` gives the Unix time stamped on each row (``created``) and used for the
    oldest-age gauge; inject it for tests and simulations.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_rows: int = 1_000_000,
        max_bytes: int = 1 << 30,
        overflow: OverflowPolicy = OverflowPolicy.REJECT_NEW,
        synchronous: str = "full",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_rows < 1 or max_bytes < 1:
            raise UsageError("Outbox bounds max_rows and max_bytes must be positive.")
        if synchronous not in ("full", "normal"):
            raise UsageError(f"synchronous must be 'full' or 'normal', not {synchronous!r}.")
        self.path = Path(path)
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.overflow = overflow
        self._clock = clock
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per call.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._synchronous = synchronous.upper()
        self._db.execute(f"PRAGMA synchronous={self._synchronous}")
        self._db.execute(_SCHEMA)
        rows, nbytes = self._db.execute(
            "SELECT count(*), coalesce(sum(size), 0) FROM outbox"
        ).fetchone()
        self._rows: int = rows
        self._bytes: int = nbytes
        self._oldest: float | None = self._query_oldest()
        self._put = self._published = self._retried = self._dropped = self._rejected = 0
        self.last_error: str | None = None

    # -- writing ---------------------------------------------------------------------

    def put(self, message: OutboxMessage) -> int:
        """Store one message durably; returns its rowid. May raise :class:`OutboxFull`."""
        return self.put_many([message])[0]

    def put_many(self, messages: Sequence[OutboxMessage]) -> list[int]:
        """Store several messages in one transaction (one fsync); returns their rowids."""
        if not messages:
            return []
        sizes = [_size(m) for m in messages]
        count, nbytes = len(messages), sum(sizes)
        if count > self.max_rows or nbytes > self.max_bytes:
            raise UsageError(
                f"A batch of {count} messages ({nbytes} octets) can never fit an outbox "
                f"bounded at {self.max_rows} rows and {self.max_bytes} octets; split it."
            )
        now = self._clock()
        params = [
            (m.topic, m.payload, m.message_id, m.qos, int(m.retain), now, s)
            for m, s in zip(messages, sizes, strict=True)
        ]
        with self._lock:
            over = self._rows + count > self.max_rows or self._bytes + nbytes > self.max_bytes
            if over and self.overflow is OverflowPolicy.REJECT_NEW:
                self._rejected += count
                raise OutboxFull(
                    f"The outbox holds {self._rows} rows / {self._bytes} octets and cannot "
                    f"take {count} more (bounds {self.max_rows} / {self.max_bytes}).",
                    rows=self._rows,
                    nbytes=self._bytes,
                )
            try:
                self._db.execute("BEGIN IMMEDIATE")
                dropped_rows = dropped_bytes = 0
                if over:
                    dropped_rows, dropped_bytes = self._drop_oldest(count, nbytes)
                cursor = self._db.cursor()
                rowids: list[int] = []
                for p in params:
                    cursor.execute(
                        "INSERT INTO outbox (topic, payload, message_id, qos, retain, created,"
                        " size) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        p,
                    )
                    assert cursor.lastrowid is not None
                    rowids.append(cursor.lastrowid)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self.last_error = f"put failed: {exc}"
                raise
            self.last_error = None
            self._rows += count - dropped_rows
            self._bytes += nbytes - dropped_bytes
            self._put += count
            self._dropped += dropped_rows
            if dropped_rows or self._oldest is None:
                self._oldest = self._query_oldest()
            listeners = list(self._listeners)
        for notify in listeners:
            notify()
        return rowids

    def _drop_oldest(self, count: int, nbytes: int) -> tuple[int, int]:
        # Inside the put's transaction: the drop and the insert commit together.
        need_rows = self._rows + count - self.max_rows
        need_bytes = self._bytes + nbytes - self.max_bytes
        freed_rows = freed_bytes = 0
        last = None
        for rowid, size in self._db.execute("SELECT id, size FROM outbox ORDER BY id"):
            if freed_rows >= need_rows and freed_bytes >= need_bytes:
                break
            freed_rows += 1
            freed_bytes += size
            last = rowid
        if last is not None:
            self._db.execute("DELETE FROM outbox WHERE id <= ?", (last,))
        return freed_rows, freed_bytes

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query_oldest(self) -> float | None:
        row = self._db.execute("SELECT created FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def acknowledge(self, rowids: Iterable[int], *, retried: int = 0) -> int:
        """Delete published rows (their PUBACK came); returns how many were still there.

        ``retried`` says how many of them had been sent before, for the metrics. Rows
        already gone (dropped by the overflow policy meanwhile) are skipped.

        Deletes commit without an fsync of their own (``synchronous=NORMAL`` for the
        transaction) whatever the outbox's setting: a delete lost to a power cut only
        republishes rows that were delivered (a duplicate, which at-least-once allows),
        never loses one; the next put's fsync makes it durable anyway. Runs of
        consecutive rowids (PUBACKs mostly come in order) are deleted as ranges.
        """
        ids = sorted(rowids)
        deleted = deleted_bytes = 0
        ranges: list[tuple[int, int]] = []
        for rowid in ids:
            if ranges and rowid == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], rowid)
            elif not ranges or rowid != ranges[-1][1]:
                ranges.append((rowid, rowid))
        relaxed = self._synchronous != "NORMAL"
        with self._lock:
            try:
                if relaxed:
                    self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute("BEGIN IMMEDIATE")
                for first, last in ranges:
                    for (size,) in self._db.execute(
                        "DELETE FROM outbox WHERE id BETWEEN ? AND ? RETURNING size", (first, last)
                    ).fetchall():
                        deleted += 1
                        deleted_bytes += size
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                self.last_error = f"delete failed: {exc}"
                raise
            finally:
                if relaxed:
                    self._db.execute(f"PRAGMA synchronous={self._synchronous}")
            self._rows -= deleted
            self._bytes -= deleted_bytes
            self._published += deleted
            self._retried += min(retried, deleted)
            if deleted:
                self._oldest = self._query_oldest()
        return deleted

    def mark_attempted(self, rowids: Iterable[int]) -> None:
        """Count one more send of rows that were published but never acknowledged."""
        ids = list(rowids)
        if not ids:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    self._db.execute(
                        f"UPDATE outbox SET attempts = attempts + 1 WHERE id IN ({marks})", chunk
                    )
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise

    # -- reading ---------------------------------------------------------------------

    def peek(self, after: int = 0, limit: int = 256) -> list[OutboxRow]:
        """Up to ``limit`` rows with rowid greater than ``after``, oldest first."""
        with self._lock:
            return self._peek(after, limit)

    def try_peek(self, after: int = 0, limit: int = 256) -> list[OutboxRow] | None:
        """:meth:`peek` if no other thread is using the database right now, else None
        (for callers on an event loop that must not wait for a commit's fsync)."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._peek(after, limit)
        finally:
            self._lock.release()

    def _peek(self, after: int, limit: int) -> list[OutboxRow]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        ).fetchall()
        return [
            OutboxRow(r[0], r[1], bytes(r[2]), r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows
        ]

    def stats(self) -> OutboxStats:
        return OutboxStats(
            rows=self._rows,
            nbytes=self._bytes,
            oldest_created=self._oldest,
            put=self._put,
            published=self._published,
            retried=self._retried,
            dropped=self._dropped,
            rejected=self._rejected,
        )

    def oldest_age_s(self) -> float:
        """Seconds the oldest row has waited (0 when empty)."""
        oldest = self._oldest
        return 0.0 if oldest is None else max(0.0, self._clock() - oldest)

    def __len__(self) -> int:
        return self._rows

    # -- wiring ----------------------------------------------------------------------

    def add_listener(self, notify: Callable[[], None]) -> Callable[[], None]:
        """Call ``notify()`` after every committed put (from the putting thread).

        Returns the function that removes the listener again.
        """
        with self._lock:
            self._listeners.append(notify)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(notify)

        return remove

    def register_metrics(self, registry: Registry, prefix: str = "dawnlink_outbox") -> None:
        """Expose the outbox's size and counters in ``registry`` (read at scrape time)."""
        registry.gauge(f"{prefix}_rows", "Messages waiting in the outbox.", lambda: self._rows)
        registry.gauge(
            f"{prefix}_bytes",
            "Octets (topic + payload) waiting in the outbox.",
            lambda: self._bytes,
        )
        registry.gauge(
            f"{prefix}_oldest_age_seconds",
            "How long the oldest waiting message has waited.",
            self.oldest_age_s,
        )
        registry.counter(f"{prefix}_put_total", "Messages stored.", lambda: self._put)
        registry.counter(
            f"{prefix}_published_total",
            "Messages acknowledged by the broker (PUBACK).",
            lambda: self._published,
        )
        registry.counter(
            f"{prefix}_retried_total",
            "Acknowledged messages that had been sent before (republished).",
            lambda: self._retried,
        )
        registry.counter(
            f"{prefix}_dropped_total",
            "Messages deleted unpublished by the drop-oldest policy.",
            lambda: self._dropped,
        )
        registry.counter(
            f"{prefix}_rejected_total",
            "Messages refused by the reject-new policy.",
            lambda: self._rejected,
        )

    def health(self, max_age_s: float) -> str | None:
        """None when healthy, else why not (for /healthz)."""
        if self.last_error is not None:
            return f"outbox: {self.last_error}"
        if self._rows >= self.max_rows or self._bytes >= self.max_bytes:
            return f"outbox: full ({self._rows} rows, {self._bytes} octets)"
        age = self.oldest_age_s()
        if age > max_age_s:
            return f"outbox: oldest message waiting {age:.0f} s (limit {max_age_s:.0f} s)"
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Publish = Callable[[OutboxRow], Awaitable[None]]


class OutboxPublisher:
    """Drains an :class:`Outbox` through a publish function, in rowid order, pipelined.

    ``publish(row)`` must return only once the broker acknowledged the message (aiomqtt's
    ``publish`` at QoS 1 returns after PUBACK) and raise if the connection is lost. Up
    to ``window`` publishes are in flight at once; acknowledged rows are deleted in
    batches by one deleter task, so a burst of PUBACKs costs one transaction.
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        window: int = 64,
        batch: int = 256,
        poll_s: float = 1.0,
        delete_delay_s: float = 0.002,
        logger: logging.Logger | None = None,
    ) -> None:
        if window < 1 or batch < 1 or poll_s <= 0:
            raise UsageError("OutboxPublisher needs window >= 1, batch >= 1 and poll_s > 0.")
        self.outbox = outbox
        self.window = window
        self.batch = batch
        # Rows put by another process (or the kill -9 survivor) raise no listener; poll.
        self.poll_s = poll_s
        self.log = logger or logging.getLogger("gateway.outbox")
        self.in_flight = 0
        self.delete_delay_s = delete_delay_s

    async def drain(self, publish: Publish) -> None:
        """Publish everything in the outbox and then whatever is put, until cancelled or
        until ``publish`` raises (the connection is gone); then return the unacknowledged
        rows to the queue, counted as attempted, and re-raise."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:
            loop.call_soon_threadsafe(wake.set)

        remove = self.outbox.add_listener(notify)
        window = asyncio.Semaphore(self.window)
        sent: dict[int, OutboxRow] = {}  # published, PUBACK not yet seen
        acked: list[OutboxRow] = []  # PUBACK seen, not yet deleted
        ack_event = asyncio.Event()

        async def one(row: OutboxRow) -> None:
            await publish(row)
            del sent[row.rowid]
            acked.append(row)
            ack_event.set()
            window.release()

        async def deleter() -> None:
            while True:
                await ack_event.wait()
                ack_event.clear()
                done = acked[:]
                acked.clear()
                retried = sum(1 for r in done if r.attempts)
                await asyncio.to_thread(
                    self.outbox.acknowledge, [r.rowid for r in done], retried=retried
                )

        cursor = 0
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(deleter(), name="outbox-deleter")
                while True:
                    wake.clear()
                    rows = await asyncio.to_thread(self.outbox.peek, cursor, self.batch)
                    if not rows:
                        # The listener wakes us on a put in this process; the timeout
                        # catches rows written by another one.
                        try:
                            async with asyncio.timeout(self.poll_s):
                                await wake.wait()
                        except TimeoutError:
                            pass
                        continue
                    for row in rows:
                        await window.acquire()
                        sent[row.rowid] = row
                        # Tasks start in creation order and each hands its PUBLISH to
                        # the client before its first await: the wire order is rowid order.
                        tasks.create_task(one(row))
                        cursor = row.rowid
                    self.in_flight = len(sent)
        finally:
            remove()
            self._settle(acked, sent)

    def _settle(self, acked: list[OutboxRow], sent: dict[int, OutboxRow]) -> None:
        """End of a drain: acknowledged rows leave the outbox, the ones still in flight
        are marked for republishing. Synchronous on purpose: the drain may be cancelled,
        and these two short transactions decide what is republished."""
        self.in_flight = 0
        if acked:
            self.outbox.acknowledge(
                [r.rowid for r in acked], retried=sum(1 for r in acked if r.attempts)
            )
        if sent:
            self.outbox.mark_attempted(sent)
            self.log.info("%d messages unacknowledged; they will be republished", len(sent))

    async def _idle(self, wake: asyncio.Event, closed: asyncio.Future[None]) -> None:
        # Woken by a put in this process, a closed connection, or the poll timeout
        # (rows written by another process raise no listener).
        waiter: asyncio.Future[Any] = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait(
                {waiter, closed}, timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()

    async def drain_pipelined(self, config: MqttConfig) -> None:
        """Like :meth:`drain`, over a :mod:`gateway.mqtt_pipe` connection of its own:
        a window of PUBLISHes goes out in one write and PUBACKs are read many at a
        time (~7x the messages per second of an aiomqtt loop on loopback, where aiomqtt
        spends ~60 us of Python per message; tools/bench/bench_outbox.py). Connects, drains until
        cancelled or until the connection fails (:class:`~gateway.mqtt_pipe.PipeClosed`,
        an ``aiomqtt.MqttError``), then returns the unacknowledged rows to the queue as
        :meth:`drain` does."""
        from gateway.mqtt_pipe import open_pipeline  # the outbox itself needs no MQTT

        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:
            loop.call_soon_threadsafe(wake.set)

        sent: dict[int, OutboxRow] = {}  # published, PUBACK not yet seen
        acked: list[OutboxRow] = []  # PUBACK seen, not yet deleted
        ack_event = asyncio.Event()

        def on_acked(tokens: list[object]) -> None:
            for rowid in tokens:
                acked.append(sent.pop(rowid))  # type: ignore[call-overload]
            ack_event.set()

        async def deleter() -> None:
            while True:
                await ack_event.wait()
                # Let PUBACKs gather: a delete transaction costs ~150 us whatever its
                # size, and a lost delete is only a duplicate later, never a loss.
                await asyncio.sleep(self.delete_delay_s)
                ack_event.clear()
                done = acked[:]
                acked.clear()
                retried = sum(1 for r in done if r.attempts)
                await asyncio.to_thread(
                    self.outbox.acknowledge, [r.rowid for r in done], retried=retried
                )

        remove = self.outbox.add_listener(notify)
        try:
            async with (
                open_pipeline(config, on_acked, window=self.window) as connection,
                asyncio.TaskGroup() as tasks,
            ):
                tasks.create_task(deleter(), name="outbox-deleter")
                wire = connection.wire
                cursor = 0

                def peek() -> asyncio.Future[list[OutboxRow]]:
                    # Cleared before the read starts: a put committed after it wakes us.
                    wake.clear()
                    # On the loop when the lock is free (cheaper than a thread hop that
                    # then fights the loop for the GIL); in a thread when a put or a
                    # delete holds it, so the loop never waits for their fsync.
                    rows = self.outbox.try_peek(cursor, self.batch)
                    if rows is None:
                        return asyncio.ensure_future(
                            asyncio.to_thread(self.outbox.peek, cursor, self.batch)
                        )
                    future = loop.create_future()
                    future.set_result(rows)
                    return future

                ahead = peek()
                try:
                    while True:
                        rows = await ahead
                        if not rows:
                            await self._idle(wake, connection.closed)
                            connection.check()
                            ahead = peek()
                            continue
                        cursor = rows[-1].rowid
                        ahead = peek()  # the next batch is read while this one goes out
                        start = 0
                        while start < len(rows):
                            if wire.free <= 0:
                                await connection.wait_free()
                            chunk = rows[start : start + wire.free]
                            start += len(chunk)
                            packets = []
                            unacked: list[OutboxRow] = []
                            for row in chunk:
                                # QoS 2 goes out as QoS 1: with a clean start on every
                                # connect its exactly-once would not survive a reconnect,
                                # and the outbox makes delivery at-least-once anyway.
                                qos = 1 if row.qos else 0
                                packets.append(
                                    wire.publish(
                                        row.topic,
                                        row.payload,
                                        qos=qos,
                                        retain=row.retain,
                                        message_id=row.message_id,
                                        token=row.rowid,
                                    )
                                )
                                if qos:
                                    sent[row.rowid] = row
                                else:
                                    unacked.append(row)
                            connection.send(packets)
                            self.in_flight = len(sent)
                            if unacked:  # QoS 0: done once written
                                acked.extend(unacked)
                                ack_event.set()
                finally:
                    ahead.cancel()
        finally:
            remove()
            self._settle(acked, sent)
