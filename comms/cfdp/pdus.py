"""CFDP PDUs (CCSDS 727.0-B-5 sections 5.2 and 5.3) and the whole-PDU decoder.

=====================  ==========  ==============================================================
PDU                    clause      data field after the fixed header
=====================  ==========  ==============================================================
:class:`FileDataPdu`   5.3         [rcs (2) + metadata length (6), metadata], offset FSS, data
:class:`MetadataPdu`   5.2.5       07, closure (bit 6) + checksum type (4), size FSS,
                                   source name LV, destination name LV, options TLVs
:class:`EofPdu`        5.2.2       04, condition (4), checksum (32), size FSS, [fault location]
:class:`FinishedPdu`   5.2.3       05, condition (4) delivery (bit 2) status (2),
                                   filestore responses, [fault location]
:class:`AckPdu`        5.2.4       06, directive (4) subtype (4), condition (4) status (2)
:class:`NakPdu`        5.2.6       08, start FSS, end FSS, (start FSS, end FSS) ...
:class:`PromptPdu`     5.2.7       09, response required (bit 7)
:class:`KeepAlivePdu`  5.2.8       0C, progress FSS
=====================  ==========  ==============================================================

FSS fields (file-size sensitive, 5.1.10) are 32 bits, or 64 with the large file flag.
:func:`decode_pdu` decodes any PDU from a buffer holding exactly one, checking the CRC
when the header's CRC flag is set (:class:`~comms.cfdp.header.CrcError` on mismatch);
``encode()`` writes the header (with the data field length and PDU type derived from
the body) and the CRC when the config asks for it.

Decoders refuse what the book forbids or leaves reserved (version other than 001,
reserved directive codes, an ACK of anything but EOF or Finished, a fault location with
a condition that omits it, a NAK segment whose end precedes its start, octets past the last
field) and ignore spare bits, which therefore do not survive a round trip.

Design note: File Data is the hot path (the transfer target is >= 1 Gbps at 4 KiB
segments: ~30 us per PDU for everything). Its decoder is a few index reads, one struct
unpack and one slice; headers decode once per distinct header octets thanks to a small
memo (all PDUs of a transaction share them). ``data`` is a ``bytes`` slice, not a view,
so a decoded PDU never pins the caller's receive buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import ClassVar, Final, Self, TypeAlias

from comms.buffers import BytesLike
from comms.cfdp._value import (
    CfdpValue,
    check_enum,
    check_flag,
    check_octets,
    check_uint,
    init,
    setter,
    short,
)
from comms.cfdp.checksum import ChecksumType
from comms.cfdp.codes import (
    ConditionCode,
    DeliveryCode,
    DirectiveCode,
    FileStatus,
    PduType,
    RecordContinuationState,
    ResponseRequired,
    TransactionStatus,
)
from comms.cfdp.header import CrcError, PduHeader, decode_header
from comms.cfdp.tlv import (
    EntityIdTlv,
    FaultHandlerOverride,
    FilestoreRequest,
    FilestoreResponse,
    FlowLabel,
    MessageToUser,
    UnknownTlv,
    decode_lv,
    decode_tlv,
    encode_lv,
)
from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError

__all__ = [
    "MAX_DATA_FIELD_LENGTH",
    "AckPdu",
    "EofPdu",
    "FileDataPdu",
    "FinishedPdu",
    "KeepAlivePdu",
    "MetadataOption",
    "MetadataPdu",
    "NakPdu",
    "Pdu",
    "PromptPdu",
    "SegmentMetadata",
    "decode_pdu",
    "pdu_length",
]

MAX_DATA_FIELD_LENGTH: Final = 0xFFFF
"""Most octets the 16-bit PDU data field length can announce (table 5-1)."""

MetadataOption: TypeAlias = (
    FilestoreRequest | MessageToUser | FaultHandlerOverride | FlowLabel | UnknownTlv
)

_HEAD = struct.Struct(">BHB")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_U16 = struct.Struct(">H")
_new = object.__new__
_CONDITIONS: Final = tuple(ConditionCode)
_CHECKSUMS: Final = {int(t): t for t in ChecksumType}


def _check_fss(owner: str, name: str, value: object, large: bool) -> int:
    return check_uint(owner, name, value, 64 if large else 32)


def _check_header(owner: str, header: object) -> PduHeader:
    if not isinstance(header, PduHeader):
        raise UsageError(f"{owner}.header must be a PduHeader, not {type(header).__name__}.")
    return header


def _finish(header: PduHeader, pdu_type_bits: int, octet3_bits: int, body: bytes) -> bytes:
    """Header + body (+ CRC): the data field length counts the CRC when there is one."""
    crc = header.config.crc
    length = len(body) + (2 if crc else 0)
    if length > MAX_DATA_FIELD_LENGTH:
        raise UsageError(
            f"The PDU data field would be {length} octets; the 16-bit length field holds "
            f"at most {MAX_DATA_FIELD_LENGTH} (727.0-B-5 table 5-1). Send less per PDU."
        )
    out = (
        _HEAD.pack(header._octet0 | pdu_type_bits, length, header._octet3 | octet3_bits)
        + header._ids
        + body
    )
    if crc:
        out += _U16.pack(crc16_ccitt(out))
    return out


class Pdu(CfdpValue):
    """Base of the PDU values: a :class:`PduHeader` and the body fields."""

    __slots__ = ("header",)
    header: PduHeader
    pdu_type: ClassVar[PduType] = PduType.FILE_DIRECTIVE
    directive_code: ClassVar[DirectiveCode | None] = None

    def encode(self) -> bytes:
        """The PDU on the wire: fixed header, data field and the CRC if configured."""
        raise NotImplementedError

    @classmethod
    def decode(cls, buf: BytesLike, *, verify_crc: bool = True) -> Self:
        """Decode ``buf`` (exactly one PDU), which must be a PDU of this class."""
        pdu = decode_pdu(buf, verify_crc=verify_crc)
        if type(pdu) is not cls:
            raise DecodeError(
                f"not a {cls.__name__}", offset=0, expected=cls.__name__, got=type(pdu).__name__
            )
        return pdu

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        raise NotImplementedError


class _Directive(Pdu):
    __slots__ = ()

    def _body(self) -> bytes:
        raise NotImplementedError

    def encode(self) -> bytes:
        assert self.directive_code is not None
        return _finish(self.header, 0, 0, bytes((self.directive_code,)) + self._body())


# -- File Data ----------------------------------------------------------------------


class SegmentMetadata(CfdpValue):
    """The optional segment metadata of a File Data PDU (5.3, table 5-14)."""

    __slots__ = ("record_continuation_state", "metadata")  # noqa: RUF023
    record_continuation_state: RecordContinuationState
    metadata: bytes

    def __init__(
        self,
        record_continuation_state: RecordContinuationState | int,
        metadata: bytes = b"",
    ) -> None:
        owner = "SegmentMetadata"
        init(
            self,
            record_continuation_state=check_enum(
                owner,
                "record_continuation_state",
                record_continuation_state,
                RecordContinuationState,
            ),
            metadata=check_octets(owner, "metadata", metadata, 63),
        )


_RCS: Final = tuple(RecordContinuationState)


class FileDataPdu(Pdu):
    """File Data PDU (727.0-B-5 5.3): ``data`` at file ``offset``.

    ``segment_metadata`` (None for none) sets the header's segment metadata flag.
    """

    __slots__ = ("offset", "data", "segment_metadata")  # noqa: RUF023
    pdu_type = PduType.FILE_DATA
    offset: int
    data: bytes
    segment_metadata: SegmentMetadata | None

    def __init__(
        self,
        header: PduHeader,
        offset: int,
        data: BytesLike,
        segment_metadata: SegmentMetadata | None = None,
    ) -> None:
        owner = "FileDataPdu"
        header = _check_header(owner, header)
        if segment_metadata is not None and not isinstance(segment_metadata, SegmentMetadata):
            raise UsageError(f"{owner}.segment_metadata must be a SegmentMetadata or None.")
        init(
            self,
            header=header,
            offset=_check_fss(owner, "offset", offset, header.config.large_file),
            data=check_octets(owner, "data", data),
            segment_metadata=segment_metadata,
        )

    @property
    def end_offset(self) -> int:
        """File offset just past this segment."""
        return self.offset + len(self.data)

    def encode(self) -> bytes:
        header = self.header
        offset = (_U64 if header.config.large_file else _U32).pack(self.offset)
        meta = self.segment_metadata
        if meta is None:
            return _finish(header, 0x10, 0, offset + self.data)
        prefix = bytes(((meta.record_continuation_state << 6) | len(meta.metadata),))
        return _finish(header, 0x10, 0x08, prefix + meta.metadata + offset + self.data)

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        meta = None
        if raw[3] & 0x08:
            if start >= end:
                raise short("segment metadata", start, 1, 0)
            octet = raw[start]
            stop = start + 1 + (octet & 0x3F)
            if stop > end:
                raise short("segment metadata", start, stop - start, end - start)
            meta = _new(SegmentMetadata)
            init(
                meta,
                record_continuation_state=_RCS[octet >> 6],
                metadata=raw[start + 1 : stop],
            )
            start = stop
        if raw[0] & 1:
            if start + 8 > end:
                raise short("offset", start, 8, end - start)
            (offset,) = _U64.unpack_from(raw, start)
            start += 8
        else:
            if start + 4 > end:
                raise short("offset", start, 4, end - start)
            (offset,) = _U32.unpack_from(raw, start)
            start += 4
        pdu = _new(cls)
        _fd_header(pdu, header)
        _fd_offset(pdu, offset)
        _fd_data(pdu, raw[start:end])
        _fd_meta(pdu, meta)
        return pdu


_fd_header = setter(FileDataPdu, "header")
_fd_offset = setter(FileDataPdu, "offset")
_fd_data = setter(FileDataPdu, "data")
_fd_meta = setter(FileDataPdu, "segment_metadata")


# -- Metadata -----------------------------------------------------------------------


class MetadataPdu(_Directive):
    """Metadata PDU (727.0-B-5 5.2.5): what the transaction delivers and how.

    ``checksum_type`` is kept as sent even when it is not a :class:`ChecksumType` this
    library computes (a receiver answers those with "unsupported checksum type").
    Empty file names mean a transaction without a file (messages only).
    """

    __slots__ = (  # noqa: RUF023
        "file_size",
        "source_file_name",
        "destination_file_name",
        "checksum_type",
        "closure_requested",
        "options",
    )
    directive_code = DirectiveCode.METADATA
    file_size: int
    source_file_name: bytes
    destination_file_name: bytes
    checksum_type: ChecksumType | int
    closure_requested: bool
    options: tuple[MetadataOption, ...]

    def __init__(
        self,
        header: PduHeader,
        file_size: int,
        source_file_name: bytes | str,
        destination_file_name: bytes | str,
        checksum_type: ChecksumType | int = ChecksumType.MODULAR,
        closure_requested: bool = False,
        options: Iterable[MetadataOption] = (),
    ) -> None:
        owner = "MetadataPdu"
        header = _check_header(owner, header)
        kind = check_uint(owner, "checksum_type", checksum_type, 4)
        opts = tuple(options)
        for option in opts:
            if not isinstance(
                option, FilestoreRequest | MessageToUser | FaultHandlerOverride | FlowLabel
            ) and not isinstance(option, UnknownTlv):
                raise UsageError(
                    f"{owner}.options takes FilestoreRequest, MessageToUser, "
                    f"FaultHandlerOverride and FlowLabel TLVs (5.2.5), not "
                    f"{type(option).__name__}."
                )
        init(
            self,
            header=header,
            file_size=_check_fss(owner, "file_size", file_size, header.config.large_file),
            source_file_name=check_octets(owner, "source_file_name", source_file_name, 255),
            destination_file_name=check_octets(
                owner, "destination_file_name", destination_file_name, 255
            ),
            checksum_type=_CHECKSUMS.get(kind, kind),
            closure_requested=check_flag(owner, "closure_requested", closure_requested),
            options=opts,
        )

    def messages_to_user(self) -> tuple[MessageToUser, ...]:
        """The options that are messages to user, in order."""
        return tuple(o for o in self.options if isinstance(o, MessageToUser))

    def _body(self) -> bytes:
        fss = _U64 if self.header.config.large_file else _U32
        return (
            bytes(((self.closure_requested << 6) | self.checksum_type,))
            + fss.pack(self.file_size)
            + encode_lv(self.source_file_name)
            + encode_lv(self.destination_file_name)
            + b"".join(option.encode() for option in self.options)
        )

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        if start >= end:
            raise short("Metadata parameters", start, 1, 0)
        octet = raw[start]
        file_size, offset = _fss(raw, start + 1, end, header.config.large_file, "file size")
        source, offset = decode_lv(raw, offset, end, "source file name")
        destination, offset = decode_lv(raw, offset, end, "destination file name")
        options: list[MetadataOption] = []
        while offset < end:
            at = offset
            tlv, offset = decode_tlv(raw, offset, end)
            if not isinstance(
                tlv, FilestoreRequest | MessageToUser | FaultHandlerOverride | FlowLabel
            ) and not isinstance(tlv, UnknownTlv):
                raise DecodeError(
                    "TLV not allowed in Metadata options",
                    offset=at,
                    expected="filestore request, message to user, fault handler "
                    "override or flow label",
                    got=type(tlv).__name__,
                )
            options.append(tlv)
        kind = octet & 0x0F
        pdu = _new(cls)
        init(
            pdu,
            header=header,
            file_size=file_size,
            source_file_name=source,
            destination_file_name=destination,
            checksum_type=_CHECKSUMS.get(kind, kind),
            closure_requested=bool(octet & 0x40),
            options=tuple(options),
        )
        return pdu


def _fss(raw: bytes, offset: int, end: int, large: bool, what: str) -> tuple[int, int]:
    if large:
        if offset + 8 > end:
            raise short(what, offset, 8, end - offset)
        return _U64.unpack_from(raw, offset)[0], offset + 8
    if offset + 4 > end:
        raise short(what, offset, 4, end - offset)
    return _U32.unpack_from(raw, offset)[0], offset + 4


def _check_fault_location(
    owner: str, condition: ConditionCode, fault: object, omitted: frozenset[ConditionCode]
) -> None:
    if fault is None:
        return
    if not isinstance(fault, EntityIdTlv):
        raise UsageError(f"{owner}.fault_location must be an EntityIdTlv or None.")
    if condition in omitted:
        raise UsageError(
            f"{owner}.fault_location must be None when condition_code is {condition.name} "
            "(727.0-B-5 tables 5-6 and 5-7: omitted then)."
        )


# Conditions whose EOF (table 5-6) or Finished (table 5-7) omits the fault location.
_EOF_NO_FAULT: Final = frozenset({ConditionCode.NO_ERROR})
_FINISHED_NO_FAULT: Final = frozenset(
    {ConditionCode.NO_ERROR, ConditionCode.UNSUPPORTED_CHECKSUM_TYPE}
)


def _decode_fault_location(
    raw: bytes, offset: int, end: int, condition: ConditionCode, omitted: frozenset[ConditionCode]
) -> EntityIdTlv:
    tlv, stop = decode_tlv(raw, offset, end)
    if not isinstance(tlv, EntityIdTlv):
        raise DecodeError(
            "expected the fault location (entity id TLV)",
            offset=offset,
            expected=0x06,
            got=raw[offset],
        )
    if condition is ConditionCode.NO_ERROR:
        raise DecodeError("fault location present with condition code 'no error'", offset=offset)
    if stop != end:
        raise DecodeError("octets after the fault location", offset=stop, got=end - stop)
    return tlv


# -- EOF ----------------------------------------------------------------------------


class EofPdu(_Directive):
    """EOF PDU (727.0-B-5 5.2.2): the sender is done; file size and checksum."""

    __slots__ = ("condition_code", "file_checksum", "file_size", "fault_location")  # noqa: RUF023
    directive_code = DirectiveCode.EOF
    condition_code: ConditionCode
    file_checksum: int
    file_size: int
    fault_location: EntityIdTlv | None

    def __init__(
        self,
        header: PduHeader,
        condition_code: ConditionCode | int = ConditionCode.NO_ERROR,
        file_checksum: int = 0,
        file_size: int = 0,
        fault_location: EntityIdTlv | None = None,
    ) -> None:
        owner = "EofPdu"
        header = _check_header(owner, header)
        condition = check_enum(owner, "condition_code", condition_code, ConditionCode)
        _check_fault_location(owner, condition, fault_location, _EOF_NO_FAULT)
        init(
            self,
            header=header,
            condition_code=condition,
            file_checksum=check_uint(owner, "file_checksum", file_checksum, 32),
            file_size=_check_fss(owner, "file_size", file_size, header.config.large_file),
            fault_location=fault_location,
        )

    def _body(self) -> bytes:
        fss = _U64 if self.header.config.large_file else _U32
        out = (
            bytes((self.condition_code << 4,))
            + _U32.pack(self.file_checksum)
            + fss.pack(self.file_size)
        )
        if self.fault_location is not None:
            out += self.fault_location.encode()
        return out

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        if start + 5 > end:
            raise short("EOF condition code and checksum", start, 5, end - start)
        condition = _CONDITIONS[raw[start] >> 4]
        (checksum,) = _U32.unpack_from(raw, start + 1)
        size, offset = _fss(raw, start + 5, end, header.config.large_file, "file size")
        fault = (
            _decode_fault_location(raw, offset, end, condition, _EOF_NO_FAULT)
            if offset < end
            else None
        )
        pdu = _new(cls)
        init(
            pdu,
            header=header,
            condition_code=condition,
            file_checksum=checksum,
            file_size=size,
            fault_location=fault,
        )
        return pdu


# -- Finished -----------------------------------------------------------------------


class FinishedPdu(_Directive):
    """Finished PDU (727.0-B-5 5.2.3): the receiver's verdict on the transaction."""

    __slots__ = (  # noqa: RUF023
        "condition_code",
        "delivery_code",
        "file_status",
        "filestore_responses",
        "fault_location",
    )
    directive_code = DirectiveCode.FINISHED
    condition_code: ConditionCode
    delivery_code: DeliveryCode
    file_status: FileStatus
    filestore_responses: tuple[FilestoreResponse, ...]
    fault_location: EntityIdTlv | None

    def __init__(
        self,
        header: PduHeader,
        condition_code: ConditionCode | int = ConditionCode.NO_ERROR,
        delivery_code: DeliveryCode | int = DeliveryCode.DATA_COMPLETE,
        file_status: FileStatus | int = FileStatus.RETAINED,
        filestore_responses: Iterable[FilestoreResponse] = (),
        fault_location: EntityIdTlv | None = None,
    ) -> None:
        owner = "FinishedPdu"
        header = _check_header(owner, header)
        condition = check_enum(owner, "condition_code", condition_code, ConditionCode)
        _check_fault_location(owner, condition, fault_location, _FINISHED_NO_FAULT)
        responses = tuple(filestore_responses)
        if not all(isinstance(r, FilestoreResponse) for r in responses):
            raise UsageError(f"{owner}.filestore_responses takes FilestoreResponse TLVs only.")
        init(
            self,
            header=header,
            condition_code=condition,
            delivery_code=check_enum(owner, "delivery_code", delivery_code, DeliveryCode),
            file_status=check_enum(owner, "file_status", file_status, FileStatus),
            filestore_responses=responses,
            fault_location=fault_location,
        )

    def _body(self) -> bytes:
        out = bytes(
            ((self.condition_code << 4) | (self.delivery_code << 2) | self.file_status,)
        ) + b"".join(r.encode() for r in self.filestore_responses)
        if self.fault_location is not None:
            out += self.fault_location.encode()
        return out

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        if start >= end:
            raise short("Finished parameters", start, 1, 0)
        octet = raw[start]
        condition = _CONDITIONS[octet >> 4]
        responses: list[FilestoreResponse] = []
        fault = None
        offset = start + 1
        while offset < end:
            if raw[offset] == 0x06:  # the fault location comes last (table 5-7)
                fault = _decode_fault_location(raw, offset, end, condition, _FINISHED_NO_FAULT)
                break
            at = offset
            tlv, offset = decode_tlv(raw, offset, end)
            if not isinstance(tlv, FilestoreResponse):
                raise DecodeError(
                    "TLV not allowed in a Finished PDU",
                    offset=at,
                    expected="filestore response or entity id",
                    got=raw[at],
                )
            responses.append(tlv)
        pdu = _new(cls)
        init(
            pdu,
            header=header,
            condition_code=condition,
            delivery_code=DeliveryCode((octet >> 2) & 1),
            file_status=FileStatus(octet & 3),
            filestore_responses=tuple(responses),
            fault_location=fault,
        )
        return pdu


# -- ACK ----------------------------------------------------------------------------


class AckPdu(_Directive):
    """ACK PDU (727.0-B-5 5.2.4): acknowledges an EOF or a Finished PDU.

    ``directive_subtype_code`` defaults to the book's value: 1 for an ACK of Finished,
    0 otherwise (table 5-8); a peer's other value is kept as sent.
    """

    __slots__ = (  # noqa: RUF023
        "acknowledged_directive",
        "condition_code",
        "transaction_status",
        "directive_subtype_code",
    )
    directive_code = DirectiveCode.ACK
    acknowledged_directive: DirectiveCode
    condition_code: ConditionCode
    transaction_status: TransactionStatus
    directive_subtype_code: int

    def __init__(
        self,
        header: PduHeader,
        acknowledged_directive: DirectiveCode | int,
        condition_code: ConditionCode | int = ConditionCode.NO_ERROR,
        transaction_status: TransactionStatus | int = TransactionStatus.ACTIVE,
        directive_subtype_code: int | None = None,
    ) -> None:
        owner = "AckPdu"
        header = _check_header(owner, header)
        directive = check_enum(
            owner, "acknowledged_directive", acknowledged_directive, DirectiveCode
        )
        if directive not in (DirectiveCode.EOF, DirectiveCode.FINISHED):
            raise UsageError(
                f"{owner}: only EOF and Finished PDUs are acknowledged (727.0-B-5 5.2.4), "
                f"not {directive.name}."
            )
        if directive_subtype_code is None:
            directive_subtype_code = 1 if directive is DirectiveCode.FINISHED else 0
        init(
            self,
            header=header,
            acknowledged_directive=directive,
            condition_code=check_enum(owner, "condition_code", condition_code, ConditionCode),
            transaction_status=check_enum(
                owner, "transaction_status", transaction_status, TransactionStatus
            ),
            directive_subtype_code=check_uint(
                owner, "directive_subtype_code", directive_subtype_code, 4
            ),
        )

    def _body(self) -> bytes:
        return bytes(
            (
                (self.acknowledged_directive << 4) | self.directive_subtype_code,
                (self.condition_code << 4) | self.transaction_status,
            )
        )

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        if end - start != 2:
            raise DecodeError(
                "ACK parameters must be two octets", offset=start, expected=2, got=end - start
            )
        directive = raw[start] >> 4
        if directive not in (DirectiveCode.EOF, DirectiveCode.FINISHED):
            raise DecodeError(
                "ACK of a directive other than EOF or Finished",
                offset=start,
                expected="4 (EOF) or 5 (Finished)",
                got=directive,
            )
        pdu = _new(cls)
        init(
            pdu,
            header=header,
            acknowledged_directive=DirectiveCode(directive),
            condition_code=_CONDITIONS[raw[start + 1] >> 4],
            transaction_status=TransactionStatus(raw[start + 1] & 3),
            directive_subtype_code=raw[start] & 0x0F,
        )
        return pdu


# -- NAK ----------------------------------------------------------------------------


class NakPdu(_Directive):
    """NAK PDU (727.0-B-5 5.2.6): the receiver asks for the missing ranges again.

    ``segment_requests`` are ``(start_offset, end_offset)`` pairs, end exclusive; the
    pair (0, 0) asks for the Metadata PDU again. See :func:`comms.cfdp.split_nak` for
    requests too many for one PDU.
    """

    __slots__ = ("start_of_scope", "end_of_scope", "segment_requests")  # noqa: RUF023
    directive_code = DirectiveCode.NAK
    start_of_scope: int
    end_of_scope: int
    segment_requests: tuple[tuple[int, int], ...]

    def __init__(
        self,
        header: PduHeader,
        start_of_scope: int,
        end_of_scope: int,
        segment_requests: Iterable[tuple[int, int]] = (),
    ) -> None:
        owner = "NakPdu"
        header = _check_header(owner, header)
        large = header.config.large_file
        start = _check_fss(owner, "start_of_scope", start_of_scope, large)
        end = _check_fss(owner, "end_of_scope", end_of_scope, large)
        if end < start:
            raise UsageError(f"{owner}: end_of_scope {end} is before start_of_scope {start}.")
        requests = []
        for pair in segment_requests:
            try:
                first, last = pair
            except (TypeError, ValueError):
                raise UsageError(
                    f"{owner}.segment_requests holds (start_offset, end_offset) pairs, "
                    f"not {pair!r}."
                ) from None
            first = _check_fss(owner, "segment request start", first, large)
            last = _check_fss(owner, "segment request end", last, large)
            if last < first:
                raise UsageError(
                    f"{owner}: segment request ({first}, {last}) ends before it starts."
                )
            requests.append((first, last))
        init(
            self,
            header=header,
            start_of_scope=start,
            end_of_scope=end,
            segment_requests=tuple(requests),
        )

    def _body(self) -> bytes:
        large = self.header.config.large_file
        fmt = ">" + ("Q" if large else "I") * (2 + 2 * len(self.segment_requests))
        flat = [self.start_of_scope, self.end_of_scope]
        for pair in self.segment_requests:
            flat.extend(pair)
        return struct.pack(fmt, *flat)

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        size = header.config.fss_length
        count, rest = divmod(end - start, size)
        if count < 2 or rest or count % 2:
            raise DecodeError(
                "NAK parameters are not a scope and whole segment requests",
                offset=start,
                expected=f"2 + 2n fields of {size} octets",
                got=end - start,
            )
        values = struct.unpack_from(">" + ("Q" if size == 8 else "I") * count, raw, start)
        if values[1] < values[0]:
            raise DecodeError("NAK end of scope before its start", offset=start + size)
        requests = tuple(zip(values[2::2], values[3::2], strict=True))
        for i, (first, last) in enumerate(requests):
            if last < first:
                raise DecodeError(
                    "NAK segment request ends before it starts",
                    offset=start + (2 + 2 * i) * size,
                    got=(first, last),
                )
        pdu = _new(cls)
        init(
            pdu,
            header=header,
            start_of_scope=values[0],
            end_of_scope=values[1],
            segment_requests=requests,
        )
        return pdu


# -- Prompt and Keep Alive ----------------------------------------------------------


class PromptPdu(_Directive):
    """Prompt PDU (727.0-B-5 5.2.7): asks the receiver for a NAK or a Keep Alive."""

    __slots__ = ("response_required",)
    directive_code = DirectiveCode.PROMPT
    response_required: ResponseRequired

    def __init__(
        self, header: PduHeader, response_required: ResponseRequired | int = ResponseRequired.NAK
    ) -> None:
        init(
            self,
            header=_check_header("PromptPdu", header),
            response_required=check_enum(
                "PromptPdu", "response_required", response_required, ResponseRequired
            ),
        )

    def _body(self) -> bytes:
        return bytes((self.response_required << 7,))

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        if end - start != 1:
            raise DecodeError(
                "Prompt parameter must be one octet", offset=start, expected=1, got=end - start
            )
        pdu = _new(cls)
        init(pdu, header=header, response_required=ResponseRequired(raw[start] >> 7))
        return pdu


class KeepAlivePdu(_Directive):
    """Keep Alive PDU (727.0-B-5 5.2.8): the receiver's progress (octets received)."""

    __slots__ = ("progress",)
    directive_code = DirectiveCode.KEEP_ALIVE
    progress: int

    def __init__(self, header: PduHeader, progress: int) -> None:
        header = _check_header("KeepAlivePdu", header)
        init(
            self,
            header=header,
            progress=_check_fss("KeepAlivePdu", "progress", progress, header.config.large_file),
        )

    def _body(self) -> bytes:
        return (_U64 if self.header.config.large_file else _U32).pack(self.progress)

    @classmethod
    def _decode_body(cls, header: PduHeader, raw: bytes, start: int, end: int) -> Self:
        progress, offset = _fss(raw, start, end, header.config.large_file, "progress")
        if offset != end:
            raise DecodeError("octets after the Keep Alive progress", offset=offset)
        pdu = _new(cls)
        init(pdu, header=header, progress=progress)
        return pdu


# -- the decoder --------------------------------------------------------------------

_DIRECTIVES: Final[dict[int, type[Pdu]]] = {
    DirectiveCode.EOF: EofPdu,
    DirectiveCode.FINISHED: FinishedPdu,
    DirectiveCode.ACK: AckPdu,
    DirectiveCode.METADATA: MetadataPdu,
    DirectiveCode.NAK: NakPdu,
    DirectiveCode.PROMPT: PromptPdu,
    DirectiveCode.KEEP_ALIVE: KeepAlivePdu,
}

# Decoded headers by their octets. All PDUs of a transaction share them (the length
# octets included, for every full-size File Data PDU), so steady-state decode skips
# three int.from_bytes and an object build. Values are immutable; the memo is bounded.
_HEADERS: dict[bytes, PduHeader] = {}
_HEADERS_MAX: Final = 512
_from_raw_header = decode_header
_bytes = bytes


def pdu_length(buf: BytesLike) -> int:
    """Octets in the PDU that starts ``buf``, from its header (at least 4 octets needed)."""
    if len(buf) < 4:
        raise short("PDU header", 0, 4, len(buf))
    octet3 = buf[3]
    return 4 + 2 * (((octet3 >> 4) & 7) + 1) + (octet3 & 7) + 1 + (buf[1] << 8 | buf[2])


def decode_pdu(buf: BytesLike, *, verify_crc: bool = True) -> Pdu:
    """Decode ``buf``, which must hold exactly one PDU.

    Returns the PDU value (:class:`FileDataPdu`, :class:`MetadataPdu`, ...). Raises
    :class:`~comms.cfdp.header.CrcError` when the CRC flag is set and the CRC does not
    match (unless ``verify_crc`` is False), and DecodeError for anything malformed: a
    version other than 001, a length field that disagrees with the buffer, a reserved
    directive code, a field running past the data field.
    """
    raw = buf if buf.__class__ is bytes else _bytes(buf)
    try:
        octet3 = raw[3]
        header_length = 7 + ((octet3 >> 3) & 0x0E) + (octet3 & 7)
        total = header_length + (raw[1] << 8 | raw[2])
        octet0 = raw[0]
    except IndexError:
        raise short("PDU header", 0, 4, len(raw)) from None
    if octet0 & 0xE0 != 0x20 or total != len(raw):
        raise _frame_error(raw, total, header_length)
    end = total
    if octet0 & 2:
        if total < header_length + 2:
            raise short("PDU CRC", header_length, 2, total - header_length)
        end -= 2
        if verify_crc and crc16_ccitt(raw):
            computed = crc16_ccitt(raw[:end])
            raise CrcError(
                "PDU CRC mismatch", offset=end, expected=computed, got=raw[end] << 8 | raw[end + 1]
            )
    key = raw[:header_length]
    header = _HEADERS.get(key)
    if header is None:
        header = _from_raw_header(raw, header_length)
        if len(_HEADERS) >= _HEADERS_MAX:
            _HEADERS.clear()
        _HEADERS[key] = header
    if octet0 & 0x10:
        return FileDataPdu._decode_body(header, raw, header_length, end)
    if header_length >= end:
        raise short("file directive code", header_length, 1, 0)
    code = raw[header_length]
    cls = _DIRECTIVES.get(code)
    if cls is None:
        raise DecodeError(
            "reserved file directive code",
            offset=header_length,
            expected=sorted(int(c) for c in DirectiveCode),
            got=code,
        )
    return cls._decode_body(header, raw, header_length + 1, end)


def _frame_error(raw: bytes, total: int, header_length: int) -> DecodeError:
    version = raw[0] >> 5
    if version != 1:
        return DecodeError("unsupported CFDP version", offset=0, expected=1, got=version)
    if len(raw) < header_length:
        return short("PDU header", 0, header_length, len(raw))
    if len(raw) < total:
        return DecodeError(
            "PDU truncated (the data field length says more)",
            offset=len(raw),
            expected=f"{total} octets",
            got=len(raw),
        )
    return DecodeError(
        "trailing octets after the PDU", offset=total, expected=f"{total} octets", got=len(raw)
    )
