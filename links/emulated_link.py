"""The link emulator over sockets: UDP and TCP forwarders through a channel each way.

:class:`EmulatedLink` is a forwarder on an asyncio loop that puts every datagram (or
stream chunk) through a :class:`~links.impairments.Channel` (the machine face:
``send``/``deliveries``/``next_deadline``, one ``call_at`` timer re-armed at the next
deadline), one channel each way. On :class:`~links.clock.VirtualTimeEventLoop` the
delays cost no wall time. :meth:`~links.pass_emulator.PassEmulator.channel` gives a
channel whose model is the pass (the downlink) and
:meth:`~links.pass_emulator.PassEmulator.uplink_channel` one for the uplink
(``link.uplink``: its budget at the uplink frequency, the spacecraft receiver's lock),
so a forwarder can carry CADUs down and CLTUs up through a real pass.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

from comms.errors import UsageError
from links.impairments import Channel

__all__ = ["EmulatedLink"]


class _Forwarder:
    """One direction of an emulated link: payloads in, through the channel, out."""

    def __init__(
        self,
        channel: Channel,
        loop: asyncio.AbstractEventLoop,
        deliver: Callable[[bytes], None],
        time_offset_s: float,
    ) -> None:
        self.channel = channel
        self.loop = loop
        self.deliver = deliver
        self.t0 = loop.time() - time_offset_s
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = math.inf

    def now(self) -> float:
        return self.loop.time() - self.t0

    def send(self, payload: bytes) -> None:
        self.channel.send(payload, self.now())
        self.on_timer()

    def on_timer(self) -> None:
        self.timer, self.timer_at = None, math.inf
        for _, payload in self.channel.deliveries(self.now()):
            self.deliver(payload)
        deadline = self.channel.next_deadline()
        if deadline is not None:
            # one timer, re-armed at the channel's next deadline
            self.timer = self.loop.call_at(deadline + self.t0, self.on_timer)
            self.timer_at = deadline

    async def drain(self) -> None:
        """Wait (on the loop's clock) until nothing is in flight."""
        while self.timer is not None:
            await asyncio.sleep(max(0.0, self.timer_at - self.now()))

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class _UdpIn(asyncio.DatagramProtocol):
    def __init__(self, link: EmulatedLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.link._from_client(data, addr)


class _UdpFromTarget(asyncio.DatagramProtocol):
    def __init__(self, link: EmulatedLink) -> None:
        self.link = link

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.link._from_target(data)


class EmulatedLink:
    """UDP and TCP forwarders between local endpoints through a :class:`Channel` each way.

    ``channel`` impairs the forward direction (client -> target: the downlink, CADUs
    from the spacecraft side to the ground); ``reverse_channel``, when given, the
    reverse one (target -> client: the uplink, e.g. CLTUs from the ground, on
    :meth:`PassEmulator.uplink_channel`). Without it the reverse direction passes
    unimpaired. Both channels' time is ``loop.time()`` less the time the link (UDP) or
    the connection (TCP) started, plus ``time_offset_s`` (e.g. a little before a pass's
    AOS for :meth:`PassEmulator.channel`).

    UDP: datagrams to the listening address go to ``target`` from a second socket
    (:attr:`udp_target_side_address`); datagrams the target sends to that socket go
    back to the client, which is the address the last forward datagram came from, or
    ``peer`` given to :meth:`start_udp` (so the ground can send before the spacecraft
    side has). For TCP every chunk read is one "frame" of the channel: a lost chunk
    leaves a hole in the stream (as a ground station's TCP feed of a CADU stream shows
    lost frames), which a frame synchronizer downstream copes with.
    """

    def __init__(
        self,
        channel: Channel,
        *,
        time_offset_s: float = 0.0,
        reverse_channel: Channel | None = None,
    ) -> None:
        self.channel = channel
        self.reverse_channel = reverse_channel
        self.time_offset_s = time_offset_s
        self._udp: asyncio.DatagramTransport | None = None
        self._out: asyncio.DatagramTransport | None = None
        self._target: tuple[str, int] | None = None
        self._client: Any = None
        self._forward: _Forwarder | None = None
        self._reverse: _Forwarder | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._forwarders: list[_Forwarder] = []
        self.reverse_undeliverable = 0

    @property
    def stats(self) -> Any:
        return self.channel.stats

    @property
    def reverse_stats(self) -> Any:
        """The reverse channel's statistics (None when the reverse is unimpaired)."""
        return None if self.reverse_channel is None else self.reverse_channel.stats

    @property
    def udp_target_side_address(self) -> tuple[str, int]:
        """The local address forward datagrams leave from: the target sends its own
        datagrams (the reverse direction) here."""
        if self._out is None:
            raise UsageError("Call start_udp() before asking for its addresses.")
        addr: tuple[str, int] = self._out.get_extra_info("sockname")[:2]
        return addr

    async def start_udp(
        self,
        target: tuple[str, int],
        listen: tuple[str, int] = ("127.0.0.1", 0),
        *,
        peer: tuple[str, int] | None = None,
    ) -> tuple[str, int]:
        """Listen for datagrams on ``listen`` and forward them to ``target``; datagrams
        from ``target`` go back to the client (``peer`` until one has written). Returns
        the bound listening address."""
        loop = asyncio.get_running_loop()
        self._target = target
        self._client = peer
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpIn(self), local_addr=listen)
        self._udp = transport
        out, _ = await loop.create_datagram_endpoint(
            lambda: _UdpFromTarget(self), remote_addr=target
        )
        self._out = out
        self._forward = _Forwarder(self.channel, loop, out.sendto, self.time_offset_s)
        self._forwarders.append(self._forward)
        if self.reverse_channel is not None:
            self._reverse = _Forwarder(
                self.reverse_channel, loop, self._to_client, self.time_offset_s
            )
            # both directions on one time base
            self._reverse.t0 = self._forward.t0
            self._forwarders.append(self._reverse)
        addr: tuple[str, int] = transport.get_extra_info("sockname")[:2]
        return addr

    def _from_client(self, data: bytes, addr: Any) -> None:
        assert self._forward is not None
        self._client = addr
        self._forward.send(data)

    def _from_target(self, data: bytes) -> None:
        if self._reverse is not None:
            self._reverse.send(data)
        else:
            self._to_client(data)

    def _to_client(self, data: bytes) -> None:
        if self._client is None or self._udp is None:
            # nobody to send to yet: a spacecraft side that has not spoken
            self.reverse_undeliverable += 1
            return
        self._udp.sendto(data, self._client)

    async def start_tcp(
        self, target: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0)
    ) -> tuple[str, int]:
        """Accept TCP connections on ``listen``; each is forwarded to a new connection
        to ``target``. Returns the bound address."""
        loop = asyncio.get_running_loop()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(*target)
            fwd = _Forwarder(self.channel, loop, up_writer.write, self.time_offset_s)
            self._forwarders.append(fwd)
            rev: _Forwarder | None = None
            if self.reverse_channel is not None:
                rev = _Forwarder(self.reverse_channel, loop, writer.write, self.time_offset_s)
                rev.t0 = fwd.t0
                self._forwarders.append(rev)

            async def replies() -> None:
                while chunk := await up_reader.read(65536):
                    if rev is None:
                        writer.write(chunk)
                        await writer.drain()
                    else:
                        rev.send(chunk)
                if rev is not None:
                    await rev.drain()

            back = loop.create_task(replies())
            try:
                while chunk := await reader.read(65536):
                    fwd.send(chunk)
                # let the frames in flight arrive before closing the far end
                await fwd.drain()
                if up_writer.can_write_eof():
                    up_writer.write_eof()
                await back
            finally:
                back.cancel()
                fwd.close()
                if rev is not None:
                    rev.close()
                up_writer.close()
                writer.close()

        def spawn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = loop.create_task(handle(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._server = await asyncio.start_server(spawn, *listen)
        addr: tuple[str, int] = self._server.sockets[0].getsockname()[:2]
        return addr

    async def aclose(self) -> None:
        """Stop forwarding: close the sockets and drop what is still in flight."""
        for fwd in self._forwarders:
            fwd.close()
        if self._udp is not None:
            self._udp.close()
        if self._out is not None:
            self._out.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
