"""Sustained QoS 1 publishing to a real Mosquitto: the durable outbox vs a naive loop.

Same run, same broker, same message count, payloads and MQTT version per group.

- "aiomqtt await-each" is the naive gateway (the peer): ``await client.publish(topic,
  payload, qos=1)`` per message, one round trip each.
- "dawnlink outbox (pipelined)" puts the batch durably (one SQLite transaction,
  ``synchronous=full``: fsynced) and drains it with
  :meth:`~gateway.outbox.OutboxPublisher.drain_pipelined`: its own MQTT connection
  (:mod:`gateway.mqtt_pipe`), a window of PUBLISHes per write, PUBACKs parsed many per
  read, rows deleted as PUBACKs arrive. It does more work per message than the peer
  (SQLite insert, read and delete) and is timed until the outbox is empty.
- "dawnlink outbox (aiomqtt session)" is the same outbox drained through aiomqtt
  (:meth:`~gateway.outbox.OutboxPublisher.drain` with ``MqttSession.publish_row``, a
  window of 64 tasks): paho's ~60 us of Python per message caps it near the peer on
  loopback.
- "aiomqtt gather" (every publish in flight at once, nothing durable) shows the client
  library's own ceiling; aiomqtt scans its pending calls on every publish, so it slows
  down quadratically with the count.

Each call connects afresh (all pay it). Groups: straight to Mosquitto on loopback (MQTT 5
and 3.1.1; 5 carries the message id as a user property), and through a delay proxy
adding 1 ms each way (a 2 ms round trip, a broker on the same campus). The proxy sets
TCP_QUICKACK on its sockets as a client's kernel does for the pipelined connection
(Mosquitto writes with Nagle on; a delayed ACK stalls its PUBACKs otherwise).

Mosquitto runs with its defaults except the listener (a free loopback port); its
max_inflight_messages (20) caps the window it grants an MQTT 5 client (Receive
Maximum). Needs a ``mosquitto`` binary (PATH or /usr/sbin); without one this module has
no cases.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
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

COUNT = 10_000  # sustained: long enough that connecting is noise
SIZE = 256  # a typical small product envelope
WINDOW = 64
BATCH = 512  # rows per outbox read
DELAY_S = 0.001  # one way, through the proxy
DELAYED_COUNT = 500  # the naive loop takes ~2 ms a message there

# A TCP proxy delaying every chunk by DELAY_S in both directions, order kept (call_later
# with one fixed delay fires in arrival order). Its own process: not on our CPU budget.
_PROXY = """
import asyncio, socket, sys
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    sock = reader._transport.get_extra_info("socket")
    while data := await reader.read(65536):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
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


def _group(name: str, port: int, count: int, outbox: Outbox, protocol: int = 5) -> list[Case]:
    topics = Topics("bench", "dawn")
    topic = topics.product("p")
    payload = os.urandom(SIZE)
    messages = [OutboxMessage(topic, payload, f"id-{i}") for i in range(count)]
    config = MqttConfig(host="127.0.0.1", port=port, client_id="bench-outbox", protocol=protocol)
    version = aiomqtt.ProtocolVersion.V5 if protocol == 5 else aiomqtt.ProtocolVersion.V311

    async def naive() -> None:
        async with aiomqtt.Client("127.0.0.1", port, protocol=version) as c:
            for m in messages:
                await c.publish(m.topic, m.payload, qos=1)

    async def gather() -> None:
        async with aiomqtt.Client(
            "127.0.0.1", port, protocol=version, max_inflight_messages=WINDOW
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

    async def via_pipeline() -> None:
        await asyncio.to_thread(outbox.put_many, messages)
        publisher = OutboxPublisher(outbox, window=WINDOW, batch=BATCH)
        drain = asyncio.create_task(publisher.drain_pipelined(config))
        while len(outbox):  # acks land in batches from a worker thread: poll
            await asyncio.sleep(0.0005)
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain

    version_name = "5" if protocol == 5 else "3.1.1"
    group = f"QoS 1 to mosquitto {name}, MQTT {version_name}, {count} x {SIZE} B"
    nbytes = count * SIZE
    return [
        Case(group, "aiomqtt await-each", lambda: asyncio.run(naive()), count, nbytes),
        Case(
            group,
            "dawnlink outbox (pipelined)",
            lambda: asyncio.run(via_pipeline()),
            count,
            nbytes,
            peer="aiomqtt await-each",
        ),
        Case(
            group,
            "dawnlink outbox (aiomqtt session)",
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
    return (
        _group("loopback", port, COUNT, outbox)
        + _group("loopback", port, COUNT, outbox, protocol=3)
        + _group("2 ms RTT", _start_proxy(port), DELAYED_COUNT, outbox)
    )
