"""The receiving side of a CFDP transaction (CCSDS 727.0-B-5 4.6.1.2, 4.6.3.2, 4.6.4.3,
4.6.5, 4.9).

File Data is written at its offset into a part file named after the transaction
(``.cfdp-<source>-<sequence>.part``) as it arrives -- before the Metadata if that is
late -- and renamed to the destination file name once the file is complete and its
checksum verified, so an existing file is never overwritten by a partial one. A
:class:`~comms.cfdp.segments.SegmentSet` records what arrived: duplicates do not count
twice (in progress or in the modular checksum, which is summed as data arrives; the
CRC checksums are fed while data comes in order and otherwise computed from the
filestore, streamed, at the end).

- A Metadata PDU after the first one (or after File Data) only fills in what was
  missing; it never resets progress (the cfdp-py stall).
- Class 1 (4.6.3.2): at EOF the file is delivered if complete; if not, the check timer
  waits for late data (limit -> CHECK_LIMIT_REACHED). Finished is sent if closure was
  requested.
- Class 2 (4.6.4.3, 4.6.5): every EOF is acknowledged, duplicates included. Missing
  data (and a missing Metadata, the (0, 0) request) is NAKed at EOF -- also as soon
  as a gap appears in immediate NAK mode -- in as many NAK PDUs as the peer's maximum
  PDU size needs (:func:`~comms.cfdp.nak.split_nak`), at most the MIB's bound of
  segment requests per round. The NAK timer repeats the NAK; the NAK limit counts
  rounds without new data. Finished is repeated on the positive ACK timer until its
  ACK. The inactivity timer restarts with every PDU; Keep Alive goes out on its
  interval and when prompted.
- Suspended (4.6.6): EOFs are still acknowledged (so the source does not run out its
  ACK limit) and data is still stored, but no NAK or Keep Alive goes out and timers are
  frozen; on resume the gaps are NAKed at once (Yamcs never NAKed after a resume).
- Filestore requests (4.9) run after the file is delivered, in order; after the
  first failure the rest are "not performed" (status 15). Their responses travel in
  Finished and in :class:`~comms.cfdp.events.TransactionFinished`. A failing
  request is reported in its response, not as a fault.
- Cancel (4.11.2): Finished(condition) with the local entity as fault location; an
  EOF(cancel) from the source is acknowledged and ends the transaction without
  Finished. The part file is kept (renamed) only when the MIB retains incomplete files.

Left out: record boundaries (segment metadata is accepted and ignored), proxy
operations, the store-and-forward overlay.
"""

from __future__ import annotations

from comms.cfdp.checksum import SUPPORTED_CHECKSUMS, Checksum, ChecksumType
from comms.cfdp.codes import (
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FaultHandlerCode,
    FileStatus,
    FilestoreAction,
    ResponseRequired,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.events import (
    EofReceived,
    FileSegmentReceived,
    MetadataReceived,
    TransactionFinished,
)
from comms.cfdp.filestore import FileHandle, Filestore, FilestoreError, FilestoreFault
from comms.cfdp.header import PduHeader, TransactionId
from comms.cfdp.mib import NakMode, RemoteEntityConfig
from comms.cfdp.nak import split_nak
from comms.cfdp.pdus import (
    AckPdu,
    EofPdu,
    FileDataPdu,
    FinishedPdu,
    KeepAlivePdu,
    MetadataPdu,
    Pdu,
    PromptPdu,
)
from comms.cfdp.segments import SegmentSet
from comms.cfdp.tlv import EntityIdTlv, FaultHandlerOverride, FilestoreRequest, FilestoreResponse
from comms.cfdp.transaction import Context, Transaction, TransactionState
from comms.errors import UsageError

__all__ = ["DestinationTransaction", "execute_filestore_request"]

_S = TransactionState
_NOT_PERFORMED = 15

# Status code for "not allowed" per action when the filestore refuses (table 5-18).
_NOT_ALLOWED = {
    FilestoreAction.CREATE_FILE: 1,
    FilestoreAction.DELETE_FILE: 2,
    FilestoreAction.RENAME_FILE: 3,
    FilestoreAction.APPEND_FILE: 3,
    FilestoreAction.REPLACE_FILE: 3,
    FilestoreAction.CREATE_DIRECTORY: 1,
    FilestoreAction.REMOVE_DIRECTORY: 2,
    FilestoreAction.DENY_FILE: 2,
    FilestoreAction.DENY_DIRECTORY: 2,
}


def execute_filestore_request(fs: Filestore, request: FilestoreRequest) -> FilestoreResponse:
    """Run one filestore request (4.9, table 5-16) and say how it went (table 5-18)."""
    action = request.action
    first, second = request.first_file_name, request.second_file_name
    status = 0
    message = b""
    try:
        if action is FilestoreAction.CREATE_FILE:
            fs.create_file(first)
        elif action is FilestoreAction.DELETE_FILE:
            fs.delete_file(first)
        elif action is FilestoreAction.RENAME_FILE:
            assert second is not None
            fs.rename_file(first, second)
        elif action is FilestoreAction.APPEND_FILE:
            assert second is not None
            if not fs.exists(second):
                status = 2
            else:
                fs.append_file(first, second)
        elif action is FilestoreAction.REPLACE_FILE:
            assert second is not None
            if not fs.exists(second):
                status = 2
            else:
                fs.replace_file(first, second)
        elif action is FilestoreAction.CREATE_DIRECTORY:
            fs.create_directory(first)
        elif action is FilestoreAction.REMOVE_DIRECTORY:
            fs.remove_directory(first)
        elif action is FilestoreAction.DENY_FILE:
            # "Deny": make sure the file is not there; absent already is success.
            if fs.exists(first):
                fs.delete_file(first)
        elif action is FilestoreAction.DENY_DIRECTORY and fs.exists(first):
            fs.remove_directory(first)
    except FilestoreError as exc:
        status = _status_for(action, exc)
        message = str(exc).encode("utf-8", "replace")[:255]
    return FilestoreResponse(action, status, first, second, message)


def _status_for(action: FilestoreAction, exc: FilestoreError) -> int:
    fault = exc.fault
    if fault is FilestoreFault.NOT_FOUND and action in (
        FilestoreAction.DELETE_FILE,
        FilestoreAction.RENAME_FILE,
        FilestoreAction.APPEND_FILE,
        FilestoreAction.REPLACE_FILE,
        FilestoreAction.REMOVE_DIRECTORY,
    ):
        return 1
    if fault is FilestoreFault.EXISTS and action is FilestoreAction.RENAME_FILE:
        return 2
    return _NOT_ALLOWED[action]


class DestinationTransaction(Transaction):
    """One incoming transaction, opened by the entity on its first PDU."""

    def __init__(
        self,
        ctx: Context,
        transaction_id: TransactionId,
        remote: RemoteEntityConfig,
        header: PduHeader,
        now: float,
    ) -> None:
        # Replies go toward the sender with the sender's own header layout.
        super().__init__(ctx, transaction_id, remote, header, {})
        self.state = _S.RECEIVING
        self.acknowledged = header.transmission_mode is TransmissionMode.ACKNOWLEDGED
        self.metadata: MetadataPdu | None = None
        self.eof: EofPdu | None = None
        self.received = SegmentSet()
        self.part_name = b".cfdp-%d-%d.part" % (
            transaction_id.source_entity_id,
            transaction_id.transaction_sequence_number,
        )
        self.file_name = b""
        self.filestore_responses: tuple[FilestoreResponse, ...] = ()
        self.delivery_code = DeliveryCode.DATA_INCOMPLETE
        self.file_status = FileStatus.UNREPORTED
        self.finished_raw: bytes | None = None
        self.finished_acked = False
        self._handle: FileHandle | None = None
        self._part_exists = False
        self._checksum: Checksum | None = None
        self._checksum_from_file = False
        self._crc_next = 0
        self._filestore_rejected = False
        self._closure = False
        self._nak_count = 0
        self._check_count = 0
        self._ack_count = 0
        self._final_condition = ConditionCode.NO_ERROR
        self.nak_timer = self._timer("NAK", remote.nak_timer_interval)
        self.inactivity_timer = self._timer("inactivity", remote.inactivity_timer_interval)
        self.check_timer = self._timer("check", remote.check_timer_interval)
        self.ack_timer = self._timer("positive ACK", remote.ack_timer_interval)
        self.keep_alive_timer = self._timer("keep alive", remote.keep_alive_interval or 1.0)
        self.inactivity_timer.start(now)
        if self.acknowledged and remote.keep_alive_interval is not None:
            self.keep_alive_timer.start(now)
        self._segment_events = ctx.local.file_segment_recv_indication

    # -- reporting ----------------------------------------------------------------------

    @property
    def progress(self) -> int:
        return self.received.total

    @property
    def file_size(self) -> int | None:
        if self.eof is not None:
            return self.eof.file_size
        return self.metadata.file_size if self.metadata is not None else None

    @property
    def complete(self) -> bool:
        """Metadata, EOF and every octet up to the EOF's file size are in."""
        eof = self.eof
        return (
            eof is not None and self.metadata is not None and self.received.covers(0, eof.file_size)
        )

    # -- received PDUs ----------------------------------------------------------------

    def receive(self, pdu: Pdu, now: float) -> None:
        if self.state is _S.RECEIVING:
            self.inactivity_timer.start(now)
        cls = type(pdu)
        if cls is FileDataPdu:
            self._on_file_data(pdu, now)  # type: ignore[arg-type]
        elif cls is MetadataPdu:
            self._on_metadata(pdu, now)  # type: ignore[arg-type]
        elif cls is EofPdu:
            self._on_eof(pdu, now)  # type: ignore[arg-type]
        elif cls is AckPdu:
            ack: AckPdu = pdu  # type: ignore[assignment]
            if ack.acknowledged_directive is DirectiveCode.FINISHED and self.state is _S.FINISHING:
                self.finished_acked = True
                self._end()
        elif cls is PromptPdu:
            self._on_prompt(pdu, now)  # type: ignore[arg-type]

    def _on_metadata(self, pdu: MetadataPdu, now: float) -> None:
        if self.metadata is not None or self.state is not _S.RECEIVING:
            return  # a duplicate or late copy: never resets what was received
        self.metadata = pdu
        self.file_name = pdu.destination_file_name
        self._closure = pdu.closure_requested
        for option in pdu.options:
            if isinstance(option, FaultHandlerOverride):
                self.overrides[option.condition_code] = option.handler_code
        kind = pdu.checksum_type
        if kind in SUPPORTED_CHECKSUMS:
            if self.received:
                self._checksum_from_file = True  # data came first; sum it from the file
            else:
                self._checksum = Checksum(ChecksumType(kind))
        self.ctx.events.append(
            MetadataReceived(
                self.transaction_id,
                self.header.source_entity_id,
                pdu.file_size,
                pdu.source_file_name,
                pdu.destination_file_name,
                pdu.messages_to_user(),
            )
        )
        if self.eof is not None:
            self._try_complete(now)

    def _open_part(self, now: float) -> FileHandle | None:
        try:
            self._handle = self.ctx.filestore.open_write(self.part_name)
        except FilestoreError:
            self._filestore_rejected = True
            self.fault(ConditionCode.FILESTORE_REJECTION, now)
            return None
        self._part_exists = True
        return self._handle

    def _on_file_data(self, pdu: FileDataPdu, now: float) -> None:
        if self.state is not _S.RECEIVING:
            return
        offset = pdu.offset
        data = pdu.data
        end = offset + len(data)
        eof = self.eof
        limit = eof.file_size if eof is not None else None
        if limit is None and self.metadata is not None:
            limit = self.metadata.file_size
        if limit is not None and end > limit:
            # Data past the announced size (4.6.1.2.9): a fault, and never written, so
            # a peer cannot make us grow a file without bound.
            self.fault(ConditionCode.FILE_SIZE_ERROR, now)
            return
        handle = self._handle
        if handle is None:
            handle = self._open_part(now)
            if handle is None:
                return
        received = self.received
        if (
            self.acknowledged
            and offset > received.end
            and self.remote.nak_mode is NakMode.IMMEDIATE
            and not self.suspended
        ):
            self._send_naks([(received.end, offset)], received.end, offset, now)
        pieces = received.add(offset, end)
        if not pieces:
            return  # a duplicate: already stored and summed
        try:
            if len(pieces) == 1 and pieces[0][1] - pieces[0][0] == len(data):
                handle.write_at(offset, data)
            else:
                # Only what is new: a retransmission never rewrites octets already held.
                for start, stop in pieces:
                    handle.write_at(start, data[start - offset : stop - offset])
        except FilestoreError:
            self._filestore_rejected = True
            self.fault(ConditionCode.FILESTORE_REJECTION, now)
            return
        self._nak_count = 0  # progress: the NAK limit counts rounds without any
        checksum = self._checksum
        if checksum is not None:
            if checksum.kind is ChecksumType.MODULAR or checksum.kind is ChecksumType.NULL:
                for start, stop in pieces:
                    if stop - start == len(data):
                        checksum.update(start, data)
                    else:
                        checksum.update(start, data[start - offset : stop - offset])
            elif not self._checksum_from_file:
                # CRCs run in file order: feed while in order, else sum the file at the end
                # (keeps memory bounded instead of buffering out-of-order segments).
                if len(pieces) == 1 and pieces[0][0] == self._crc_next:
                    start, stop = pieces[0]
                    checksum.update(start, data[start - offset : stop - offset])
                    self._crc_next = stop
                else:
                    self._checksum_from_file = True
        if self._segment_events:
            self.ctx.events.append(
                FileSegmentReceived(self.transaction_id, offset, len(data), received.total)
            )
        if eof is not None:
            self._try_complete(now)

    def _on_eof(self, pdu: EofPdu, now: float) -> None:
        if self.acknowledged:
            # Every EOF is acknowledged, duplicates too: the source repeats EOF until it
            # hears an ACK, and a lost ACK must not stall it (the cfdp-py stall).
            status = TransactionStatus.ACTIVE if not self.done else TransactionStatus.TERMINATED
            self.send(AckPdu(self.header, DirectiveCode.EOF, pdu.condition_code, status).encode())
        if self.state is not _S.RECEIVING or self.eof is not None:
            return
        self.eof = pdu
        if self.ctx.local.eof_recv_indication:
            self.ctx.events.append(EofReceived(self.transaction_id, pdu.condition_code))
        if pdu.condition_code is not ConditionCode.NO_ERROR:
            # The source cancelled (4.11.2.2.2): acknowledged above, no Finished.
            self._stop_timers()
            self._dispose(self.complete)
            self._final_condition = pdu.condition_code
            self._end()
            return
        if self.received.end > pdu.file_size:
            self.fault(ConditionCode.FILE_SIZE_ERROR, now)
            return
        if self._try_complete(now):
            return
        if self.acknowledged:
            self._nak_count = 0
            if not self.suspended:
                self._send_gap_naks(now)
            self.nak_timer.start(now)
        else:
            self._check_count = 0
            self.check_timer.start(now)

    def _on_prompt(self, pdu: PromptPdu, now: float) -> None:
        if not self.acknowledged or self.state is not _S.RECEIVING or self.suspended:
            return
        if pdu.response_required is ResponseRequired.KEEP_ALIVE:
            self._send_keep_alive()
        else:
            self._send_gap_naks(now, always=True)

    # -- NAKs and Keep Alive ------------------------------------------------------------

    def _missing(self) -> tuple[list[tuple[int, int]], int]:
        """The segment requests to NAK now and the end of scope they cover."""
        eof = self.eof
        scope_end = eof.file_size if eof is not None else self.received.end
        requests = self.received.gaps(0, scope_end)
        if self.metadata is None:
            requests.insert(0, (0, 0))
        bound = self.remote.max_nak_segment_requests
        if bound is not None and len(requests) > bound:
            # A bounded gap table (CF: 58): ask for the first ones now, the rest next
            # round, and end the scope at the last one asked so the peer does not take
            # the rest as received (5.2.6).
            requests = requests[:bound]
            scope_end = max(end for _, end in requests)
        return requests, scope_end

    def _send_gap_naks(self, now: float, *, always: bool = False) -> None:
        requests, scope_end = self._missing()
        if requests or always:
            self._send_naks(requests, 0, scope_end, now)

    def _send_naks(self, requests: list[tuple[int, int]], start: int, end: int, now: float) -> None:
        if self.metadata is None and (0, 0) not in requests:
            requests = [(0, 0), *requests]
        try:
            pdus = split_nak(self.header, start, end, requests, self.remote.max_pdu_length)
        except UsageError:
            return  # max_pdu_length too small for any NAK: nothing we can send
        for nak in pdus:
            self.send(nak.encode())
        if not self.nak_timer.running:
            self.nak_timer.start(now)

    def _send_keep_alive(self) -> None:
        self.send(KeepAlivePdu(self.header, self.received.contiguous_end).encode())

    # -- completion -------------------------------------------------------------------

    def _try_complete(self, now: float) -> bool:
        """Deliver the file if everything is in; True when the transaction moved on."""
        if self.state is not _S.RECEIVING or not self.complete:
            return False
        self.nak_timer.stop()
        self.check_timer.stop()
        assert self.eof is not None and self.metadata is not None
        condition = ConditionCode.NO_ERROR
        has_file = bool(self.metadata.source_file_name)
        if has_file:
            kind = self.metadata.checksum_type
            if kind not in SUPPORTED_CHECKSUMS:
                # Delivered unverified; Finished says why (table 5-7, 4.6.1.2.7).
                condition = ConditionCode.UNSUPPORTED_CHECKSUM_TYPE
            elif self._checksum_of_part(ChecksumType(kind)) != self.eof.file_checksum:
                handler = self.fault(ConditionCode.FILE_CHECKSUM_FAILURE, now)
                if handler is not FaultHandlerCode.IGNORE_ERROR or self.state is not _S.RECEIVING:
                    return True
        if has_file and not self._deliver(now):
            return True
        self.delivery_code = DeliveryCode.DATA_COMPLETE
        self.file_status = FileStatus.RETAINED if has_file else FileStatus.UNREPORTED
        self.filestore_responses = self._run_filestore_requests()
        self._send_finished(condition, now)
        return True

    def _checksum_of_part(self, kind: ChecksumType) -> int:
        if self._checksum is not None and not self._checksum_from_file:
            return self._checksum.value
        assert self.eof is not None
        if self.eof.file_size == 0:
            return Checksum(kind).value
        return self.ctx.filestore.checksum(self.part_name, kind, 0, self.eof.file_size)

    def _deliver(self, now: float) -> bool:
        """Move the part file to the destination name (an empty file if no data came)."""
        fs = self.ctx.filestore
        try:
            if self._handle is None:
                self._open_part(now)
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            fs.rename_file(self.part_name, self.file_name, overwrite=True)
            self._part_exists = False
        except FilestoreError:
            self._filestore_rejected = True
            self.fault(ConditionCode.FILESTORE_REJECTION, now)
            return False
        return True

    def _run_filestore_requests(self) -> tuple[FilestoreResponse, ...]:
        assert self.metadata is not None
        responses = []
        failed = False
        for option in self.metadata.options:
            if not isinstance(option, FilestoreRequest):
                continue
            if failed:
                responses.append(
                    FilestoreResponse(
                        option.action,
                        _NOT_PERFORMED,
                        option.first_file_name,
                        option.second_file_name,
                    )
                )
                continue
            response = execute_filestore_request(self.ctx.filestore, option)
            failed = not response.successful
            responses.append(response)
        return tuple(responses)

    def _send_finished(
        self, condition: ConditionCode, now: float, *, fault_location: bool = False
    ) -> None:
        self._final_condition = condition
        if not self.acknowledged and not self._closure:
            self._end()
            return
        finished = FinishedPdu(
            self.header,
            condition,
            self.delivery_code,
            self.file_status,
            self.filestore_responses,
            EntityIdTlv(self.ctx.local.entity_id, self.header.config.entity_id_length)
            if fault_location
            else None,
        )
        self.finished_raw = finished.encode()
        self.send(self.finished_raw)
        if not self.acknowledged:
            self._end()
            return
        self._stop_timers()
        self.state = _S.FINISHING
        self._ack_count = 0
        # A cancel may end a suspension; the ACK timer must run either way.
        self.suspended = False
        self._update_freeze(now)
        self.ack_timer.start(now)

    def _end(self) -> None:
        self._stop_timers()
        self.state = _S.DONE
        self.condition_code = self._final_condition
        self._release(complete=self.delivery_code is DeliveryCode.DATA_COMPLETE)
        self.ctx.events.append(
            TransactionFinished(
                self.transaction_id,
                self._final_condition,
                self.delivery_code,
                self.file_status,
                self.filestore_responses,
                is_source=False,
                file_name=self.file_name,
            )
        )

    def _stop_timers(self) -> None:
        for timer in self.timers:
            timer.stop()

    def _dispose(self, complete: bool) -> None:
        """Keep (under the destination name) or delete what arrived of an unfinished file."""
        self.delivery_code = (
            DeliveryCode.DATA_COMPLETE if complete else DeliveryCode.DATA_INCOMPLETE
        )
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if not self._part_exists:
            self.file_status = (
                FileStatus.DISCARDED_FILESTORE_REJECTION
                if self._filestore_rejected
                else FileStatus.DISCARDED_DELIBERATELY
            )
            return
        fs = self.ctx.filestore
        self._part_exists = False
        try:
            if self.remote.retain_incomplete_files and not self._filestore_rejected:
                if self.file_name:
                    fs.rename_file(self.part_name, self.file_name, overwrite=True)
                self.file_status = FileStatus.RETAINED
                return
            fs.delete_file(self.part_name)
        except FilestoreError:
            self._filestore_rejected = True
        self.file_status = (
            FileStatus.DISCARDED_FILESTORE_REJECTION
            if self._filestore_rejected
            else FileStatus.DISCARDED_DELIBERATELY
        )

    def _release(self, complete: bool) -> None:
        if self._handle is not None or self._part_exists:
            self._dispose(complete)

    # -- user operations and faults -------------------------------------------------------

    def cancel(self, now: float, condition: ConditionCode) -> None:
        """Notice of cancellation at the receiver (4.11.2.2)."""
        if self.done:
            return
        if self.state is _S.FINISHING:
            # Finished is already out; a fault now (ACK limit, inactivity) just ends it.
            self._final_condition = condition
            self._end()
            return
        self._stop_timers()
        self._dispose(False)
        self._send_finished(condition, now, fault_location=True)

    def abandon(self, now: float, condition: ConditionCode) -> None:
        self._final_condition = condition
        super().abandon(now, condition)

    def _on_resume(self, now: float) -> None:
        if self.state is not _S.RECEIVING or not self.acknowledged:
            return
        requests, _ = self._missing()
        if requests and (self.eof is not None or self.remote.nak_mode is NakMode.IMMEDIATE):
            # Yamcs never NAKed after a resume: the gaps left while suspended go now.
            self._nak_count = 0
            self._send_gap_naks(now)
            self.nak_timer.start(now)

    def on_timer(self, now: float) -> None:
        if self.done:
            return
        if self.state is _S.FINISHING:
            if self.ack_timer.expired(now):
                self._ack_count += 1
                if self._ack_count >= self.remote.ack_limit:
                    self.ack_timer.stop()
                    self.fault(ConditionCode.POSITIVE_ACK_LIMIT_REACHED, now)
                else:
                    assert self.finished_raw is not None
                    self.send(self.finished_raw)
                    self.ack_timer.start(now)
            return
        if self.nak_timer.expired(now):
            requests, _ = self._missing()
            if not requests:
                self.nak_timer.stop()
            else:
                self._nak_count += 1
                if self._nak_count >= self.remote.nak_limit:
                    self.nak_timer.stop()
                    self.fault(ConditionCode.NAK_LIMIT_REACHED, now)
                else:
                    self._send_gap_naks(now)
                    self.nak_timer.start(now)
        if self.done or self.state is not _S.RECEIVING:
            return
        if self.check_timer.expired(now):
            self._check_count += 1
            if self._check_count >= self.remote.check_limit:
                self.check_timer.stop()
                self.fault(ConditionCode.CHECK_LIMIT_REACHED, now)
            else:
                self.check_timer.start(now)
        if self.done or self.state is not _S.RECEIVING:
            return
        if self.keep_alive_timer.expired(now):
            self._send_keep_alive()
            self.keep_alive_timer.start(now)
        if self.inactivity_timer.expired(now):
            self.inactivity_timer.stop()
            self.fault(ConditionCode.INACTIVITY_DETECTED, now)
