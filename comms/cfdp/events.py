"""The CFDP indications (CCSDS 727.0-B-5 3.5), as small frozen dataclasses.

Drained from :meth:`comms.cfdp.Entity.events`, oldest first. Each names the book's
indication it stands for:

=========================  ==============================  ===================================
event                      727.0-B-5 indication            issued
=========================  ==============================  ===================================
:class:`TransactionIndication`  Transaction.indication (3.5.2)  a put request was accepted
:class:`EofSent`           EOF-Sent.indication (3.5.3)     the source sent EOF (first time)
:class:`TransactionFinished`  Transaction-Finished (3.5.4)  the transaction ended (any way
                                                           but abandonment)
:class:`MetadataReceived`  Metadata-Recv.indication (3.5.5)  first Metadata at the receiver
:class:`FileSegmentReceived`  File-Segment-Recv (3.5.6)    each File Data PDU stored
:class:`ReportIndication`  Report.indication (3.5.7)       a report request was answered
:class:`Suspended`         Suspended.indication (3.5.8)    the transaction was suspended
:class:`Resumed`           Resumed.indication (3.5.9)      the transaction was resumed
:class:`FaultIndication`   Fault.indication (3.5.10)       a fault whose handler is "ignore"
:class:`Abandoned`         Abandoned.indication (3.5.11)   the transaction was abandoned
:class:`EofReceived`       EOF-Recv.indication (3.5.12)    the receiver got EOF (first time)
=========================  ==============================  ===================================

:class:`PduRejected` is not an indication of the book: a PDU this entity could not
decode or does not serve was dropped (the entity never raises for the peer's bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from comms.cfdp.codes import ConditionCode, DeliveryCode, FileStatus
from comms.cfdp.header import TransactionId
from comms.cfdp.messages import ReservedMessage
from comms.cfdp.tlv import FilestoreResponse, MessageToUser
from comms.errors import UsageError

__all__ = [
    "Abandoned",
    "CfdpEvent",
    "EofReceived",
    "EofSent",
    "FaultIndication",
    "FileSegmentReceived",
    "MetadataReceived",
    "PduRejected",
    "ReportIndication",
    "Resumed",
    "Suspended",
    "TransactionFinished",
    "TransactionIndication",
]


def _tid(owner: str, tid: object) -> None:
    if not isinstance(tid, TransactionId):
        raise UsageError(f"{owner}.transaction_id must be a TransactionId, not {tid!r}.")


def _condition(owner: str, value: object) -> None:
    if not isinstance(value, ConditionCode):
        raise UsageError(f"{owner}.condition_code must be a ConditionCode, not {value!r}.")


@dataclass(frozen=True, slots=True)
class TransactionIndication:
    """A put request was accepted as ``transaction_id`` (3.5.2)."""

    transaction_id: TransactionId

    def __post_init__(self) -> None:
        _tid("TransactionIndication", self.transaction_id)


@dataclass(frozen=True, slots=True)
class EofSent:
    """The source sent the EOF PDU of ``transaction_id`` for the first time (3.5.3)."""

    transaction_id: TransactionId

    def __post_init__(self) -> None:
        _tid("EofSent", self.transaction_id)


@dataclass(frozen=True, slots=True)
class TransactionFinished:
    """``transaction_id`` ended (3.5.4): how, and what became of the file.

    At the source, the delivery code, file status and filestore responses are the
    receiver's (from its Finished PDU) when one came, else DATA_COMPLETE/UNREPORTED for a
    class 1 transfer without closure. ``is_source`` tells the two sides apart.
    """

    transaction_id: TransactionId
    condition_code: ConditionCode
    delivery_code: DeliveryCode
    file_status: FileStatus
    filestore_responses: tuple[FilestoreResponse, ...] = ()
    is_source: bool = False
    file_name: bytes = b""

    def __post_init__(self) -> None:
        _tid("TransactionFinished", self.transaction_id)
        _condition("TransactionFinished", self.condition_code)


@dataclass(frozen=True, slots=True)
class MetadataReceived:
    """The receiver got the Metadata of ``transaction_id`` (3.5.5)."""

    transaction_id: TransactionId
    source_entity_id: int
    file_size: int
    source_file_name: bytes
    destination_file_name: bytes
    messages_to_user: tuple[MessageToUser, ...] = ()

    def __post_init__(self) -> None:
        _tid("MetadataReceived", self.transaction_id)

    def reserved_messages(self) -> tuple[ReservedMessage, ...]:
        """The reserved CFDP messages among ``messages_to_user`` (malformed ones skipped)."""
        out: list[ReservedMessage] = []
        for message in self.messages_to_user:
            try:
                decoded = message.reserved_message()
            except ValueError:
                continue
            if isinstance(decoded, ReservedMessage):
                out.append(decoded)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class FileSegmentReceived:
    """A File Data PDU was stored (3.5.6): ``length`` octets at ``offset``.

    ``progress`` is the count of distinct file octets received so far (duplicates are
    not counted twice).
    """

    transaction_id: TransactionId
    offset: int
    length: int
    progress: int


@dataclass(frozen=True, slots=True)
class ReportIndication:
    """The status of ``transaction_id`` when the report was asked for (3.5.7)."""

    transaction_id: TransactionId
    is_source: bool
    state: str
    progress: int
    file_size: int | None
    suspended: bool
    condition_code: ConditionCode

    def __post_init__(self) -> None:
        _tid("ReportIndication", self.transaction_id)


@dataclass(frozen=True, slots=True)
class Suspended:
    """``transaction_id`` was suspended (3.5.8); its timers are frozen."""

    transaction_id: TransactionId
    condition_code: ConditionCode

    def __post_init__(self) -> None:
        _tid("Suspended", self.transaction_id)
        _condition("Suspended", self.condition_code)


@dataclass(frozen=True, slots=True)
class Resumed:
    """``transaction_id`` was resumed (3.5.9) with ``progress`` octets done."""

    transaction_id: TransactionId
    progress: int

    def __post_init__(self) -> None:
        _tid("Resumed", self.transaction_id)


@dataclass(frozen=True, slots=True)
class FaultIndication:
    """A fault whose handler is "ignore error" happened (3.5.10, 4.8.2)."""

    transaction_id: TransactionId
    condition_code: ConditionCode
    progress: int

    def __post_init__(self) -> None:
        _tid("FaultIndication", self.transaction_id)
        _condition("FaultIndication", self.condition_code)


@dataclass(frozen=True, slots=True)
class Abandoned:
    """``transaction_id`` was abandoned (3.5.11): no further PDU is sent for it."""

    transaction_id: TransactionId
    condition_code: ConditionCode
    progress: int

    def __post_init__(self) -> None:
        _tid("Abandoned", self.transaction_id)
        _condition("Abandoned", self.condition_code)


@dataclass(frozen=True, slots=True)
class EofReceived:
    """The receiver got the EOF of ``transaction_id`` (3.5.12), first copy only."""

    transaction_id: TransactionId
    condition_code: ConditionCode

    def __post_init__(self) -> None:
        _tid("EofReceived", self.transaction_id)


@dataclass(frozen=True, slots=True)
class PduRejected:
    """A received PDU was dropped: undecodable, not addressed here, or from an unknown peer."""

    reason: str
    offset: int | None = None


CfdpEvent = (
    TransactionIndication
    | EofSent
    | TransactionFinished
    | MetadataReceived
    | FileSegmentReceived
    | ReportIndication
    | Suspended
    | Resumed
    | FaultIndication
    | Abandoned
    | EofReceived
    | PduRejected
)
