"""The pipelined outbox drain (gateway.mqtt_pipe) against a real Mosquitto: everything
arrives in order with its message id, and a broker SIGKILL with a full window in flight
loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from gateway.config import MqttConfig
from gateway.messages import OutboxMessage, Topics
from gateway.mqtt_pipe import PipeClosed, open_pipeline
from gateway.outbox import Outbox, OutboxPublisher
from tests.gateway.conftest import Broker
from tests.gateway.helpers import recording, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.asyncio]

TOPICS = Topics("dawnlink", "dawn-1")


def mqtt_config(broker: Broker) -> MqttConfig:
    return MqttConfig(
        host=broker.host, port=broker.port, client_id="t", protocol=5 if broker.mqtt5 else 3
    )


def user_properties(message: Any) -> dict[str, str]:
    props = message.properties
    return dict(getattr(props, "UserProperty", []) or []) if props is not None else {}


async def drain_forever(publisher: OutboxPublisher, config: MqttConfig) -> None:
    """What MqttLink does for a session job: reconnect after each failure."""
    while True:
        try:
            await publisher.drain_pipelined(config)
        except* aiomqtt.MqttError:
            await asyncio.sleep(0.02)


async def test_everything_arrives_in_order_with_its_id(broker: Broker, tmp_path: Path) -> None:
    count = 700
    outbox = Outbox(tmp_path / "outbox.db", synchronous="normal")
    publisher = OutboxPublisher(outbox, window=32, batch=100)
    topic = TOPICS.product("p")
    async with recording(broker.host, broker.port, topic, mqtt5=broker.mqtt5) as rec:
        drain = asyncio.create_task(publisher.drain_pipelined(mqtt_config(broker)))
        # Half before the drain starts, half while it runs (woken by the put listener),
        # a few of those at QoS 0.
        outbox.put_many([OutboxMessage(topic, b"%04d" % i, f"id-{i}") for i in range(350)])
        await wait_until(lambda: len(outbox) == 0)
        outbox.put_many(
            [
                OutboxMessage(topic, b"%04d" % i, f"id-{i}", qos=int(i % 50 != 0))
                for i in range(350, count)
            ]
        )
        await rec.wait_for(lambda r: len(r.messages) >= count)
        await wait_until(lambda: len(outbox) == 0)
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
    got = [int(p) for p in rec.payloads()]
    assert sorted(got) == list(range(count))
    # MQTT orders messages per QoS level only (MQTT 5.0 section 4.6).
    assert [n for n in got if n % 50 or n < 350] == [n for n in range(count) if n % 50 or n < 350]
    if broker.mqtt5:
        ids = {user_properties(m).get("message-id") for m in rec.messages}
        assert ids == {f"id-{i}" for i in range(count)}
    stats = outbox.stats()
    assert stats.published == count and stats.rows == 0 and stats.retried == 0
    outbox.close()


async def test_broker_killed_with_a_full_window_loses_nothing(
    broker: Broker, tmp_path: Path
) -> None:
    """At-least-once across a SIGKILL: the broker is frozen (SIGSTOP) so PUBLISHes go
    out and no PUBACK comes back; with the window full it is killed; after a restart
    every row arrives, the ones in flight counted as retried, and the outbox empties."""
    window, count = 16, 200
    outbox = Outbox(tmp_path / "outbox.db", synchronous="normal")
    publisher = OutboxPublisher(outbox, window=window, batch=50)
    topic = TOPICS.product("p")
    config = mqtt_config(broker)
    drain = asyncio.create_task(drain_forever(publisher, config))
    try:
        async with recording(broker.host, broker.port, topic, mqtt5=broker.mqtt5) as first:
            outbox.put_many([OutboxMessage(topic, b"%04d" % i, f"id-{i}") for i in range(10)])
            await first.wait_for(lambda r: len(r.messages) >= 10)
            await wait_until(lambda: len(outbox) == 0)
        assert broker.process is not None
        broker.process.send_signal(signal.SIGSTOP)
        outbox.put_many([OutboxMessage(topic, b"%04d" % i, f"id-{i}") for i in range(10, count)])
        await wait_until(lambda: publisher.in_flight == window)
        broker.kill()
        broker.start()
        async with recording(broker.host, broker.port, topic, mqtt5=broker.mqtt5) as second:
            await second.wait_for(lambda r: {int(p) for p in r.payloads()} >= set(range(10, count)))
            await wait_until(lambda: len(outbox) == 0)
    finally:
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
    after = [int(p) for p in second.payloads()]
    assert after == sorted(after)  # republished in rowid order
    stats = outbox.stats()
    assert stats.rows == 0 and stats.published == count
    assert stats.retried == window  # exactly the rows in flight at the kill
    outbox.close()


async def test_no_broker_is_a_pipe_closed(tmp_path: Path) -> None:
    from tests.gateway.conftest import free_port

    config = MqttConfig(host="127.0.0.1", port=free_port(), client_id="t")
    with pytest.raises(PipeClosed, match="cannot connect"):
        async with open_pipeline(config, lambda tokens: None):
            pass


async def test_keepalive_pings_when_quiet_and_the_broker_answers(broker: Broker) -> None:
    config = MqttConfig(host=broker.host, port=broker.port, client_id="t", keepalive_s=30)
    async with open_pipeline(config, lambda tokens: None) as connection:
        connection._last_write -= 30  # quiet for a whole keep alive, without waiting one
        connection._on_keepalive()
        assert connection.wire.pings_pending == 1
        await wait_until(lambda: connection.wire.pings_pending == 0)  # the PINGRESP
        connection.check()  # still up
        # A second silent interval without any PINGRESP at all closes the connection.
        connection.wire.pings_pending = 2
        connection._on_keepalive()
        with pytest.raises(PipeClosed, match="PINGRESP"):
            connection.check()
