"""PDU round trips, hand-assembled vectors from the 727.0-B-5 tables, and bad input."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import (
    AckPdu,
    ChecksumType,
    ConditionCode,
    CrcError,
    DeliveryCode,
    Direction,
    DirectiveCode,
    EntityIdTlv,
    EofPdu,
    FileDataPdu,
    FileStatus,
    FilestoreAction,
    FilestoreRequest,
    FilestoreResponse,
    FinishedPdu,
    KeepAlivePdu,
    MessageToUser,
    MetadataPdu,
    NakPdu,
    PduConfig,
    PduHeader,
    PromptPdu,
    RecordContinuationState,
    ResponseRequired,
    SegmentMetadata,
    TransactionStatus,
    TransmissionMode,
    decode_pdu,
    pdu_length,
)
from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from tests.comms.cfdp.strategies import file_data_pdus, headers, pdus

CONFIG = PduConfig(entity_id_length=2, sequence_number_length=3)
HEADER = PduHeader(CONFIG, 0x0102, 0x030405, 0x0607)


def _table_5_1_header(octet0: int, length: int, octet3: int, ids: bytes) -> bytes:
    # Assembled by hand from table 5-1, independent of PduHeader's encoder.
    return bytes((octet0, length >> 8, length & 0xFF, octet3)) + ids


IDS = bytes.fromhex("01020304050607")


def test_file_data_vector() -> None:
    pdu = FileDataPdu(HEADER, offset=0x10, data=b"abc")
    # version 001, type 1 (file data), toward receiver, acknowledged, no CRC, small file;
    # octet 3: segctl 0, eid len-1 = 1, no segment metadata, seq len-1 = 2.
    expected = (
        _table_5_1_header(0b0011_0000, 4 + 3, 0b0001_0010, IDS) + bytes.fromhex("00000010") + b"abc"
    )
    assert pdu.encode() == expected
    assert decode_pdu(expected) == pdu


def test_file_data_with_segment_metadata_large_file_and_crc() -> None:
    config = PduConfig(1, 1, crc=True, large_file=True)
    header = PduHeader(config, 1, 2, 3, TransmissionMode.UNACKNOWLEDGED, segmentation_control=True)
    meta = SegmentMetadata(RecordContinuationState.START_AND_END, b"\xaa\xbb")
    pdu = FileDataPdu(header, offset=2**40, data=b"xyz", segment_metadata=meta)
    body = bytes((0b11_000010,)) + b"\xaa\xbb" + (2**40).to_bytes(8, "big") + b"xyz"
    head = _table_5_1_header(0b0011_0111, len(body) + 2, 0b1000_1000, b"\x01\x02\x03")
    crc = crc16_ccitt(head + body).to_bytes(2, "big")
    assert pdu.encode() == head + body + crc
    assert decode_pdu(head + body + crc) == pdu


def test_directive_vectors() -> None:
    back = HEADER.replace(direction=Direction.TOWARD_SENDER)
    cases = [
        (EofPdu(HEADER, file_checksum=0x9F686A6C, file_size=9), 0, "04009f686a6c00000009"),
        (
            EofPdu(HEADER, ConditionCode.CANCEL_REQUEST_RECEIVED, 0, 5, EntityIdTlv(0x0607, 2)),
            0,
            "04f0000000000000000506020607",
        ),
        (FinishedPdu(back), 1, "0502"),
        (
            FinishedPdu(
                back,
                ConditionCode.FILESTORE_REJECTION,
                DeliveryCode.DATA_INCOMPLETE,
                FileStatus.DISCARDED_FILESTORE_REJECTION,
                [FilestoreResponse(FilestoreAction.DELETE_FILE, 1, b"a", None, b"")],
                EntityIdTlv(7),
            ),
            1,
            "0545010411016100060107",
        ),
        (
            AckPdu(
                HEADER, DirectiveCode.FINISHED, ConditionCode.NO_ERROR, TransactionStatus.TERMINATED
            ),
            0,
            "065102",
        ),
        (
            AckPdu(back, DirectiveCode.EOF, ConditionCode.NO_ERROR, TransactionStatus.ACTIVE),
            1,
            "064001",
        ),
        (
            MetadataPdu(
                HEADER, 1000, b"src", b"dst", ChecksumType.CRC32, True, [MessageToUser(b"hi")]
            ),
            0,
            "0743000003e8037372630364737402026869",
        ),
        (
            NakPdu(back, 0, 100, [(0, 0), (10, 20)]),
            1,
            "08000000000000006400000000000000000000000a00000014",
        ),
        (PromptPdu(HEADER, ResponseRequired.KEEP_ALIVE), 0, "0980"),
        (KeepAlivePdu(back, 12345), 1, "0c00003039"),
    ]
    for pdu, direction, body_hex in cases:
        body = bytes.fromhex(body_hex)
        expected = _table_5_1_header(0b0010_0000 | direction << 3, len(body), 0b0001_0010, IDS)
        assert pdu.encode() == expected + body, pdu
        assert decode_pdu(expected + body) == pdu


@given(pdus())
def test_round_trip(pdu: FileDataPdu) -> None:
    raw = pdu.encode()
    assert pdu_length(raw) == len(raw)
    decoded = decode_pdu(raw)
    assert decoded == pdu
    assert hash(decoded) == hash(pdu)
    assert decoded.encode() == raw
    assert type(pdu).decode(memoryview(raw)) == pdu
    assert pickle.loads(pickle.dumps(pdu)) == pdu


@given(pdus())
def test_ids_keep_their_configured_length(pdu: FileDataPdu) -> None:
    header = decode_pdu(pdu.encode()).header
    assert header.config == pdu.header.config
    assert header.length == pdu.header.config.header_length


@given(st.binary(max_size=120))
def test_any_bytes_decode_or_decode_error(data: bytes) -> None:
    try:
        pdu = decode_pdu(data)
    except DecodeError:
        return
    assert decode_pdu(pdu.encode()) == pdu


@given(pdus(), st.data())
def test_mutated_pdu_decodes_or_raises_decode_error(pdu: FileDataPdu, data: st.DataObject) -> None:
    raw = bytearray(pdu.encode())
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_pdu(bytes(raw))
    except DecodeError:
        return
    assert decode_pdu(decoded.encode()) == decoded


@given(pdus())
def test_every_truncation_is_a_decode_error(pdu: FileDataPdu) -> None:
    raw = pdu.encode()
    for cut in range(len(raw)):
        with pytest.raises(DecodeError):
            decode_pdu(raw[:cut])
    with pytest.raises(DecodeError, match="trailing"):
        decode_pdu(raw + b"\x00")


@given(
    file_data_pdus(
        header=headers(
            st.builds(PduConfig, st.integers(1, 8), st.integers(1, 8), crc=st.just(True))
        )
    ),
    st.data(),
)
def test_crc_error_carries_expected_and_got(pdu: FileDataPdu, data: st.DataObject) -> None:
    raw = bytearray(pdu.encode())
    index = data.draw(st.integers(pdu.header.length, len(raw) - 1))
    raw[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises(CrcError) as info:
        decode_pdu(bytes(raw))
    error = info.value
    assert error.expected == crc16_ccitt(bytes(raw[:-2]))
    assert error.got == int.from_bytes(raw[-2:], "big")
    try:  # without the check the corrupted body may still parse, or be malformed
        decode_pdu(bytes(raw), verify_crc=False)
    except CrcError:
        raise AssertionError("verify_crc=False still checked the CRC") from None
    except DecodeError:
        pass


def test_header_errors() -> None:
    good = FileDataPdu(HEADER, 0, b"x").encode()
    with pytest.raises(DecodeError, match="version") as info:
        decode_pdu(b"\x00" + good[1:])
    assert info.value.expected == 1 and info.value.got == 0
    with pytest.raises(DecodeError, match="reserved file directive code") as info:
        decode_pdu(_table_5_1_header(0x20, 1, 0x12, IDS) + b"\x0a")
    assert info.value.offset == 11
    with pytest.raises(DecodeError, match="ACK of a directive"):
        decode_pdu(_table_5_1_header(0x20, 3, 0x12, IDS) + bytes.fromhex("067000"))
    with pytest.raises(DecodeError, match="fault location present"):
        decode_pdu(
            _table_5_1_header(0x20, 13, 0x12, IDS) + bytes.fromhex("04000000000000000000060101")
        )
    with pytest.raises(DecodeError, match="segment request ends before"):
        decode_pdu(
            _table_5_1_header(0x28, 17, 0x12, IDS)
            + bytes.fromhex("0800000000000000100000000500000004")
        )
    with pytest.raises(DecodeError):
        decode_pdu(b"")


def test_pdu_decode_wants_its_own_type() -> None:
    raw = PromptPdu(HEADER).encode()
    with pytest.raises(DecodeError, match="not a EofPdu"):
        EofPdu.decode(raw)


def test_field_validation() -> None:
    with pytest.raises(UsageError, match="does not fit in 2 octet"):
        PduHeader(CONFIG, 0x10000, 0, 0)
    with pytest.raises(UsageError, match="1 to 8 octets"):
        PduConfig(entity_id_length=9)
    with pytest.raises(UsageError, match="32 bits"):
        FileDataPdu(HEADER, 2**32, b"")
    with pytest.raises(UsageError, match="fault_location must be None"):
        EofPdu(HEADER, ConditionCode.NO_ERROR, 0, 0, EntityIdTlv(1))
    with pytest.raises(UsageError, match="only EOF and Finished"):
        AckPdu(HEADER, DirectiveCode.NAK)
    with pytest.raises(UsageError, match="ends before it starts"):
        NakPdu(HEADER, 0, 10, [(5, 4)])
    with pytest.raises(UsageError, match="16-bit length field"):
        FileDataPdu(HEADER, 0, bytes(70000)).encode()
    with pytest.raises(UsageError, match="options takes"):
        MetadataPdu(HEADER, 0, b"", b"", options=[EntityIdTlv(1)])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="second_file_name"):
        FilestoreRequest(FilestoreAction.RENAME_FILE, b"a")
    with pytest.raises(AttributeError, match="immutable"):
        HEADER.source_entity_id = 3  # type: ignore[misc]


def test_unknown_checksum_type_is_kept() -> None:
    # A receiver must answer an unknown checksum type with a condition code, so the
    # decoder keeps it rather than refusing the Metadata PDU.
    pdu = MetadataPdu(HEADER, 0, b"a", b"b", checksum_type=7)
    assert decode_pdu(pdu.encode()).checksum_type == 7  # type: ignore[attr-defined]
    assert MetadataPdu(HEADER, 0, b"a", b"b", 3).checksum_type is ChecksumType.CRC32


def test_spare_bits_are_ignored() -> None:
    raw = bytearray(PromptPdu(HEADER, ResponseRequired.NAK).encode())
    raw[-1] |= 0x7F
    assert decode_pdu(bytes(raw)) == PromptPdu(HEADER, ResponseRequired.NAK)


def test_repr_shows_fields() -> None:
    pdu = FileDataPdu(HEADER, 7, bytes(100))
    assert "offset=7" in repr(pdu) and "<100 octets" in repr(pdu)
    assert FilestoreRequest(FilestoreAction.DELETE_FILE, "é").first_file_name == "é".encode()
