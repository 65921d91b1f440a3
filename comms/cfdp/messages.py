"""Reserved CFDP messages to user (CCSDS 727.0-B-5 section 6, CFDP part 2 "user operations").

A reserved message travels as the value of a Message to User TLV: the message
identifier ``cfdp`` (ASCII, 4 octets), a message type octet, then the content the type
defines (6.1, table 6-1). ``encode()`` gives those octets; ``to_tlv()`` wraps them in a
:class:`~comms.cfdp.tlv.MessageToUser`; :func:`decode_reserved_message` reads any.

====  ===============================  =========  ===============================================
type  class                            table      content
====  ===============================  =========  ===============================================
00    :class:`ProxyPutRequest`         6-4        destination entity id LV, source name LV,
                                                  destination name LV
01    :class:`ProxyMessageToUser`      6-5        message LV
02    :class:`ProxyFilestoreRequest`   6-6        LV holding a filestore request TLV's value
03    :class:`ProxyFaultHandlerOverride` 6-7      condition code (4), handler code (4)
04    :class:`ProxyTransmissionMode`   6-8        spare (7), transmission mode (1)
05    :class:`ProxyFlowLabel`          6-9        flow label LV
06    :class:`ProxySegmentationControl` 6-10      spare (7), segmentation control (1)
07    :class:`ProxyPutResponse`        6-12       condition (4), spare, delivery code, status (2)
08    :class:`ProxyFilestoreResponse`  6-13       LV holding a filestore response TLV's value
09    :class:`ProxyPutCancel`          6.2.6.2    (none)
0A    :class:`OriginatingTransactionId` 6-2       transaction id (see below)
0B    :class:`ProxyClosureRequest`     6-11       spare (7), closure requested (1)
10    :class:`DirectoryListingRequest` 6-15       directory name LV, directory file name LV
11    :class:`DirectoryListingResponse` 6-16      response code (1; 0 = successful), spare (7),
                                                  directory name LV, directory file name LV
20    :class:`RemoteStatusReportRequest` 6-18     transaction id, report file name LV
21    :class:`RemoteStatusReportResponse` 6-19    transaction status (2), spare (5), response
                                                  code (1; 1 = successful), transaction id
30    :class:`RemoteSuspendRequest`    6-21       transaction id
31    :class:`RemoteSuspendResponse`   6-22       suspension indicator (1), transaction status
                                                  (2), spare (5), transaction id
38    :class:`RemoteResumeRequest`     6-24       transaction id
39    :class:`RemoteResumeResponse`    6-25       as 31
====  ===============================  =========  ===============================================

A transaction id is one octet -- reserved bit, entity id length - 1 (3), reserved bit,
sequence number length - 1 (3) -- then the source entity id and the sequence number.

The layouts were taken from the book's tables and cross-read against two independent
decoders (Wireshark's CFDP dissector, OpenC3's CFDP plugin). Two traps: the directory
listing response code means success when 0, the status report response code when 1;
and table 6-10 gives the proxy segmentation control bit the polarity of the old
727.0-B-4 Metadata field (0 = record boundaries respected), the opposite of the B-5
header's flag (OpenC3 reads it with the header's polarity) -- here it is a bool named
``record_boundaries_respected``. Spare and reserved bits are written 0 and ignored on
receipt.

Left out: the store-and-forward overlay messages (types 0x40-0x46, 6.7).
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar, Final, Self, TypeVar

from comms.buffers import BytesLike
from comms.cfdp._value import CfdpValue, check_enum, check_flag, check_octets, init
from comms.cfdp.codes import (
    ConditionCode,
    DeliveryCode,
    FaultHandlerCode,
    FileStatus,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.header import TransactionId
from comms.cfdp.tlv import (
    EntityIdTlv,
    FilestoreRequest,
    FilestoreResponse,
    MessageToUser,
    decode_fault_handler,
    decode_lv,
    encode_lv,
)
from comms.errors import DecodeError, UsageError

__all__ = [
    "MESSAGE_IDENTIFIER",
    "DirectoryListingRequest",
    "DirectoryListingResponse",
    "MessageType",
    "OriginatingTransactionId",
    "ProxyClosureRequest",
    "ProxyFaultHandlerOverride",
    "ProxyFilestoreRequest",
    "ProxyFilestoreResponse",
    "ProxyFlowLabel",
    "ProxyMessageToUser",
    "ProxyPutCancel",
    "ProxyPutRequest",
    "ProxyPutResponse",
    "ProxySegmentationControl",
    "ProxyTransmissionMode",
    "RemoteResumeRequest",
    "RemoteResumeResponse",
    "RemoteStatusReportRequest",
    "RemoteStatusReportResponse",
    "RemoteSuspendRequest",
    "RemoteSuspendResponse",
    "ReservedMessage",
    "decode_reserved_message",
]

_T = TypeVar("_T", bound=CfdpValue)

MESSAGE_IDENTIFIER: Final = b"cfdp"
"""The first four octets of every reserved CFDP message (6.1, table 6-1)."""


class MessageType(IntEnum):
    """Reserved message types (tables 6-3, 6-14, 6-17, 6-20, 6-23; 6.1.5 for 0x0A)."""

    PROXY_PUT_REQUEST = 0x00
    PROXY_MESSAGE_TO_USER = 0x01
    PROXY_FILESTORE_REQUEST = 0x02
    PROXY_FAULT_HANDLER_OVERRIDE = 0x03
    PROXY_TRANSMISSION_MODE = 0x04
    PROXY_FLOW_LABEL = 0x05
    PROXY_SEGMENTATION_CONTROL = 0x06
    PROXY_PUT_RESPONSE = 0x07
    PROXY_FILESTORE_RESPONSE = 0x08
    PROXY_PUT_CANCEL = 0x09
    ORIGINATING_TRANSACTION_ID = 0x0A
    PROXY_CLOSURE_REQUEST = 0x0B
    DIRECTORY_LISTING_REQUEST = 0x10
    DIRECTORY_LISTING_RESPONSE = 0x11
    REMOTE_STATUS_REPORT_REQUEST = 0x20
    REMOTE_STATUS_REPORT_RESPONSE = 0x21
    REMOTE_SUSPEND_REQUEST = 0x30
    REMOTE_SUSPEND_RESPONSE = 0x31
    REMOTE_RESUME_REQUEST = 0x38
    REMOTE_RESUME_RESPONSE = 0x39


class ReservedMessage(CfdpValue):
    """Base of the reserved messages: ``encode()`` gives ``cfdp``, the type and content."""

    __slots__ = ()
    message_type: ClassVar[MessageType]

    def content(self) -> bytes:
        """The octets after the message type."""
        raise NotImplementedError

    def encode(self) -> bytes:
        return MESSAGE_IDENTIFIER + bytes((self.message_type,)) + self.content()

    def to_tlv(self) -> MessageToUser:
        """This message as the Message to User TLV that carries it."""
        return MessageToUser(self.encode())

    @classmethod
    def decode(cls, buf: BytesLike) -> Self:
        """Decode ``buf`` (a message to user's value), which must be this message type."""
        message = decode_reserved_message(buf)
        if type(message) is not cls:
            raise DecodeError(
                f"not a {cls.__name__}",
                offset=4,
                expected=int(cls.message_type),
                got=bytes(buf)[4],
            )
        return message

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        raise NotImplementedError


def _done(offset: int, end: int) -> None:
    if offset != end:
        raise DecodeError(
            "trailing octets in the reserved message", offset=offset, got=end - offset
        )


def _one_octet(raw: bytes, start: int, end: int) -> int:
    if end - start != 1:
        raise DecodeError(
            "message content must be one octet", offset=start, expected=1, got=end - start
        )
    return raw[start]


def _build(cls: type[_T], **fields: object) -> _T:
    obj = object.__new__(cls)
    init(obj, **fields)
    return obj


def _encode_transaction(tid: TransactionId) -> bytes:
    return (
        bytes((((tid.entity_id_length - 1) << 4) | (tid.sequence_number_length - 1),))
        + tid.source_entity_id.to_bytes(tid.entity_id_length, "big")
        + tid.transaction_sequence_number.to_bytes(tid.sequence_number_length, "big")
    )


def _decode_transaction(raw: bytes, offset: int, end: int) -> tuple[TransactionId, int]:
    if offset >= end:
        raise DecodeError("missing transaction id", offset=offset, expected="a lengths octet")
    octet = raw[offset]
    eid = ((octet >> 4) & 7) + 1
    seq = (octet & 7) + 1
    stop = offset + 1 + eid + seq
    if stop > end:
        raise DecodeError(
            "transaction id runs past the message",
            offset=offset,
            expected=f"{1 + eid + seq} octets",
            got=end - offset,
        )
    tid = TransactionId(
        int.from_bytes(raw[offset + 1 : offset + 1 + eid], "big"),
        int.from_bytes(raw[offset + 1 + eid : stop], "big"),
        eid,
        seq,
    )
    return tid, stop


def _check_tid(owner: str, value: object) -> TransactionId:
    if not isinstance(value, TransactionId):
        raise UsageError(f"{owner}.transaction_id must be a TransactionId, not {value!r}.")
    return value


# -- proxy operations (6.2) ----------------------------------------------------------


class ProxyPutRequest(ReservedMessage):
    """Ask the receiving user to put a file to a third entity (6.2.4, table 6-4).

    ``destination_entity_id`` travels as an LV of ``entity_id_length`` octets (the
    fewest that hold it when left out); empty names mean "no file" (messages only).
    """

    __slots__ = (  # noqa: RUF023
        "destination_entity_id",
        "source_file_name",
        "destination_file_name",
        "entity_id_length",
    )
    message_type = MessageType.PROXY_PUT_REQUEST
    destination_entity_id: int
    source_file_name: bytes
    destination_file_name: bytes
    entity_id_length: int

    def __init__(
        self,
        destination_entity_id: int,
        source_file_name: bytes | str = b"",
        destination_file_name: bytes | str = b"",
        entity_id_length: int | None = None,
    ) -> None:
        owner = "ProxyPutRequest"
        entity = EntityIdTlv(destination_entity_id, entity_id_length)
        init(
            self,
            destination_entity_id=entity.entity_id,
            source_file_name=check_octets(owner, "source_file_name", source_file_name, 255),
            destination_file_name=check_octets(
                owner, "destination_file_name", destination_file_name, 255
            ),
            entity_id_length=entity.length,
        )

    def content(self) -> bytes:
        entity = self.destination_entity_id.to_bytes(self.entity_id_length, "big")
        return (
            encode_lv(entity)
            + encode_lv(self.source_file_name)
            + encode_lv(self.destination_file_name)
        )

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        entity, offset = decode_lv(raw, start, end, "destination entity id")
        if not 1 <= len(entity) <= 8:
            raise DecodeError(
                "destination entity id must be 1 to 8 octets", offset=start, got=len(entity)
            )
        source, offset = decode_lv(raw, offset, end, "source file name")
        destination, offset = decode_lv(raw, offset, end, "destination file name")
        _done(offset, end)
        return _build(
            cls,
            destination_entity_id=int.from_bytes(entity, "big"),
            source_file_name=source,
            destination_file_name=destination,
            entity_id_length=len(entity),
        )


class _LvMessage(ReservedMessage):
    """A message whose content is one LV (proxy message to user, proxy flow label)."""

    __slots__ = ()
    _field: ClassVar[str]

    def content(self) -> bytes:
        value: bytes = getattr(self, self._field)
        return encode_lv(value)

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        value, offset = decode_lv(raw, start, end, cls._field)
        _done(offset, end)
        return _build(cls, **{cls._field: value})


class ProxyMessageToUser(_LvMessage):
    """A message to user for the proxied transaction's metadata (6.2.4, table 6-5)."""

    __slots__ = ("message",)
    message_type = MessageType.PROXY_MESSAGE_TO_USER
    _field = "message"
    message: bytes

    def __init__(self, message: bytes | str) -> None:
        init(self, message=check_octets("ProxyMessageToUser", "message", message, 255))


class ProxyFlowLabel(_LvMessage):
    """The flow label for the proxied transaction (6.2.4, table 6-9)."""

    __slots__ = ("flow_label",)
    message_type = MessageType.PROXY_FLOW_LABEL
    _field = "flow_label"
    flow_label: bytes

    def __init__(self, flow_label: bytes | str) -> None:
        init(self, flow_label=check_octets("ProxyFlowLabel", "flow_label", flow_label, 255))


class ProxyFilestoreRequest(ReservedMessage):
    """A filestore request for the proxied transaction (6.2.4, table 6-6).

    On the wire: one length octet, then the filestore request TLV's value (5.4.1).
    """

    __slots__ = ("request",)
    message_type = MessageType.PROXY_FILESTORE_REQUEST
    request: FilestoreRequest

    def __init__(self, request: FilestoreRequest) -> None:
        if not isinstance(request, FilestoreRequest):
            raise UsageError("ProxyFilestoreRequest.request must be a FilestoreRequest.")
        init(self, request=request)

    def content(self) -> bytes:
        return encode_lv(self.request.value())

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        _, offset = decode_lv(raw, start, end, "filestore request")
        _done(offset, end)
        return _build(cls, request=FilestoreRequest._from_value(raw, start + 1, offset))


class ProxyFilestoreResponse(ReservedMessage):
    """What became of a proxy filestore request (6.2.5, table 6-13)."""

    __slots__ = ("response",)
    message_type = MessageType.PROXY_FILESTORE_RESPONSE
    response: FilestoreResponse

    def __init__(self, response: FilestoreResponse) -> None:
        if not isinstance(response, FilestoreResponse):
            raise UsageError("ProxyFilestoreResponse.response must be a FilestoreResponse.")
        init(self, response=response)

    def content(self) -> bytes:
        return encode_lv(self.response.value())

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        _, offset = decode_lv(raw, start, end, "filestore response")
        _done(offset, end)
        return _build(cls, response=FilestoreResponse._from_value(raw, start + 1, offset))


class ProxyFaultHandlerOverride(ReservedMessage):
    """A fault handler override for the proxied transaction (6.2.4, table 6-7)."""

    __slots__ = ("condition_code", "handler_code")
    message_type = MessageType.PROXY_FAULT_HANDLER_OVERRIDE
    condition_code: ConditionCode
    handler_code: FaultHandlerCode

    def __init__(
        self, condition_code: ConditionCode | int, handler_code: FaultHandlerCode | int
    ) -> None:
        owner = "ProxyFaultHandlerOverride"
        init(
            self,
            condition_code=check_enum(owner, "condition_code", condition_code, ConditionCode),
            handler_code=check_enum(owner, "handler_code", handler_code, FaultHandlerCode),
        )

    def content(self) -> bytes:
        return bytes(((self.condition_code << 4) | self.handler_code,))

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        _one_octet(raw, start, end)
        condition, handler = decode_fault_handler(raw, start)
        return _build(cls, condition_code=condition, handler_code=handler)


class ProxyTransmissionMode(ReservedMessage):
    """The transmission mode for the proxied transaction (6.2.4, table 6-8)."""

    __slots__ = ("transmission_mode",)
    message_type = MessageType.PROXY_TRANSMISSION_MODE
    transmission_mode: TransmissionMode

    def __init__(self, transmission_mode: TransmissionMode | int) -> None:
        init(
            self,
            transmission_mode=check_enum(
                "ProxyTransmissionMode",
                "transmission_mode",
                transmission_mode,
                TransmissionMode,
            ),
        )

    def content(self) -> bytes:
        return bytes((self.transmission_mode,))

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        octet = _one_octet(raw, start, end)
        return _build(cls, transmission_mode=TransmissionMode(octet & 1))


class ProxySegmentationControl(ReservedMessage):
    """Whether the proxied transaction respects record boundaries (6.2.4, table 6-10).

    On the wire 0 means respected (see the module docstring on this bit's polarity).
    """

    __slots__ = ("record_boundaries_respected",)
    message_type = MessageType.PROXY_SEGMENTATION_CONTROL
    record_boundaries_respected: bool

    def __init__(self, record_boundaries_respected: bool) -> None:
        init(
            self,
            record_boundaries_respected=check_flag(
                "ProxySegmentationControl",
                "record_boundaries_respected",
                record_boundaries_respected,
            ),
        )

    def content(self) -> bytes:
        return b"\x00" if self.record_boundaries_respected else b"\x01"

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        octet = _one_octet(raw, start, end)
        return _build(cls, record_boundaries_respected=not octet & 1)


class ProxyClosureRequest(ReservedMessage):
    """Whether the proxied transaction requests closure (6.2.4, table 6-11)."""

    __slots__ = ("closure_requested",)
    message_type = MessageType.PROXY_CLOSURE_REQUEST
    closure_requested: bool

    def __init__(self, closure_requested: bool) -> None:
        init(
            self,
            closure_requested=check_flag(
                "ProxyClosureRequest", "closure_requested", closure_requested
            ),
        )

    def content(self) -> bytes:
        return bytes((self.closure_requested,))

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        octet = _one_octet(raw, start, end)
        return _build(cls, closure_requested=bool(octet & 1))


class ProxyPutResponse(ReservedMessage):
    """The outcome of a proxy put (6.2.5, table 6-12): the Finished PDU's first octet."""

    __slots__ = ("condition_code", "delivery_code", "file_status")
    message_type = MessageType.PROXY_PUT_RESPONSE
    condition_code: ConditionCode
    delivery_code: DeliveryCode
    file_status: FileStatus

    def __init__(
        self,
        condition_code: ConditionCode | int,
        delivery_code: DeliveryCode | int,
        file_status: FileStatus | int,
    ) -> None:
        owner = "ProxyPutResponse"
        init(
            self,
            condition_code=check_enum(owner, "condition_code", condition_code, ConditionCode),
            delivery_code=check_enum(owner, "delivery_code", delivery_code, DeliveryCode),
            file_status=check_enum(owner, "file_status", file_status, FileStatus),
        )

    def content(self) -> bytes:
        return bytes(((self.condition_code << 4) | (self.delivery_code << 2) | self.file_status,))

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        octet = _one_octet(raw, start, end)
        return _build(
            cls,
            condition_code=ConditionCode(octet >> 4),
            delivery_code=DeliveryCode((octet >> 2) & 1),
            file_status=FileStatus(octet & 3),
        )


class ProxyPutCancel(ReservedMessage):
    """Cancel the proxy put named by the accompanying originating id (6.2.6.2)."""

    __slots__ = ()
    message_type = MessageType.PROXY_PUT_CANCEL

    def content(self) -> bytes:
        return b""

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        _done(start, end)
        return cls()


class _TransactionMessage(ReservedMessage):
    """A message whose content is just a transaction id."""

    __slots__ = ("transaction_id",)
    transaction_id: TransactionId

    def __init__(self, transaction_id: TransactionId) -> None:
        init(self, transaction_id=_check_tid(type(self).__name__, transaction_id))

    def content(self) -> bytes:
        return _encode_transaction(self.transaction_id)

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        tid, offset = _decode_transaction(raw, start, end)
        _done(offset, end)
        return _build(cls, transaction_id=tid)


class OriginatingTransactionId(_TransactionMessage):
    """The transaction a user operation belongs to (6.1.5, table 6-2)."""

    __slots__ = ()
    message_type = MessageType.ORIGINATING_TRANSACTION_ID


class RemoteSuspendRequest(_TransactionMessage):
    """Ask the receiving user to suspend a transaction (6.5, table 6-21)."""

    __slots__ = ()
    message_type = MessageType.REMOTE_SUSPEND_REQUEST


class RemoteResumeRequest(_TransactionMessage):
    """Ask the receiving user to resume a transaction (6.6, table 6-24)."""

    __slots__ = ()
    message_type = MessageType.REMOTE_RESUME_REQUEST


# -- directory listing (6.3) --------------------------------------------------------


class DirectoryListingRequest(ReservedMessage):
    """Ask for a listing of ``directory_name`` written to ``directory_file_name`` (table 6-15)."""

    __slots__ = ("directory_name", "directory_file_name")  # noqa: RUF023
    message_type = MessageType.DIRECTORY_LISTING_REQUEST
    directory_name: bytes
    directory_file_name: bytes

    def __init__(self, directory_name: bytes | str, directory_file_name: bytes | str) -> None:
        owner = "DirectoryListingRequest"
        init(
            self,
            directory_name=check_octets(owner, "directory_name", directory_name, 255),
            directory_file_name=check_octets(
                owner, "directory_file_name", directory_file_name, 255
            ),
        )

    def content(self) -> bytes:
        return encode_lv(self.directory_name) + encode_lv(self.directory_file_name)

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        name, offset = decode_lv(raw, start, end, "directory name")
        file_name, offset = decode_lv(raw, offset, end, "directory file name")
        _done(offset, end)
        return _build(cls, directory_name=name, directory_file_name=file_name)


class DirectoryListingResponse(ReservedMessage):
    """Whether the listing was made (table 6-16: response code 0 means successful)."""

    __slots__ = ("successful", "directory_name", "directory_file_name")  # noqa: RUF023
    message_type = MessageType.DIRECTORY_LISTING_RESPONSE
    successful: bool
    directory_name: bytes
    directory_file_name: bytes

    def __init__(
        self, successful: bool, directory_name: bytes | str, directory_file_name: bytes | str
    ) -> None:
        owner = "DirectoryListingResponse"
        init(
            self,
            successful=check_flag(owner, "successful", successful),
            directory_name=check_octets(owner, "directory_name", directory_name, 255),
            directory_file_name=check_octets(
                owner, "directory_file_name", directory_file_name, 255
            ),
        )

    def content(self) -> bytes:
        return (
            (b"\x00" if self.successful else b"\x80")
            + encode_lv(self.directory_name)
            + encode_lv(self.directory_file_name)
        )

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        if start >= end:
            raise DecodeError("missing listing response code", offset=start)
        name, offset = decode_lv(raw, start + 1, end, "directory name")
        file_name, offset = decode_lv(raw, offset, end, "directory file name")
        _done(offset, end)
        return _build(
            cls,
            successful=not raw[start] & 0x80,
            directory_name=name,
            directory_file_name=file_name,
        )


# -- remote status report (6.4) -----------------------------------------------------


class RemoteStatusReportRequest(ReservedMessage):
    """Ask for a status report on a transaction, into ``report_file_name`` (table 6-18)."""

    __slots__ = ("transaction_id", "report_file_name")  # noqa: RUF023
    message_type = MessageType.REMOTE_STATUS_REPORT_REQUEST
    transaction_id: TransactionId
    report_file_name: bytes

    def __init__(self, transaction_id: TransactionId, report_file_name: bytes | str) -> None:
        owner = "RemoteStatusReportRequest"
        init(
            self,
            transaction_id=_check_tid(owner, transaction_id),
            report_file_name=check_octets(owner, "report_file_name", report_file_name, 255),
        )

    def content(self) -> bytes:
        return _encode_transaction(self.transaction_id) + encode_lv(self.report_file_name)

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        tid, offset = _decode_transaction(raw, start, end)
        name, offset = decode_lv(raw, offset, end, "report file name")
        _done(offset, end)
        return _build(cls, transaction_id=tid, report_file_name=name)


class RemoteStatusReportResponse(ReservedMessage):
    """The status of a transaction (table 6-19: response code 1 means successful)."""

    __slots__ = ("transaction_id", "transaction_status", "successful")  # noqa: RUF023
    message_type = MessageType.REMOTE_STATUS_REPORT_RESPONSE
    transaction_id: TransactionId
    transaction_status: TransactionStatus
    successful: bool

    def __init__(
        self,
        transaction_id: TransactionId,
        transaction_status: TransactionStatus | int,
        successful: bool,
    ) -> None:
        owner = "RemoteStatusReportResponse"
        init(
            self,
            transaction_id=_check_tid(owner, transaction_id),
            transaction_status=check_enum(
                owner, "transaction_status", transaction_status, TransactionStatus
            ),
            successful=check_flag(owner, "successful", successful),
        )

    def content(self) -> bytes:
        return bytes(((self.transaction_status << 6) | self.successful,)) + _encode_transaction(
            self.transaction_id
        )

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        if start >= end:
            raise DecodeError("missing report response octet", offset=start)
        tid, offset = _decode_transaction(raw, start + 1, end)
        _done(offset, end)
        return _build(
            cls,
            transaction_id=tid,
            transaction_status=TransactionStatus(raw[start] >> 6),
            successful=bool(raw[start] & 1),
        )


# -- remote suspend and resume (6.5, 6.6) -------------------------------------------


class _SuspensionResponse(ReservedMessage):
    """Shared body of the remote suspend and resume responses (tables 6-22, 6-25)."""

    __slots__ = ("transaction_id", "transaction_status", "suspended")  # noqa: RUF023
    transaction_id: TransactionId
    transaction_status: TransactionStatus
    suspended: bool

    def __init__(
        self,
        transaction_id: TransactionId,
        transaction_status: TransactionStatus | int,
        suspended: bool,
    ) -> None:
        owner = type(self).__name__
        init(
            self,
            transaction_id=_check_tid(owner, transaction_id),
            transaction_status=check_enum(
                owner, "transaction_status", transaction_status, TransactionStatus
            ),
            suspended=check_flag(owner, "suspended", suspended),
        )

    def content(self) -> bytes:
        return bytes(
            ((self.suspended << 7) | (self.transaction_status << 5),)
        ) + _encode_transaction(self.transaction_id)

    @classmethod
    def _from_content(cls, raw: bytes, start: int, end: int) -> Self:
        if start >= end:
            raise DecodeError("missing suspension indicator octet", offset=start)
        tid, offset = _decode_transaction(raw, start + 1, end)
        _done(offset, end)
        return _build(
            cls,
            transaction_id=tid,
            transaction_status=TransactionStatus((raw[start] >> 5) & 3),
            suspended=bool(raw[start] & 0x80),
        )


class RemoteSuspendResponse(_SuspensionResponse):
    """Whether the transaction is now suspended (6.5, table 6-22)."""

    __slots__ = ()
    message_type = MessageType.REMOTE_SUSPEND_RESPONSE


class RemoteResumeResponse(_SuspensionResponse):
    """Whether the transaction is still suspended after a resume (6.6, table 6-25)."""

    __slots__ = ()
    message_type = MessageType.REMOTE_RESUME_RESPONSE


_CLASSES: Final[dict[int, type[ReservedMessage]]] = {
    cls.message_type: cls
    for cls in (
        ProxyPutRequest,
        ProxyMessageToUser,
        ProxyFilestoreRequest,
        ProxyFaultHandlerOverride,
        ProxyTransmissionMode,
        ProxyFlowLabel,
        ProxySegmentationControl,
        ProxyPutResponse,
        ProxyFilestoreResponse,
        ProxyPutCancel,
        OriginatingTransactionId,
        ProxyClosureRequest,
        DirectoryListingRequest,
        DirectoryListingResponse,
        RemoteStatusReportRequest,
        RemoteStatusReportResponse,
        RemoteSuspendRequest,
        RemoteSuspendResponse,
        RemoteResumeRequest,
        RemoteResumeResponse,
    )
}


def decode_reserved_message(buf: BytesLike) -> ReservedMessage:
    """The reserved message in ``buf`` (a Message to User TLV's value).

    Raises DecodeError when ``buf`` does not start with ``cfdp`` and a type octet, the
    type is not one section 6 defines here, or the content is malformed.
    """
    raw = bytes(buf)
    if len(raw) < 5 or raw[:4] != MESSAGE_IDENTIFIER:
        raise DecodeError(
            "not a reserved CFDP message",
            offset=0,
            expected="b'cfdp' and a type octet",
            got=raw[:5],
        )
    cls = _CLASSES.get(raw[4])
    if cls is None:
        raise DecodeError(
            "unknown reserved CFDP message type",
            offset=4,
            expected=sorted(int(t) for t in MessageType),
            got=raw[4],
        )
    return cls._from_content(raw, 5, len(raw))
