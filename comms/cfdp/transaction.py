"""What CFDP source and destination transactions share (CCSDS 727.0-B-5 4.6-4.11).

A :class:`Transaction` owns its timers (:class:`~comms.cfdp.timers.Timer`), freezes them
while suspended (4.6.6) or while its link is known to be down, and applies the fault
handlers (4.8): the put request's overrides first (5.4.4), then the MIB's. It writes
PDUs and indications into the :class:`Context` its entity shares with it; it never
reads a clock (every input carries ``now``) and does no I/O but through the filestore.

The four handlers (4.8.2, table 5-19):

- ignore error: issue :class:`~comms.cfdp.events.FaultIndication` and carry on;
- notice of cancellation: end the transaction as a cancel with the fault's condition
  (4.11.2: EOF(condition) from the source, Finished(condition) from the receiver);
- notice of suspension: suspend (4.6.6);
- abandon: stop at once, send nothing more (4.11.3).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from comms.cfdp.codes import ConditionCode, FaultHandlerCode
from comms.cfdp.events import (
    Abandoned,
    CfdpEvent,
    FaultIndication,
    Resumed,
    Suspended,
)
from comms.cfdp.filestore import Filestore
from comms.cfdp.header import PduHeader, TransactionId
from comms.cfdp.mib import LocalEntityConfig, RemoteEntityConfig
from comms.cfdp.timers import Timer

__all__ = ["Context", "Transaction", "TransactionState"]


class TransactionState(enum.Enum):
    """Where a transaction is. Source: SENDING -> WAIT_EOF_ACK (class 2) -> WAIT_FINISHED
    (class 2, or class 1 with closure) -> DONE. Receiver: RECEIVING -> FINISHING (class 2:
    Finished sent, waiting for its ACK) -> DONE."""

    SENDING = "sending"
    WAIT_EOF_ACK = "waiting for the EOF ACK"
    WAIT_FINISHED = "waiting for Finished"
    RECEIVING = "receiving"
    FINISHING = "waiting for the Finished ACK"
    DONE = "done"


@dataclass
class Context:
    """What an entity shares with its transactions: config, filestore and the outputs."""

    local: LocalEntityConfig
    filestore: Filestore
    outbox: list[tuple[int, bytes]] = field(default_factory=list)
    events: list[CfdpEvent] = field(default_factory=list)


class Transaction:
    """The common part of a source or destination transaction."""

    is_source = False

    def __init__(
        self,
        ctx: Context,
        transaction_id: TransactionId,
        remote: RemoteEntityConfig,
        header: PduHeader,
        overrides: Mapping[ConditionCode, FaultHandlerCode],
    ) -> None:
        self.ctx = ctx
        self.transaction_id = transaction_id
        self.remote = remote
        self.peer = remote.entity_id
        self.header = header
        self.overrides = dict(overrides)
        self.state = TransactionState.SENDING
        self.suspended = False
        self.link_down = False
        self.condition_code = ConditionCode.NO_ERROR
        self.timers: list[Timer] = []

    # -- timers -----------------------------------------------------------------------

    def _timer(self, name: str, interval: float) -> Timer:
        timer = Timer(name, interval)
        self.timers.append(timer)
        return timer

    @property
    def done(self) -> bool:
        return self.state is TransactionState.DONE

    @property
    def frozen(self) -> bool:
        """Timers stopped: suspended (4.6.6) or the link known to be down."""
        return self.suspended or self.link_down

    def next_deadline(self) -> float | None:
        deadlines = [t.deadline for t in self.timers if t.deadline is not None]
        return min(deadlines) if deadlines else None

    def _update_freeze(self, now: float) -> None:
        for timer in self.timers:
            if self.frozen:
                timer.freeze(now)
            else:
                timer.thaw(now)

    def set_link_down(self, down: bool, now: float) -> None:
        """The link to the peer is known down (True) or up again: freeze or thaw timers."""
        self.link_down = down
        self._update_freeze(now)

    def on_timer(self, now: float) -> None:
        raise NotImplementedError

    # -- user operations --------------------------------------------------------------

    def suspend(
        self, now: float, condition: ConditionCode = ConditionCode.SUSPEND_REQUEST_RECEIVED
    ) -> None:
        """Suspend (4.6.6.1): timers frozen, no new data or NAK sent until resumed."""
        if self.done or self.suspended:
            return
        self.suspended = True
        self._update_freeze(now)
        self.ctx.events.append(Suspended(self.transaction_id, condition))

    def resume(self, now: float) -> None:
        """Resume (4.6.6.2): timers restart with the time they had left."""
        if self.done or not self.suspended:
            return
        self.suspended = False
        self._update_freeze(now)
        self.ctx.events.append(Resumed(self.transaction_id, self.progress))
        self._on_resume(now)

    def _on_resume(self, now: float) -> None:
        pass

    def cancel(self, now: float, condition: ConditionCode) -> None:
        raise NotImplementedError

    def abandon(self, now: float, condition: ConditionCode) -> None:
        """Abandon (4.11.3): stop at once; no PDU is sent for this transaction again."""
        if self.done:
            return
        self.condition_code = condition
        self._release(complete=False)
        self.state = TransactionState.DONE
        for timer in self.timers:
            timer.stop()
        self.ctx.events.append(Abandoned(self.transaction_id, condition, self.progress))

    def _release(self, complete: bool) -> None:
        """Close files; the receiver keeps or discards what it got."""

    # -- faults -----------------------------------------------------------------------

    def handler_for(self, condition: ConditionCode) -> FaultHandlerCode:
        """The override from the put request / Metadata, else the MIB's handler."""
        handler = self.overrides.get(condition)
        return handler if handler is not None else self.ctx.local.fault_handler(condition)

    def fault(self, condition: ConditionCode, now: float) -> FaultHandlerCode:
        """Declare a fault (4.8.1) and apply its handler; returns the handler applied."""
        handler = self.handler_for(condition)
        if handler is FaultHandlerCode.IGNORE_ERROR:
            self.ctx.events.append(FaultIndication(self.transaction_id, condition, self.progress))
        elif handler is FaultHandlerCode.ISSUE_NOTICE_OF_SUSPENSION:
            self.suspend(now, condition)
        elif handler is FaultHandlerCode.ABANDON_TRANSACTION:
            self.abandon(now, condition)
        else:
            self.cancel(now, condition)
        return handler

    # -- reporting --------------------------------------------------------------------

    @property
    def progress(self) -> int:
        raise NotImplementedError

    @property
    def file_size(self) -> int | None:
        raise NotImplementedError

    def send(self, raw: bytes) -> None:
        self.ctx.outbox.append((self.peer, raw))
