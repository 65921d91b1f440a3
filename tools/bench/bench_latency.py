"""End-to-end latency: a frame in over a loopback station connection to the message
delivered by Mosquitto, at a paced 1k and 10k messages/s; and the gateway's resident
memory after a long run.

Three processes besides Mosquitto, all on loopback:

- a station (subprocess) dials the gateway's TCP station port and sends CADUs (ASM +
  randomized 1115-octet TM frames, no RS) paced to the rate; each frame carries nine
  117-octet Space Packets whose data starts with the Unix time (float64) at which the
  frame was handed to the socket;
- the gateway (this process): :class:`gateway.pipeline.PipelineRunner` (station link,
  merge, VC demux, products, JSON envelopes) -> :class:`gateway.outbox.Outbox` (SQLite,
  ``synchronous=full``: every batch fsynced) -> :meth:`OutboxPublisher.drain_pipelined`
  run as a :class:`gateway.mqtt.MqttLink` session job -> Mosquitto;
- a subscriber (subprocess, a raw-socket MQTT 3.1.1 client at QoS 0, so its own cost
  stays small) that takes the stamp out of each envelope and records
  ``arrival - stamp``.

Latency is therefore frame-in to message-delivered, through TCP, CADU decode, the
pipeline, an fsynced SQLite commit, the publisher and the broker. The first 0.5 s of
each run are warm-up and left out of the percentiles, which the subscriber computes (so
no million-entry list lands in the gateway's memory). RSS is this process's VmRSS (the
gateway; the station and the subscriber are other processes): before the first run,
the largest sampled every 50 ms during each run, and after it. "largest backlog" is the
most rows sampled in the outbox plus messages waiting to be put: it stays small while
the gateway keeps up with the rate.

``python -m tools.bench latency`` runs it (about ``LONG_S`` + 30 s); the figures are a
report, not a :class:`~tools.bench.Case` (a rate is not what is measured here).
``DAWNLINK_BENCH_LONG_S`` shortens or lengthens the long run (default 100 s at 10k/s,
a million messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from comms.frames import TmParams
from gateway.broker import BrokerUnavailable, free_port, start_broker
from gateway.config import (
    GatewayConfig,
    MqttConfig,
    RouteConfig,
    SpacecraftConfig,
    StationConfig,
    StationKind,
)
from gateway.merge import StationMerge
from gateway.messages import Topics
from gateway.mqtt import MqttLink
from gateway.outbox import Outbox, OutboxPublisher, OutboxStats
from gateway.pipeline import Pipeline, PipelineRunner
from gateway.products import ProductRoute
from tools.bench import Case

SCID = 0x2A
APID = 0x10
PACKETS_PER_FRAME = 9  # 9 x (6 + 117) octets fill the 1107-octet data field exactly
DATA = 117
WARMUP_S = 0.5
LONG_S = float(os.environ.get("DAWNLINK_BENCH_LONG_S", "100"))
RUNS = ((1000.0, 10.0), (10_000.0, 10.0), (10_000.0, LONG_S))  # (messages/s, seconds)

_STATION = r"""
import socket, struct, sys, time
from comms.coding import CaduEncoder, CaduParams
from comms.frames import TmParams
from comms.spp import SpacePacket
from comms.vc import VcPacketSender
port, rate, seconds, scid, apid, per_frame, size = (
    int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]),
    int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]))
sender = VcPacketSender(TmParams(frame_length=1115), scid, 1)
encoder = CaduEncoder(CaduParams(1115, rs_e=None, randomize=True))
sock = socket.create_connection(("127.0.0.1", port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
pad = bytes(size - 8)
total = int(rate * seconds) // per_frame * per_frame
start = time.time()
sent = seq = 0
while sent < total:
    due = min(total, int((time.time() - start) * rate) // per_frame * per_frame + per_frame)
    frames = []
    stamp = struct.pack(">d", time.time())
    while sent < due:
        frames += sender.add_packet(SpacePacket(apid=apid, data=stamp + pad, sequence_count=seq))
        seq = (seq + 1) & 0x3FFF
        sent += 1
    if frames:
        sock.sendall(b"".join(encoder.encode(f) for f in frames))
    pause = start + sent / rate - time.time()
    if pause > 0:
        time.sleep(pause)
time.sleep(1.0)
sock.close()
"""

_SUBSCRIBER = r"""
import base64, json, socket, struct, sys, time
port, topic, expected, out, idle_s, warmup_s = (
    int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]),
    float(sys.argv[6]))
def string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b
def packet(first, body):
    n, head = len(body), bytearray([first])
    while True:
        n, d = divmod(n, 128)
        head.append(d | (0x80 if n else 0))
        if not n:
            return bytes(head) + body
s = socket.create_connection(("127.0.0.1", port))
# Keep alive 0: this client only reads, and with one the broker would drop it after
# 1.5 keep alives without a PINGREQ -- in the middle of the long run.
s.sendall(packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x00" + string("latency-sub")))
s.recv(4)  # CONNACK
s.sendall(packet(0x82, b"\x00\x01" + string(topic) + b"\x00"))
s.recv(5)  # SUBACK
print("ready", flush=True)
s.settimeout(idle_s)
buf = bytearray()
got = []
unpack = struct.Struct(">d").unpack_from
while len(got) < expected:
    try:
        data = s.recv(1 << 20)
    except socket.timeout:
        break
    if not data:
        break
    now = time.time()
    buf += data
    pos = 0
    while True:
        if len(buf) - pos < 2:
            break
        n, mult, i = 0, 1, pos + 1
        while True:
            if i >= len(buf):
                n = -1
                break
            b = buf[i]; n += (b & 0x7F) * mult; mult *= 128; i += 1
            if not b & 0x80:
                break
        if n < 0 or i + n > len(buf):
            break
        if buf[pos] & 0xF0 == 0x30:
            tlen = (buf[i] << 8) | buf[i + 1]
            body = json.loads(bytes(buf[i + 2 + tlen : i + n]))
            raw = base64.b64decode(body["data"])
            got.append((unpack(raw)[0], now))
        pos = i + n
    del buf[:pos]
# The summary only: a million latencies parsed in the gateway's process would be the
# biggest thing in its memory.
start = min((stamp for stamp, _ in got), default=0.0)
lat = sorted(arrival - stamp for stamp, arrival in got if stamp - start >= warmup_s)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
with open(out, "w") as f:
    f.write(f"{len(got)} {pick(0.5)!r} {pick(0.99)!r} {pick(1.0)!r}\n")
"""


@dataclass(frozen=True)
class Run:
    """One paced run: messages sent and delivered, latency percentiles after warm-up
    (seconds), the outbox's counters (published = acknowledged by the broker), the
    largest backlog sampled (outbox rows + messages waiting to be put) and the largest
    VmRSS sampled (KiB) while it ran."""

    sent: int
    delivered: int
    p50_s: float
    p99_s: float
    max_s: float
    stats: OutboxStats
    backlog: int
    rss_kib: int


def _vm_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _run(workdir: Path, broker_port: int, rate: float, seconds: float) -> Run:
    """One paced run (see :class:`Run`)."""
    station_port = free_port()
    mqtt = MqttConfig(host="127.0.0.1", port=broker_port, client_id="latency-gw")
    station = StationConfig(
        "gs", StationKind.TCP_CADU, "127.0.0.1", station_port, mode="listen", rs_interleave=0
    )
    config = GatewayConfig(
        mqtt=mqtt,
        spacecraft=SpacecraftConfig(scid=SCID, name="bench"),
        stations=(station,),
        routes=(RouteConfig(apid=APID, product="lat"),),
    )
    topics = Topics(mqtt.topic_prefix, "bench")
    params = TmParams(frame_length=1115)
    # One station: nothing to wait for at the start of the channel.
    pipeline = Pipeline(
        params,
        scid=SCID,
        routes=[ProductRoute(APID, "lat")],
        topics=topics,
        merge=StationMerge(params, start_hold_s=0),
    )
    path = workdir / f"outbox-{int(rate)}-{int(seconds)}.db"
    outbox = Outbox(path, synchronous="full")
    runner = PipelineRunner(pipeline, config, outbox, rng=random.Random(1))
    publisher = OutboxPublisher(outbox)
    link = MqttLink(mqtt, topics, rng=random.Random(2))
    link.add_session_job(lambda session: publisher.drain_pipelined(mqtt))
    total = int(rate * seconds) // PACKETS_PER_FRAME * PACKETS_PER_FRAME
    out = workdir / f"latency-{int(rate)}-{int(seconds)}.txt"
    subscriber = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SUBSCRIBER,
            str(broker_port),
            topics.product("lat"),
            str(total),
            str(out),
            "10",
            str(WARMUP_S),
        ],
        stdout=subprocess.PIPE,
    )
    assert subscriber.stdout is not None
    await asyncio.to_thread(subscriber.stdout.readline)  # "ready"
    backlog = [0, 0]  # the most rows the outbox held and the most VmRSS, sampled

    async def sample() -> None:
        while True:
            backlog[0] = max(backlog[0], len(outbox) + len(runner._pending))
            backlog[1] = max(backlog[1], _vm_rss_kib())
            await asyncio.sleep(0.05)

    tasks = [
        asyncio.create_task(runner.run()),
        asyncio.create_task(link.run()),
        asyncio.create_task(sample()),
    ]
    try:
        await runner.wait_ready()
        await link.wait_connected()
        station_proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _STATION,
                str(station_port),
                str(rate),
                str(seconds),
                str(SCID),
                str(APID),
                str(PACKETS_PER_FRAME),
                str(DATA),
            ],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        await asyncio.to_thread(subscriber.wait)
        await asyncio.to_thread(station_proc.wait)
    finally:
        link.stop()
        await asyncio.wait_for(tasks[1], 10)
        for task in (tasks[0], tasks[2]):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stats = outbox.stats()
        outbox.close()
    count, p50, p99, most = out.read_text().split()
    return Run(total, int(count), float(p50), float(p99), float(most), stats, *backlog)


def report() -> tuple[str, tuple[str, ...], list[tuple[str, ...]]]:
    """Run the latency and memory measurements; a titled table."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    try:
        broker = start_broker(workdir)
    except BrokerUnavailable as exc:
        return f"latency: skipped ({exc})", (), []
    rows: list[tuple[str, ...]] = []
    rss_before = _vm_rss_kib()
    try:
        for rate, seconds in RUNS:
            run = asyncio.run(_run(workdir, broker.port, rate, seconds))
            rows.append(
                (
                    f"{rate / 1000:.0f}k msg/s for {seconds:.0f} s",
                    f"{run.sent}",
                    f"{run.stats.published} ({run.stats.retried} again)",
                    f"{run.delivered}",
                    f"{run.p50_s * 1e3:.2f}",
                    f"{run.p99_s * 1e3:.2f}",
                    f"{run.max_s * 1e3:.1f}",
                    f"{run.backlog}",
                    f"{run.rss_kib / 1024:.0f}",
                    f"{_vm_rss_kib() / 1024:.0f}",
                )
            )
    finally:
        broker.stop()
    title = (
        "End-to-end latency, frame in -> message delivered; gateway VmRSS "
        f"{rss_before / 1024:.0f} MiB before the first run"
    )
    header = (
        "run",
        "sent",
        "PUBACKed (republished)",
        "delivered",
        "p50 ms",
        "p99 ms",
        "max ms",
        "largest backlog",
        "RSS peak MiB",
        "RSS after MiB",
    )
    return title, header, rows


def cases() -> list[Case]:
    return []  # see report()


if __name__ == "__main__":
    title, head, body = report()
    print(title)
    for row in [head, *body]:
        print("  ".join(row))
