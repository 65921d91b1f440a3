"""Product decoders (raw, JSON, CBOR, struct), spacecraft time, message ids, envelopes."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.spp import SpacePacket
from comms.time import CdsTime, CucTime
from gateway.config import Decoder, RouteConfig
from gateway.messages import Topics
from gateway.products import (
    ProductError,
    ProductRoute,
    TimeCode,
    TimeFormat,
    build_message,
    decode_cbor,
    error_message,
    packet_message_id,
)

TOPICS = Topics("dawnlink", "dawn")

# RFC 8949 Appendix A, "Examples of Encoded CBOR Data Items", converted to JSON values as
# section 6.1 says (byte strings base64url without padding, NaN/Infinity null, map keys
# as their JSON text).
RFC8949_VECTORS: list[tuple[str, Any]] = [
    ("00", 0),
    ("17", 23),
    ("1818", 24),
    ("1903e8", 1000),
    ("1a000f4240", 1000000),
    ("1b000000e8d4a51000", 1000000000000),
    ("1bffffffffffffffff", 18446744073709551615),
    ("20", -1),
    ("3863", -100),
    ("3903e7", -1000),
    ("f90000", 0.0),
    ("f93c00", 1.0),
    ("fb3ff199999999999a", 1.1),
    ("f93e00", 1.5),
    ("f97bff", 65504.0),
    ("fa47c35000", 100000.0),
    ("fb7e37e43c8800759c", 1.0e300),
    ("f90001", 5.960464477539063e-8),
    ("f9c400", -4.0),
    ("f97c00", None),  # Infinity
    ("f97e00", None),  # NaN
    ("fa7f800000", None),  # Infinity, single
    ("f4", False),
    ("f5", True),
    ("f6", None),
    ("f7", None),  # undefined
    ("c074323031332d30332d32315432303a30343a30305a", "2013-03-21T20:04:00Z"),
    ("c11a514b67b0", 1363896240),
    ("40", ""),
    ("4401020304", "AQIDBA"),
    ("60", ""),
    ("6161", "a"),
    ("6449455446", "IETF"),
    ("62225c", '"\\'),
    ("62c3bc", "\u00fc"),
    ("63e6b0b4", "\u6c34"),
    ("80", []),
    ("83010203", [1, 2, 3]),
    ("8301820203820405", [1, [2, 3], [4, 5]]),
    ("a0", {}),
    ("a201020304", {"1": 2, "3": 4}),
    ("a26161016162820203", {"a": 1, "b": [2, 3]}),
    ("826161a161626163", ["a", {"b": "c"}]),
    ("5f42010243030405ff", "AQIDBAU"),
    ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []),
    ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
    ("83018202039f0405ff", [1, [2, 3], [4, 5]]),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}),
]


@pytest.mark.parametrize(("hex_item", "value"), RFC8949_VECTORS)
def test_cbor_rfc8949_appendix_a(hex_item: str, value: Any) -> None:
    assert decode_cbor(bytes.fromhex(hex_item)) == value


@pytest.mark.parametrize(
    ("hex_item", "reason"),
    [
        ("", "truncated"),
        ("19", "truncated"),
        ("62c3", "truncated"),
        ("1c", "reserved"),
        ("ff", "break"),
        ("8201", "truncated"),
        ("9f01", "truncated"),
        ("0000", "after"),
        ("62c328", "UTF-8"),
        ("5f6161ff", "another type"),
        ("a1ff01", "break"),
        ("9b" + "ff" * 8, "truncated"),
        ("81" * 70 + "00", "deeply"),
    ],
)
def test_cbor_bad_input_is_a_product_error(hex_item: str, reason: str) -> None:
    with pytest.raises(ProductError, match=reason):
        decode_cbor(bytes.fromhex(hex_item))


@given(st.binary(max_size=64))
def test_cbor_any_bytes_value_or_product_error(data: bytes) -> None:
    try:
        value = decode_cbor(data)
    except ProductError:
        return
    json.dumps(value, allow_nan=False)  # always JSON-ready


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_json_route_round_trip(value: Any) -> None:
    route = ProductRoute(5, "p", Decoder.JSON)
    assert route.decode(json.dumps(value).encode()) == value


@given(st.binary(max_size=64))
def test_json_any_bytes_value_or_product_error(data: bytes) -> None:
    route = ProductRoute(5, "p", Decoder.JSON)
    try:
        value = route.decode(data)
    except ProductError:
        return
    json.dumps(value, allow_nan=False)


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"{", "does not parse"), (b"\xff", "UTF-8"), (b"NaN", "does not parse")],
)
def test_bad_json_is_a_product_error(data: bytes, reason: str) -> None:
    with pytest.raises(ProductError, match=reason):
        ProductRoute(5, "p", Decoder.JSON).decode(data)


def test_deep_json_is_refused() -> None:
    with pytest.raises(ProductError, match="deeply"):
        ProductRoute(5, "p", Decoder.JSON).decode(b"[" * 100 + b"]" * 100)


def test_struct_route_names_the_fields() -> None:
    route = ProductRoute(7, "hk", Decoder.STRUCT, ">fH4s", ("temp_c", "count", "tag"))
    value = route.decode(b"\x41\xc8\x00\x00\x00\x07ABCD")
    assert value == {"temp_c": 25.0, "count": 7, "tag": "QUJDRA"}
    with pytest.raises(ProductError, match="wants exactly 10 octets") as info:
        route.decode(b"\x41\xc8\x00")
    assert info.value.expected == 10 and info.value.got == 3
    assert route.decode(b"\x7f\xc0\x00\x00" + bytes(6))["temp_c"] is None  # NaN -> null


def test_route_validation() -> None:
    with pytest.raises(UsageError, match="one field per value"):
        ProductRoute(7, "hk", Decoder.STRUCT, ">fH", ("temp_c",))
    with pytest.raises(UsageError, match="struct format"):
        ProductRoute(7, "hk", Decoder.STRUCT, ">q?x!", ("a",))
    with pytest.raises(UsageError, match="idle packet"):
        ProductRoute(0x7FF, "idle")
    route = ProductRoute.from_config(
        RouteConfig(apid=3, product="hk", decoder=Decoder.STRUCT, format=">H", fields=("n",))
    )
    assert route.decode(b"\x00\x05") == {"n": 5}


# -- spacecraft time, ids and envelopes ----------------------------------------------------

T0 = datetime(2030, 6, 21, 6, 0, 0, tzinfo=UTC)


def timed_packet(
    data: bytes, *, seq: int = 9, apid: int = 0x42, when: datetime = T0
) -> SpacePacket:
    cuc = CucTime.from_datetime(when, with_pfield=False)
    return SpacePacket(
        apid=apid, data=cuc.encode() + data, sequence_count=seq, sec_header_flag=True
    )


def envelope_of(message_payload: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(message_payload)
    return value


def test_message_with_cuc_time_and_json_product() -> None:
    route = ProductRoute(0x42, "status", Decoder.JSON, time=TimeCode(TimeFormat.CUC))
    packet = timed_packet(b'{"ok": true}')
    message = build_message(
        route, packet, scid=42, topics=TOPICS, ert=T0.timestamp() + 0.01, stations=("A", "B")
    )
    assert message.topic == "dawnlink/dawn/products/status"
    body = envelope_of(message.payload)
    assert body["data"] == {"ok": True} and body["encoding"] == "json"
    assert body["sct"] == pytest.approx(T0.timestamp(), abs=1e-4)
    assert body["stations"] == ["A", "B"] and body["apid"] == 0x42 and body["seq"] == 9
    assert body["id"] == message.message_id
    # The same packet received later, by another station: the same id.
    again = build_message(
        route, packet, scid=42, topics=TOPICS, ert=T0.timestamp() + 500, stations=("C",)
    )
    assert again.message_id == message.message_id
    # The next packet (count + 1) or another time: another id.
    other = build_message(
        route, timed_packet(b'{"ok": true}', seq=10), scid=42, topics=TOPICS, ert=0, stations=()
    )
    assert other.message_id != message.message_id


def test_cds_time_with_pfield() -> None:
    cds = CdsTime.from_datetime(T0, submilli_octets=2)
    packet = SpacePacket(apid=3, data=cds.encode() + b"\x01\x02", sec_header_flag=True)
    route = ProductRoute(3, "raw", time=TimeCode(TimeFormat.CDS, pfield=True))
    body = envelope_of(
        build_message(route, packet, scid=1, topics=TOPICS, ert=0, stations=()).payload
    )
    assert body["sct"] == T0.timestamp()
    assert base64.b64decode(body["data"]) == b"\x01\x02"


def test_ids_without_spacecraft_time_use_the_ert_window() -> None:
    packet = SpacePacket(apid=3, data=b"x", sequence_count=100)
    first = packet_message_id(1, packet, time_octets=None, ert=120.0, ert_window_s=60)
    assert packet_message_id(1, packet, time_octets=None, ert=179.9, ert_window_s=60) == first
    assert packet_message_id(1, packet, time_octets=None, ert=180.0, ert_window_s=60) != first
    # Same count after a wrap, different data: different id even in the same window.
    other = SpacePacket(apid=3, data=b"y", sequence_count=100)
    assert packet_message_id(1, other, time_octets=None, ert=120.0, ert_window_s=60) != first


def test_undecodable_time_is_a_product_error() -> None:
    packet = SpacePacket(apid=3, data=b"\x01", sec_header_flag=True)
    route = ProductRoute(3, "raw", time=TimeCode(TimeFormat.CUC))
    with pytest.raises(ProductError, match="spacecraft time"):
        build_message(route, packet, scid=1, topics=TOPICS, ert=0, stations=())


def test_error_message_carries_reason_and_packet() -> None:
    route = ProductRoute(3, "hk", Decoder.JSON)
    packet = SpacePacket(apid=3, data=b"{oops")
    try:
        route.decode(packet.data)
    except DecodeError as exc:
        message = error_message(route, packet, exc, scid=1, topics=TOPICS, ert=5.0, stations=("A",))
    assert message.topic == "dawnlink/dawn/errors"
    body = envelope_of(message.payload)
    assert "does not parse" in body["error"] and body["product"] == "hk"
    assert base64.b64decode(body["data"]) == packet.encode()


def test_raw_payload_option() -> None:
    route = ProductRoute(3, "blob")
    packet = SpacePacket(apid=3, data=b"\x00\x01")
    message = build_message(
        route, packet, scid=1, topics=TOPICS, ert=0, stations=(), raw_payload=True
    )
    assert message.payload == b"\x00\x01"
