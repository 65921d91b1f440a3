"""A real MQTT broker for the gateway tests.

``broker`` starts Mosquitto (``mosquitto`` on PATH or /usr/sbin/mosquitto) on a free
loopback port with a minimal config -- anonymous, no persistence -- waits until it
accepts connections, and stops it after the test. The same object can ``kill()`` the
broker (SIGKILL: no goodbye to clients) and ``start()`` it again on the same port, for
the broker-restart tests. Without Mosquitto it falls back to amqtt (MQTT 3.1.1 only) in
a subprocess, and skips with the reason when neither comes up.

Waiting is bounded (``_START_TIMEOUT_S``): the fixture polls connect() until the broker
answers, which is readiness, not a timed assertion.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_START_TIMEOUT_S = 10.0

# Mosquitto's defaults silently drop QoS 1 messages queued for a subscriber past 1000
# (shared/REFERENCES.md); a test subscriber can fall that far behind a pipelined
# publisher, so the test broker queues without that bound.
_MOSQUITTO_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
log_dest stderr
log_type error
"""

_AMQTT_CONF = """\
listeners:
  default:
    type: tcp
    bind: 127.0.0.1:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )


@dataclass
class Broker:
    """A broker subprocess on a fixed port that can be killed and started again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    kind: str = "mosquitto"
    process: subprocess.Popen[bytes] | None = None

    @property
    def mqtt5(self) -> bool:
        return self.kind == "mosquitto"

    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(_MOSQUITTO_CONF.format(port=self.port))
            binary = _mosquitto()
            assert binary is not None
            return [binary, "-c", str(conf)]
        conf = self.workdir / "amqtt.yaml"
        conf.write_text(_AMQTT_CONF.format(port=self.port))
        return [
            sys.executable,
            "-c",
            "import sys; from amqtt.scripts.broker_script import main; sys.exit(main())",
            "-c",
            str(conf),
        ]

    def start(self) -> None:
        assert self.process is None, "broker already running"
        log = open(self.workdir / f"{self.kind}.log", "ab")  # noqa: SIM115 - owned by Popen
        self.process = subprocess.Popen(self._command(), stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)  # readiness polling, bounded by the deadline
        self.stop()
        text = (self.workdir / f"{self.kind}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.kind} did not come up on port {self.port}: {text}")

    def kill(self) -> None:
        """SIGKILL: clients see the TCP connection reset, no DISCONNECT, wills fire never."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=_START_TIMEOUT_S)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=_START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()


def _start_broker(workdir: Path) -> Broker:
    if _mosquitto() is not None:
        broker = Broker(workdir)
        broker.start()
        return broker
    try:
        import amqtt  # noqa: F401
    except ImportError:
        pytest.skip("no MQTT broker: install mosquitto (apt install mosquitto) or amqtt")
    broker = Broker(workdir, kind="amqtt")
    try:
        broker.start()
    except RuntimeError as exc:
        pytest.skip(f"no mosquitto binary, and the amqtt fallback did not start: {exc}")
    return broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A running broker for one test (killable and restartable on the same port)."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    b = _start_broker(workdir)
    try:
        yield b
    finally:
        b.stop()
