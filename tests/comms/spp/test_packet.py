"""SpacePacket: vectors, construction checks, decode errors, round trips."""

from __future__ import annotations

import doctest
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import comms.spp.packet
import comms.spp.segmentation
import comms.spp.sequence
from comms.errors import DecodeError, UsageError
from comms.spp import IDLE_APID, PacketType, SequenceFlags, SpacePacket
from tests.comms.spp.strategies import packets

# shared/REFERENCES.md (from 133.0-B-2 4.1.3): TC header 18 02 40 34 00 16 is APID 2,
# secondary header, first segment, count 0x34, 23 data octets.
TC_HEADER = bytes.fromhex("180240340016")


def test_reference_tc_header_decodes() -> None:
    data = bytes(range(23))
    packet = SpacePacket.decode(TC_HEADER + data)
    assert packet.version == 0
    assert packet.packet_type is PacketType.TC
    assert packet.sec_header_flag is True
    assert packet.apid == 2
    assert packet.sequence_flags is SequenceFlags.FIRST
    assert packet.sequence_count == 0x34
    assert packet.data_length == 0x16
    assert packet.packet_length == 6 + 23
    assert len(packet) == 29
    assert packet.data == data
    assert not packet.is_idle


def test_reference_tc_header_encodes() -> None:
    packet = SpacePacket(
        apid=2,
        data=bytes(23),
        packet_type=PacketType.TC,
        sec_header_flag=True,
        sequence_flags=SequenceFlags.FIRST,
        sequence_count=0x34,
    )
    assert packet.encode()[:6] == TC_HEADER
    assert bytes(packet) == packet.encode()


def test_field_extremes_encode_to_expected_bits() -> None:
    # All header bits set but the version: APID 0x7FF, count 0x3FFF, 65536 octets.
    packet = SpacePacket(
        apid=IDLE_APID,
        data=bytes(65536),
        packet_type=PacketType.TC,
        sec_header_flag=True,
        sequence_flags=SequenceFlags.UNSEGMENTED,
        sequence_count=0x3FFF,
    )
    assert packet.encode()[:6] == bytes.fromhex("1FFFFFFFFFFF")
    assert packet.is_idle
    # Defaults: TM, no secondary header, unsegmented, count 0.
    assert SpacePacket(apid=0, data=b"\x00").encode() == bytes.fromhex("0000C000000000")


def test_version_other_than_zero_can_be_built_but_not_decoded() -> None:
    packet = SpacePacket(apid=1, data=b"x", version=5)
    assert packet.version == 5
    assert "version=5" in repr(packet)
    with pytest.raises(DecodeError) as info:
        SpacePacket.decode(packet.encode())
    assert (info.value.offset, info.value.expected, info.value.got) == (0, 0, 5)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("apid", -1),
        ("apid", 2048),
        ("apid", 1.0),
        ("apid", True),
        ("sequence_count", 16384),
        ("sequence_count", -1),
        ("version", 8),
        ("packet_type", 2),
        ("sequence_flags", 4),
        ("sec_header_flag", 2),
        ("sec_header_flag", "yes"),
        ("data", b""),
        ("data", bytes(65537)),
        ("data", "text"),
    ],
)
def test_construction_rejects_bad_fields(field: str, value: object) -> None:
    fields: dict[str, object] = {"apid": 1, "data": b"x", field: value}
    with pytest.raises(UsageError) as info:
        SpacePacket(**fields)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.endswith(".")
    assert field in message or "data field" in message


def test_construction_accepts_plain_ints_and_buffers() -> None:
    packet = SpacePacket(
        apid=7,
        data=memoryview(bytearray(b"abc")),
        packet_type=1,
        sec_header_flag=1,  # type: ignore[arg-type]
        sequence_flags=0,
    )
    assert packet.packet_type is PacketType.TC
    assert packet.sec_header_flag is True
    assert packet.sequence_flags is SequenceFlags.CONTINUATION
    assert packet.data == b"abc"


def test_immutable() -> None:
    packet = SpacePacket(apid=1, data=b"x")
    with pytest.raises(AttributeError):
        packet.apid = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        packet.extra = 1  # type: ignore[attr-defined]
    changed = packet.replace(apid=2, sequence_count=9)
    assert (changed.apid, changed.sequence_count, changed.data) == (2, 9, b"x")
    assert packet.apid == 1
    with pytest.raises(UsageError):
        packet.replace(apid=4096)


def test_value_semantics_and_repr() -> None:
    a = SpacePacket(apid=3, data=b"hello", sequence_count=4)
    b = SpacePacket.decode(bytearray(a.encode()))
    assert a == b and hash(a) == hash(b)
    assert a != a.replace(sequence_count=5)
    assert a != a.encode()  # not equal to its bytes
    assert len({a, b}) == 1
    assert eval(repr(a)) == a  # the repr is the constructor call
    assert "<100 octets" in repr(SpacePacket(apid=3, data=bytes(100)))
    assert pickle.loads(pickle.dumps(a)) == a


@pytest.mark.parametrize(
    ("buf", "offset", "expected", "got"),
    [
        (b"", 0, "at least 7 octets", 0),
        (bytes.fromhex("000100000000"), 6, "at least 7 octets", 6),  # header alone
        (bytes.fromhex("200100000000") + b"x", 0, 0, 1),  # version 1
        (bytes.fromhex("E00100000000") + b"x", 0, 0, 7),  # version 7
        (bytes.fromhex("000100000002") + b"xy", 8, "9 octets", 8),  # truncated
        (bytes.fromhex("000100000000") + b"xy", 7, "7 octets", 8),  # trailing octet
    ],
)
def test_decode_errors_say_where_and_what(
    buf: bytes, offset: int, expected: object, got: object
) -> None:
    with pytest.raises(DecodeError) as info:
        SpacePacket.decode(buf)
    assert (info.value.offset, info.value.expected, info.value.got) == (offset, expected, got)


@given(packets())
def test_round_trip(packet: SpacePacket) -> None:
    raw = packet.encode()
    assert len(raw) == 6 + len(packet.data) == packet.data_length + 7
    for buf in (raw, bytearray(raw), memoryview(raw)):
        decoded = SpacePacket.decode(buf)
        assert decoded == packet
        assert decoded.encode() == raw
    rebuilt = SpacePacket(
        apid=packet.apid,
        data=packet.data,
        packet_type=packet.packet_type,
        sec_header_flag=packet.sec_header_flag,
        sequence_flags=packet.sequence_flags,
        sequence_count=packet.sequence_count,
        version=packet.version,
    )
    assert rebuilt == packet


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_decode_error(buf: bytes) -> None:
    try:
        packet = SpacePacket.decode(buf)
    except DecodeError as exc:
        assert 0 <= exc.offset <= len(buf)
    else:
        assert packet.encode() == buf


@given(st.binary(min_size=1, max_size=40), st.binary(max_size=8))
def test_valid_header_any_payload(payload: bytes, tail: bytes) -> None:
    # Length-field edge cases are the likely ones: build a correct header, then
    # append 0..8 extra octets; only the exact length decodes.
    raw = SpacePacket(apid=5, data=payload).encode() + tail
    if tail:
        with pytest.raises(DecodeError):
            SpacePacket.decode(raw)
    else:
        assert SpacePacket.decode(raw).data == payload


@pytest.mark.parametrize("module", [comms.spp.packet, comms.spp.sequence, comms.spp.segmentation])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.failed == 0
