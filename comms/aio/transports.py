"""Thin asyncio transports for the driver: UDP datagrams and TCP byte streams.

They know nothing of CCSDS. Each hands what arrives to a callback together with
``now=loop.time()``, the time the loop saw it (on a virtual-time loop, virtual time):

- :class:`UdpEndpoint`: one datagram in, one ``on_datagram(data, addr, now=...)`` call;
  :meth:`UdpEndpoint.send` sends one datagram.
- :class:`TcpServer` and :class:`TcpClient`: each read, of whatever size the kernel
  delivered, is one ``on_data(..., data, now=...)`` call. A stream has no message
  boundaries: frame it with a stream parser that works on any split (frame sync, packet
  extraction). :class:`TcpClient` reconnects after a refused or lost connection with
  exponential backoff and full jitter drawn from an injected :class:`random.Random`.

Callbacks should not raise (asyncio would close the transport and log it);
:meth:`comms.aio.driver.Driver.feeder` makes callbacks that don't.

Sending on a link that is down is not an error of the sender: :meth:`TcpClient.send`
returns False and counts the octets as dropped while disconnected, as a radio link
would lose them; the machines above retransmit. Left out: TLS, write backpressure
(``pause_writing``: the transport buffers what the kernel does not take), UDP
multicast, and Unix sockets.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, cast

from comms.buffers import BytesLike
from comms.errors import UsageError

__all__ = [
    "Address",
    "DatagramCallback",
    "StreamCallback",
    "TcpClient",
    "TcpConnection",
    "TcpServer",
    "UdpEndpoint",
]

_log = logging.getLogger("comms.aio")

Address = tuple[Any, ...]
"""A socket address as asyncio reports it: ``(host, port)`` for IPv4, 4 items for IPv6."""


class DatagramCallback(Protocol):
    def __call__(self, data: bytes, addr: Address, /, *, now: float) -> None: ...


class StreamCallback(Protocol):
    def __call__(self, data: bytes, /, *, now: float) -> None: ...


# ---------------------------------------------------------------------------- UDP


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: UdpEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: Address) -> None:
        endpoint = self._endpoint
        endpoint._on_datagram(data, addr, now=endpoint._loop.time())

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: a datagram was lost, the socket is fine.
        self._endpoint.errors_received += 1
        _log.debug("udp %s: %s", self._endpoint.local_address, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._endpoint._closed.done():
            self._endpoint._closed.set_result(None)


class UdpEndpoint:
    """A UDP socket: datagrams in to ``on_datagram``, out through :meth:`send`.

    Make one with :meth:`open`. With ``remote_addr`` the socket is connected: it sends
    there by default and the kernel drops datagrams from anywhere else.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_datagram: DatagramCallback,
    ) -> None:
        self._loop = loop
        self._on_datagram = on_datagram
        self._transport: asyncio.DatagramTransport | None = None
        self._closed: asyncio.Future[None] = loop.create_future()
        self._remote: Address | None = None
        self.errors_received = 0

    @classmethod
    async def open(
        cls,
        local_addr: Address | None = None,
        *,
        on_datagram: DatagramCallback,
        remote_addr: Address | None = None,
    ) -> UdpEndpoint:
        """Bind ``local_addr`` (e.g. ``("127.0.0.1", 0)`` for any free port)."""
        if local_addr is None and remote_addr is None:
            raise UsageError("Pass local_addr, remote_addr or both to open a UDP endpoint.")
        loop = asyncio.get_running_loop()
        endpoint = cls(loop, on_datagram)
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _DatagramProtocol(endpoint),
            local_addr=local_addr,
            remote_addr=remote_addr,
        )
        endpoint._transport = transport
        endpoint._remote = remote_addr
        return endpoint

    @property
    def local_address(self) -> Address:
        if self._transport is None:
            raise UsageError("The endpoint is not open; use UdpEndpoint.open().")
        sockname: Address = self._transport.get_extra_info("sockname")
        return sockname

    def send(self, data: BytesLike, addr: Address | None = None) -> None:
        """Send one datagram to ``addr`` (or to the connected ``remote_addr``)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise UsageError("The UDP endpoint is closed; open a new one to send.")
        if not len(data):
            # asyncio before 3.12 silently skips empty datagrams; refuse rather than lose.
            raise UsageError("An empty datagram carries nothing: send at least one octet.")
        if self._remote is not None:
            if addr is not None and addr != self._remote:
                raise UsageError(
                    f"This endpoint is connected to {self._remote}; send without an "
                    f"address, or open an unconnected endpoint to send to {addr}."
                )
            transport.sendto(bytes(data))
        elif addr is None:
            raise UsageError("This endpoint is not connected: pass the address to send to.")
        else:
            transport.sendto(bytes(data), addr)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._closed)

    async def __aenter__(self) -> UdpEndpoint:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()


# ---------------------------------------------------------------------------- TCP


class _StreamProtocol(asyncio.Protocol):
    """Hands each read to ``on_data`` with the loop's time; resolves ``lost`` at the end."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_data: StreamCallback) -> None:
        self._loop = loop
        self._on_data = on_data
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[Exception | None] = loop.create_future()
        self.on_made: Callable[[_StreamProtocol], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        self._on_data(data, now=self._loop.time())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(exc)


class TcpConnection:
    """One accepted stream of a :class:`TcpServer`."""

    def __init__(self, protocol: _StreamProtocol) -> None:
        self._protocol = protocol
        assert protocol.transport is not None
        self._transport = protocol.transport
        self.peer_address: Address = self._transport.get_extra_info("peername")

    def send(self, data: BytesLike) -> bool:
        """Queue ``data`` on the stream; False (and nothing sent) once it is closing."""
        if self._transport.is_closing():
            return False
        self._transport.write(bytes(data))
        return True

    def close(self) -> None:
        self._transport.close()

    async def wait_closed(self) -> None:
        await asyncio.shield(self._protocol.lost)


class TcpServer:
    """A listening TCP socket; each connection's reads go to ``on_data(conn, data, now=)``.

    ``on_connect(conn, now=)`` and ``on_disconnect(conn, exc, now=)`` are optional.
    :meth:`close` stops listening and closes every connection.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_data: Callable[..., None],
        on_connect: Callable[..., None] | None,
        on_disconnect: Callable[..., None] | None,
    ) -> None:
        self._loop = loop
        self._on_data = on_data
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._server: asyncio.Server | None = None
        self.connections: set[TcpConnection] = set()

    @classmethod
    async def start(
        cls,
        host: str,
        port: int,
        *,
        on_data: Callable[..., None],
        on_connect: Callable[..., None] | None = None,
        on_disconnect: Callable[..., None] | None = None,
    ) -> TcpServer:
        """Listen on ``host:port`` (port 0: any free port, see :attr:`address`)."""
        loop = asyncio.get_running_loop()
        server = cls(loop, on_data, on_connect, on_disconnect)
        server._server = await loop.create_server(server._protocol, host, port)
        return server

    def _protocol(self) -> _StreamProtocol:
        box: list[TcpConnection] = []

        def on_data(data: bytes, *, now: float) -> None:
            self._on_data(box[0], data, now=now)

        def on_made(protocol: _StreamProtocol) -> None:
            conn = TcpConnection(protocol)
            box.append(conn)
            self.connections.add(conn)
            protocol.lost.add_done_callback(lambda fut: self._lost(conn, fut))
            if self._on_connect is not None:
                self._on_connect(conn, now=self._loop.time())

        protocol = _StreamProtocol(self._loop, on_data)
        protocol.on_made = on_made
        return protocol

    def _lost(self, conn: TcpConnection, fut: asyncio.Future[Exception | None]) -> None:
        self.connections.discard(conn)
        if self._on_disconnect is not None:
            self._on_disconnect(conn, fut.result(), now=self._loop.time())

    @property
    def address(self) -> Address:
        """The first listening socket's address (host, port)."""
        if self._server is None or not self._server.sockets:
            raise UsageError("The server is not listening; use TcpServer.start().")
        sockname: Address = self._server.sockets[0].getsockname()
        return sockname

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.close()

    async def wait_closed(self) -> None:
        conns = list(self.connections)
        for conn in conns:
            await conn.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> TcpServer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()


def _same(protocol: _StreamProtocol) -> _StreamProtocol:
    return protocol


class TcpClient:
    """A TCP client that stays connected: it reconnects whenever the stream is refused
    or lost, waiting ``rng.uniform(0, min(backoff_max_s, backoff_initial_s * 2**n))``
    seconds after the n-th consecutive failure ("full jitter", so clients of a
    restarted server do not return in lockstep).

    ``max_attempts`` bounds consecutive failed connects (None: retry forever); past it
    the client closes and :meth:`wait_closed` / :meth:`wait_connected` raise
    :class:`ConnectionError`. ``on_connect(now=)`` and ``on_disconnect(exc, now=)`` are
    optional. Start it with ``async with`` or :meth:`start`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_data: StreamCallback,
        rng: random.Random,
        on_connect: Callable[..., None] | None = None,
        on_disconnect: Callable[..., None] | None = None,
        backoff_initial_s: float = 0.1,
        backoff_max_s: float = 30.0,
        max_attempts: int | None = None,
    ) -> None:
        # Defaults: 0.1 s first wait (a loopback or LAN restart is back within it),
        # 30 s cap (a ground-station outage is minutes; retrying faster only adds load).
        if not 0.0 < backoff_initial_s <= backoff_max_s:
            raise UsageError(
                f"Backoff must satisfy 0 < backoff_initial_s <= backoff_max_s; got "
                f"{backoff_initial_s!r} and {backoff_max_s!r}."
            )
        if max_attempts is not None and max_attempts < 1:
            raise UsageError(f"max_attempts must be 1 or more, or None; got {max_attempts!r}.")
        self.host = host
        self.port = port
        self._on_data = on_data
        self._rng = rng
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._initial = backoff_initial_s
        self._max = backoff_max_s
        self._max_attempts = max_attempts
        self._transport: asyncio.Transport | None = None
        self._connected: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.connects = 0
        self.failed_attempts = 0
        self.octets_dropped = 0

    def backoff_s(self, failures: int) -> float:
        """The wait after ``failures`` consecutive failures (drawn from the RNG)."""
        return self._rng.uniform(0.0, min(self._max, self._initial * 2.0 ** min(failures, 62)))

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def start(self) -> None:
        if self._task is not None:
            raise UsageError("The client is already started; start it once.")
        self._connected = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"tcp-client {self.host}:{self.port}"
        )

    def send(self, data: BytesLike) -> bool:
        """Queue ``data`` on the stream; False (counted in ``octets_dropped``) when the
        link is down."""
        transport = self._transport
        if transport is None or transport.is_closing():
            self.octets_dropped += len(data)
            return False
        transport.write(bytes(data))
        return True

    async def wait_connected(self) -> None:
        """Wait until connected; raise :class:`ConnectionError` if the client gave up."""
        if self._task is None or self._connected is None:
            raise UsageError("Start the client before waiting for it to connect.")
        waiter = asyncio.ensure_future(self._connected.wait())
        try:
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not self._connected.is_set():
            await self.wait_closed()
            raise ConnectionError(f"{self.host}:{self.port}: client closed before connecting")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._transport is not None:
            self._transport.close()

    async def wait_closed(self) -> None:
        """Wait for the client to stop; raise why it stopped, unless it was closed."""
        if self._task is None:
            return
        try:
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise

    async def __aenter__(self) -> TcpClient:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()

    async def _run(self) -> None:
        assert self._connected is not None
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            protocol = _StreamProtocol(loop, self._on_data)
            try:
                await loop.create_connection(
                    functools.partial(_same, protocol), self.host, self.port
                )
            except OSError as exc:
                failures += 1
                self.failed_attempts += 1
                if self._max_attempts is not None and failures >= self._max_attempts:
                    raise ConnectionError(
                        f"{self.host}:{self.port}: {failures} connection attempts failed"
                    ) from exc
                _log.debug("tcp %s:%s: %s; retrying", self.host, self.port, exc)
                await asyncio.sleep(self.backoff_s(failures))
                continue
            failures = 0
            self.connects += 1
            self._transport = protocol.transport
            self._connected.set()
            if self._on_connect is not None:
                self._on_connect(now=loop.time())
            try:
                exc_lost = await protocol.lost
            finally:
                self._transport = None
                self._connected.clear()
                if protocol.transport is not None:
                    protocol.transport.close()
            if self._on_disconnect is not None:
                self._on_disconnect(exc_lost, now=loop.time())
            # Jitter even the first reconnect: every client of a restarted server
            # notices at the same instant.
            await asyncio.sleep(self.backoff_s(0))
