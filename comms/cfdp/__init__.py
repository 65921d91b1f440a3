"""CCSDS File Delivery Protocol (727.0-B-5): PDUs, TLVs, reserved messages, checksums.

- :class:`PduConfig`, :class:`PduHeader`, :class:`TransactionId`: the fixed header (5.1)
  (:mod:`comms.cfdp.header`);
- the PDUs :class:`FileDataPdu`, :class:`MetadataPdu`, :class:`EofPdu`,
  :class:`FinishedPdu`, :class:`AckPdu`, :class:`NakPdu`, :class:`PromptPdu`,
  :class:`KeepAlivePdu` and :func:`decode_pdu` (5.2, 5.3; :mod:`comms.cfdp.pdus`);
- :func:`split_nak`: a NAK sequence cut to the peer's maximum PDU size
  (:mod:`comms.cfdp.nak`);
- the TLVs (5.4; :mod:`comms.cfdp.tlv`) and the reserved messages to user (section 6;
  :mod:`comms.cfdp.messages`);
- :class:`ChecksumType`, :func:`compute_checksum` and the incremental :class:`Checksum`
  (4.2; :mod:`comms.cfdp.checksum`);
- the coded fields as enums (:mod:`comms.cfdp.codes`).

And the protocol itself, sans-I/O:

- :class:`Entity`: the entity core owning many transactions (:mod:`comms.cfdp.entity`),
  fed with :class:`PutRequest`, received PDUs and ``now``; the transaction machines in
  :mod:`comms.cfdp.source` and :mod:`comms.cfdp.destination`;
- the indications as events (:mod:`comms.cfdp.events`);
- the MIB: :class:`Mib`, :class:`LocalEntityConfig`, :class:`RemoteEntityConfig`,
  :func:`cf_profile` (:mod:`comms.cfdp.mib`);
- the filestore Protocol and :class:`DiskFilestore`, :class:`MemoryFilestore`
  (:mod:`comms.cfdp.filestore`).

See docs/cfdp-pdus.md and docs/cfdp.md for a walk through.
"""

from comms.cfdp.checksum import (
    SUPPORTED_CHECKSUMS,
    Checksum,
    ChecksumType,
    compute_checksum,
    modular_checksum,
)
from comms.cfdp.codes import (
    FILESTORE_STATUS_NAMES,
    ConditionCode,
    DeliveryCode,
    Direction,
    DirectiveCode,
    FaultHandlerCode,
    FileStatus,
    FilestoreAction,
    PduType,
    RecordContinuationState,
    ResponseRequired,
    TlvType,
    TransactionStatus,
    TransmissionMode,
)
from comms.cfdp.entity import Entity
from comms.cfdp.events import (
    Abandoned,
    CfdpEvent,
    EofReceived,
    EofSent,
    FaultIndication,
    FileSegmentReceived,
    MetadataReceived,
    PduRejected,
    ReportIndication,
    Resumed,
    Suspended,
    TransactionFinished,
    TransactionIndication,
)
from comms.cfdp.filestore import (
    DiskFilestore,
    FileHandle,
    Filestore,
    FilestoreError,
    FilestoreFault,
    MemoryFilestore,
)
from comms.cfdp.header import CrcError, PduConfig, PduHeader, TransactionId
from comms.cfdp.messages import (
    DirectoryListingRequest,
    DirectoryListingResponse,
    MessageType,
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
    ProxySegmentationControl,
    ProxyTransmissionMode,
    RemoteResumeRequest,
    RemoteResumeResponse,
    RemoteStatusReportRequest,
    RemoteStatusReportResponse,
    RemoteSuspendRequest,
    RemoteSuspendResponse,
    ReservedMessage,
    decode_reserved_message,
)
from comms.cfdp.mib import (
    DEFAULT_FAULT_HANDLERS,
    LocalEntityConfig,
    Mib,
    NakMode,
    RemoteEntityConfig,
    cf_profile,
)
from comms.cfdp.nak import max_segment_requests, split_nak
from comms.cfdp.pdus import (
    MAX_DATA_FIELD_LENGTH,
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
    SegmentMetadata,
    decode_pdu,
    pdu_length,
)
from comms.cfdp.requests import PutRequest
from comms.cfdp.tlv import (
    EntityIdTlv,
    FaultHandlerOverride,
    FilestoreRequest,
    FilestoreResponse,
    FlowLabel,
    MessageToUser,
    Tlv,
    UnknownTlv,
    decode_tlv,
)
from comms.cfdp.user_operations import (
    DirectoryListingReceived,
    ProxyPutResponseReceived,
    RemoteResumeResponseReceived,
    RemoteStatusReportReceived,
    RemoteSuspendResponseReceived,
    UserOperations,
)

__all__ = [
    "DEFAULT_FAULT_HANDLERS",
    "FILESTORE_STATUS_NAMES",
    "MAX_DATA_FIELD_LENGTH",
    "SUPPORTED_CHECKSUMS",
    "Abandoned",
    "AckPdu",
    "CfdpEvent",
    "Checksum",
    "ChecksumType",
    "ConditionCode",
    "CrcError",
    "DeliveryCode",
    "Direction",
    "DirectiveCode",
    "DirectoryListingReceived",
    "DirectoryListingRequest",
    "DirectoryListingResponse",
    "DiskFilestore",
    "Entity",
    "EntityIdTlv",
    "EofPdu",
    "EofReceived",
    "EofSent",
    "FaultHandlerCode",
    "FaultHandlerOverride",
    "FaultIndication",
    "FileDataPdu",
    "FileHandle",
    "FileSegmentReceived",
    "FileStatus",
    "Filestore",
    "FilestoreAction",
    "FilestoreError",
    "FilestoreFault",
    "FilestoreRequest",
    "FilestoreResponse",
    "FinishedPdu",
    "FlowLabel",
    "KeepAlivePdu",
    "LocalEntityConfig",
    "MemoryFilestore",
    "MessageToUser",
    "MessageType",
    "MetadataOption",
    "MetadataPdu",
    "MetadataReceived",
    "Mib",
    "NakMode",
    "NakPdu",
    "OriginatingTransactionId",
    "Pdu",
    "PduConfig",
    "PduHeader",
    "PduRejected",
    "PduType",
    "PromptPdu",
    "ProxyClosureRequest",
    "ProxyFaultHandlerOverride",
    "ProxyFilestoreRequest",
    "ProxyFilestoreResponse",
    "ProxyFlowLabel",
    "ProxyMessageToUser",
    "ProxyPutCancel",
    "ProxyPutRequest",
    "ProxyPutResponse",
    "ProxyPutResponseReceived",
    "ProxySegmentationControl",
    "ProxyTransmissionMode",
    "PutRequest",
    "RecordContinuationState",
    "RemoteEntityConfig",
    "RemoteResumeRequest",
    "RemoteResumeResponse",
    "RemoteResumeResponseReceived",
    "RemoteStatusReportReceived",
    "RemoteStatusReportRequest",
    "RemoteStatusReportResponse",
    "RemoteSuspendRequest",
    "RemoteSuspendResponse",
    "RemoteSuspendResponseReceived",
    "ReportIndication",
    "ReservedMessage",
    "ResponseRequired",
    "Resumed",
    "SegmentMetadata",
    "Suspended",
    "Tlv",
    "TlvType",
    "TransactionFinished",
    "TransactionId",
    "TransactionIndication",
    "TransactionStatus",
    "TransmissionMode",
    "UnknownTlv",
    "UserOperations",
    "cf_profile",
    "compute_checksum",
    "decode_pdu",
    "decode_reserved_message",
    "decode_tlv",
    "max_segment_requests",
    "modular_checksum",
    "pdu_length",
    "split_nak",
]
