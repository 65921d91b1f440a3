"""The outbox drained to a real Mosquitto: envelopes, ids, restarts, kill -9, last will,
and /metrics + /healthz over real HTTP."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.config import GatewayConfig, parse_config
from gateway.daemon import Gateway
from gateway.messages import OutboxMessage, Topics, message_id
from gateway.mqtt import MESSAGE_ID_PROPERTY, MqttLink, MqttSession
from gateway.outbox import Outbox, OutboxPublisher, OutboxRow
from tests.gateway.conftest import Broker
from tests.gateway.helpers import WAIT_S, recording, wait_until
from tests.gateway.test_outbox import write_until_killed

pytestmark = [pytest.mark.broker, pytest.mark.asyncio]


def make_config(broker: Broker, tmp_path: Path, **mqtt: Any) -> GatewayConfig:
    return parse_config(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "reconnect_initial_s": 0.02,
                "reconnect_max_s": 0.2,
                "protocol": "5" if broker.mqtt5 else "3.1.1",
                **mqtt,
            },
            "outbox": {"path": str(tmp_path / "outbox.db"), "inflight_window": 32},
            "metrics": {"port": 0},
            "spacecraft": {"name": "dawn-1", "scid": 42},
        }
    )


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


def user_properties(message: Any) -> dict[str, str]:
    props = message.properties
    return dict(getattr(props, "UserProperty", []) or []) if props is not None else {}


async def test_gateway_publishes_envelopes_metrics_and_health(
    broker: Broker, tmp_path: Path
) -> None:
    config = make_config(broker, tmp_path)
    gateway = Gateway(config, rng=random.Random(1), shutdown_grace_s=WAIT_S)
    count = 300
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/#", mqtt5=broker.mqtt5) as rec:
        run = asyncio.create_task(gateway.run())
        await asyncio.wait_for(gateway.started.wait(), WAIT_S)
        ids = [message_id(42, 100, i) for i in range(count)]
        for i, mid in enumerate(ids):
            await gateway.put_product(
                "results",
                {"n": i} if i % 2 else bytes([i % 256]) * 5,
                message_id=mid,
                earth_receive_time=1.7e9 + i,
                stations=["svalbard"],
                spacecraft_time=1000.0 + i if i % 3 else None,
                apid=100,
            )
        await rec.wait_for(lambda r: len(r.payloads("/products/results")) >= count)
        products = [m for m in rec.messages if str(m.topic).endswith("/products/results")]
        bodies = [json.loads(bytes(m.payload)) for m in products]  # type: ignore[arg-type]
        assert [b["id"] for b in bodies] == ids  # in put order, each once
        assert bodies[1] == {
            "v": 1,
            "id": ids[1],
            "product": "results",
            "ert": 1.7e9 + 1,
            "stations": ["svalbard"],
            "sct": 1001.0,
            "apid": 100,
            "encoding": "json",
            "data": {"n": 1},
        }
        assert bodies[0]["encoding"] == "base64" and "sct" not in bodies[0]
        assert all(m.qos == 1 for m in products)
        if broker.mqtt5:
            assert [user_properties(m)[MESSAGE_ID_PROPERTY] for m in products] == ids
        assert b"online" in rec.payloads("/status")

        # The last PUBACK may land just after the subscriber saw the message.
        await wait_until(lambda: len(gateway.outbox) == 0)
        assert gateway.http is not None
        status, text = await http_get(gateway.http.port, "/metrics")
        assert status == 200
        assert f"dawnlink_outbox_published_total {count}" in text
        assert "dawnlink_outbox_rows 0" in text and "dawnlink_mqtt_connected 1" in text
        status, text = await http_get(gateway.http.port, "/healthz")
        assert (status, json.loads(text)) == (200, {"status": "ok", "reasons": []})
        assert (await http_get(gateway.http.port, "/nope"))[0] == 404

        broker.kill()
        await wait_until(lambda: not gateway.mqtt.connected)
        status, text = await http_get(gateway.http.port, "/healthz")
        assert status == 503
        reason = json.loads(text)["reasons"][0]
        assert reason.startswith(f"mqtt: not connected to {broker.host}:{broker.port}")
        broker.start()
        await asyncio.wait_for(gateway.mqtt.wait_connected(), WAIT_S)
    gateway.stop()
    await asyncio.wait_for(run, WAIT_S)

    # A clean stop leaves "offline" retained (the will covers unclean ends).
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/status") as rec:
        await rec.wait_for(lambda r: bool(r.messages))
        assert rec.payloads() == [b"offline"] and rec.messages[0].retain


async def test_broker_killed_mid_stream_loses_nothing(broker: Broker, tmp_path: Path) -> None:
    """At-least-once across a broker SIGKILL: every id arrives, rows not acknowledged
    before the kill are republished with the same ids, the outbox ends empty."""
    count, threshold = 2000, 600
    config = make_config(broker, tmp_path)
    topics = Topics("dawnlink", "dawn-1")
    outbox = Outbox(tmp_path / "outbox.db", synchronous="normal")
    outbox.put_many(
        [OutboxMessage(topics.product("p"), b"%06d" % i, f"id-{i}") for i in range(count)]
    )
    publisher = OutboxPublisher(outbox, window=32, batch=64)
    link = MqttLink(config.mqtt, topics, rng=random.Random(2), inflight_window=32)
    acked: list[int] = []
    # Rows past the threshold wait until the broker is dead, so the kill lands mid-stream
    # with a full window of rows handed to the publisher and not acknowledged. The
    # killed broker keeps no subscriptions: the new session's drain also waits until the
    # test's second subscriber is listening.
    resume = asyncio.Event()

    async def job(session: MqttSession) -> None:
        async def publish(row: OutboxRow) -> None:
            n = int(row.payload)
            if n >= threshold + 16:
                await resume.wait()
            await session.publish_row(row)
            if not resume.is_set():
                acked.append(n)

        await publisher.drain(publish)

    link.add_session_job(job)
    run = asyncio.create_task(link.run())
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/products/#") as first:

        def received(r: Any) -> set[int]:
            return {int(bytes(m.payload)) for m in r.messages}

        await wait_until(lambda: len(acked) >= threshold + 16)
        # A message the broker acknowledged but never forwarded before dying is lost
        # by the broker, not by us: kill only once the subscriber has them all.
        await first.wait_for(lambda r: set(acked) <= received(r))
        broker.kill()
        before = received(first)
    await wait_until(lambda: not link.connected)
    assert len(outbox) >= count - threshold - 16, "the kill came too late to test anything"
    broker.start()
    async with recording(broker.host, broker.port, "dawnlink/dawn-1/products/#") as second:
        resume.set()
        await second.wait_for(lambda r: before | received(r) >= set(range(count)))
        await wait_until(lambda: len(outbox) == 0)
        after = [int(bytes(m.payload)) for m in second.messages]  # type: ignore[arg-type]
    link.stop()
    await asyncio.wait_for(run, WAIT_S)
    assert set(before) | set(after) == set(range(count))
    # Everything not acknowledged before the kill came (again) after it, in rowid order.
    assert set(range(count)) - set(acked) <= set(after)
    assert after == sorted(after)
    stats = outbox.stats()
    assert stats.rows == 0 and stats.published == count and stats.retried >= 1
    assert link.connects == 2
    outbox.close()


async def test_sigkilled_writer_rows_are_all_published(broker: Broker, tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    reported = write_until_killed(path, 300)
    config = make_config(broker, tmp_path, protocol="3.1.1")  # and 3.1.1 works too
    topics = Topics("dawnlink", "dawn")
    with Outbox(path) as outbox:
        stored = len(outbox)
        publisher = OutboxPublisher(outbox, window=16)
        link = MqttLink(config.mqtt, topics, rng=random.Random(3))
        link.add_session_job(lambda session: publisher.drain(session.publish_row))
        async with recording(broker.host, broker.port, "dawnlink/dawn/products/#") as rec:
            run = asyncio.create_task(link.run())
            await rec.wait_for(lambda r: len(r.messages) >= stored)
            await wait_until(lambda: len(outbox) == 0)
            link.stop()
            await asyncio.wait_for(run, WAIT_S)
    assert stored >= reported
    assert [m.payload for m in rec.messages] == [b"x" * 100] * stored
    assert all(m.properties is None or not user_properties(m) for m in rec.messages)


_CHILD = """
import asyncio, random, sys
from gateway.config import parse_config
from gateway.messages import Topics
from gateway.mqtt import MqttLink

async def main():
    mqtt = {"host": "127.0.0.1", "port": int(sys.argv[1]), "protocol": sys.argv[2]}
    config = parse_config({"mqtt": mqtt})
    link = MqttLink(config.mqtt, Topics("dawnlink", "will-test"), rng=random.Random(0))
    task = asyncio.create_task(link.run())
    await link.wait_connected()
    print("connected", flush=True)
    await task

asyncio.run(main())
"""


async def test_last_will_says_offline_when_the_gateway_dies(broker: Broker) -> None:
    async with recording(broker.host, broker.port, "dawnlink/will-test/status") as rec:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(broker.port), "5" if broker.mqtt5 else "3.1.1"],
            stdout=subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(child.stdout.readline), WAIT_S)
            assert line == b"connected\n"
            await rec.wait_for(lambda r: r.payloads() == [b"online"])
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            if child.stdout is not None:
                child.stdout.close()
        await rec.wait_for(lambda r: r.payloads() == [b"online", b"offline"])
    # Retained: a consumer arriving later learns the gateway is gone.
    async with recording(broker.host, broker.port, "dawnlink/will-test/status") as late:
        await late.wait_for(lambda r: bool(r.messages))
        assert late.payloads() == [b"offline"] and late.messages[0].retain


async def test_stop_while_the_broker_never_answers_connect() -> None:
    """A stop during CONNECT (TCP accepted, no CONNACK) abandons the attempt at once
    instead of waiting out aiomqtt's connect timeout: no error recorded, no connect."""
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing
        accepted.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = parse_config({"mqtt": {"host": "127.0.0.1", "port": port}})
    link = MqttLink(config.mqtt, Topics("dawnlink", "mute"), rng=random.Random(4))
    run = asyncio.create_task(link.run())
    try:
        await asyncio.wait_for(accepted.wait(), WAIT_S)
        link.stop()
        await asyncio.wait_for(run, WAIT_S)  # a hang guard
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert link.connects == 0 and link.last_error is None
