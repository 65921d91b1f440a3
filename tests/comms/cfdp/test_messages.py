"""Reserved CFDP messages (727.0-B-5 section 6): round trips, vectors and bad content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import (
    DirectoryListingResponse,
    FilestoreAction,
    FilestoreRequest,
    MessageToUser,
    MetadataPdu,
    OriginatingTransactionId,
    PduConfig,
    PduHeader,
    ProxyFilestoreRequest,
    ProxyPutCancel,
    ProxyPutRequest,
    ProxySegmentationControl,
    RemoteStatusReportResponse,
    RemoteSuspendResponse,
    ReservedMessage,
    TransactionId,
    TransactionStatus,
    decode_pdu,
    decode_reserved_message,
)
from comms.errors import DecodeError
from tests.comms.cfdp.strategies import reserved_messages


@given(reserved_messages)
def test_round_trip(message: ReservedMessage) -> None:
    raw = message.encode()
    assert raw[:4] == b"cfdp" and raw[4] == message.message_type
    assert decode_reserved_message(raw) == message
    assert type(message).decode(raw) == message
    assert message.to_tlv().reserved_message() == message


@given(st.lists(reserved_messages, max_size=4))
def test_carried_in_metadata(messages: list[ReservedMessage]) -> None:
    header = PduHeader(PduConfig(), 1, 2, 3)
    pdu = MetadataPdu(header, 0, b"", b"", options=[m.to_tlv() for m in messages])
    decoded = decode_pdu(pdu.encode())
    assert isinstance(decoded, MetadataPdu)
    assert [tlv.reserved_message() for tlv in decoded.messages_to_user()] == messages


@given(st.binary(max_size=40))
def test_any_content_decodes_or_raises_decode_error(content: bytes) -> None:
    for message_type in (0x00, 0x02, 0x0A, 0x11, 0x20, 0x21, 0x31, 0x40):
        try:
            message = decode_reserved_message(b"cfdp" + bytes((message_type,)) + content)
        except DecodeError:
            continue
        assert decode_reserved_message(message.encode()) == message


def test_vectors() -> None:
    # Layouts from 727.0-B-5 tables 6-2 .. 6-25, assembled by hand.
    assert ProxyPutRequest(0x0102, b"a", b"", 2).encode() == b"cfdp\x00" + bytes.fromhex(
        "020102016100"
    )
    assert OriginatingTransactionId(TransactionId(5, 0x0102, 1, 3)).encode() == (
        b"cfdp\x0a" + bytes.fromhex("0205000102")
    )
    assert ProxyFilestoreRequest(
        FilestoreRequest(FilestoreAction.CREATE_FILE, b"f")
    ).encode() == b"cfdp\x02" + bytes.fromhex("03000166")
    assert ProxyPutCancel().encode() == b"cfdp\x09"
    # Directory listing success is 0 in the top bit; status report success is 1 in bit 0.
    assert DirectoryListingResponse(False, b"d", b"").encode() == b"cfdp\x11" + bytes.fromhex(
        "80016400"
    )
    assert RemoteStatusReportResponse(
        TransactionId(1, 2), TransactionStatus.ACTIVE, True
    ).encode() == b"cfdp\x21" + bytes.fromhex("41000102")
    assert RemoteSuspendResponse(
        TransactionId(1, 2), TransactionStatus.TERMINATED, True
    ).encode() == b"cfdp\x31" + bytes.fromhex("c0000102")
    assert ProxySegmentationControl(True).encode() == b"cfdp\x06\x00"


def test_bad_messages() -> None:
    with pytest.raises(DecodeError, match="not a reserved"):
        decode_reserved_message(b"cfd")
    with pytest.raises(DecodeError, match="unknown reserved"):
        decode_reserved_message(b"cfdp\x40")
    with pytest.raises(DecodeError, match="trailing"):
        decode_reserved_message(b"cfdp\x09\x00")
    with pytest.raises(DecodeError, match="transaction id runs past"):
        decode_reserved_message(b"cfdp\x30\x77\x00")
    with pytest.raises(DecodeError, match="1 to 8 octets"):
        decode_reserved_message(b"cfdp\x00\x00\x00\x00")
    assert MessageToUser(b"hello").reserved_message() is None
