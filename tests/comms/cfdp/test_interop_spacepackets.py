"""Differential tests against spacepackets 0.32 (us-irs/spacepackets-py), an independent
implementation of 727.0-B-5 PDUs: same bytes for the same fields, and each side decodes
the other's PDUs.

Where spacepackets differs it is noted at the test: it supports only 1, 2, 4 and 8
octet entity ids and sequence numbers (the book allows 1..8), it forces each PDU's
direction bit, and its EOF unpack leaves the condition code shifted left by four.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.cfdp import ConditionCode as SpCondition
from spacepackets.cfdp import CrcFlag, LargeFileFlag
from spacepackets.cfdp import PduConfig as SpConfig
from spacepackets.cfdp import TransmissionMode as SpMode
from spacepackets.cfdp.defs import ChecksumType as SpChecksum
from spacepackets.cfdp.defs import DeliveryCode as SpDelivery
from spacepackets.cfdp.defs import Direction as SpDirection
from spacepackets.cfdp.defs import FaultHandlerCode as SpHandler
from spacepackets.cfdp.defs import FileStatus as SpFileStatus
from spacepackets.cfdp.defs import SegmentationControl
from spacepackets.cfdp.defs import TransactionId as SpTransactionId
from spacepackets.cfdp.lv import CfdpLv
from spacepackets.cfdp.pdu import (
    AckPdu as SpAck,
)
from spacepackets.cfdp.pdu import (
    DirectiveType,
    FinishedParams,
    PduFactory,
)
from spacepackets.cfdp.pdu import (
    EofPdu as SpEof,
)
from spacepackets.cfdp.pdu import (
    FinishedPdu as SpFinished,
)
from spacepackets.cfdp.pdu import (
    KeepAlivePdu as SpKeepAlive,
)
from spacepackets.cfdp.pdu import (
    MetadataPdu as SpMetadata,
)
from spacepackets.cfdp.pdu import (
    NakPdu as SpNak,
)
from spacepackets.cfdp.pdu import (
    PromptPdu as SpPrompt,
)
from spacepackets.cfdp.pdu.ack import TransactionStatus as SpStatus
from spacepackets.cfdp.pdu.file_data import FileDataParams
from spacepackets.cfdp.pdu.file_data import FileDataPdu as SpFileData
from spacepackets.cfdp.pdu.file_data import RecordContinuationState as SpRcs
from spacepackets.cfdp.pdu.file_data import SegmentMetadata as SpSegmentMetadata
from spacepackets.cfdp.pdu.metadata import MetadataParams
from spacepackets.cfdp.pdu.prompt import ResponseRequired as SpResponse
from spacepackets.cfdp.tlv import (
    EntityIdTlv as SpEntityId,
)
from spacepackets.cfdp.tlv import (
    FaultHandlerOverrideTlv,
    FilestoreActionCode,
    FileStoreRequestTlv,
    FlowLabelTlv,
    MessageToUserTlv,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    DirectoryListingRequest as SpDirRequest,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    DirectoryListingResponse as SpDirResponse,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    DirectoryParams,
    ProxyPutRequestParams,
    ProxyPutResponseParams,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    OriginatingTransactionId as SpOrigin,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    ProxyCancelRequest as SpCancel,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    ProxyClosureRequest as SpClosure,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    ProxyPutRequest as SpProxyPut,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    ProxyPutResponse as SpProxyPutResponse,
)
from spacepackets.cfdp.tlv.msg_to_user import (
    ProxyTransmissionMode as SpProxyMode,
)
from spacepackets.util import UnsignedByteField

from comms.cfdp import (
    AckPdu,
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
    ProxyPutCancel,
    ProxyPutRequest,
    ProxyPutResponse,
    ProxyTransmissionMode,
    RecordContinuationState,
    ResponseRequired,
    SegmentMetadata,
    TransactionId,
    TransactionStatus,
    TransmissionMode,
    decode_pdu,
    decode_reserved_message,
)
from tests.comms.cfdp.strategies import uint_of

pytestmark = pytest.mark.interop

sp_lengths = st.sampled_from([1, 2, 4, 8])  # spacepackets' supported id lengths
ascii_names = st.text("abcdefghijklmnopqrstuvwxyz/._0123456789", max_size=30)


@st.composite
def header_pairs(
    draw: st.DrawFn, direction: Direction = Direction.TOWARD_RECEIVER
) -> tuple[PduHeader, SpConfig]:
    eid, seq = draw(sp_lengths), draw(sp_lengths)
    crc, large = draw(st.booleans()), draw(st.booleans())
    source, number, dest = draw(uint_of(eid)), draw(uint_of(seq)), draw(uint_of(eid))
    mode = draw(st.sampled_from(TransmissionMode))
    segctl = draw(st.booleans())
    ours = PduHeader(
        PduConfig(eid, seq, crc=crc, large_file=large),
        source,
        number,
        dest,
        mode,
        direction,
        segctl,
    )
    theirs = SpConfig(
        source_entity_id=UnsignedByteField(source, eid),
        dest_entity_id=UnsignedByteField(dest, eid),
        transaction_seq_num=UnsignedByteField(number, seq),
        trans_mode=SpMode(int(mode)),
        file_flag=LargeFileFlag(int(large)),
        crc_flag=CrcFlag(int(crc)),
        direction=SpDirection(int(direction)),
        seg_ctrl=SegmentationControl(int(segctl)),
    )
    return ours, theirs


def fss(header: PduHeader) -> st.SearchStrategy[int]:
    return st.integers(0, 2**64 - 1 if header.config.large_file else 2**32 - 1)


def _same(ours: object, theirs_raw: bytes) -> None:
    ours_raw = ours.encode()  # type: ignore[attr-defined]
    assert theirs_raw == ours_raw
    assert decode_pdu(theirs_raw) == ours
    # spacepackets' factory recognises ours (its unpack-then-pack does not round trip
    # for EOF and segment metadata, so each test checks the fields it unpacked instead).
    assert PduFactory.from_raw(ours_raw) is not None


@given(header_pairs(), st.data())
def test_file_data(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    offset = data.draw(fss(header))
    payload = data.draw(st.binary(min_size=1, max_size=300))
    meta = data.draw(
        st.none() | st.tuples(st.sampled_from(RecordContinuationState), st.binary(max_size=63))
    )
    ours = FileDataPdu(
        header, offset, payload, None if meta is None else SegmentMetadata(meta[0], meta[1])
    )
    theirs = SpFileData(
        conf,
        FileDataParams(
            payload,
            offset,
            None if meta is None else SpSegmentMetadata(SpRcs(int(meta[0])), meta[1]),
        ),
    )
    _same(ours, bytes(theirs.pack()))
    back = SpFileData.unpack(ours.encode())
    assert (back.offset, back.file_data) == (offset, payload)


@given(header_pairs(), st.data())
def test_metadata(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    size = data.draw(fss(header))
    # spacepackets turns an empty name into None; give both sides non-empty names.
    source = data.draw(ascii_names.filter(bool))
    dest = data.draw(ascii_names.filter(bool))
    kind = data.draw(st.sampled_from([0, 2, 3, 15]))
    closure = data.draw(st.booleans())
    ours = MetadataPdu(
        header,
        size,
        source,
        dest,
        kind,
        closure,
        [
            MessageToUser(b"hello"),
            FaultHandlerOverride(
                ConditionCode.NAK_LIMIT_REACHED, FaultHandlerCode.ABANDON_TRANSACTION
            ),
            FlowLabel(b"\x07"),
            FilestoreRequest(FilestoreAction.RENAME_FILE, "a", "b"),
        ],
    )
    theirs = SpMetadata(
        conf,
        MetadataParams(closure, SpChecksum(kind), size, source, dest),
        [
            MessageToUserTlv(b"hello"),
            FaultHandlerOverrideTlv(SpCondition.NAK_LIMIT_REACHED, SpHandler.ABANDON_TRANSACTION),
            FlowLabelTlv(b"\x07"),
            FileStoreRequestTlv(FilestoreActionCode.RENAME_FILE_SNP, "a", "b"),
        ],
    )
    _same(ours, bytes(theirs.pack()))
    back = SpMetadata.unpack(ours.encode())
    assert (back.file_size, back.source_file_name, back.dest_file_name) == (size, source, dest)


_SP_CONDITIONS = [c for c in ConditionCode if c.value in {int(s) for s in SpCondition}]


@given(header_pairs(), st.data())
def test_eof(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    condition = data.draw(st.sampled_from(_SP_CONDITIONS))
    checksum = data.draw(st.integers(0, 2**32 - 1))
    size = data.draw(fss(header))
    fault = None if condition is ConditionCode.NO_ERROR else data.draw(st.integers(0, 255))
    ours = EofPdu(
        header, condition, checksum, size, None if fault is None else EntityIdTlv(fault, 1)
    )
    theirs = SpEof(
        conf,
        checksum,
        size,
        None if fault is None else SpEntityId(bytes((fault,))),
        SpCondition(int(condition)),
    )
    _same(ours, bytes(theirs.pack()))
    back = SpEof.unpack(ours.encode())
    # spacepackets 0.32 keeps the condition code nibble unshifted on unpack.
    assert (back.condition_code >> 4, back.file_size) == (condition, size)


@given(header_pairs(Direction.TOWARD_SENDER), st.data())
def test_finished(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    condition = data.draw(st.sampled_from(_SP_CONDITIONS))
    delivery = data.draw(st.sampled_from(DeliveryCode))
    status = data.draw(st.sampled_from(FileStatus))
    omitted = condition in (ConditionCode.NO_ERROR, ConditionCode.UNSUPPORTED_CHECKSUM_TYPE)
    fault = None if omitted else data.draw(st.integers(0, 255))
    ours = FinishedPdu(
        header, condition, delivery, status, (), None if fault is None else EntityIdTlv(fault, 1)
    )
    theirs = SpFinished(
        conf,
        FinishedParams(
            SpCondition(int(condition)),
            SpDelivery(int(delivery)),
            SpFileStatus(int(status)),
            fault_location=None if fault is None else SpEntityId(bytes((fault,))),
        ),
    )
    _same(ours, bytes(theirs.pack()))
    back = SpFinished.unpack(ours.encode())
    assert (back.condition_code, back.delivery_code, back.file_status) == (
        condition,
        delivery,
        status,
    )


@given(st.data())
def test_ack(data: st.DataObject) -> None:
    directive = data.draw(st.sampled_from([DirectiveCode.EOF, DirectiveCode.FINISHED]))
    # spacepackets sends the ACK of EOF toward the sender, of Finished toward the receiver.
    direction = (
        Direction.TOWARD_SENDER if directive is DirectiveCode.EOF else (Direction.TOWARD_RECEIVER)
    )
    header, conf = data.draw(header_pairs(direction))
    condition = data.draw(st.sampled_from(_SP_CONDITIONS))
    status = data.draw(st.sampled_from(TransactionStatus))
    ours = AckPdu(header, directive, condition, status)
    theirs = SpAck(
        conf, DirectiveType(int(directive)), SpCondition(int(condition)), SpStatus(int(status))
    )
    _same(ours, bytes(theirs.pack()))


@given(header_pairs(Direction.TOWARD_SENDER), st.data())
def test_nak(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    limit = 2**64 - 1 if header.config.large_file else 2**32 - 1
    start, end = sorted(data.draw(st.tuples(st.integers(0, limit), st.integers(0, limit))))
    requests = [
        tuple(sorted(p))
        for p in data.draw(
            st.lists(st.tuples(st.integers(0, limit), st.integers(0, limit)), max_size=10)
        )
    ]
    ours = NakPdu(header, start, end, requests)
    theirs = SpNak(conf, start, end, list(requests))
    _same(ours, bytes(theirs.pack()))
    back = SpNak.unpack(ours.encode())
    assert (back.start_of_scope, back.end_of_scope) == (start, end)
    assert [tuple(p) for p in back.segment_requests] == requests


@given(header_pairs(), st.sampled_from(ResponseRequired))
def test_prompt(pair: tuple[PduHeader, SpConfig], response: ResponseRequired) -> None:
    header, conf = pair
    _same(PromptPdu(header, response), bytes(SpPrompt(conf, SpResponse(int(response))).pack()))


@given(header_pairs(Direction.TOWARD_SENDER), st.data())
def test_keep_alive(pair: tuple[PduHeader, SpConfig], data: st.DataObject) -> None:
    header, conf = pair
    progress = data.draw(fss(header))
    _same(KeepAlivePdu(header, progress), bytes(SpKeepAlive(conf, progress).pack()))


@given(st.data())
def test_reserved_messages(data: st.DataObject) -> None:
    eid, seq = data.draw(sp_lengths), data.draw(sp_lengths)
    source, number = data.draw(uint_of(eid)), data.draw(uint_of(seq))
    a, b = data.draw(ascii_names), data.draw(ascii_names)
    ok = data.draw(st.booleans())
    pairs = [
        (
            ProxyPutRequest(source, a, b, eid),
            SpProxyPut(
                ProxyPutRequestParams(
                    UnsignedByteField(source, eid), CfdpLv.from_str(a), CfdpLv.from_str(b)
                )
            ),
        ),
        (ProxyPutCancel(), SpCancel()),
        (ProxyClosureRequest(ok), SpClosure(ok)),
        (ProxyTransmissionMode(TransmissionMode(int(ok))), SpProxyMode(SpMode(int(ok)))),
        (
            OriginatingTransactionId(TransactionId(source, number, eid, seq)),
            SpOrigin(
                SpTransactionId(UnsignedByteField(source, eid), UnsignedByteField(number, seq))
            ),
        ),
        (DirectoryListingRequest(a, b), SpDirRequest(DirectoryParams.from_strs(a, b))),
        (DirectoryListingResponse(ok, a, b), SpDirResponse(ok, DirectoryParams.from_strs(a, b))),
        (
            ProxyPutResponse(
                ConditionCode.FILE_SIZE_ERROR, DeliveryCode.DATA_INCOMPLETE, FileStatus.UNREPORTED
            ),
            SpProxyPutResponse(
                ProxyPutResponseParams(
                    SpCondition.FILE_SIZE_ERROR,
                    SpDelivery.DATA_INCOMPLETE,
                    SpFileStatus.FILE_STATUS_UNREPORTED,
                )
            ),
        ),
    ]
    for ours, theirs in pairs:
        raw = bytes(theirs.pack())
        assert raw == ours.to_tlv().encode(), ours
        assert decode_reserved_message(bytes(theirs.value)) == ours


def test_their_parsers_read_our_reserved_messages() -> None:
    tid = TransactionId(0x0102, 7, 2, 1)
    theirs = MessageToUserTlv.unpack(OriginatingTransactionId(tid).to_tlv().encode())
    reserved = theirs.to_reserved_msg_tlv()
    assert reserved is not None
    got = reserved.get_originating_transaction_id()
    assert got is not None and (got.source_id.value, got.seq_num.value) == (0x0102, 7)
    put = MessageToUserTlv.unpack(ProxyPutRequest(9, "s", "d", 2).to_tlv().encode())
    params = put.to_reserved_msg_tlv().get_proxy_put_request_params()  # type: ignore[union-attr]
    assert params is not None
    assert (params.dest_entity_id.value, params.source_file_as_str) == (9, "s")
