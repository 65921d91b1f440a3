"""The asyncio CFDP entity (CCSDS 727.0-B-5) and the transports it rides on.

:class:`CfdpEntity` runs the sans-I/O :class:`comms.cfdp.Entity` on the one generic
:class:`~comms.aio.driver.Driver`: ``async with`` starts it, :meth:`CfdpEntity.put`
returns a :class:`TransactionHandle` to await, ``async for event in entity.events()``
yields the indications of :mod:`comms.cfdp.events` (transaction started, metadata
received, file segment received -- the progress --, EOF sent/received, finished, fault,
suspended, resumed, abandoned). The driver feeds ``loop.time()`` and keeps one timer at
the entity's next deadline, so the same entity runs on links.clock's virtual time.

PDUs leave through a :class:`PduTransport` (one method, ``send_pdu(destination entity
id, octets)``) and come in through :meth:`CfdpEntity.receive_pdu`. Two are provided:

- :class:`UdpPduTransport`: one PDU per datagram, a fixed address per peer entity;
- :class:`SpacePacketPduTransport`: each PDU in one Space Packet (133.0-B-2) of a
  configured APID, handed to a callback (a virtual channel, the uplink); packets coming
  back are given to :meth:`SpacePacketPduTransport.receive_packet`.

Pacing. The entity hands out at most ``send_burst`` PDUs per drain and says "due now"
while more is ready; the driver runs a due machine again on the next loop turn, so with
``burst_interval_s`` 0 a file streams in bursts with the loop turning between them. A
positive ``burst_interval_s`` caps the rate (``send_burst`` PDUs per interval) where a
receiver's socket buffer would otherwise overflow: the adapter here moves a due
deadline to ``now + burst_interval_s``.

Left out: rate control beyond that cap, segmenting PDUs over several Space Packets (a PDU
must fit one packet), and TCP (CFDP over a stream needs PDU framing the book leaves out).
"""

from __future__ import annotations

import asyncio
import math
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

from comms.aio.driver import Driver
from comms.aio.transports import Address, UdpEndpoint
from comms.buffers import BytesLike
from comms.cfdp import (
    Abandoned,
    CfdpEvent,
    ConditionCode,
    Entity,
    Filestore,
    Mib,
    PutRequest,
    TransactionFinished,
    TransactionId,
)
from comms.cfdp.codes import ResponseRequired
from comms.errors import UsageError
from comms.spp import PacketType, SpacePacket

__all__ = [
    "CfdpEntity",
    "PduReceiver",
    "PduTransport",
    "Progress",
    "PutReport",
    "SpacePacketPduTransport",
    "TransactionHandle",
    "UdpPduTransport",
    "open_udp_entity",
    "put_file",
    "run",
    "serve",
]

R = TypeVar("R")

TransactionEnd = TransactionFinished | Abandoned


@runtime_checkable
class PduTransport(Protocol):
    """Where the entity's PDUs go: one call per PDU."""

    def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None: ...


class PduReceiver(Protocol):
    """What a transport calls with each PDU that arrives (``CfdpEntity.receive_pdu``)."""

    def __call__(self, pdu: bytes, /, *, now: float | None = None) -> None: ...


class _Paced:
    """The Entity as the driver's Machine, with a due deadline moved ``burst_interval_s``
    after the latest ``now`` (unchanged when 0: the driver runs it on the next turn).

    It wraps every input (:meth:`call`) to learn that ``now``: the entity's deadline
    alone cannot say whether it is due.
    """

    def __init__(self, entity: Entity, burst_interval_s: float) -> None:
        self.entity = entity
        self.burst_interval_s = burst_interval_s
        self.now = -math.inf

    def call(self, fn: Callable[..., Any], *args: Any, now: float) -> Any:
        self.now = max(self.now, now)
        return fn(*args, now=now)

    def on_timer(self, now: float) -> None:
        self.now = max(self.now, now)
        self.entity.on_timer(now)

    def next_deadline(self) -> float | None:
        deadline = self.entity.next_deadline()
        if deadline is None or deadline > self.now:
            return deadline
        return self.now + self.burst_interval_s


def _file_data_overhead(pdu: bytes) -> int:
    """Octets of a File Data PDU that are not file data (5.1, 5.3): fixed header,
    segment offset, CRC. This entity never sends segment metadata."""
    ids = pdu[3]
    header = 4 + 2 * (((ids >> 4) & 7) + 1) + (ids & 7) + 1
    return header + (8 if pdu[0] & 0x01 else 4) + (2 if pdu[0] & 0x02 else 0)


class TransactionHandle:
    """A transaction this entity started: ``await handle`` gives how it ended.

    The result is the source's :class:`~comms.cfdp.TransactionFinished` (or
    :class:`~comms.cfdp.Abandoned`); :attr:`succeeded` says whether it ended with
    NO_ERROR. If the entity closes first, awaiting raises :class:`UsageError`.
    """

    def __init__(self, transaction_id: TransactionId, future: asyncio.Future[TransactionEnd]):
        self.transaction_id = transaction_id
        self._future = future

    def __await__(self) -> Any:
        return asyncio.shield(self._future).__await__()

    def done(self) -> bool:
        return self._future.done()

    @property
    def result(self) -> TransactionEnd | None:
        """How the transaction ended; None while it runs."""
        if not self._future.done() or self._future.exception() is not None:
            return None
        return self._future.result()

    @property
    def succeeded(self) -> bool:
        end = self.result
        return isinstance(end, TransactionFinished) and end.condition_code is ConditionCode.NO_ERROR

    def __repr__(self) -> str:
        return f"TransactionHandle({self.transaction_id!r}, done={self.done()})"


class CfdpEntity:
    """A CFDP entity on asyncio: the sans-I/O :class:`~comms.cfdp.Entity`, one driver,
    one transport.

    ``transport`` may be given later (:attr:`transport`), since a transport usually
    needs :meth:`receive_pdu` to be built. Transports with a ``close()`` that the entity
    was given through :meth:`adopt` are closed when it exits.
    """

    def __init__(
        self,
        mib: Mib,
        filestore: Filestore,
        transport: PduTransport | None = None,
        *,
        burst_interval_s: float = 0.0,
        name: str | None = None,
    ) -> None:
        if not isinstance(burst_interval_s, int | float) or not burst_interval_s >= 0:
            raise UsageError(
                f"burst_interval_s must be a number of seconds >= 0, got {burst_interval_s!r}."
            )
        self.entity = Entity(mib, filestore)
        self.transport = transport
        self._machine = _Paced(self.entity, float(burst_interval_s))
        self.driver: Driver[CfdpEvent] = Driver(
            self._machine, drain=self._drain, name=name or f"cfdp-{self.entity.entity_id}"
        )
        self._deliver = self.driver.feeder(self._machine.call)
        self._handles: dict[TransactionId, asyncio.Future[TransactionEnd]] = {}
        self._owned: list[Any] = []
        #: Counters for reports and metrics: PDUs sent, PDUs dropped for want of a
        #: transport, and file octets sent in File Data PDUs (retransmissions included,
        #: so less the file size it is what was retransmitted).
        self.pdus_sent = 0
        self.pdus_unsent = 0
        self.file_octets_sent = 0

    @property
    def entity_id(self) -> int:
        return self.entity.entity_id

    def adopt(self, resource: Any) -> None:
        """Close ``resource`` (a transport) when the entity exits."""
        self._owned.append(resource)

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> CfdpEntity:
        self.driver.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.driver.__aexit__(exc_type, exc, tb)
        finally:
            self._fail_handles()
            for resource in reversed(self._owned):
                resource.close()
            for resource in reversed(self._owned):
                waiter = getattr(resource, "wait_closed", None)
                if waiter is not None:
                    await waiter()

    def close(self) -> None:
        self.driver.close()
        self._fail_handles()

    # -- inputs -------------------------------------------------------------------------

    def receive_pdu(self, pdu: BytesLike, *, now: float | None = None) -> None:
        """A PDU from the link. Never raises for the peer's bytes (a bad PDU becomes a
        ``PduRejected`` event); dropped once the entity is closed."""
        if now is None:
            now = self.driver.loop.time()
        self._deliver(self.entity.receive_pdu, pdu, now=now)

    def put(
        self,
        request: PutRequest | int,
        source_file_name: bytes | str | None = None,
        destination_file_name: bytes | str | None = None,
        **options: Any,
    ) -> TransactionHandle:
        """Put.request (3.4.2): a :class:`PutRequest`, or its destination entity id,
        file names and options (``transmission_mode``, ``closure_requested``...)."""
        if not isinstance(request, PutRequest):
            request = PutRequest(request, source_file_name, destination_file_name, **options)
        elif source_file_name is not None or destination_file_name is not None or options:
            raise UsageError("Pass either a PutRequest or its fields to put(), not both.")
        tid: TransactionId = self._feed(self.entity.put, request)
        future: asyncio.Future[TransactionEnd] = self.driver.loop.create_future()
        self._handles[tid] = future
        return TransactionHandle(tid, future)

    def cancel(self, tid: TransactionId) -> None:
        self._feed(self.entity.cancel, tid)

    def suspend(self, tid: TransactionId) -> None:
        self._feed(self.entity.suspend, tid)

    def resume(self, tid: TransactionId) -> None:
        self._feed(self.entity.resume, tid)

    def abandon(self, tid: TransactionId) -> None:
        self._feed(self.entity.abandon, tid)

    def report(self, tid: TransactionId) -> None:
        self._feed(self.entity.report, tid)

    def prompt(self, tid: TransactionId, response: ResponseRequired) -> None:
        self._feed(self.entity.prompt, tid, response)

    def link_down(self, entity_id: int | None = None) -> None:
        self._feed(lambda now: self.entity.link_down(now, entity_id))

    def link_up(self, entity_id: int | None = None) -> None:
        self._feed(lambda now: self.entity.link_up(now, entity_id))

    def _feed(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.driver.feed(self._machine.call, fn, *args)

    # -- outputs ------------------------------------------------------------------------

    def events(self) -> AsyncIterator[CfdpEvent]:
        """The indications, in order; ends when the entity closes. One consumer."""
        return self.driver.events()

    def _drain(self) -> Iterable[CfdpEvent]:
        transport = self.transport
        for destination, pdu in self.entity.pdus_to_send():
            if transport is None:
                self.pdus_unsent += 1
                continue
            if pdu[0] & 0x10:  # PDU type bit (5.1.2): File Data
                self.file_octets_sent += len(pdu) - _file_data_overhead(pdu)
            transport.send_pdu(destination, pdu)
            self.pdus_sent += 1
        events = self.entity.events()
        if self._handles:
            for event in events:
                if isinstance(event, TransactionFinished | Abandoned):
                    future = self._handles.pop(event.transaction_id, None)
                    if future is not None and not future.done():
                        future.set_result(event)
        return events

    def _fail_handles(self) -> None:
        for tid, future in self._handles.items():
            if not future.done():
                future.set_exception(
                    UsageError(f"The entity closed before transaction {tid!r} ended.")
                )
                future.exception()  # retrieved: nobody may be waiting
        self._handles.clear()


class UdpPduTransport:
    """One PDU per UDP datagram; ``peers`` maps entity ids to addresses.

    Open it with :meth:`open`, giving the receiver (``entity.receive_pdu``). A PDU for an
    entity not in ``peers`` is counted in ``unroutable`` and dropped, as a link would.
    """

    def __init__(self, endpoint: UdpEndpoint, peers: Mapping[int, Address]) -> None:
        self.endpoint = endpoint
        self.peers = dict(peers)
        self.unroutable = 0

    @classmethod
    async def open(
        cls,
        local_addr: Address,
        peers: Mapping[int, Address],
        receive: PduReceiver,
    ) -> UdpPduTransport:
        def on_datagram(data: bytes, addr: Address, *, now: float) -> None:
            receive(data, now=now)

        endpoint = await UdpEndpoint.open(local_addr, on_datagram=on_datagram)
        return cls(endpoint, peers)

    @property
    def local_address(self) -> Address:
        return self.endpoint.local_address

    def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None:
        addr = self.peers.get(destination_entity_id)
        if addr is None:
            self.unroutable += 1
            return
        self.endpoint.send(pdu, addr)

    def close(self) -> None:
        self.endpoint.close()

    async def wait_closed(self) -> None:
        await self.endpoint.wait_closed()


class SpacePacketPduTransport:
    """Each PDU in one unsegmented Space Packet of ``apid`` (CFDP over SPP, 727.0-B-5
    annex on the underlying service), handed to ``send_packet`` as octets.

    Packets back are given to :meth:`receive_packet`; those of another APID are
    counted in ``foreign`` and ignored (the demultiplexer routes by APID, this is a
    safety net). ``packet_type`` is TM on the downlink, TC on the uplink.
    """

    def __init__(
        self,
        apid: int,
        send_packet: Callable[[bytes], None],
        *,
        packet_type: PacketType = PacketType.TM,
        receive: PduReceiver | None = None,
    ) -> None:
        SpacePacket(apid=apid, data=b"\0", packet_type=packet_type)  # validates both
        self.apid = apid
        self.packet_type = packet_type
        self.send_packet = send_packet
        self.receive = receive
        self.sequence_count = 0
        self.foreign = 0

    def send_pdu(self, destination_entity_id: int, pdu: bytes) -> None:
        packet = SpacePacket(
            apid=self.apid,
            data=pdu,
            packet_type=self.packet_type,
            sequence_count=self.sequence_count,
        )
        self.sequence_count = (self.sequence_count + 1) & 0x3FFF
        self.send_packet(packet.encode())

    def receive_packet(self, packet: SpacePacket | BytesLike, *, now: float | None = None) -> None:
        """A packet from the link: its data field goes to the entity if the APID is ours.

        Raises DecodeError for octets that are not one Space Packet."""
        if not isinstance(packet, SpacePacket):
            packet = SpacePacket.decode(packet)
        if packet.apid != self.apid:
            self.foreign += 1
            return
        if self.receive is None:
            raise UsageError("Set SpacePacketPduTransport.receive (entity.receive_pdu) first.")
        self.receive(packet.data, now=now)


async def open_udp_entity(
    mib: Mib,
    filestore: Filestore,
    local_addr: Address,
    peers: Mapping[int, Address],
    *,
    burst_interval_s: float = 0.0,
) -> CfdpEntity:
    """A :class:`CfdpEntity` over a new :class:`UdpPduTransport` it owns (use it with
    ``async with``; the socket closes with it)."""
    entity = CfdpEntity(mib, filestore, burst_interval_s=burst_interval_s)
    transport = await UdpPduTransport.open(local_addr, peers, entity.receive_pdu)
    entity.transport = transport
    entity.adopt(transport)
    return entity


# -- the command line's runtime (comms/cli may not import asyncio) ------------------------


@dataclass(frozen=True, slots=True)
class PutReport:
    """How one :func:`put_file` went: sizes, loop time spent, and how it ended."""

    file_size: int
    elapsed_s: float
    file_octets_sent: int
    pdus_sent: int
    end: TransactionEnd | None
    timed_out: bool = False

    @property
    def retransmitted_octets(self) -> int:
        return max(0, self.file_octets_sent - self.file_size)

    @property
    def succeeded(self) -> bool:
        end = self.end
        return isinstance(end, TransactionFinished) and end.condition_code is ConditionCode.NO_ERROR

    @property
    def result(self) -> str:
        if self.timed_out:
            return "TIMEOUT"
        if isinstance(self.end, Abandoned):
            return f"ABANDONED ({self.end.condition_code.name})"
        return self.end.condition_code.name if self.end is not None else "UNKNOWN"


Progress = Callable[[int, int, float], None]
"""``(file octets sent, file size, seconds since the put)``, called periodically."""


async def put_file(
    entity: CfdpEntity,
    request: PutRequest,
    file_size: int,
    *,
    timeout_s: float | None = None,
    on_progress: Progress | None = None,
    progress_interval_s: float = 1.0,
) -> PutReport:
    """Put ``request`` on a started ``entity`` and wait (at most ``timeout_s``, then
    abandon) for it to end, calling ``on_progress`` every ``progress_interval_s``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    base_octets, base_pdus = entity.file_octets_sent, entity.pdus_sent
    handle = entity.put(request)

    async def report_progress(progress: Progress) -> None:
        while True:
            await asyncio.sleep(progress_interval_s)
            sent = min(entity.file_octets_sent - base_octets, file_size)
            progress(sent, file_size, loop.time() - started)

    ticker = asyncio.create_task(report_progress(on_progress)) if on_progress else None
    timed_out = False
    try:
        end: TransactionEnd | None = await asyncio.wait_for(handle, timeout_s)
    except TimeoutError:
        timed_out = True
        end = None
        entity.abandon(handle.transaction_id)
    finally:
        if ticker is not None:
            ticker.cancel()
    return PutReport(
        file_size,
        loop.time() - started,
        entity.file_octets_sent - base_octets,
        entity.pdus_sent - base_pdus,
        end,
        timed_out,
    )


async def serve(
    entity: CfdpEntity,
    *,
    count: int | None = None,
    on_finished: Callable[[TransactionFinished], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run a started ``entity`` until ``stop`` is set, SIGINT/SIGTERM (when running in
    the main thread), or ``count`` received transactions ended; returns how many of
    them failed. ``on_finished`` sees each received transaction's end."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (ValueError, RuntimeError, NotImplementedError):
            pass  # not the main thread, or no signals on this platform
    ended = failed = 0

    async def consume() -> None:
        nonlocal ended, failed
        async for event in entity.events():
            if isinstance(event, TransactionFinished) and not event.is_source:
                ended += 1
                failed += event.condition_code is not ConditionCode.NO_ERROR
                if on_finished is not None:
                    on_finished(event)
                if count is not None and ended >= count:
                    stop.set()
        stop.set()  # the entity closed

    consumer = asyncio.create_task(consume())
    try:
        await stop.wait()
    finally:
        consumer.cancel()
        for sig in installed:
            loop.remove_signal_handler(sig)
    return failed


def run(coro: Coroutine[Any, Any, R]) -> R:
    """``asyncio.run`` for callers outside comms/aio (the command line)."""
    return asyncio.run(coro)
