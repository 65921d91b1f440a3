"""Sustained QoS 1 publishing to a real Mosquitto: the durable outbox vs a naive loop.

Same run, same broker, same message count and size. "aiomqtt await-each" is the naive
gateway: publish, wait for the PUBACK, publish the next (one round trip per message).
"dawnlink outbox" puts the batch durably (one SQLite transaction, synchronous=FULL) and
drains it through a window of 64 publishes in flight, deleting rows as PUBACKs arrive --
it does more work per message (SQLite insert and delete, fsyncs) and still wins by
pipelining. "aiomqtt gather" (all publishes in flight at once, nothing durable) shows
the ceiling of the client library itself. Each call connects afresh (both pay it).

Two groups: straight to Mosquitto on loopback, where the round trip (~0.1 ms) is shorter
than the Python work per message and pipelining can gain nothing, and through a delay
proxy adding 1 ms each way (a 2 ms round trip, a broker on the same campus; a cloud
broker is 10-50 ms, where the ratio grows with the round trip until the window or the
CPU caps it).

Mosquitto runs with its defaults except the listener (a free loopback port); its
max_inflight_messages (20) caps the window it grants an MQTT 5 client. Needs a
``mosquitto`` binary (PATH or /usr/sbin); without one this module has no cases.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt

from gateway.config import MqttConfig
from gateway.messages import OutboxMessage, Topics
from gateway.mqtt import MqttLink
from gateway.outbox import Outbox, OutboxPublisher
from tools.bench import Case

COUNT = 2000
SIZE = 256  # a typical small product envelope
WINDOW = 64
DELAY_S = 0.001  # one way, through the proxy
DELAYED_COUNT = 500  # the naive loop takes ~2 ms a message there

# A TCP proxy delaying every chunk by DELAY_S in both directions, order kept (call_later
# with one fixed delay fires in arrival order). Its own process: not on our CPU budget.
_PROXY = """
import asyncio, sys
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    while data := await reader.read(65536):
        loop.call_later(delay, writer.write, data)
    loop.call_later(delay, writer.close)
async def handle(r1, w1):
    r2, w2 = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.gather(pipe(r1, w2), pipe(r2, w1), return_exceptions=True)
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def _start_mosquitto(workdir: Path) -> int | None:
    binary = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )
    if binary is None:
        return None
    port = _free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
    atexit.register(proc.terminate)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return port
        except OSError:
            time.sleep(0.02)
    proc.terminate()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_proxy(target: int) -> int:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROXY, str(port), str(target), str(DELAY_S)],
        stdout=subprocess.PIPE,
    )
    atexit.register(proc.terminate)
    assert proc.stdout is not None
    proc.stdout.readline()  # "ready"
    return port


def _group(name: str, port: int, count: int, outbox: Outbox) -> list[Case]:
    topics = Topics("bench", "dawn")
    topic = topics.product("p")
    payload = os.urandom(SIZE)
    messages = [OutboxMessage(topic, payload, f"id-{i}") for i in range(count)]
    config = MqttConfig(host="127.0.0.1", port=port, client_id="bench-outbox")

    async def naive() -> None:
        async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5) as c:
            for m in messages:
                await c.publish(m.topic, m.payload, qos=1)

    async def gather() -> None:
        async with aiomqtt.Client(
            "127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, max_inflight_messages=WINDOW
        ) as c:
            c.pending_calls_threshold = count + 1
            await asyncio.gather(*(c.publish(m.topic, m.payload, qos=1) for m in messages))

    async def via_outbox() -> None:
        await asyncio.to_thread(outbox.put_many, messages)
        publisher = OutboxPublisher(outbox, window=WINDOW, batch=256)
        link = MqttLink(config, topics, rng=random.Random(0), inflight_window=WINDOW)
        link.add_session_job(lambda session: publisher.drain(session.publish_row))
        run = asyncio.create_task(link.run())
        while len(outbox):  # acks land in batches from a worker thread: poll
            await asyncio.sleep(0.001)
        link.stop()
        await run

    group = f"QoS 1 to mosquitto {name}, {count} x {SIZE} B"
    nbytes = count * SIZE
    return [
        Case(group, "aiomqtt await-each", lambda: asyncio.run(naive()), count, nbytes),
        Case(
            group,
            "dawnlink outbox",
            lambda: asyncio.run(via_outbox()),
            count,
            nbytes,
            peer="aiomqtt await-each",
        ),
        Case(
            group,
            "aiomqtt gather",
            lambda: asyncio.run(gather()),
            count,
            nbytes,
            peer="aiomqtt await-each",
            note="nothing durable; the client's ceiling",
        ),
    ]


def cases() -> list[Case]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    port = _start_mosquitto(workdir)
    if port is None:
        return []
    outbox = Outbox(workdir / "outbox.db", synchronous="full")
    atexit.register(outbox.close)
    return _group("loopback", port, COUNT, outbox) + _group(
        "2 ms RTT", _start_proxy(port), DELAYED_COUNT, outbox
    )
