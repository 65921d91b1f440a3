"""Hypothesis strategies for CFDP values: configs, headers, every PDU, TLV and message."""

from __future__ import annotations

from hypothesis import strategies as st

from comms.cfdp import (
    AckPdu,
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    Direction,
    DirectiveCode,
    DirectoryListingRequest,
    DirectoryListingResponse,
    EntityIdTlv,
    EofPdu,
    FaultHandlerCode,
    FaultHandlerOverride,
    FileDataPdu,
    FileStatus,
    FilestoreAction,
    FilestoreRequest,
    FilestoreResponse,
    FinishedPdu,
    FlowLabel,
    KeepAlivePdu,
    MessageToUser,
    MetadataPdu,
    NakPdu,
    OriginatingTransactionId,
    PduConfig,
    PduHeader,
    PromptPdu,
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
    RecordContinuationState,
    RemoteResumeRequest,
    RemoteResumeResponse,
    RemoteStatusReportRequest,
    RemoteStatusReportResponse,
    RemoteSuspendRequest,
    RemoteSuspendResponse,
    ResponseRequired,
    SegmentMetadata,
    TransactionId,
    TransactionStatus,
    TransmissionMode,
    UnknownTlv,
)
from comms.cfdp.codes import FILESTORE_STATUS_NAMES

names = st.binary(max_size=40)
lengths = st.integers(1, 8)


def uint_of(length: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << (8 * length)) - 1)


@st.composite
def configs(draw: st.DrawFn, lengths: st.SearchStrategy[int] = lengths) -> PduConfig:
    return PduConfig(
        draw(lengths), draw(lengths), crc=draw(st.booleans()), large_file=draw(st.booleans())
    )


@st.composite
def headers(draw: st.DrawFn, config: st.SearchStrategy[PduConfig] | None = None) -> PduHeader:
    cfg = draw(configs() if config is None else config)
    eid = cfg.entity_id_length
    return PduHeader(
        cfg,
        draw(uint_of(eid)),
        draw(uint_of(cfg.sequence_number_length)),
        draw(uint_of(eid)),
        transmission_mode=draw(st.sampled_from(TransmissionMode)),
        direction=draw(st.sampled_from(Direction)),
        segmentation_control=draw(st.booleans()),
    )


def fss(header: PduHeader) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << (64 if header.config.large_file else 32)) - 1)


conditions = st.sampled_from(ConditionCode)
entity_tlvs = st.builds(
    lambda n, v: EntityIdTlv(v & ((1 << (8 * n)) - 1), n), lengths, st.integers(0, 2**64 - 1)
)


@st.composite
def filestore_requests(draw: st.DrawFn) -> FilestoreRequest:
    action = draw(st.sampled_from(FilestoreAction))
    second = draw(names) if action.has_second_file_name else None
    return FilestoreRequest(action, draw(names), second)


@st.composite
def filestore_responses(draw: st.DrawFn) -> FilestoreResponse:
    action = draw(st.sampled_from(FilestoreAction))
    second = draw(names) if action.has_second_file_name else None
    status = draw(st.sampled_from(sorted(FILESTORE_STATUS_NAMES[action])))
    return FilestoreResponse(action, status, draw(names), second, draw(names))


fault_overrides = st.builds(FaultHandlerOverride, conditions, st.sampled_from(FaultHandlerCode))
messages_to_user = st.builds(MessageToUser, st.binary(max_size=60))
flow_labels = st.builds(FlowLabel, st.binary(max_size=20))
unknown_tlvs = st.builds(UnknownTlv, st.sampled_from([3, *range(7, 256)]), st.binary(max_size=20))
tlvs = st.one_of(
    filestore_requests(),
    filestore_responses(),
    messages_to_user,
    fault_overrides,
    flow_labels,
    entity_tlvs,
    unknown_tlvs,
)
metadata_options = st.one_of(
    filestore_requests(), messages_to_user, fault_overrides, flow_labels, unknown_tlvs
)


def _fault(draw: st.DrawFn, condition: ConditionCode, finished: bool = False) -> EntityIdTlv | None:
    if condition is ConditionCode.NO_ERROR or (
        finished and condition is ConditionCode.UNSUPPORTED_CHECKSUM_TYPE
    ):
        return None
    result: EntityIdTlv | None = draw(st.none() | entity_tlvs)
    return result


@st.composite
def file_data_pdus(
    draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None, max_data: int = 300
) -> FileDataPdu:
    h = draw(headers() if header is None else header)
    meta = draw(
        st.none()
        | st.builds(
            SegmentMetadata, st.sampled_from(RecordContinuationState), st.binary(max_size=63)
        )
    )
    return FileDataPdu(h, draw(fss(h)), draw(st.binary(max_size=max_data)), meta)


@st.composite
def metadata_pdus(
    draw: st.DrawFn,
    header: st.SearchStrategy[PduHeader] | None = None,
    options: st.SearchStrategy[list] | None = None,
) -> MetadataPdu:  # type: ignore[type-arg]
    h = draw(headers() if header is None else header)
    return MetadataPdu(
        h,
        draw(fss(h)),
        draw(names),
        draw(names),
        checksum_type=draw(st.integers(0, 15)),
        closure_requested=draw(st.booleans()),
        options=draw(st.lists(metadata_options, max_size=4) if options is None else options),
    )


@st.composite
def eof_pdus(draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None) -> EofPdu:
    h = draw(headers() if header is None else header)
    condition = draw(conditions)
    return EofPdu(
        h, condition, draw(st.integers(0, 2**32 - 1)), draw(fss(h)), _fault(draw, condition)
    )


@st.composite
def finished_pdus(
    draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None
) -> FinishedPdu:
    h = draw(headers() if header is None else header)
    condition = draw(conditions)
    return FinishedPdu(
        h,
        condition,
        draw(st.sampled_from(DeliveryCode)),
        draw(st.sampled_from(FileStatus)),
        draw(st.lists(filestore_responses(), max_size=3)),
        _fault(draw, condition, finished=True),
    )


@st.composite
def ack_pdus(draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None) -> AckPdu:
    h = draw(headers() if header is None else header)
    return AckPdu(
        h,
        draw(st.sampled_from([DirectiveCode.EOF, DirectiveCode.FINISHED])),
        draw(conditions),
        draw(st.sampled_from(TransactionStatus)),
    )


@st.composite
def segment_requests(draw: st.DrawFn, limit: int, max_size: int = 20) -> list[tuple[int, int]]:
    pairs = draw(
        st.lists(st.tuples(st.integers(0, limit), st.integers(0, limit)), max_size=max_size)
    )
    return [(min(a, b), max(a, b)) for a, b in pairs]


@st.composite
def nak_pdus(draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None) -> NakPdu:
    h = draw(headers() if header is None else header)
    a, b = draw(fss(h)), draw(fss(h))
    limit = (1 << (64 if h.config.large_file else 32)) - 1
    return NakPdu(h, min(a, b), max(a, b), draw(segment_requests(limit)))


@st.composite
def prompt_pdus(draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None) -> PromptPdu:
    return PromptPdu(
        draw(headers() if header is None else header), draw(st.sampled_from(ResponseRequired))
    )


@st.composite
def keep_alive_pdus(
    draw: st.DrawFn, header: st.SearchStrategy[PduHeader] | None = None
) -> KeepAlivePdu:
    h = draw(headers() if header is None else header)
    return KeepAlivePdu(h, draw(fss(h)))


def pdus() -> st.SearchStrategy[object]:
    return st.one_of(
        file_data_pdus(),
        metadata_pdus(),
        eof_pdus(),
        finished_pdus(),
        ack_pdus(),
        nak_pdus(),
        prompt_pdus(),
        keep_alive_pdus(),
    )


@st.composite
def transaction_ids(draw: st.DrawFn) -> TransactionId:
    eid, seq = draw(lengths), draw(lengths)
    return TransactionId(draw(uint_of(eid)), draw(uint_of(seq)), eid, seq)


@st.composite
def proxy_put_requests(draw: st.DrawFn) -> ProxyPutRequest:
    n = draw(lengths)
    return ProxyPutRequest(draw(uint_of(n)), draw(names), draw(names), n)


reserved_messages = st.one_of(
    proxy_put_requests(),
    st.builds(ProxyMessageToUser, names),
    st.builds(ProxyFilestoreRequest, filestore_requests()),
    st.builds(ProxyFaultHandlerOverride, conditions, st.sampled_from(FaultHandlerCode)),
    st.builds(ProxyTransmissionMode, st.sampled_from(TransmissionMode)),
    st.builds(ProxyFlowLabel, names),
    st.builds(ProxySegmentationControl, st.booleans()),
    st.builds(
        ProxyPutResponse, conditions, st.sampled_from(DeliveryCode), st.sampled_from(FileStatus)
    ),
    st.builds(ProxyFilestoreResponse, filestore_responses()),
    st.just(ProxyPutCancel()),
    st.builds(OriginatingTransactionId, transaction_ids()),
    st.builds(ProxyClosureRequest, st.booleans()),
    st.builds(DirectoryListingRequest, names, names),
    st.builds(DirectoryListingResponse, st.booleans(), names, names),
    st.builds(RemoteStatusReportRequest, transaction_ids(), names),
    st.builds(
        RemoteStatusReportResponse,
        transaction_ids(),
        st.sampled_from(TransactionStatus),
        st.booleans(),
    ),
    st.builds(RemoteSuspendRequest, transaction_ids()),
    st.builds(
        RemoteSuspendResponse, transaction_ids(), st.sampled_from(TransactionStatus), st.booleans()
    ),
    st.builds(RemoteResumeRequest, transaction_ids()),
    st.builds(
        RemoteResumeResponse, transaction_ids(), st.sampled_from(TransactionStatus), st.booleans()
    ),
)

checksum_types = st.sampled_from(
    [ChecksumType.MODULAR, ChecksumType.CRC32, ChecksumType.CRC32C, ChecksumType.NULL]
)
