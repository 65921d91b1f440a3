"""The sending side of a CFDP transaction (CCSDS 727.0-B-5 4.6.1.1, 4.6.3.1, 4.6.4.2, 4.6.5).

Copy File procedure at the source: Metadata, then the file in File Data PDUs of at most
the peer's maximum file segment length (its maximum PDU size less header, offset and
CRC), then EOF with the file checksum (4.2) and size.

- Class 1 (unacknowledged, 4.6.3.1): done when EOF is sent; with closure requested the
  source waits for Finished under the check timer (limit -> CHECK_LIMIT_REACHED).
- Class 2 (acknowledged, 4.6.4.2, 4.6.5): EOF is repeated on the positive ACK timer
  until its ACK (limit -> POSITIVE_ACK_LIMIT_REACHED); NAKs put their ranges (and the
  Metadata for the (0, 0) request) on a retransmission queue; Finished is acknowledged
  (again for a duplicate: the entity remembers finished transactions). The inactivity
  timer runs from EOF on and restarts with every PDU received. Keep Alive progress
  lagging more than the MIB's discrepancy limit is the keep-alive limit fault.

File Data is produced when the entity drains its outputs (:meth:`SourceTransaction.pull`),
never queued whole, so memory stays at one segment per PDU handed out whatever the
file size. The checksum is computed on that first pass, in file order.

Cancel (4.11.2.1): EOF(condition) with the checksum and size of what was sent, and the
local entity as fault location; class 2 waits for its ACK (a second fault then
abandons: there is no one left to tell). Left out: proxy operations, record boundaries
(segmentation control), the store-and-forward overlay.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from comms.cfdp.checksum import Checksum
from comms.cfdp.codes import (
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FaultHandlerCode,
    FileStatus,
    ResponseRequired,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.events import EofSent, TransactionFinished
from comms.cfdp.filestore import FileHandle
from comms.cfdp.header import PduHeader, TransactionId
from comms.cfdp.mib import RemoteEntityConfig
from comms.cfdp.pdus import (
    AckPdu,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataOption,
    MetadataPdu,
    NakPdu,
    Pdu,
    PromptPdu,
)
from comms.cfdp.requests import PutRequest
from comms.cfdp.segments import SegmentSet
from comms.cfdp.tlv import EntityIdTlv
from comms.cfdp.transaction import Context, Transaction, TransactionState
from comms.crc import crc16_ccitt
from comms.errors import UsageError

__all__ = ["SourceTransaction"]

_S = TransactionState


class SourceTransaction(Transaction):
    """One outgoing transaction: built from a :class:`PutRequest` by the entity."""

    is_source = True

    def __init__(
        self,
        ctx: Context,
        transaction_id: TransactionId,
        remote: RemoteEntityConfig,
        header: PduHeader,
        request: PutRequest,
        overrides: Mapping[ConditionCode, FaultHandlerCode],
    ) -> None:
        super().__init__(ctx, transaction_id, remote, header, overrides)
        self.acknowledged = header.transmission_mode is TransmissionMode.ACKNOWLEDGED
        closure = (
            request.closure_requested
            if request.closure_requested is not None
            else remote.closure_requested
        )
        self.closure_requested = closure and not self.acknowledged
        source_name = request.source_file_name
        assert source_name is None or isinstance(source_name, bytes)
        self.file_name: bytes = source_name or b""
        self._handle: FileHandle | None = None
        size = 0
        if source_name is not None:
            self._handle = ctx.filestore.open_read(source_name)
            size = self._handle.size()
            if size >= 1 << 32 and not header.config.large_file:
                self._handle.close()
                raise UsageError(
                    f"{source_name!r} is {size} octets; files of 4 GiB and more need "
                    "large_file=True in the remote's MIB entry (727.0-B-5 5.1.10)."
                )
        self._size = size
        self.segment_length = remote.max_file_segment_length(header)
        options: list[MetadataOption] = [
            *request.filestore_requests,
            *request.messages_to_user,  # type: ignore[list-item]
            *request.fault_handler_overrides,
        ]
        if request.flow_label is not None:
            options.append(request.flow_label)  # type: ignore[arg-type]
        dest_name = request.destination_file_name
        assert dest_name is None or isinstance(dest_name, bytes)
        metadata = MetadataPdu(
            header,
            size,
            self.file_name,
            dest_name or b"",
            remote.checksum_type,
            self.closure_requested,
            options,
        )
        self._metadata_raw = metadata.encode()
        if len(self._metadata_raw) > remote.max_pdu_length:
            raise UsageError(
                f"The Metadata PDU would be {len(self._metadata_raw)} octets, more than the "
                f"remote's max_pdu_length {remote.max_pdu_length}; send fewer or shorter "
                "options."
            )
        self._metadata_pending = True
        self._next = 0  # first pass: the next file offset to send
        self._resend = SegmentSet()
        self._checksum = Checksum(remote.checksum_type)
        self._eof_raw: bytes | None = None
        self._cancelling = False
        self._ack_count = 0
        self._check_count = 0
        self.ack_timer = self._timer("positive ACK", remote.ack_timer_interval)
        self.inactivity_timer = self._timer("inactivity", remote.inactivity_timer_interval)
        self.check_timer = self._timer("check", remote.check_timer_interval)
        # Full-size File Data PDUs differ only in offset and data: their header octets
        # (the length field included) are built once from a real encode and reused, so
        # the hot loop is one struct pack and a join (5.3; same octets as FileDataPdu).
        template = FileDataPdu(header, 0, bytes(self.segment_length)).encode()
        self._fd_prefix = template[: header.length]
        self._fd_offset = struct.Struct(">Q" if header.config.large_file else ">I").pack
        self._fd_crc = header.config.crc

    # -- reporting ----------------------------------------------------------------------

    @property
    def progress(self) -> int:
        return self._next

    @property
    def file_size(self) -> int | None:
        return self._size

    # -- sending ----------------------------------------------------------------------

    def wants_to_send(self) -> bool:
        """Has PDUs to hand out now (first pass, retransmissions, Metadata)."""
        if self.frozen or self._cancelling:
            return False
        state = self.state
        if state is _S.SENDING:
            return True
        if state is _S.DONE:
            return False
        return self._metadata_pending or bool(self._resend)

    def pull(self, budget: int, now: float) -> int:
        """Hand out up to ``budget`` PDUs (to the context's outbox); returns how many."""
        if not self.wants_to_send():
            return 0
        out = self.ctx.outbox
        peer = self.peer
        sent = 0
        if self._metadata_pending:
            self._metadata_pending = False
            out.append((peer, self._metadata_raw))
            sent += 1
        handle = self._handle
        encode = self._encode_file_data
        seg = self.segment_length
        resend = self._resend
        while sent < budget and resend:
            piece = resend.remove_first(seg)
            assert piece is not None and handle is not None
            start, stop = piece
            out.append((peer, encode(start, handle.read_at(start, stop - start))))
            sent += 1
        if self.state is not _S.SENDING:
            return sent
        size = self._size
        update = self._checksum.update
        while sent < budget and self._next < size:
            assert handle is not None
            offset = self._next
            data = handle.read_at(offset, min(seg, size - offset))
            if not data:
                # The file shrank under us: what was announced cannot be sent.
                self.fault(ConditionCode.FILE_SIZE_ERROR, now)
                return sent
            update(offset, data)
            out.append((peer, encode(offset, data)))
            self._next = offset + len(data)
            sent += 1
        if self._next >= size and sent < budget:
            self._send_eof(now)
            sent += 1
        return sent

    def _encode_file_data(self, offset: int, data: bytes) -> bytes:
        if len(data) != self.segment_length:
            return FileDataPdu(self.header, offset, data).encode()
        raw = b"".join((self._fd_prefix, self._fd_offset(offset), data))
        if self._fd_crc:
            raw += crc16_ccitt(raw).to_bytes(2, "big")
        return raw

    def _send_eof(self, now: float) -> None:
        eof = EofPdu(self.header, ConditionCode.NO_ERROR, self._checksum.value, self._size)
        self._eof_raw = eof.encode()
        self.send(self._eof_raw)
        if self.ctx.local.eof_sent_indication:
            self.ctx.events.append(EofSent(self.transaction_id))
        if self.acknowledged:
            self.state = _S.WAIT_EOF_ACK
            self._ack_count = 0
            self.ack_timer.start(now)
            self.inactivity_timer.start(now)
        elif self.closure_requested:
            self.state = _S.WAIT_FINISHED
            self._check_count = 0
            self.check_timer.start(now)
        else:
            self._finish(ConditionCode.NO_ERROR, DeliveryCode.DATA_COMPLETE, FileStatus.UNREPORTED)

    def _finish(
        self,
        condition: ConditionCode,
        delivery: DeliveryCode,
        status: FileStatus,
        finished: FinishedPdu | None = None,
    ) -> None:
        self.condition_code = condition
        self.state = _S.DONE
        for timer in self.timers:
            timer.stop()
        self._release(complete=True)
        if self.ctx.local.transaction_finished_indication:
            self.ctx.events.append(
                TransactionFinished(
                    self.transaction_id,
                    condition,
                    delivery,
                    status,
                    finished.filestore_responses if finished is not None else (),
                    is_source=True,
                    file_name=self.file_name,
                )
            )

    def _release(self, complete: bool) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    # -- user operations --------------------------------------------------------------

    def prompt(self, response: ResponseRequired, now: float) -> None:
        """Send a Prompt (NAK or Keep Alive) to the receiver (class 2 only, 4.6.5.3)."""
        if self.acknowledged and not self.done and not self.suspended:
            self.send(PromptPdu(self.header, response).encode())

    def cancel(self, now: float, condition: ConditionCode) -> None:
        """Notice of cancellation at the source (4.11.2.1)."""
        if self.done:
            return
        if self._cancelling:
            # A second fault while already cancelling: nobody answers, so stop (4.11.2.4).
            self.abandon(now, condition)
            return
        self._cancelling = True
        self.condition_code = condition
        self._metadata_pending = False
        self._resend.clear()
        for timer in self.timers:
            timer.stop()
        try:
            checksum = self._checksum.value
        except UsageError:  # not reachable with in-order feeding; keep EOF well-formed
            checksum = 0
        eof = EofPdu(
            self.header,
            condition,
            checksum,
            self._next,
            EntityIdTlv(self.ctx.local.entity_id, self.header.config.entity_id_length),
        )
        self._eof_raw = eof.encode()
        # A cancel ends a suspension: the EOF must go and its ACK timer must run.
        self.suspended = False
        self._update_freeze(now)
        self.send(self._eof_raw)
        if self.acknowledged:
            self.state = _S.WAIT_EOF_ACK
            self._ack_count = 0
            self.ack_timer.start(now)
        else:
            self._finish(condition, DeliveryCode.DATA_INCOMPLETE, FileStatus.UNREPORTED)

    # -- received PDUs ----------------------------------------------------------------

    def receive(self, pdu: Pdu, now: float) -> None:
        if self.done:
            return
        if self.inactivity_timer.running:
            self.inactivity_timer.start(now)
        if isinstance(pdu, AckPdu):
            if pdu.acknowledged_directive is DirectiveCode.EOF:
                self._on_eof_ack(now)
        elif isinstance(pdu, NakPdu):
            self._on_nak(pdu)
        elif isinstance(pdu, FinishedPdu):
            self._on_finished(pdu, now)
        elif isinstance(pdu, KeepAlivePdu):
            limit = self.remote.keep_alive_discrepancy_limit
            if limit is not None and self._next - pdu.progress > limit:
                self.fault(ConditionCode.KEEP_ALIVE_LIMIT_REACHED, now)

    def _on_eof_ack(self, now: float) -> None:
        if self.state is not _S.WAIT_EOF_ACK:
            return  # a duplicate ACK
        self.ack_timer.stop()
        if self._cancelling:
            self._finish(self.condition_code, DeliveryCode.DATA_INCOMPLETE, FileStatus.UNREPORTED)
            return
        self.state = _S.WAIT_FINISHED
        self.inactivity_timer.start(now)

    def _on_nak(self, pdu: NakPdu) -> None:
        if not self.acknowledged or self._cancelling:
            return
        sent = self._next
        for start, end in pdu.segment_requests:
            if start == 0 and end == 0:
                self._metadata_pending = True
                continue
            # Only what the first pass has sent: the rest is on its way anyway, and
            # a request past the file's end asks for nothing (5.2.6).
            end = min(end, sent)
            if start < end:
                self._resend.add(start, end)

    def _on_finished(self, pdu: FinishedPdu, now: float) -> None:
        if self.acknowledged:
            self.send(
                AckPdu(
                    self.header,
                    DirectiveCode.FINISHED,
                    pdu.condition_code,
                    TransactionStatus.TERMINATED,
                ).encode()
            )
        elif not self.closure_requested:
            return
        condition = self.condition_code if self._cancelling else pdu.condition_code
        self._finish(condition, pdu.delivery_code, pdu.file_status, pdu)

    # -- timers -----------------------------------------------------------------------

    def on_timer(self, now: float) -> None:
        if self.done:
            return
        if self.ack_timer.expired(now):
            self._ack_count += 1
            if self._ack_count >= self.remote.ack_limit:
                self.ack_timer.stop()
                self.fault(ConditionCode.POSITIVE_ACK_LIMIT_REACHED, now)
            else:
                assert self._eof_raw is not None
                self.send(self._eof_raw)
                self.ack_timer.start(now)
        if self.done:
            return
        if self.inactivity_timer.expired(now):
            self.inactivity_timer.stop()
            self.fault(ConditionCode.INACTIVITY_DETECTED, now)
        if self.done:
            return
        if self.check_timer.expired(now):
            self._check_count += 1
            if self._check_count >= self.remote.check_limit:
                self.check_timer.stop()
                self.fault(ConditionCode.CHECK_LIMIT_REACHED, now)
            else:
                self.check_timer.start(now)
