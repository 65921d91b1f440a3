"""CFDP user operations layered on an :class:`~comms.cfdp.entity.Entity`
(CCSDS 727.0-B-5 section 6).

The reserved messages to user (:mod:`comms.cfdp.messages`) ask the receiving CFDP user
to do something: put a file onward (proxy put, 6.2), list a directory (6.3), report a
transaction's status (6.4), suspend or resume one (6.5, 6.6). :class:`UserOperations`
is that user: feed it the entity's drained events with :meth:`UserOperations.handle`;
it recognises the requests in each :class:`~comms.cfdp.events.MetadataReceived`, does
them through the entity's public API (``put``, ``cancel``, ``transaction``), and answers
each with a Metadata-only put back to the requester carrying the response message and
an :class:`~comms.cfdp.messages.OriginatingTransactionId` (6.1.2). Responses arriving
here become the events defined below. Like the entity it wraps, it reads no clock:
every call takes ``now``.

Relay (6.2): entity B gets a ProxyPutRequest from A, puts the file to C as a
transaction of its own (proxy options applied: 6.2.4.2 messages to user, filestore
requests, fault handler overrides, transmission mode, flow label, closure) whose
Metadata carries A's transaction id; when B's put finishes, A gets a ProxyPutResponse
with the Finished outcome and any filestore responses (6.2.5). ProxyPutCancel with the
originating id cancels B's put (6.2.6).

Left out: the status report file of 6.4 (the response message alone is sent; the
report file name is ignored), segmentation control (6.2.4.2.7; this entity never
respects record boundaries), and relaying the proxy's File Data without storing it
(the file is read from B's filestore).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from comms.cfdp.codes import (
    ConditionCode,
    DeliveryCode,
    FileStatus,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.entity import Entity
from comms.cfdp.events import CfdpEvent, MetadataReceived, TransactionFinished
from comms.cfdp.filestore import Filestore, FilestoreError
from comms.cfdp.header import TransactionId
from comms.cfdp.messages import (
    DirectoryListingRequest,
    DirectoryListingResponse,
    OriginatingTransactionId,
    ProxyClosureRequest,
    ProxyFaultHandlerOverride,
    ProxyFilestoreRequest,
    ProxyFilestoreResponse,
    ProxyFlowLabel,
    ProxyMessageToUser,
    ProxyPutCancel,
    ProxyPutRequest,
    ProxyPutResponse,
    ProxyTransmissionMode,
    RemoteResumeRequest,
    RemoteResumeResponse,
    RemoteStatusReportRequest,
    RemoteStatusReportResponse,
    RemoteSuspendRequest,
    RemoteSuspendResponse,
    ReservedMessage,
)
from comms.cfdp.requests import PutRequest
from comms.cfdp.tlv import FaultHandlerOverride, FilestoreResponse, MessageToUser
from comms.errors import CommsError, DecodeError, UsageError

__all__ = [
    "DirectoryListingReceived",
    "ProxyPutResponseReceived",
    "RemoteResumeResponseReceived",
    "RemoteStatusReportReceived",
    "RemoteSuspendResponseReceived",
    "UserOperations",
]


@dataclass(frozen=True, slots=True)
class ProxyPutResponseReceived:
    """The proxy put this entity asked for ended (6.2.5): the proxy's Finished outcome."""

    originating_transaction_id: TransactionId
    condition_code: ConditionCode
    delivery_code: DeliveryCode
    file_status: FileStatus
    filestore_responses: tuple[FilestoreResponse, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectoryListingReceived:
    """A directory listing arrived (6.3.4): written to ``directory_file_name`` here
    when ``successful`` and the transfer's ``file_status`` is RETAINED."""

    originating_transaction_id: TransactionId
    successful: bool
    directory_name: bytes
    directory_file_name: bytes
    file_status: FileStatus


@dataclass(frozen=True, slots=True)
class RemoteStatusReportReceived:
    """The answer to a remote status report request (6.4.4)."""

    originating_transaction_id: TransactionId | None
    transaction_id: TransactionId
    transaction_status: TransactionStatus
    successful: bool


@dataclass(frozen=True, slots=True)
class RemoteSuspendResponseReceived:
    """The answer to a remote suspend request (6.5.4)."""

    originating_transaction_id: TransactionId | None
    transaction_id: TransactionId
    transaction_status: TransactionStatus
    suspended: bool


@dataclass(frozen=True, slots=True)
class RemoteResumeResponseReceived:
    """The answer to a remote resume request (6.6.4)."""

    originating_transaction_id: TransactionId | None
    transaction_id: TransactionId
    transaction_status: TransactionStatus
    suspended: bool


UserOperationEvent = (
    ProxyPutResponseReceived
    | DirectoryListingReceived
    | RemoteStatusReportReceived
    | RemoteSuspendResponseReceived
    | RemoteResumeResponseReceived
)


def _reserved(messages: Iterable[MessageToUser]) -> list[ReservedMessage]:
    out = []
    for message in messages:
        try:
            reserved = message.reserved_message()
        except DecodeError:
            continue  # a malformed reserved message is the peer's; ignore it (6.1.1)
        if isinstance(reserved, ReservedMessage):
            out.append(reserved)
    return out


class UserOperations:
    """The CFDP user of section 6 for one entity; ``filestore`` is the entity's own
    (directory listings are written there before being sent)."""

    def __init__(
        self, entity: Entity, filestore: Filestore, listing_prefix: bytes = b".dirlist-"
    ) -> None:
        if not isinstance(entity, Entity):
            raise UsageError(f"UserOperations needs an Entity, not {type(entity).__name__}.")
        self.entity = entity
        self.filestore = filestore
        # Listings are staged under this prefix, one file per request, and deleted
        # when their transaction ends.
        self.listing_prefix = listing_prefix
        #: Proxy puts in progress here: our transaction -> (originating id, requester).
        self.proxy_puts: dict[TransactionId, tuple[TransactionId, int]] = {}
        self._listings_out: dict[TransactionId, bytes] = {}
        self._listings_in: dict[TransactionId, tuple[TransactionId, DirectoryListingResponse]] = {}

    # -- the user's face -------------------------------------------------------------

    def handle(self, events: Iterable[CfdpEvent], now: float) -> list[object]:
        """Act on the entity's events; returns them with the user-operation events added
        after the event that caused each."""
        out: list[object] = []
        for event in events:
            out.append(event)
            if isinstance(event, MetadataReceived):
                out.extend(self._on_metadata(event, now))
            elif isinstance(event, TransactionFinished):
                out.extend(self._on_finished(event, now))
        return out

    def poll(self, now: float) -> list[object]:
        """Drain the entity's events and :meth:`handle` them."""
        return self.handle(self.entity.events(), now)

    # -- requests and responses carried in Metadata ------------------------------------

    def _on_metadata(self, event: MetadataReceived, now: float) -> list[UserOperationEvent]:
        reserved = _reserved(event.messages_to_user)
        if not reserved:
            return []
        requester = event.source_entity_id
        origin = next(
            (m.transaction_id for m in reserved if isinstance(m, OriginatingTransactionId)),
            None,
        )
        out: list[UserOperationEvent] = []
        for message in reserved:
            if isinstance(message, ProxyPutRequest):
                self._proxy_put(message, reserved, event.transaction_id, requester, now)
            elif isinstance(message, ProxyPutCancel) and origin is not None:
                self._proxy_cancel(origin, now)
            elif isinstance(message, RemoteSuspendRequest | RemoteResumeRequest):
                self._answer_suspension(message, event.transaction_id, requester, now)
            elif isinstance(message, RemoteStatusReportRequest):
                status = self._status(message.transaction_id)
                self._respond(
                    requester,
                    event.transaction_id,
                    [
                        RemoteStatusReportResponse(
                            message.transaction_id, status, status is TransactionStatus.ACTIVE
                        )
                    ],
                    now,
                )
            elif isinstance(message, DirectoryListingRequest):
                self._directory_listing(message, event.transaction_id, requester, now)
            elif isinstance(message, ProxyPutResponse) and origin is not None:
                responses = tuple(
                    m.response for m in reserved if isinstance(m, ProxyFilestoreResponse)
                )
                out.append(
                    ProxyPutResponseReceived(
                        origin,
                        message.condition_code,
                        message.delivery_code,
                        message.file_status,
                        responses,
                    )
                )
            elif isinstance(message, DirectoryListingResponse) and origin is not None:
                # The listing is the file of this transaction: report when it ends.
                self._listings_in[event.transaction_id] = (origin, message)
            elif isinstance(message, RemoteStatusReportResponse):
                out.append(
                    RemoteStatusReportReceived(
                        origin, message.transaction_id, message.transaction_status,
                        message.successful,
                    )
                )  # fmt: skip
            elif isinstance(message, RemoteSuspendResponse | RemoteResumeResponse):
                cls = (
                    RemoteSuspendResponseReceived
                    if isinstance(message, RemoteSuspendResponse)
                    else RemoteResumeResponseReceived
                )
                out.append(
                    cls(origin, message.transaction_id, message.transaction_status,
                        message.suspended)
                )  # fmt: skip
        return out

    def _on_finished(self, event: TransactionFinished, now: float) -> list[UserOperationEvent]:
        tid = event.transaction_id
        if event.is_source:
            staged = self._listings_out.pop(tid, None)
            if staged is not None:
                with contextlib.suppress(FilestoreError):  # already gone: nothing to tidy
                    self.filestore.delete_file(staged)
            proxied = self.proxy_puts.pop(tid, None)
            if proxied is not None:
                origin, requester = proxied
                messages: list[ReservedMessage] = [
                    ProxyPutResponse(event.condition_code, event.delivery_code, event.file_status)
                ]
                messages += [ProxyFilestoreResponse(r) for r in event.filestore_responses]
                self._respond(requester, origin, messages, now)
            return []
        pending = self._listings_in.pop(tid, None)
        if pending is None:
            return []
        origin, response = pending
        return [
            DirectoryListingReceived(
                origin,
                response.successful,
                response.directory_name,
                response.directory_file_name,
                event.file_status,
            )
        ]

    # -- the operations ----------------------------------------------------------------

    def _respond(
        self,
        requester: int,
        origin: TransactionId,
        messages: list[ReservedMessage],
        now: float,
        source_file_name: bytes | None = None,
        destination_file_name: bytes | None = None,
    ) -> TransactionId | None:
        """Put the response to the requester (6.1.2: with the originating id)."""
        request = PutRequest(
            requester,
            source_file_name,
            destination_file_name,
            messages_to_user=[*messages, OriginatingTransactionId(origin)],
        )
        try:
            return self.entity.put(request, now)
        except CommsError:
            # The requester is not reachable from this MIB (or the response does not
            # fit its PDU size): there is nobody to tell; the request goes unanswered.
            return None

    def _proxy_put(
        self,
        message: ProxyPutRequest,
        reserved: list[ReservedMessage],
        origin: TransactionId,
        requester: int,
        now: float,
    ) -> None:
        mode: TransmissionMode | None = None
        closure: bool | None = None
        flow_label: bytes | None = None
        users: list[MessageToUser | ReservedMessage] = []
        filestore_requests = []
        overrides = []
        for option in reserved:
            if isinstance(option, ProxyTransmissionMode):
                mode = option.transmission_mode
            elif isinstance(option, ProxyClosureRequest):
                closure = option.closure_requested
            elif isinstance(option, ProxyFlowLabel):
                flow_label = option.flow_label
            elif isinstance(option, ProxyMessageToUser):
                users.append(MessageToUser(option.message))
            elif isinstance(option, ProxyFilestoreRequest):
                filestore_requests.append(option.request)
            elif isinstance(option, ProxyFaultHandlerOverride):
                overrides.append(FaultHandlerOverride(option.condition_code, option.handler_code))
        users.append(OriginatingTransactionId(origin))
        try:
            request = PutRequest(
                message.destination_entity_id,
                message.source_file_name or None,
                message.destination_file_name or None,
                transmission_mode=mode,
                closure_requested=closure,
                messages_to_user=users,
                filestore_requests=filestore_requests,
                fault_handler_overrides=overrides,
                flow_label=flow_label,
            )
            tid = self.entity.put(request, now)
        except FilestoreError:
            self._respond(
                requester, origin, [self._refused(ConditionCode.FILESTORE_REJECTION)], now
            )
            return
        except CommsError:
            # An unknown destination or a request the entity cannot meet (6.2.5.2).
            self._respond(
                requester, origin, [self._refused(ConditionCode.INVALID_TRANSMISSION_MODE)], now
            )
            return
        self.proxy_puts[tid] = (origin, requester)

    @staticmethod
    def _refused(condition: ConditionCode) -> ProxyPutResponse:
        return ProxyPutResponse(condition, DeliveryCode.DATA_INCOMPLETE, FileStatus.UNREPORTED)

    def _proxy_cancel(self, origin: TransactionId, now: float) -> None:
        for tid, (proxied_origin, _) in list(self.proxy_puts.items()):
            if proxied_origin == origin and tid in self.entity.transactions:
                # The Finished of the cancelled put answers the requester (6.2.6.3).
                self.entity.cancel(tid, now)

    def _status(self, tid: TransactionId) -> TransactionStatus:
        # Only active transactions are known here; a finished one reads as
        # unrecognized, which the book allows when it is no longer retained (6.4.3).
        if tid in self.entity.transactions:
            return TransactionStatus.ACTIVE
        return TransactionStatus.UNRECOGNIZED

    def _answer_suspension(
        self,
        message: RemoteSuspendRequest | RemoteResumeRequest,
        origin: TransactionId,
        requester: int,
        now: float,
    ) -> None:
        # The entity has already suspended or resumed the transaction on receipt of
        # the Metadata (entity.py); this only reports the result (6.5.3, 6.6.3).
        tid = message.transaction_id
        status = self._status(tid)
        suspended = status is TransactionStatus.ACTIVE and self.entity.transaction(tid).suspended
        cls = (
            RemoteSuspendResponse
            if isinstance(message, RemoteSuspendRequest)
            else RemoteResumeResponse
        )
        self._respond(requester, origin, [cls(tid, status, suspended)], now)

    def _directory_listing(
        self, message: DirectoryListingRequest, origin: TransactionId, requester: int, now: float
    ) -> None:
        fs = self.filestore
        staged = self.listing_prefix + b"%d-%d" % (
            origin.source_entity_id,
            origin.transaction_sequence_number,
        )
        try:
            names = fs.list_directory(message.directory_name)
            handle = fs.open_write(staged)
            try:
                # One name per line; directories end in "/" (the format is a local
                # matter, 6.3.3).
                listing = b"".join(
                    name
                    + (b"/" if fs.is_directory(message.directory_name + b"/" + name) else b"")
                    + b"\n"
                    for name in names
                )
                handle.write_at(0, listing)
            finally:
                handle.close()
        except FilestoreError:
            response = DirectoryListingResponse(
                False, message.directory_name, message.directory_file_name
            )
            self._respond(requester, origin, [response], now)
            return
        response = DirectoryListingResponse(
            True, message.directory_name, message.directory_file_name
        )
        tid = self._respond(requester, origin, [response], now, staged, message.directory_file_name)
        if tid is None:
            fs.delete_file(staged)
        else:
            self._listings_out[tid] = staged
