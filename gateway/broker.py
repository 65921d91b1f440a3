"""A local MQTT broker for the demo and the tests: Mosquitto when installed, else amqtt.

- :class:`Broker` runs a broker *subprocess* on a fixed loopback port with a minimal
  configuration (anonymous, no persistence): Mosquitto (``mosquitto`` on PATH or
  /usr/sbin/mosquitto), or amqtt (MQTT 3.1.1 only) through its broker script. It can be
  ``kill()``-ed (SIGKILL: clients see a reset, no DISCONNECT) and ``start()``-ed again on
  the same port, which the broker-restart tests need.
- :func:`start_broker` picks Mosquitto, else the amqtt subprocess, and starts it;
  :class:`BrokerUnavailable` says why neither came up (the test fixture skips on it).
- :class:`EmbeddedBroker` is what ``dawnlink demo`` runs without ``--broker``: the
  Mosquitto subprocess when there is one, else amqtt *in this process*, on its own
  thread and event loop (so a virtual-time loop in the main thread never moves the
  broker's keep-alive clocks). ``with EmbeddedBroker(workdir) as broker:``.

Readiness is polled (connect() until the port answers), bounded by ``START_TIMEOUT_S``.

``Broker(..., config_lines=[...])`` adds Mosquitto configuration lines right after the
``listener`` line (so listener options -- ``cafile``, ``certfile``, ``keyfile``,
``require_certificate`` -- apply to it); a line setting ``allow_anonymous`` replaces
the default ``allow_anonymous true``. tests/gateway/test_mqtt_security.py uses this for
TLS and password brokers.

Left out: persistence (a test or demo broker needs none; docs/gateway.md shows a
production Mosquitto configuration).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

__all__ = [
    "START_TIMEOUT_S",
    "Broker",
    "BrokerUnavailable",
    "EmbeddedBroker",
    "free_port",
    "mosquitto_path",
    "start_broker",
]

#: Longest wait for a broker to accept connections: Mosquitto is up in milliseconds,
#: a cold amqtt import can take a few seconds on a slow CI machine.
START_TIMEOUT_S: Final = 10.0

# Mosquitto's defaults silently drop QoS 1 messages queued for a subscriber past 1000
# (shared/REFERENCES.md); a subscriber can fall that far behind a pipelined publisher,
# so this broker queues without that bound.
_MOSQUITTO_CONF = """\
listener {port} {host}
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
    bind: {host}:{port}
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""


class BrokerUnavailable(RuntimeError):
    """No broker could be started here (neither Mosquitto nor amqtt); the message says
    what to install."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (the OS's choice for port 0)."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def mosquitto_path() -> str | None:
    """The Mosquitto binary: on PATH, else /usr/sbin/mosquitto (Debian installs it
    there, outside a normal user's PATH); None when neither exists."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )


def _amqtt_available() -> bool:
    try:
        import amqtt  # noqa: F401
    except ImportError:
        return False
    return True


def _wait_listening(host: str, port: int, alive: Any, deadline: float) -> bool:
    """Poll connect() until the port answers (True), ``alive()`` turns False or the
    deadline passes (False)."""
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)  # readiness polling, bounded by the deadline
    return False


@dataclass
class Broker:
    """A broker subprocess on a fixed port that can be killed and started again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    kind: str = "mosquitto"
    process: subprocess.Popen[bytes] | None = None
    #: Extra Mosquitto lines after the listener line (see the module docstring).
    config_lines: tuple[str, ...] = ()

    @property
    def mqtt5(self) -> bool:
        """Whether the broker speaks MQTT 5 (amqtt speaks 3.1.1 only)."""
        return self.kind == "mosquitto"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.kind}.log"

    def _command(self) -> list[str]:
        if self.kind == "mosquitto":
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(self._mosquitto_conf())
            binary = mosquitto_path()
            if binary is None:
                raise BrokerUnavailable("no mosquitto binary (apt install mosquitto)")
            return [binary, "-c", str(conf)]
        conf = self.workdir / "amqtt.yaml"
        conf.write_text(_AMQTT_CONF.format(host=self.host, port=self.port))
        return [
            sys.executable,
            "-c",
            "import sys; from amqtt.scripts.broker_script import main; sys.exit(main())",
            "-c",
            str(conf),
        ]

    def _mosquitto_conf(self) -> str:
        lines = _MOSQUITTO_CONF.format(host=self.host, port=self.port).splitlines()
        if any(line.split()[:1] == ["allow_anonymous"] for line in self.config_lines):
            lines.remove("allow_anonymous true")
        return "\n".join([lines[0], *self.config_lines, *lines[1:]]) + "\n"

    def start(self) -> None:
        """Start the subprocess and wait until it accepts connections.

        Raises :class:`BrokerUnavailable` with the tail of its log when it does not."""
        if self.process is not None:
            raise RuntimeError("broker already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by Popen
        try:
            self.process = subprocess.Popen(self._command(), stdout=log, stderr=log)
        finally:
            log.close()
        process = self.process
        deadline = time.monotonic() + START_TIMEOUT_S
        if _wait_listening(self.host, self.port, lambda: process.poll() is None, deadline):
            return
        self.stop()
        text = self.log_path.read_text(errors="replace")[-2000:]
        raise BrokerUnavailable(f"{self.kind} did not come up on port {self.port}: {text}")

    def kill(self) -> None:
        """SIGKILL: clients see the TCP connection reset, no DISCONNECT, wills fire never."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_TIMEOUT_S)
            self.process = None

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it lingers)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()


def start_broker(workdir: Path) -> Broker:
    """A started broker subprocess: Mosquitto if installed, else amqtt.

    Raises :class:`BrokerUnavailable` when neither can run here."""
    if mosquitto_path() is not None:
        broker = Broker(workdir)
        broker.start()
        return broker
    if not _amqtt_available():
        raise BrokerUnavailable(
            "no MQTT broker: install mosquitto (apt install mosquitto) or amqtt (pip install amqtt)"
        )
    broker = Broker(workdir, kind="amqtt")
    broker.start()
    return broker


class _InProcessAmqtt:
    """amqtt's broker on a daemon thread with its own (real-time) event loop."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="amqtt-broker", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start() through _error
            self._error = exc

    async def _serve(self) -> None:
        from amqtt.broker import Broker as AmqttBroker

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        broker = AmqttBroker(config)
        await broker.start()
        try:
            await self._stop.wait()
        finally:
            await broker.shutdown()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        if not _wait_listening(self.host, self.port, self._thread.is_alive, deadline):
            self.stop()
            raise BrokerUnavailable(f"amqtt did not come up on port {self.port}: {self._error!r}")

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=START_TIMEOUT_S)


class EmbeddedBroker:
    """The demo's broker: a Mosquitto subprocess, else amqtt in this process.

    Use as a context manager; ``host``, ``port``, ``kind`` ("mosquitto" or "amqtt";
    pass it to choose) and ``mqtt5`` describe it once entered.
    """

    def __init__(
        self, workdir: Path, *, host: str = "127.0.0.1", port: int = 0, kind: str | None = None
    ) -> None:
        if kind not in (None, "mosquitto", "amqtt"):
            raise ValueError(f'kind is "mosquitto", "amqtt" or None (pick), not {kind!r}')
        self.workdir = workdir
        self.host = host
        self.port = port or free_port(host)
        self.kind = kind or ("mosquitto" if mosquitto_path() is not None else "amqtt")
        self._subprocess: Broker | None = None
        self._thread: _InProcessAmqtt | None = None

    @property
    def mqtt5(self) -> bool:
        return self.kind == "mosquitto"

    def start(self) -> None:
        if self.kind == "mosquitto":
            self._subprocess = Broker(self.workdir, port=self.port, host=self.host)
            self._subprocess.start()
            return
        if not _amqtt_available():
            raise BrokerUnavailable(
                "no MQTT broker: install mosquitto (apt install mosquitto) or amqtt "
                "(pip install amqtt), or pass --broker HOST:PORT"
            )
        self._thread = _InProcessAmqtt(self.host, self.port)
        self._thread.start()

    def stop(self) -> None:
        if self._subprocess is not None:
            self._subprocess.stop()
            self._subprocess = None
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
