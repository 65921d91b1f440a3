"""The sans-I/O MQTT publisher codec: packet octets against the OASIS specs, the
window, PUBACK parsing on any split, and every refusal as its documented error."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from gateway.mqtt_wire import BrokerRefused, PublisherWire, WireError, encode_varint

CONNACK_311 = b"\x20\x02\x00\x00"
# MQTT 5 CONNACK: no session, success, properties: Receive Maximum 20 (as Mosquitto's
# default max_inflight_messages grants), Maximum Packet Size 1000, a user property.
CONNACK_5 = b"\x20\x12\x00\x00\x0f\x21\x00\x14\x27\x00\x00\x03\xe8\x26\x00\x01k\x00\x01v"


def connected(protocol: int = 4, window: int = 64, connack: bytes = CONNACK_311) -> PublisherWire:
    wire = PublisherWire(client_id="c", protocol=protocol, window=window)
    assert wire.receive_data(connack) == []
    return wire


@pytest.mark.parametrize(
    ("value", "octets"),
    # MQTT 5.0 section 1.5.5, table 1-1: the boundaries of each length.
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (2097151, b"\xff\xff\x7f"),
        (2097152, b"\x80\x80\x80\x01"),
        (268435455, b"\xff\xff\xff\x7f"),
    ],
)
def test_varint_vectors(value: int, octets: bytes) -> None:
    assert encode_varint(value) == octets


def test_varint_out_of_range() -> None:
    with pytest.raises(UsageError):
        encode_varint(268435456)


def test_connect_311_and_5() -> None:
    # 3.1.1 section 3.1: protocol name, level 4, flags clean|user|password, keep alive.
    wire = PublisherWire(client_id="id", protocol=3, keepalive_s=60, username="u", password=b"p")
    body = b"\x00\x04MQTT\x04\xc2\x00\x3c" + b"\x00\x02id" + b"\x00\x01u" + b"\x00\x01p"
    assert wire.connect() == bytes((0x10, len(body))) + body
    # 5.0 section 3.1: level 5 and an empty property length after the keep alive.
    wire5 = PublisherWire(client_id="id", protocol=5, keepalive_s=10)
    body5 = b"\x00\x04MQTT\x05\x02\x00\x0a\x00" + b"\x00\x02id"
    assert wire5.connect() == bytes((0x10, len(body5))) + body5


def test_publish_octets_311_and_5() -> None:
    wire = connected()
    # QoS 1, no retain: topic "a/b", packet identifier 1, payload "x".
    assert wire.publish("a/b", b"x", message_id="m") == b"\x32\x08\x00\x03a/b\x00\x01x"
    assert wire.publish("a/b", b"", qos=0, retain=True) == b"\x31\x05\x00\x03a/b"
    wire5 = connected(5, connack=CONNACK_5)
    # 5.0: properties after the packet identifier: user property (0x26) "message-id"="m".
    prop = b"\x26\x00\x0amessage-id\x00\x01m"
    body = b"\x00\x03a/b\x00\x01" + bytes((len(prop),)) + prop + b"x"
    assert wire5.publish("a/b", b"x", message_id="m") == bytes((0x32, len(body))) + body
    assert wire5.publish("a/b", b"x", qos=0) == b"\x30\x07\x00\x03a/b\x00x"


def test_connack_5_grants_the_window_and_packet_size() -> None:
    wire = connected(5, window=64, connack=CONNACK_5)
    assert wire.window == 20 and wire.free == 20
    assert wire.connack is not None and wire.connack.maximum_packet_size == 1000
    with pytest.raises(UsageError, match="Maximum Packet Size"):
        wire.publish("t", bytes(1000))
    assert wire.free == 20  # the refused publish took no slot


def test_window_fills_and_pubacks_free_it_in_any_order() -> None:
    wire = connected(window=3)
    packets = [wire.publish("t", b"", token=f"row{i}") for i in range(3)]
    assert wire.free == 0
    with pytest.raises(UsageError, match="window is full"):
        wire.publish("t", b"")
    ids = [p[-2:] for p in packets]  # the packet identifier closes an empty publish
    assert wire.receive_data(b"\x40\x02" + ids[2] + b"\x40\x02" + ids[0]) == ["row2", "row0"]
    assert wire.free == 2 and wire.unacknowledged() == ["row1"]
    # A freed identifier is not reused while another is in flight.
    new = wire.publish("t", b"", token="row3")
    assert new[-2:] != ids[1]


def test_publish_before_connack_is_refused() -> None:
    wire = PublisherWire(client_id="c")
    with pytest.raises(UsageError):
        wire.publish("t", b"", qos=0)
    assert wire.free == 0


@given(
    n=st.integers(1, 20),  # within the Receive Maximum of CONNACK_5
    v5=st.booleans(),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_pubacks_parse_on_any_split(n: int, v5: bool, cuts: list[int]) -> None:
    wire = PublisherWire(client_id="c", protocol=5 if v5 else 4, window=64)
    stream = bytearray(CONNACK_5 if v5 else CONNACK_311)
    ids = []
    for i in range(n):
        if i == 0:
            assert wire.receive_data(bytes(stream)) == []
            stream.clear()
        packet = wire.publish("t", b"", token=i)
        # The identifier closes an empty publish (5: before the empty properties).
        ids.append(packet[-3:-1] if v5 else packet[-2:])
    for i, pid in enumerate(ids):
        # Each PUBACK form the specs allow: bare (3.1.1, 5 success), with a success
        # reason code (5: 0x10 no matching subscribers), with empty properties.
        if v5 and i % 3 == 1:
            stream += b"\x40\x03" + pid + b"\x10"
        elif v5 and i % 3 == 2:
            stream += b"\x40\x04" + pid + b"\x00\x00"
        else:
            stream += b"\x40\x02" + pid
        if i % 7 == 3:
            wire.ping()
            stream += b"\xd0\x00"
    points = sorted({c % (len(stream) + 1) for c in cuts})
    got: list[object] = []
    last = 0
    for point in [*points, len(stream)]:
        got += wire.receive_data(bytes(stream[last:point]))
        last = point
    assert got == list(range(n))
    assert wire.free == wire.window and wire.pings_pending == 0


def test_refusals_are_documented_errors() -> None:
    with pytest.raises(BrokerRefused) as refused:
        PublisherWire(client_id="c").receive_data(b"\x20\x02\x00\x05")  # not authorized
    assert refused.value.reason_code == 5
    wire = connected(5, connack=CONNACK_5)
    pid = wire.publish("t", b"")[-3:-1]
    # 0x87 not authorized, with a reason string property.
    with pytest.raises(BrokerRefused, match=r"0x87 \(nope\)") as refused:
        wire.receive_data(b"\x40\x0b" + pid + b"\x87\x07\x1f\x00\x04nope")
    assert refused.value.reason_code == 0x87
    with pytest.raises(BrokerRefused, match="disconnected us"):
        connected(5, connack=CONNACK_5).receive_data(b"\xe0\x02\x8b\x00")  # shutting down
    with pytest.raises(WireError, match="not in flight"):
        connected().receive_data(b"\x40\x02\x12\x34")
    with pytest.raises(WireError, match="unexpected MQTT packet type 9"):
        connected().receive_data(b"\x90\x03\x00\x01\x00")  # a SUBACK we never asked for
    with pytest.raises(WireError, match="second CONNACK"):
        connected().receive_data(CONNACK_311)
    with pytest.raises(WireError, match="remaining length"):
        connected().receive_data(b"\x40\xff\xff\xff\xff\x01")


@given(st.binary(max_size=64))
def test_any_octets_are_accepted_or_a_wire_error(data: bytes) -> None:
    wire = connected(5, connack=CONNACK_5)
    for i in range(4):
        wire.publish("t", b"", token=i)
    with contextlib.suppress(WireError):
        wire.receive_data(data)


def test_bad_options() -> None:
    with pytest.raises(UsageError):
        PublisherWire(client_id="c", protocol=6)
    with pytest.raises(UsageError):
        PublisherWire(client_id="c", window=0)
    with pytest.raises(UsageError):
        PublisherWire(client_id="c", protocol=4, password=b"p")
    with pytest.raises(UsageError):
        connected().publish("a/#", b"")
    with pytest.raises(UsageError):
        connected().publish("t", b"", qos=2)


def test_unsolicited_publishes_are_acknowledged_and_dropped() -> None:
    # amqtt 0.11 sends PUBLISHes to a connection that subscribed to nothing; the
    # protocol still wants them acknowledged (MQTT 3.1.1 section 4.3.2 and 4.3.3).
    wire = connected()
    token_pid = wire.publish("t", b"x", token="ours")[-3:-1]
    qos0 = b"\x30\x04\x00\x01ax"  # topic "a", payload "x"
    qos1 = b"\x32\x06\x00\x01a\x12\x34x"  # packet id 0x1234
    qos2 = b"\x34\x06\x00\x01a\x00\x07x"  # packet id 7
    pubrel = b"\x62\x02\x00\x07"
    puback = b"\x40\x02" + token_pid
    acked = wire.receive_data(qos0 + qos1 + puback + qos2 + pubrel)
    assert acked == ["ours"] and wire.unsolicited == 3
    assert wire.take_replies() == b"\x40\x02\x12\x34" + b"\x50\x02\x00\x07" + b"\x70\x02\x00\x07"
    assert wire.take_replies() == b""
    with pytest.raises(WireError, match="QoS 3"):
        wire.receive_data(b"\x36\x06\x00\x01a\x00\x07x")
    with pytest.raises(WireError, match="shorter than its topic"):
        connected().receive_data(b"\x32\x03\x00\x05a")
