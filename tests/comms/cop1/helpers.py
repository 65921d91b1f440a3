"""Test helpers: a FOP/FARM loopback over a seeded lossy channel, in virtual time."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from comms.cop1 import Alert, Farm, Fop, InitiateMode, PositiveConfirm
from comms.frames import TcFrame, TcParams

PARAMS = TcParams()


@dataclass
class LossyLink:
    """Uplink frames and downlink CLCWs with loss, reordering and delay.

    ``frame_loss`` and ``clcw_loss`` are probabilities; ``reorder`` is the chance a TC
    frame is held back and delivered after the next one. Frames travel as bytes, so
    the codec is exercised too. ``delay`` is the one-way light time in seconds.
    """

    rng: random.Random
    frame_loss: float = 0.0
    clcw_loss: float = 0.0
    reorder: float = 0.0
    delay: float = 0.01
    _uplink: list[tuple[float, int, bytes]] = field(default_factory=list)
    _seq: int = 0

    def send_frame(self, frame: TcFrame, now: float) -> None:
        if self.rng.random() < self.frame_loss:
            return
        extra = self.delay * 1.5 if self.rng.random() < self.reorder else 0.0
        self._seq += 1
        self._uplink.append((now + self.delay + extra, self._seq, frame.encode()))

    def frames_due(self, now: float) -> list[TcFrame]:
        self._uplink.sort()
        due = [raw for t, _, raw in self._uplink if t <= now]
        self._uplink = [item for item in self._uplink if item[0] > now]
        return [TcFrame.decode(raw, PARAMS) for raw in due]

    def next_arrival(self) -> float | None:
        return min((t for t, _, _ in self._uplink), default=None)

    def clcw_survives(self) -> bool:
        return self.rng.random() >= self.clcw_loss


@dataclass
class Run:
    delivered: list[bytes]
    alerts: list[Alert]
    confirmed: list[int]
    end_time: float


def run_transfer(
    payloads: list[bytes],
    link: LossyLink,
    *,
    fop: Fop | None = None,
    farm: Farm | None = None,
    clcw_period: float = 0.25,
    max_time: float = 3600.0,
) -> Run:
    """Push ``payloads`` through FOP -> link -> FARM -> CLCW -> FOP until all are
    confirmed or an alert stops the AD service. Time jumps from one due event to the
    next (CLCW report, frame arrival, FOP deadline): no sleeps."""
    fop = fop or Fop(0x2A, 1, sliding_window_k=8, t1_initial=1.0, transmission_limit=10)
    farm = farm or Farm(1, sliding_window_width=16)
    now = 0.0
    fop.initiate_ad(now, InitiateMode.WITHOUT_CLCW_CHECK)
    pending = list(payloads)
    delivered: list[bytes] = []
    alerts: list[Alert] = []
    confirmed: list[int] = []
    next_clcw = clcw_period
    while now < max_time:
        while pending and fop.wait_queue_empty and not alerts:
            fop.transmit_ad(pending.pop(0), now)
        for frame in fop.frames_to_send():
            link.send_frame(frame, now)
        for event in fop.events():
            if isinstance(event, Alert):
                alerts.append(event)
            elif isinstance(event, PositiveConfirm) and event.request == "transfer AD":
                confirmed.append(event.request_id)
        if alerts or (not pending and len(confirmed) == len(payloads)):
            break
        candidates = [next_clcw]
        arrival = link.next_arrival()
        if arrival is not None:
            candidates.append(arrival)
        deadline = fop.next_deadline()
        if deadline is not None:
            candidates.append(deadline)
        now = max(now, min(candidates))
        for frame in link.frames_due(now):
            farm.receive_frame(frame)
        delivered.extend(f.data_field for f in farm.frames_accepted())
        if now >= next_clcw:
            next_clcw = now + clcw_period
            if link.clcw_survives():
                # The CLCW rides the next TM frame down: it arrives one delay later,
                # which this loop folds into the report period.
                fop.receive_clcw(farm.clcw().encode(), now)
        fop.on_timer(now)
    return Run(delivered, alerts, confirmed, now)
