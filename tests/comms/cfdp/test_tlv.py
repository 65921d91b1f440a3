"""TLV round trips, vectors assembled from 727.0-B-5 5.4, and bad TLVs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import (
    ConditionCode,
    EntityIdTlv,
    FaultHandlerCode,
    FaultHandlerOverride,
    FilestoreAction,
    FilestoreRequest,
    FilestoreResponse,
    FlowLabel,
    MessageToUser,
    Tlv,
    UnknownTlv,
    decode_tlv,
)
from comms.errors import DecodeError, UsageError
from tests.comms.cfdp.strategies import tlvs


@given(tlvs)
def test_round_trip(tlv: Tlv) -> None:
    raw = tlv.encode()
    assert len(raw) == len(tlv)
    decoded, end = decode_tlv(raw, 0, len(raw))
    assert end == len(raw)
    assert decoded == tlv
    assert type(tlv).decode(raw) == tlv


@given(st.binary(max_size=40))
def test_any_bytes(data: bytes) -> None:
    try:
        tlv, end = decode_tlv(data, 0, len(data))
    except DecodeError:
        return
    assert end <= len(data)
    assert decode_tlv(tlv.encode(), 0, len(tlv))[0] == tlv


def test_vectors() -> None:
    # Type, length, value per 727.0-B-5 tables 5-15 .. 5-20, assembled by hand.
    assert FilestoreRequest(FilestoreAction.RENAME_FILE, b"a", b"bc").encode() == bytes.fromhex(
        "0006200161026263"
    )
    assert FilestoreRequest(FilestoreAction.DELETE_FILE, b"a").encode() == bytes.fromhex(
        "0003100161"
    )
    assert FilestoreResponse(
        FilestoreAction.APPEND_FILE, 2, b"a", b"b", b"no"
    ).encode() == bytes.fromhex("01083201610162026e6f")
    assert MessageToUser(b"hi").encode() == bytes.fromhex("02026869")
    assert FaultHandlerOverride(
        ConditionCode.FILE_CHECKSUM_FAILURE, FaultHandlerCode.IGNORE_ERROR
    ).encode() == bytes.fromhex("040153")
    assert FlowLabel(b"\x01").encode() == bytes.fromhex("050101")
    assert EntityIdTlv(0x0102, 4).encode() == bytes.fromhex("060400000102")
    assert EntityIdTlv(0).encode() == bytes.fromhex("060100")
    assert UnknownTlv(0x42, b"z").encode() == bytes.fromhex("42017a")


def test_status_names() -> None:
    response = FilestoreResponse(FilestoreAction.RENAME_FILE, 2, b"a", b"b")
    assert response.status_name == "new file name already exists"
    assert not response.successful
    with pytest.raises(UsageError, match="not defined for DENY_FILE"):
        FilestoreResponse(FilestoreAction.DENY_FILE, 1, b"a")


def test_bad_tlvs() -> None:
    with pytest.raises(DecodeError, match="reserved filestore action"):
        FilestoreRequest.decode(bytes.fromhex("00029000"))
    with pytest.raises(DecodeError, match="status code not defined"):
        FilestoreResponse.decode(bytes.fromhex("0103710000"))
    with pytest.raises(DecodeError, match="reserved fault handler code"):
        FaultHandlerOverride.decode(bytes.fromhex("040150"))
    with pytest.raises(DecodeError, match="1 to 8 octets"):
        EntityIdTlv.decode(bytes.fromhex("0600"))
    with pytest.raises(DecodeError, match="trailing"):
        FilestoreRequest.decode(bytes.fromhex("0003100000"))
    with pytest.raises(DecodeError, match="runs past"):
        decode_tlv(bytes.fromhex("020500"), 0, 3)
    with pytest.raises(DecodeError, match="not a FlowLabel"):
        FlowLabel.decode(MessageToUser(b"x").encode())
    with pytest.raises(UsageError, match="at most 255"):
        MessageToUser(bytes(256))
