"""The asyncio side of :mod:`gateway.mqtt_wire`: one pipelined publishing connection.

:class:`PipelinedConnection` opens its own TCP (or TLS) connection to the broker with
the client id ``<client_id>-outbox`` and a clean start, and publishes whole batches of
outbox rows in one write; PUBACKs come back through ``on_acked(tokens)`` as they are
parsed, many per read. It sends PINGREQ when it has been quiet for half the keep alive
and gives up when a PINGRESP is a whole keep alive late.

It is a second connection beside :class:`gateway.mqtt.MqttLink`'s aiomqtt one (which
keeps the status topic, the last will and the subscriptions): run it as a session job
so it lives and dies with that session; its failures are :class:`aiomqtt.MqttError`
(:class:`PipeClosed`), which the link answers with a backoff and a reconnect.

Flow control: the window bounds the octets waiting in the transport (window x the
largest message), so no pause_writing handling is needed beyond that bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import AsyncIterator, Callable
from typing import Final

import aiomqtt

from gateway.config import MqttConfig
from gateway.mqtt_wire import BrokerRefused, PublisherWire, WireError

__all__ = ["PipeClosed", "PipelinedConnection", "open_pipeline"]

#: How long the broker has to answer CONNECT: the keep alive at most, 10 s at least.
_CONNACK_MIN_S = 10.0


class PipeClosed(aiomqtt.MqttError):
    """The pipelined publishing connection is gone (lost, refused or broken)."""


class PipelinedConnection(asyncio.Protocol):
    """One connection's transport + :class:`PublisherWire` (see the module docstring).

    ``on_acked`` is called from the event loop with the tokens whose PUBACK arrived.
    """

    def __init__(self, wire: PublisherWire, on_acked: Callable[[list[object]], None]) -> None:
        self.wire = wire
        self.on_acked = on_acked
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._connack: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._free_waiter: asyncio.Future[None] | None = None
        self._last_write = loop.time()
        self._keepalive: asyncio.TimerHandle | None = None
        self._quickack: Callable[[], None] | None = None

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and hasattr(socket, "TCP_QUICKACK"):
            # Brokers write PUBACKs with Nagle on (Mosquitto's set_tcp_nodelay is off by
            # default): while one PUBACK segment is unacknowledged the rest wait, and
            # our delayed ACK holds them up to 40 ms once we stop sending. Linux resets
            # QUICKACK as it goes, so it is set again after every read.
            self._quickack = functools.partial(
                sock.setsockopt, socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1
            )
            self._quickack()
        self._write(self.wire.connect())

    def data_received(self, data: bytes) -> None:
        if self._quickack is not None:
            self._quickack()
        try:
            acked = self.wire.receive_data(data)
        except WireError as exc:
            self._fail(PipeClosed(_explain(exc, self.wire)))
            return
        replies = self.wire.take_replies()
        if replies and self.transport is not None:
            self.transport.write(replies)
        if not self._connack.done() and self.wire.connected:
            self._connack.set_result(None)
            self._arm_keepalive()
        if acked:
            if self.wire.free >= self.wire.window // 2:
                self._wake_free()
            self.on_acked(acked)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(PipeClosed(f"connection lost: {exc}" if exc else "connection closed"))

    # -- API ---------------------------------------------------------------------------

    @property
    def free(self) -> int:
        return self.wire.free if not self.closed.done() else 0

    async def wait_connack(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._connack)
        except TimeoutError:
            self._fail(PipeClosed(f"no CONNACK within {timeout_s:.0f} s"))
            raise PipeClosed(f"no CONNACK within {timeout_s:.0f} s") from None

    async def wait_free(self) -> None:
        """Until half the window may go out; raises :class:`PipeClosed`.

        Half, not one: a write per PUBACK would cost the broker and us a round of
        system calls per message (silly-window avoidance, as in TCP)."""
        wanted = max(1, self.wire.window // 2)
        while self.wire.free < wanted:
            self.check()
            # One bare future per wait (an Event + asyncio.wait costs ~10x more, and
            # this runs once per round trip).
            self._free_waiter = waiter = self._loop.create_future()
            await waiter
        self.check()

    def send(self, packets: list[bytes]) -> None:
        """Write already-encoded packets (from ``wire.publish``) in one write."""
        self.check()
        self._write(b"".join(packets))

    def close(self) -> None:
        """Send DISCONNECT (a normal close) and close the transport."""
        if self.transport is not None and not self.transport.is_closing():
            with contextlib.suppress(Exception):
                self.transport.write(self.wire.disconnect())
            self.transport.close()
        self._fail(PipeClosed("closed by us"))

    def check(self) -> None:
        """Raise :class:`PipeClosed` if the connection is gone."""
        if self.closed.done():
            exc = self.closed.exception()
            raise exc if exc is not None else PipeClosed("connection closed")

    # -- internals ---------------------------------------------------------------------

    def _wake_free(self) -> None:
        waiter = self._free_waiter
        if waiter is not None:
            self._free_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)
        self._last_write = self._loop.time()

    def _fail(self, exc: PipeClosed) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            self._keepalive = None
        if not self.closed.done():
            self.closed.set_exception(exc)
            self.closed.exception()  # retrieved: nobody may be waiting
        if not self._connack.done():
            self._connack.set_exception(exc)
            self._connack.exception()
        self._wake_free()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def _arm_keepalive(self) -> None:
        keepalive = self.wire.keepalive_s
        if keepalive:
            self._keepalive = self._loop.call_later(keepalive / 2, self._on_keepalive)

    def _on_keepalive(self) -> None:
        keepalive = self.wire.keepalive_s
        # 3.1.1 section 3.1.2.10: a PINGRESP "reasonable" time late means a dead link.
        if self.wire.pings_pending >= 2:
            self._fail(PipeClosed(f"no PINGRESP within {keepalive} s"))
            return
        if self._loop.time() - self._last_write >= keepalive / 2:
            self._write(self.wire.ping())
        self._arm_keepalive()


# Refusals by name, so the log and /healthz say why: 3.1.1 CONNACK return codes
# (section 3.2.2.3); MQTT 5 reason codes, shared by CONNACK, PUBACK and DISCONNECT
# (section 2.4).
_REFUSALS_311: Final = {
    1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
    4: "bad user name or password", 5: "not authorized",
}  # fmt: skip
_REFUSALS_5: Final = {
    0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
    0x83: "implementation specific error", 0x84: "unsupported protocol version",
    0x85: "client identifier not valid", 0x86: "bad user name or password",
    0x87: "not authorized", 0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned",
    0x8B: "server shutting down", 0x8C: "bad authentication method",
    0x8D: "keep alive timeout", 0x8E: "session taken over", 0x90: "topic name invalid",
    0x91: "packet identifier in use", 0x93: "receive maximum exceeded",
    0x95: "packet too large", 0x96: "message rate too high", 0x97: "quota exceeded",
    0x98: "administrative action", 0x99: "payload format invalid",
    0x9A: "retain not supported", 0x9B: "QoS not supported", 0x9C: "use another server",
    0x9D: "server moved", 0x9F: "connection rate exceeded",
}  # fmt: skip


def _explain(exc: WireError, wire: PublisherWire) -> str:
    """The error's text; when the broker refused us, its reason code's name with it
    ("... return code 0x87 (not authorized)")."""
    if isinstance(exc, BrokerRefused):
        names = _REFUSALS_5 if wire.v5 else _REFUSALS_311 if not wire.connected else {}
        name = names.get(exc.reason_code)
        if name is not None:
            return f"{exc.reason.removesuffix('.')} ({name})"
    return str(exc)


@contextlib.asynccontextmanager
async def open_pipeline(
    config: MqttConfig,
    on_acked: Callable[[list[object]], None],
    *,
    window: int = 64,
    client_id: str | None = None,
) -> AsyncIterator[PipelinedConnection]:
    """Connect (CONNECT, wait for CONNACK) and yield the connection; DISCONNECT on exit.

    ``client_id`` defaults to ``<config.client_id>-outbox`` so it does not take over the
    aiomqtt connection's session.
    """
    wire = PublisherWire(
        client_id=client_id or f"{config.client_id}-outbox",
        protocol=config.protocol,
        keepalive_s=config.keepalive_s,
        username=config.username,
        password=config.password.reveal().encode() if config.password is not None else None,
        window=window,
    )
    loop = asyncio.get_running_loop()
    context = config.tls.ssl_context() if config.tls is not None else None
    try:
        _, connection = await loop.create_connection(
            lambda: PipelinedConnection(wire, on_acked),
            config.host,
            config.port,
            ssl=context,
            server_hostname=config.host if context is not None else None,
        )
    except OSError as exc:
        raise PipeClosed(f"cannot connect to {config.host}:{config.port}: {exc}") from exc
    try:
        await connection.wait_connack(max(_CONNACK_MIN_S, float(config.keepalive_s)))
        yield connection
    finally:
        connection.close()
