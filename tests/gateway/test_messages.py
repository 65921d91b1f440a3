"""gateway.messages: topics, stable ids and the JSON envelope; gateway.metrics rendering."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from gateway.messages import OutboxMessage, Topics, envelope, message_id
from gateway.metrics import Registry


def test_topic_scheme() -> None:
    t = Topics("dawnlink", "dawn-1")
    assert t.status == "dawnlink/dawn-1/status"
    assert t.files == "dawnlink/dawn-1/files"
    assert t.product("thumbnails") == "dawnlink/dawn-1/products/thumbnails"
    assert t.commands() == "dawnlink/dawn-1/commands/#"
    assert t.commands("reboot") == "dawnlink/dawn-1/commands/reboot"
    for bad in ("a/b", "+", "#", "", "a b"):
        with pytest.raises(UsageError):
            t.product(bad)
    with pytest.raises(UsageError):
        Topics("dawn/link", "x")


def test_message_id_is_stable_and_typed() -> None:
    a = message_id(42, 100, 7, 1.5)
    assert a == message_id(42, 100, 7, 1.5)
    assert len(a) == 32 and int(a, 16) >= 0
    assert a != message_id(42, 100, 8, 1.5)
    assert message_id(1, "2") != message_id("1", 2)
    with pytest.raises(UsageError):
        message_id()


@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=4),
        st.text(max_size=30),
    ),
    ert=st.floats(0, 4e9),
    sct=st.none() | st.floats(0, 4e9),
    stations=st.lists(st.sampled_from(["svalbard", "kiruna", "troll"]), max_size=3),
)
def test_envelope_round_trip(
    data: bytes | dict[str, int] | str, ert: float, sct: float | None, stations: list[str]
) -> None:
    mid = message_id(ert, sct)
    body = json.loads(
        envelope(
            message_id=mid,
            product="p",
            data=data,
            earth_receive_time=ert,
            stations=stations,
            spacecraft_time=sct,
            apid=5,
        )
    )
    assert body["v"] == 1 and body["id"] == mid and body["product"] == "p"
    assert body["ert"] == ert and body["stations"] == stations and body["apid"] == 5
    assert body.get("sct") == sct
    if isinstance(data, bytes):
        assert body["encoding"] == "base64" and base64.b64decode(body["data"]) == data
    else:
        assert body["encoding"] == "json" and body["data"] == data


def test_outbox_message_validation() -> None:
    OutboxMessage("a/b", b"x", "id")
    for topic in ("", "a/+", "a/#"):
        with pytest.raises(UsageError):
            OutboxMessage(topic, b"x", "id")
    with pytest.raises(UsageError):
        OutboxMessage("a", "text", "id")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        OutboxMessage("a", b"x", "")
    with pytest.raises(UsageError):
        OutboxMessage("a", b"x", "id", qos=3)


def test_prometheus_text() -> None:
    registry = Registry()
    sent = registry.counter("dawnlink_sent_total", "Messages sent.")
    depth = registry.gauge("dawnlink_depth", "Queue depth.", lambda: 3)
    level = registry.gauge("dawnlink_level", 'A "quoted"\nhelp.')
    sent.inc()
    sent.inc(2, station="svalbard")
    level.set(0.25, station='a"b')
    assert depth.value() == 3 and sent.value(station="svalbard") == 2
    assert registry.render() == (
        "# HELP dawnlink_sent_total Messages sent.\n"
        "# TYPE dawnlink_sent_total counter\n"
        "dawnlink_sent_total 1\n"
        'dawnlink_sent_total{station="svalbard"} 2\n'
        "# HELP dawnlink_depth Queue depth.\n"
        "# TYPE dawnlink_depth gauge\n"
        "dawnlink_depth 3\n"
        '# HELP dawnlink_level A "quoted" help.\n'
        "# TYPE dawnlink_level gauge\n"
        'dawnlink_level{station="a\\"b"} 0.25\n'
    )
    with pytest.raises(UsageError):
        sent.inc(-1)
    with pytest.raises(UsageError):
        registry.counter("dawnlink_sent_total", "again")
    with pytest.raises(UsageError):
        registry.gauge("bad name", "x")
    with pytest.raises(UsageError):
        depth.set(1)
