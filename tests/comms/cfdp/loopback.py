"""A sans-I/O loopback for CFDP entities: two entities, two lossy channels, virtual time.

The channel is seeded (``random.Random``) and may lose, duplicate, reorder (extra delay)
and corrupt PDUs, and drop everything during outages. :meth:`Loopback.run` jumps the
virtual clock to the next thing that happens (a delivery or an entity deadline), so a
run of minutes of protocol time takes milliseconds and never sleeps.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from comms.cfdp import (
    Entity,
    LocalEntityConfig,
    MemoryFilestore,
    Mib,
    RemoteEntityConfig,
)
from comms.cfdp.events import CfdpEvent

A, B = 1, 2


@dataclass
class Channel:
    rng: random.Random
    delay: float = 0.05
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    outages: list[tuple[float, float]] = field(default_factory=list)
    queue: list[tuple[float, int, bytes]] = field(default_factory=list)
    sent: int = 0
    dropped: int = 0
    _seq: int = 0

    def in_outage(self, now: float) -> bool:
        return any(start <= now < end for start, end in self.outages)

    def push(self, raw: bytes, now: float) -> None:
        self.sent += 1
        rng = self.rng
        if self.in_outage(now) or rng.random() < self.loss:
            self.dropped += 1
            return
        copies = 2 if rng.random() < self.duplicate else 1
        for _ in range(copies):
            data = raw
            if self.corrupt and rng.random() < self.corrupt:
                buf = bytearray(raw)
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
                data = bytes(buf)
            at = now + self.delay
            if self.reorder and rng.random() < self.reorder:
                at += rng.uniform(0, 4 * self.delay)
            self._seq += 1
            heapq.heappush(self.queue, (at, self._seq, data))

    def next_time(self) -> float | None:
        return self.queue[0][0] if self.queue else None

    def pop_due(self, now: float) -> list[bytes]:
        out = []
        while self.queue and self.queue[0][0] <= now:
            out.append(heapq.heappop(self.queue)[2])
        return out


def remote(entity_id: int, **settings: object) -> RemoteEntityConfig:
    defaults: dict[str, object] = {
        "max_pdu_length": 256,
        "ack_timer_interval": 1.0,
        "nak_timer_interval": 1.0,
        "inactivity_timer_interval": 30.0,
        "check_timer_interval": 1.0,
    }
    defaults.update(settings)
    return RemoteEntityConfig(entity_id, **defaults)  # type: ignore[arg-type]


def make_entity(
    local_id: int,
    peer_id: int,
    filestore: MemoryFilestore | None = None,
    local: dict[str, object] | None = None,
    **settings: object,
) -> Entity:
    mib = Mib(
        LocalEntityConfig(local_id, **(local or {})),  # type: ignore[arg-type]
        {peer_id: remote(peer_id, **settings)},
    )
    return Entity(mib, filestore if filestore is not None else MemoryFilestore())


class Loopback:
    """Entities ``a`` (id 1) and ``b`` (id 2) joined by ``ab`` and ``ba`` channels."""

    def __init__(
        self,
        seed: int = 0,
        *,
        a: Entity | None = None,
        b: Entity | None = None,
        tick: float = 0.01,
        **channel: object,
    ) -> None:
        self.rng = random.Random(seed)
        self.a = a if a is not None else make_entity(A, B, MemoryFilestore())
        self.b = b if b is not None else make_entity(B, A, MemoryFilestore())
        self.ab = Channel(random.Random(self.rng.random()), **channel)  # type: ignore[arg-type]
        self.ba = Channel(random.Random(self.rng.random()), **channel)  # type: ignore[arg-type]
        self.now = 0.0
        self.events_a: list[CfdpEvent] = []
        self.events_b: list[CfdpEvent] = []
        self.steps = 0
        # An entity with more File Data ready says so with a deadline already due; the
        # loopback lets it send its next burst one tick later (a rate limit of
        # send_burst PDUs per tick), so transfers take virtual time as on a real link.
        self.tick = tick

    @property
    def fs_a(self) -> MemoryFilestore:
        return self.a._ctx.filestore  # type: ignore[return-value]

    @property
    def fs_b(self) -> MemoryFilestore:
        return self.b._ctx.filestore  # type: ignore[return-value]

    def _drain(self) -> None:
        for entity, channel, events in (
            (self.a, self.ab, self.events_a),
            (self.b, self.ba, self.events_b),
        ):
            for _, raw in entity.pdus_to_send():
                channel.push(raw, self.now)
            events.extend(entity.events())

    def step(self) -> bool:
        """Advance to the next happening; False when nothing is left to happen."""
        self._drain()
        times = [
            t
            for t in (
                self._deadline(self.a),
                self._deadline(self.b),
                self.ab.next_time(),
                self.ba.next_time(),
            )
            if t is not None
        ]
        if not times:
            return False
        self.now = max(self.now, min(times))
        self.steps += 1
        for raw in self.ab.pop_due(self.now):
            self.b.receive_pdu(raw, self.now)
        for raw in self.ba.pop_due(self.now):
            self.a.receive_pdu(raw, self.now)
        for entity in (self.a, self.b):
            deadline = entity.next_deadline()
            if deadline is not None and deadline <= self.now:
                entity.on_timer(self.now)
        self._drain()
        return True

    def _deadline(self, entity: Entity) -> float | None:
        deadline = entity.next_deadline()
        if deadline is not None and deadline <= self.now and self.steps:
            return self.now + self.tick
        return deadline

    def run(self, until: float = 1e9, max_steps: int = 1_000_000) -> None:
        """Run until idle, ``until`` (virtual seconds) or ``max_steps`` (then fail)."""
        while self.now < until:
            if not self.step():
                return
            assert self.steps < max_steps, "the loopback did not settle: a livelock"

    def run_until(self, predicate: object, until: float = 1e9) -> None:
        while not predicate() and self.now < until:  # type: ignore[operator]
            if not self.step():
                return
