"""A toy sans-I/O machine for the driver tests: stop-and-wait with retransmission.

It has the face of the real machines (inputs take ``now``, ``next_deadline`` /
``on_timer``, outputs drained from lists) and nothing else, so the tests exercise the
driver and not a protocol. Datagrams: ``D`` + payload (data), ``A`` + payload (ack).
"""

from __future__ import annotations

from dataclasses import dataclass

from comms.errors import DecodeError, UsageError


@dataclass(frozen=True)
class Sent:
    payload: bytes
    now: float
    attempt: int


@dataclass(frozen=True)
class Acked:
    payload: bytes
    now: float


@dataclass(frozen=True)
class Delivered:
    payload: bytes
    now: float


@dataclass(frozen=True)
class GaveUp:
    payload: bytes
    now: float


Event = Sent | Acked | Delivered | GaveUp


class StopAndWait:
    """Sends one payload at a time, every ``rto`` s until acked, ``limit`` times at most;
    acknowledges and delivers what the peer sends."""

    def __init__(self, *, rto: float = 2.0, limit: int = 3) -> None:
        self.rto = rto
        self.limit = limit
        self.pending: bytes | None = None
        self.attempt = 0
        self.deadline: float | None = None
        self.outbox: list[bytes] = []
        self.event_list: list[Event] = []
        # (now, deadline) of every on_timer call: the driver must call at the deadline.
        self.timer_calls: list[tuple[float, float | None]] = []

    def send(self, payload: bytes, now: float) -> None:
        if self.pending is not None:
            raise UsageError("A payload is outstanding; wait for its Acked event.")
        self.pending = payload
        self.attempt = 0
        self._transmit(now)

    def receive(self, datagram: bytes, now: float) -> None:
        kind, payload = datagram[:1], datagram[1:]
        if kind == b"D":
            self.outbox.append(b"A" + payload)
            self.event_list.append(Delivered(payload, now))
        elif kind == b"A":
            if payload == self.pending:
                self.pending = None
                self.deadline = None
                self.event_list.append(Acked(payload, now))
        else:
            raise DecodeError("unknown datagram kind", offset=0, expected="D or A", got=kind)

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_timer(self, now: float) -> None:
        self.timer_calls.append((now, self.deadline))
        if self.deadline is None or now < self.deadline:
            return
        assert self.pending is not None
        if self.attempt >= self.limit:
            self.event_list.append(GaveUp(self.pending, now))
            self.pending = None
            self.deadline = None
        else:
            self._transmit(now)

    def drain_to(self, send: object) -> list[Event]:
        """Hand every queued datagram to ``send`` and return the events."""
        assert callable(send)
        out, self.outbox = self.outbox, []
        for datagram in out:
            send(datagram)
        events, self.event_list = self.event_list, []
        return events

    def _transmit(self, now: float) -> None:
        assert self.pending is not None
        self.attempt += 1
        self.outbox.append(b"D" + self.pending)
        self.event_list.append(Sent(self.pending, now, self.attempt))
        self.deadline = now + self.rto


class Bursty:
    """Pull-based output like the CFDP entity: ``put`` queues items, a drain hands out at
    most ``burst`` of them, and while more are ready :meth:`next_deadline` is the last
    ``now`` seen -- already due."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.backlog: list[int] = []
        self.now = 0.0
        # (now, backlog length) of every on_timer call.
        self.timer_calls: list[tuple[float, int]] = []

    def put(self, items: list[int], now: float) -> None:
        self.now = now
        self.backlog.extend(items)

    def next_deadline(self) -> float | None:
        return self.now if self.backlog else None

    def on_timer(self, now: float) -> None:
        self.now = now
        self.timer_calls.append((now, len(self.backlog)))

    def drain(self) -> list[int]:
        out, self.backlog = self.backlog[: self.burst], self.backlog[self.burst :]
        return out


class Sticky:
    """A timer at ``at`` that the first ``stale_calls`` on_timer calls fail to clear (a
    bug), the next one clears."""

    def __init__(self, at: float, stale_calls: int) -> None:
        self.deadline: float | None = at
        self.stale_calls = stale_calls
        self.calls = 0

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_timer(self, now: float) -> None:
        self.calls += 1
        if self.calls > self.stale_calls:
            self.deadline = None
