"""A real `dawnlink gateway run` in a subprocess, a ground station that serves a CADU
stream to it over loopback TCP, and a pass of products to send.

The gateway is started as systemd would start it under ``Type=notify``: with
``NOTIFY_SOCKET`` pointing at a datagram socket this test process owns, so "ready" is
the gateway's own ``READY=1``, not a guess. Every wait is for a condition, bounded by
``WAIT_S`` so that a bug fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from comms.coding import CaduEncoder, CaduParams
from comms.frames import TmParams
from comms.spp import SpacePacket
from comms.time import CdsTime, CucTime
from comms.vc import VcPacketSender
from gateway.config import load_config
from gateway.pipeline import Pipeline

WAIT_S = 30.0
SCID = 42
FRAME_LENGTH = 1115
CADU = CaduParams(frame_length=FRAME_LENGTH, interleave=5)
T0 = datetime(2030, 6, 21, 6, 0, 0, tzinfo=UTC)
APID_CUC, APID_CDS = 0x10, 0x11

CONFIG = """\
[mqtt]
host = "{broker_host}"
port = {broker_port}
client_id = "crash-test-gateway"
reconnect_initial_s = 0.05
reconnect_max_s = 0.2

[outbox]
path = "outbox.sqlite3"
synchronous = "normal"

[metrics]
host = "127.0.0.1"
port = {metrics_port}

[logging]
level = "INFO"

[spacecraft]
scid = 42
name = "dawn"

[merge]
timeout_s = 0.2
start_hold_s = 0.0     # one station: nothing earlier to wait for

[[stations]]
name = "svalbard"
kind = "tcp-cadu"
mode = "connect"
host = "127.0.0.1"
port = {station_port}
[stations.frame]
length = 1115
rs_interleave = 5

[[routes]]
apid = 16
product = "results"
decoder = "json"
time_code = "cuc"      # 4 + 2 octets, no P-field

[[routes]]
apid = 17
product = "health"
decoder = "json"
time_code = "cds"
"""


def pass_frames(n: int, *, first_seq: int = 0) -> list[bytes]:
    """``n`` packets, alternately CUC- and CDS-timed JSON products, in TM frames."""
    packets = []
    for i in range(first_seq, first_seq + n):
        when = T0 + timedelta(seconds=i * 0.25)
        body = json.dumps({"i": i, "fill": "x" * 150}).encode()
        if i % 2 == 0:
            time_code = CucTime.from_datetime(when, with_pfield=False).encode()
            apid = APID_CUC
        else:
            time_code = CdsTime.from_datetime(when, with_pfield=False).encode()
            apid = APID_CDS
        packets.append(
            SpacePacket(
                apid=apid,
                data=time_code + body,
                sequence_count=i & 0x3FFF,
                sec_header_flag=True,
            )
        )
    sender = VcPacketSender(TmParams(frame_length=FRAME_LENGTH), scid=SCID, vcid=1)
    return sender.add_packets(packets) + sender.flush()


def cadus(frames: list[bytes]) -> bytes:
    return CaduEncoder(CADU).encode_many(frames).tobytes() if frames else b""


def expected_ids(config_path: Path, frames: list[bytes]) -> list[str]:
    """The message ids the configured pipeline makes of ``frames`` (an independent,
    in-process run of the same config: ids do not depend on when frames arrive)."""
    pipeline = Pipeline.from_config(load_config(config_path))
    pipeline.receive("svalbard", frames, T0.timestamp())
    pipeline.flush()
    return [m.message_id for m in pipeline.messages()]


def outbox_ids(path: Path) -> list[str]:
    """Message ids in an outbox file, read by a separate connection (as an operator
    would, after a crash)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in db.execute("SELECT message_id FROM outbox ORDER BY id")]
    except sqlite3.OperationalError:  # the table is not there yet
        return []
    finally:
        db.close()


def dawnlink_command() -> list[str]:
    script = Path(sys.executable).with_name("dawnlink")
    if script.exists():
        return [str(script)]
    found = shutil.which("dawnlink")
    return [found] if found else [sys.executable, "-m", "gateway.cli"]


class Notifications:
    """The systemd side of sd_notify: a datagram socket collecting what the gateway says."""

    def __init__(self) -> None:
        # AF_UNIX paths are limited to ~107 octets: keep it short.
        self.dir = tempfile.mkdtemp(prefix="dl-")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.received: list[str] = []

    def _drain(self) -> None:
        while True:
            try:
                self.received.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return

    async def wait_for(self, line: str, timeout: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout):
            while True:
                self._drain()
                if any(line in msg.splitlines() for msg in self.received):
                    return
                await asyncio.sleep(0.01)

    def close(self) -> None:
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class GatewayProcess:
    """``dawnlink gateway run --config FILE`` as a child process."""

    def __init__(self, config_path: Path, notifications: Notifications) -> None:
        self.config_path = config_path
        self.notifications = notifications
        self.log_path = config_path.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start and wait for READY=1 (metrics bound, outbox open, tasks started)."""
        assert self.process is None or self.process.poll() is not None
        self.notifications.received.clear()
        env = dict(os.environ, NOTIFY_SOCKET=self.notifications.path)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*dawnlink_command(), "gateway", "run", "--config", str(self.config_path)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.config_path.parent,
            )
        self.starts += 1
        try:
            await self.notifications.wait_for("READY=1")
        except TimeoutError:
            raise AssertionError(f"gateway never said READY=1:\n{self.log()}") from None

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait_exit(self, timeout: float = WAIT_S) -> int:
        assert self.process is not None
        process = self.process
        code = await asyncio.wait_for(asyncio.to_thread(process.wait), timeout)
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class CaduStation:
    """A ground station serving its CADU stream over TCP (the gateway connects).

    The test decides what each connection carries (:meth:`send`): a station that has
    lost its client holds what it has until one connects again.
    """

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self.closed = 0
        self._writer: asyncio.StreamWriter | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writer = writer
        self._changed.set()
        try:
            await reader.read()  # the gateway sends nothing; EOF or reset when it goes
        except OSError:
            pass
        finally:
            if self._writer is writer:
                self._writer = None
            self.closed += 1
            self._changed.set()
            writer.close()

    async def wait(self, condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def send(self, data: bytes) -> None:
        await self.wait(lambda: self._writer is not None)
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


async def http_get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    """One HTTP/1.1 GET over a real socket: (status, body)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        reply = await reader.read()
    finally:
        writer.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def sample(text: str, series: str) -> float | None:
    """The value of one series (``name`` or ``name{labels}``) in a /metrics text."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line[len(series) + 1 :])
    return None


async def wait_metric(port: int, series: str, value: float, timeout: float = WAIT_S) -> None:
    """Scrape until ``series`` reads ``value`` (e.g. until MQTT is connected)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, body = await http_get(port, "/metrics")
                if sample(body.decode(), series) == value:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.02)
