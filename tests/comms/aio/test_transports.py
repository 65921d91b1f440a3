"""UDP and TCP transports on real loopback sockets (127.0.0.1, port 0).

Tests without a ``loop_factories`` choice run twice: on the default selector loop and
on links.clock's virtual-time loop, which must carry real sockets too (nothing here
waits on a timer while data is in flight, see links/clock.py on that race). Nothing
sleeps; waits end on an event, and reconnects are bounded by ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from typing import cast

import pytest

from comms.aio import Address, Driver, TcpClient, TcpConnection, TcpServer, UdpEndpoint
from comms.errors import UsageError
from tests.comms.aio.helpers import Acked, Event, Sent, StopAndWait

LOCAL = ("127.0.0.1", 0)
both_loops = pytest.mark.asyncio
real = pytest.mark.asyncio(loop_factories=["real"])


class Inbox:
    """Collects callback arguments; ``wait(n)`` returns once n have arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[object, ...]] = []
        self.nows: list[float] = []
        self._changed = asyncio.Event()

    def __call__(self, *args: object, now: float) -> None:
        self.items.append(args)
        self.nows.append(now)
        self._changed.set()

    async def wait(self, n: int) -> list[tuple[object, ...]]:
        while len(self.items) < n:
            self._changed.clear()
            await self._changed.wait()
        return self.items


def free_port() -> int:
    with socket.socket() as s:
        s.bind(LOCAL)
        port: int = s.getsockname()[1]
    return port


# ---------------------------------------------------------------------------- UDP


@both_loops
async def test_udp_one_datagram_is_one_callback() -> None:
    inbox = Inbox()
    async with (
        await UdpEndpoint.open(LOCAL, on_datagram=inbox) as rx,
        await UdpEndpoint.open(LOCAL, on_datagram=Inbox()) as tx,
    ):
        for payload in (b"one", b"2", b"three" * 100):
            tx.send(payload, rx.local_address)
        got = await inbox.wait(3)
    assert [data for data, _ in got] == [b"one", b"2", b"three" * 100]
    assert all(addr == tx.local_address for _, addr in got)
    assert inbox.nows == sorted(inbox.nows)


@both_loops
async def test_udp_connected_endpoint() -> None:
    inbox = Inbox()
    async with await UdpEndpoint.open(LOCAL, on_datagram=inbox) as rx:
        tx = await UdpEndpoint.open(on_datagram=Inbox(), remote_addr=rx.local_address)
        tx.send(memoryview(b"hello"))
        with pytest.raises(UsageError, match="connected to"):
            tx.send(b"x", ("127.0.0.1", 9))
        await inbox.wait(1)
        tx.close()
        await tx.wait_closed()
        with pytest.raises(UsageError, match="closed"):
            tx.send(b"late")
    assert inbox.items[0][0] == b"hello"


@both_loops
async def test_udp_usage_errors() -> None:
    with pytest.raises(UsageError, match="local_addr"):
        await UdpEndpoint.open(on_datagram=Inbox())
    async with await UdpEndpoint.open(LOCAL, on_datagram=Inbox()) as ep:
        with pytest.raises(UsageError, match="pass the address"):
            ep.send(b"x")
        with pytest.raises(UsageError, match="empty datagram"):
            ep.send(b"", ep.local_address)


@both_loops
async def test_driver_over_udp() -> None:
    # Two stop-and-wait machines, each behind a driver and a UDP socket on loopback.
    a, b = StopAndWait(rto=30.0), StopAndWait(rto=30.0)
    peer: dict[str, Address] = {}
    da: Driver[Event] = Driver(a, drain=lambda: a.drain_to(lambda d: ep_a.send(d, peer["b"])))
    db: Driver[Event] = Driver(b, drain=lambda: b.drain_to(lambda d: ep_b.send(d, peer["a"])))
    deliver_a = da.feeder(a.receive)
    deliver_b = db.feeder(b.receive)
    ep_a = await UdpEndpoint.open(LOCAL, on_datagram=lambda d, addr, now: deliver_a(d, now=now))
    ep_b = await UdpEndpoint.open(LOCAL, on_datagram=lambda d, addr, now: deliver_b(d, now=now))
    peer["a"], peer["b"] = ep_a.local_address, ep_b.local_address
    async with ep_a, ep_b, da, db:
        events = da.events()
        for i in range(20):
            da.feed(a.send, b"m%d" % i)
            got = [e async for e in _until_acked(events)]
            assert [type(e) for e in got] == [Sent, Acked]
    assert da.timers_fired == 0  # nothing lost on loopback: no retransmission
    assert db.inputs_rejected == 0


async def _until_acked(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    async for event in events:
        yield event
        if isinstance(event, Acked):
            return


# ---------------------------------------------------------------------------- TCP


@both_loops
async def test_tcp_stream_both_ways() -> None:
    server_in = Inbox()
    client_in = Inbox()
    connected = Inbox()

    def on_server_data(conn: TcpConnection, data: bytes, *, now: float) -> None:
        server_in(data, now=now)
        conn.send(data.upper())  # echo, upper-cased

    async with await TcpServer.start(
        "127.0.0.1", 0, on_data=on_server_data, on_connect=connected
    ) as server:
        host, port = server.address[:2]
        async with TcpClient(host, port, on_data=client_in, rng=random.Random(1)) as client:
            await client.wait_connected()
            assert client.connected
            payload = bytes(range(97, 123)) * 1000
            assert client.send(payload)
            await _wait_octets(client_in, len(payload))
        await connected.wait(1)
    # A stream keeps no boundaries: only the concatenation is defined.
    assert _joined(client_in) == payload.upper()
    assert _joined(server_in) == payload


def _joined(inbox: Inbox) -> bytes:
    return b"".join(cast(bytes, d) for (d,) in inbox.items)


async def _wait_octets(inbox: Inbox, n: int) -> None:
    while len(_joined(inbox)) < n:
        await inbox.wait(len(inbox.items) + 1)


@both_loops
async def test_tcp_client_reconnects_after_the_server_restarts() -> None:
    received = Inbox()
    up = Inbox()
    down = Inbox()

    def on_data(conn: TcpConnection, data: bytes, *, now: float) -> None:
        received(data, now=now)

    server = await TcpServer.start("127.0.0.1", 0, on_data=on_data)
    host, port = server.address[:2]
    client = TcpClient(
        host,
        port,
        on_data=Inbox(),
        rng=random.Random(7),
        on_connect=up,
        on_disconnect=down,
        backoff_initial_s=0.001,
        backoff_max_s=0.01,
        max_attempts=500,  # bounds the test: ~5 s of real backoff at most
    )
    async with client:
        await client.wait_connected()
        client.send(b"before")
        await received.wait(1)

        server.close()
        await server.wait_closed()
        await down.wait(1)
        assert not client.connected
        assert client.send(b"lost") is False and client.octets_dropped == 4

        server = await TcpServer.start("127.0.0.1", port, on_data=on_data)
        await up.wait(2)
        await client.wait_connected()
        client.send(b"after")
        await received.wait(2)
    server.close()
    await server.wait_closed()
    assert [d for (d,) in received.items] == [b"before", b"after"]
    assert client.connects == 2


@both_loops
async def test_tcp_client_gives_up_after_max_attempts() -> None:
    port = free_port()  # nothing listens here
    client = TcpClient(
        "127.0.0.1",
        port,
        on_data=Inbox(),
        rng=random.Random(3),
        backoff_initial_s=0.001,
        backoff_max_s=0.002,
        max_attempts=3,
    )
    client.start()
    with pytest.raises(ConnectionError, match="3 connection attempts failed"):
        await client.wait_connected()
    with pytest.raises(ConnectionError):
        await client.wait_closed()
    assert client.failed_attempts == 3 and client.connects == 0


@real
async def test_tcp_usage_errors() -> None:
    kwargs = {"on_data": Inbox(), "rng": random.Random(0)}
    with pytest.raises(UsageError, match="backoff"):
        TcpClient("127.0.0.1", 1, backoff_initial_s=0.0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="backoff"):
        TcpClient("127.0.0.1", 1, backoff_initial_s=2.0, backoff_max_s=1.0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="max_attempts"):
        TcpClient("127.0.0.1", 1, max_attempts=0, **kwargs)  # type: ignore[arg-type]
    client = TcpClient("127.0.0.1", 1, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="Start the client"):
        await client.wait_connected()
    await client.wait_closed()  # never started: nothing to wait for
    assert client.send(b"abc") is False and client.octets_dropped == 3


def test_backoff_is_full_jitter_from_the_injected_rng() -> None:
    def client(seed: int) -> TcpClient:
        return TcpClient(
            "h", 1, on_data=Inbox(), rng=random.Random(seed), backoff_initial_s=0.5,
            backoff_max_s=8.0,
        )  # fmt: skip

    a, b = client(42), client(42)
    waits = [a.backoff_s(n) for n in range(12)]
    assert waits == [b.backoff_s(n) for n in range(12)]  # reproducible from the seed
    assert all(0.0 <= w <= min(8.0, 0.5 * 2**n) for n, w in enumerate(waits))
    assert client(1).backoff_s(1000) <= 8.0  # no overflow far out
