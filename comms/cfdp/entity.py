"""The sans-I/O CFDP entity: many concurrent transactions behind one machine face
(CCSDS 727.0-B-5 sections 3 and 4; ARCHITECTURE.md "The shape of a protocol machine").

Inputs are data and time -- :meth:`Entity.put`, :meth:`Entity.receive_pdu`, the user
operations (:meth:`~Entity.cancel`, :meth:`~Entity.suspend`, :meth:`~Entity.resume`,
:meth:`~Entity.abandon`, :meth:`~Entity.report`, :meth:`~Entity.prompt`), the link
indications :meth:`~Entity.link_up` / :meth:`~Entity.link_down`, and
:meth:`~Entity.on_timer` -- each taking ``now``. Outputs are drained:
:meth:`~Entity.pdus_to_send` gives ``(destination entity id, PDU octets)`` pairs and
:meth:`~Entity.events` the indications (:mod:`comms.cfdp.events`).
:meth:`~Entity.next_deadline` says when :meth:`~Entity.on_timer` is next due. No clock
is read, no randomness is used, and the only I/O is through the filestore.

Sending is pulled: a drain hands out at most ``LocalEntityConfig.send_burst`` PDUs, File
Data read from the filestore as it goes; while more is ready :meth:`next_deadline`
returns the last ``now`` seen (already due), so a driver that re-arms its timer at the
deadline and drains after each input streams a file of any size in bounded memory.

Routing (4.5): File Data, Metadata, EOF, Prompt and ACK(Finished) go to the receiving
side of the transaction ``(source entity id, sequence number)``; Finished, NAK, Keep
Alive and ACK(EOF) to the sending side. Metadata, File Data or EOF of an unknown
transaction opens a receiving transaction (4.6.1.2.2). Finished transactions are
remembered (``LocalEntityConfig.completed_memory``): a duplicate EOF for one is
acknowledged again (with its Finished repeated if that was never acknowledged), a
duplicate Finished re-acknowledged -- never a new transaction, never silence, which is
what stalled cfdp-py's class 2 on lossy links.

Link awareness: ``link_down(now, entity_id)`` freezes the timers of every transaction
with that peer (all peers when ``entity_id`` is None) exactly as a suspension does, so
no timer expires and no retry is counted while nothing can get through; PDUs for the
peer are held (not dropped) and no new File Data is read. ``link_up`` thaws the timers
with the time they had left and releases what was held.

Remote suspend and resume (6.5, 6.6): a Metadata carrying a RemoteSuspendRequest /
RemoteResumeRequest message to user for a transaction this entity holds suspends or
resumes it. The response messages, proxy operations, directory listings and remote
status reports are the user operations layered on top in
:mod:`comms.cfdp.user_operations`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from comms.buffers import BytesLike
from comms.cfdp.codes import (
    ConditionCode,
    Direction,
    DirectiveCode,
    ResponseRequired,
    TransactionStatus,
)
from comms.cfdp.destination import DestinationTransaction
from comms.cfdp.events import CfdpEvent, PduRejected, ReportIndication, TransactionIndication
from comms.cfdp.filestore import Filestore
from comms.cfdp.header import PduHeader, TransactionId
from comms.cfdp.messages import RemoteResumeRequest, RemoteSuspendRequest
from comms.cfdp.mib import Mib
from comms.cfdp.pdus import (
    AckPdu,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    MetadataPdu,
    Pdu,
    PromptPdu,
    decode_pdu,
)
from comms.cfdp.requests import PutRequest
from comms.cfdp.source import SourceTransaction
from comms.cfdp.transaction import Context, Transaction
from comms.errors import DecodeError, UsageError

__all__ = ["Entity"]

_Key = tuple[int, int]
_TO_RECEIVER = (FileDataPdu, MetadataPdu, EofPdu, PromptPdu)
_OPENS = (FileDataPdu, MetadataPdu, EofPdu)


class _Completed:
    """What is kept of a finished transaction to answer its late duplicates."""

    __slots__ = ("finished_raw", "header", "peer")

    def __init__(self, header: PduHeader, peer: int, finished_raw: bytes | None) -> None:
        self.header = header
        self.peer = peer
        self.finished_raw = finished_raw


class Entity:
    """A CFDP entity: its MIB, its filestore and every transaction it takes part in."""

    def __init__(self, mib: Mib, filestore: Filestore) -> None:
        if not isinstance(mib, Mib):
            raise UsageError(f"Entity needs a Mib, not {type(mib).__name__}.")
        self.mib = mib
        self.entity_id = mib.local.entity_id
        self._ctx = Context(mib.local, filestore)
        self._sources: dict[_Key, SourceTransaction] = {}
        self._receivers: dict[_Key, DestinationTransaction] = {}
        self._done_sources: OrderedDict[_Key, _Completed] = OrderedDict()
        self._done_receivers: OrderedDict[_Key, _Completed] = OrderedDict()
        self._next_sequence = mib.local.first_sequence_number
        self._links_down: set[int] = set()
        self._all_down = False
        self._now = 0.0
        self._rotation = 0
        #: Counters for metrics: PDUs received, rejected, and octets of File Data sent.
        self.pdus_received = 0
        self.pdus_rejected = 0

    # -- outputs ------------------------------------------------------------------------

    def pdus_to_send(self) -> list[tuple[int, bytes]]:
        """PDUs to transmit now, as ``(destination entity id, octets)``, oldest first.

        At most ``send_burst`` File Data PDUs per call beyond the directives already
        queued; :meth:`next_deadline` is already due while more are ready.
        """
        ctx = self._ctx
        outbox = ctx.outbox
        budget = ctx.local.send_burst - len(outbox)
        if budget > 0:
            senders = [t for t in self._sources.values() if t.wants_to_send()]
            if senders:
                start = self._rotation % len(senders)
                self._rotation += 1
                for t in senders[start:] + senders[:start]:
                    if budget <= 0:
                        break
                    budget -= t.pull(budget, self._now)
                self._reap()
        if not (self._links_down or self._all_down):
            ctx.outbox = []
            return outbox
        ready = [item for item in outbox if not self._is_down(item[0])]
        ctx.outbox = [item for item in outbox if self._is_down(item[0])]
        return ready

    def events(self) -> list[CfdpEvent]:
        """The indications since the last call, oldest first."""
        out, self._ctx.events = self._ctx.events, []
        return out

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` is next due; the last ``now`` seen while PDUs are ready."""
        if self._ctx.outbox and any(not self._is_down(peer) for peer, _ in self._ctx.outbox):
            return self._now
        best: float | None = None
        for t in self._transactions():
            if isinstance(t, SourceTransaction) and t.wants_to_send():
                return self._now
            deadline = t.next_deadline()
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        return best

    # -- inputs -------------------------------------------------------------------------

    def put(self, request: PutRequest, now: float) -> TransactionId:
        """Put.request (3.4.2): start sending; returns the new transaction's id.

        Raises UsageError for a destination the MIB does not know or a request that
        cannot be met (Metadata larger than the peer's PDU size, a file of 4 GiB or more
        without large files), and FilestoreError when the source file cannot be opened.
        """
        if not isinstance(request, PutRequest):
            raise UsageError(f"Entity.put takes a PutRequest, not {type(request).__name__}.")
        self._now = now
        remote = self.mib.remote(request.destination_entity_id)
        if remote is None:
            raise UsageError(
                f"Entity {request.destination_entity_id} is not in the MIB; add a "
                "RemoteEntityConfig for it (or a default_remote)."
            )
        config = remote.pdu_config
        if self.entity_id >> (8 * config.entity_id_length):
            raise UsageError(
                f"The local entity id {self.entity_id} does not fit the remote's "
                f"entity_id_length {config.entity_id_length}."
            )
        sequence = self._allocate(config.sequence_number_length)
        mode = (
            request.transmission_mode
            if request.transmission_mode is not None
            else remote.default_transmission_mode
        )
        header = PduHeader(
            config, self.entity_id, sequence, remote.entity_id, mode, Direction.TOWARD_RECEIVER
        )
        tid = header.transaction_id
        overrides = {o.condition_code: o.handler_code for o in request.fault_handler_overrides}
        transaction = SourceTransaction(self._ctx, tid, remote, header, request, overrides)
        self._sources[(self.entity_id, sequence)] = transaction
        self._ctx.events.append(TransactionIndication(tid))
        if self._is_down(remote.entity_id):
            transaction.set_link_down(True, now)
        return tid

    def _allocate(self, length: int) -> int:
        modulus = 1 << (8 * length)
        for _ in range(modulus):
            sequence = self._next_sequence % modulus
            self._next_sequence = sequence + 1
            key = (self.entity_id, sequence)
            if key not in self._sources and key not in self._done_sources:
                return sequence
        raise UsageError("Every transaction sequence number is in use; finish some first.")

    def receive_pdu(self, data: BytesLike | Pdu, now: float) -> None:
        """A PDU from the link (octets or decoded). Bad octets never raise: they become
        a :class:`~comms.cfdp.events.PduRejected` event."""
        self._now = now
        self.pdus_received += 1
        if isinstance(data, Pdu):
            pdu = data
        else:
            try:
                pdu = decode_pdu(data)
            except DecodeError as exc:
                self._reject(f"undecodable PDU: {exc.reason}", exc.offset)
                return
        header = pdu.header
        key = (header.source_entity_id, header.transaction_sequence_number)
        cls = type(pdu)
        if cls in _TO_RECEIVER or (
            cls is AckPdu and pdu.acknowledged_directive is DirectiveCode.FINISHED  # type: ignore[attr-defined]
        ):
            if header.destination_entity_id != self.entity_id:
                self._reject("PDU for another entity")
                return
            receiver = self._receivers.get(key)
            if receiver is None:
                receiver = self._open_receiver(pdu, key, now)
                if receiver is None:
                    return
            if receiver.remote.crc and not header.config.crc:
                self._reject("PDU without the CRC the MIB requires from this peer")
                return
            receiver.receive(pdu, now)
            if cls is MetadataPdu:
                self._remote_requests(pdu, now)  # type: ignore[arg-type]
            if receiver.done:
                self._reap()
            return
        if header.source_entity_id != self.entity_id:
            self._reject("PDU for a transaction this entity did not start")
            return
        source = self._sources.get(key)
        if source is None:
            done = self._done_sources.get(key)
            if done is not None and cls is FinishedPdu:
                # Our ACK of Finished was lost: acknowledge again.
                finished: FinishedPdu = pdu  # type: ignore[assignment]
                self._ctx.outbox.append(
                    (
                        done.peer,
                        AckPdu(
                            done.header,
                            DirectiveCode.FINISHED,
                            finished.condition_code,
                            TransactionStatus.TERMINATED,
                        ).encode(),
                    )
                )
            return
        if source.remote.crc and not header.config.crc:
            self._reject("PDU without the CRC the MIB requires from this peer")
            return
        source.receive(pdu, now)
        if source.done:
            self._reap()

    def _open_receiver(self, pdu: Pdu, key: _Key, now: float) -> DestinationTransaction | None:
        header = pdu.header
        done = self._done_receivers.get(key)
        if done is not None:
            if isinstance(pdu, EofPdu) and header.transmission_mode == 0:
                # A late duplicate EOF: ACK it again, and repeat an unacknowledged Finished.
                self._ctx.outbox.append(
                    (
                        done.peer,
                        AckPdu(
                            done.header,
                            DirectiveCode.EOF,
                            pdu.condition_code,
                            TransactionStatus.TERMINATED,
                        ).encode(),
                    )
                )
                if done.finished_raw is not None:
                    self._ctx.outbox.append((done.peer, done.finished_raw))
            return None
        if not isinstance(pdu, _OPENS):
            return None  # a Prompt or ACK for a transaction we never had
        remote = self.mib.remote(header.source_entity_id)
        if remote is None:
            self._reject("PDU from an entity not in the MIB")
            return None
        if remote.crc and not header.config.crc:
            # A flipped CRC flag would otherwise let a corrupted PDU skip the check.
            self._reject("PDU without the CRC the MIB requires from this peer")
            return None
        reply = header.toward(Direction.TOWARD_SENDER)
        if isinstance(pdu, EofPdu) and pdu.condition_code is not ConditionCode.NO_ERROR:
            # EOF(cancel) of a transaction we never saw: acknowledge, open nothing.
            if header.transmission_mode == 0:
                self._ctx.outbox.append(
                    (
                        remote.entity_id,
                        AckPdu(
                            reply,
                            DirectiveCode.EOF,
                            pdu.condition_code,
                            TransactionStatus.UNRECOGNIZED,
                        ).encode(),
                    )
                )
            return None
        tid = header.transaction_id
        receiver = DestinationTransaction(self._ctx, tid, remote, reply, now)
        self._receivers[key] = receiver
        if self._is_down(remote.entity_id):
            receiver.set_link_down(True, now)
        return receiver

    def _remote_requests(self, pdu: MetadataPdu, now: float) -> None:
        for message in pdu.messages_to_user():
            try:
                reserved = message.reserved_message()
            except DecodeError:
                continue
            if isinstance(reserved, RemoteSuspendRequest | RemoteResumeRequest):
                tid = reserved.transaction_id
                target = self._find(tid)
                if target is None:
                    continue
                if isinstance(reserved, RemoteSuspendRequest):
                    target.suspend(now, ConditionCode.SUSPEND_REQUEST_RECEIVED)
                else:
                    target.resume(now)

    def on_timer(self, now: float) -> None:
        """Let every transaction act on its due timers."""
        self._now = now
        for t in list(self._transactions()):
            t.on_timer(now)
        self._reap()

    # -- user operations ----------------------------------------------------------------

    def _get(self, tid: TransactionId) -> Transaction:
        found = self._find(tid)
        if found is None:
            raise UsageError(f"No active transaction {tid!r} at entity {self.entity_id}.")
        return found

    def _find(self, tid: TransactionId) -> Transaction | None:
        key = (tid.source_entity_id, tid.transaction_sequence_number)
        if tid.source_entity_id == self.entity_id and key in self._sources:
            return self._sources[key]
        return self._receivers.get(key)

    def cancel(self, tid: TransactionId, now: float) -> None:
        """Cancel.request (3.4.3): notice of cancellation, condition "cancel request received"."""
        self._now = now
        self._get(tid).cancel(now, ConditionCode.CANCEL_REQUEST_RECEIVED)
        self._reap()

    def suspend(self, tid: TransactionId, now: float) -> None:
        """Suspend.request (3.4.4): timers frozen, sending stops until resumed."""
        self._now = now
        self._get(tid).suspend(now, ConditionCode.SUSPEND_REQUEST_RECEIVED)

    def resume(self, tid: TransactionId, now: float) -> None:
        """Resume.request (3.4.5); a receiver NAKs what is missing at once."""
        self._now = now
        self._get(tid).resume(now)
        self._reap()

    def abandon(self, tid: TransactionId, now: float) -> None:
        """Abandon the transaction at once (4.11.3); nothing more is sent for it."""
        self._now = now
        self._get(tid).abandon(now, ConditionCode.CANCEL_REQUEST_RECEIVED)
        self._reap()

    def report(self, tid: TransactionId, now: float) -> None:
        """Report.request (3.4.6): a :class:`ReportIndication` event with the status."""
        self._now = now
        t = self._get(tid)
        self._ctx.events.append(
            ReportIndication(
                tid,
                t.is_source,
                t.state.value,
                t.progress,
                t.file_size,
                t.suspended,
                t.condition_code,
            )
        )

    def prompt(self, tid: TransactionId, response: ResponseRequired, now: float) -> None:
        """Send a Prompt PDU asking the receiver for a NAK or a Keep Alive (class 2)."""
        self._now = now
        t = self._get(tid)
        if not isinstance(t, SourceTransaction):
            raise UsageError("Only the sending entity prompts (727.0-B-5 4.6.5.3).")
        t.prompt(ResponseRequired(response), now)

    def link_down(self, now: float, entity_id: int | None = None) -> None:
        """The link to ``entity_id`` (None: every peer) is known down: freeze its timers."""
        self._now = now
        if entity_id is None:
            self._all_down = True
        else:
            self._links_down.add(entity_id)
        for t in self._transactions():
            if self._is_down(t.peer):
                t.set_link_down(True, now)

    def link_up(self, now: float, entity_id: int | None = None) -> None:
        """The link to ``entity_id`` (None: every peer) is back: thaw timers, send."""
        self._now = now
        if entity_id is None:
            self._all_down = False
            self._links_down.clear()
        else:
            self._links_down.discard(entity_id)
        for t in self._transactions():
            if not self._is_down(t.peer):
                t.set_link_down(False, now)

    # -- bookkeeping --------------------------------------------------------------------

    @property
    def transactions(self) -> list[TransactionId]:
        """The ids of the transactions still active here."""
        return [t.transaction_id for t in self._transactions()]

    def transaction(self, tid: TransactionId) -> Transaction:
        """The active transaction ``tid`` (for inspection)."""
        return self._get(tid)

    def _transactions(self) -> Iterable[Transaction]:
        yield from self._sources.values()
        yield from self._receivers.values()

    def _is_down(self, peer: int) -> bool:
        return self._all_down or peer in self._links_down

    def _reject(self, reason: str, offset: int | None = None) -> None:
        self.pdus_rejected += 1
        self._ctx.events.append(PduRejected(reason, offset))

    def _reap(self) -> None:
        memory = self._ctx.local.completed_memory
        for key in [k for k, t in self._sources.items() if t.done]:
            t = self._sources.pop(key)
            self._remember(self._done_sources, key, _Completed(t.header, t.peer, None), memory)
        for key in [k for k, r in self._receivers.items() if r.done]:
            r = self._receivers.pop(key)
            unacked = r.finished_raw if r.acknowledged and not r.finished_acked else None
            self._remember(self._done_receivers, key, _Completed(r.header, r.peer, unacked), memory)

    @staticmethod
    def _remember(
        table: OrderedDict[_Key, _Completed], key: _Key, record: _Completed, memory: int
    ) -> None:
        table[key] = record
        table.move_to_end(key)
        while len(table) > memory:
            table.popitem(last=False)
