"""Ingest: transfer frames from ground stations, over TCP (a CADU stream) or UDP (one
frame per datagram).

Two layers, as everywhere in dawnlink:

- :class:`StationDecoder`, sans-I/O: stream octets or datagrams in, transfer frames out,
  with per-station counters and events. A TCP stream goes through
  :class:`~comms.coding.CaduDecoder` (frame sync on the ASM, derandomize, Reed-Solomon
  decode, 131.0-B-5) as the station's config says; a UDP datagram must be exactly one
  frame. Garbage, uncorrectable codeblocks and wrong-sized datagrams are counted and
  reported as events, never raised.
- :class:`StationLink`, asyncio: one task per station. As a TCP client it connects and
  reconnects with capped, jittered exponential backoff (:class:`gateway.backoff.Backoff`,
  injected ``random.Random``); as a TCP server it takes any number of station
  connections, each its own stream; as a UDP endpoint it takes datagrams from anyone.
  Each batch of frames goes to a sink with the earth-receive time read from the
  injected clock when the octets arrived.

The FECF is not checked here: the station merge checks it once, counts failures per
station and keeps the good copy (:mod:`gateway.merge`). A TCP stream cut in the middle
of a CADU loses that CADU; the new connection starts a fresh frame synchronizer.

Left out: CADUs over UDP, SLE (CCSDS 911.x) transfer services, and authentication of
station connections (put them on a private network or a TLS tunnel).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Final

from comms.buffers import BytesLike
from comms.coding import (
    CaduDecoder,
    CaduEvent,
    CaduFrame,
    CaduParams,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    UncorrectableCodeblock,
)
from comms.coding.sync import SyncState
from comms.errors import UsageError
from gateway.backoff import Backoff
from gateway.config import StationConfig, StationKind
from gateway.metrics import Registry

__all__ = [
    "DatagramRefused",
    "FrameSink",
    "IngestEvent",
    "StationConnected",
    "StationCounters",
    "StationDecoder",
    "StationDisconnected",
    "StationLink",
    "StationLockChanged",
    "StreamGarbage",
    "UncorrectableCadu",
    "cadu_params",
    "register_station_metrics",
]

#: Read size for a TCP stream: a few 1279-octet CADUs per read keeps the batch decode
#: (one numpy call per feed) efficient without holding frames back.
READ_SIZE: Final = 64 * 1024
#: Reconnect backoff: first retry after ~0.5 s, at most ~30 s apart (a station restart
#: or a network blip is usually over within that).
RECONNECT_INITIAL_S: Final = 0.5
RECONNECT_MAX_S: Final = 30.0

FrameSink = Callable[[str, list[bytes], float], None]
"""Where a station's frames go: ``sink(station, frames, ert)``; ``ert`` is the
earth-receive time (Unix seconds UTC) of the octets that completed them."""


@dataclass(frozen=True, slots=True)
class StationConnected:
    station: str
    peer: str


@dataclass(frozen=True, slots=True)
class StationDisconnected:
    station: str
    peer: str
    reason: str


@dataclass(frozen=True, slots=True)
class StationLockChanged:
    """The frame synchronizer of ``station`` acquired (``locked``) or lost lock."""

    station: str
    locked: bool


@dataclass(frozen=True, slots=True)
class StreamGarbage:
    """``bits`` of ``station``'s stream were skipped looking for a sync marker."""

    station: str
    bits: int


@dataclass(frozen=True, slots=True)
class UncorrectableCadu:
    """Reed-Solomon could not correct the CADU at ``bit_offset`` of the stream."""

    station: str
    bit_offset: int
    codewords: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DatagramRefused:
    """A UDP datagram that is not one frame of the station's frame length."""

    station: str
    length: int
    expected: int


IngestEvent = (
    StationConnected
    | StationDisconnected
    | StationLockChanged
    | StreamGarbage
    | UncorrectableCadu
    | DatagramRefused
)


@dataclass(slots=True)
class StationCounters:
    """Running totals of one station's link (mutable; the decoder bumps them).

    Together with :class:`gateway.merge.StationQuality` (CRC failures, gaps,
    contribution) these are the per-station metrics.
    """

    bytes: int = 0
    """Octets received (stream or datagrams)."""
    datagrams: int = 0
    frames: int = 0
    """Frames handed on (not yet FECF-checked)."""
    cadus: int = 0
    rs_corrected_symbols: int = 0
    rs_corrected_cadus: int = 0
    uncorrectable: int = 0
    malformed: int = 0
    """Datagrams of the wrong size."""
    garbage_bits: int = 0
    locks_acquired: int = 0
    locks_lost: int = 0
    slips: int = 0
    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    locked: bool = False
    """The frame synchronizer is in lock (always True for UDP once a frame arrived)."""

    @property
    def connected(self) -> int:
        """TCP connections open now (a listening station may have several)."""
        return self.connects - self.disconnects

    def snapshot(self) -> dict[str, int | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: The per-station series: (metric name, help, the counters field it reads).
_COUNTER_METRICS: Final = (
    ("dawnlink_station_bytes_total", "Octets received from the station.", "bytes"),
    ("dawnlink_station_datagrams_total", "UDP datagrams received.", "datagrams"),
    ("dawnlink_station_frames_total", "Transfer frames decoded (before the FECF check).", "frames"),
    (
        "dawnlink_station_rs_corrected_symbols_total",
        "Reed-Solomon symbols corrected.",
        "rs_corrected_symbols",
    ),
    (
        "dawnlink_station_rs_corrected_cadus_total",
        "CADUs that needed Reed-Solomon corrections.",
        "rs_corrected_cadus",
    ),
    (
        "dawnlink_station_uncorrectable_cadus_total",
        "CADUs Reed-Solomon could not correct (lost).",
        "uncorrectable",
    ),
    ("dawnlink_station_malformed_datagrams_total", "Datagrams of the wrong size.", "malformed"),
    (
        "dawnlink_station_garbage_bits_total",
        "Stream bits skipped looking for a sync marker.",
        "garbage_bits",
    ),
    ("dawnlink_station_locks_acquired_total", "Frame sync acquisitions.", "locks_acquired"),
    ("dawnlink_station_locks_lost_total", "Frame sync losses.", "locks_lost"),
    ("dawnlink_station_slips_total", "Bit slips the frame synchronizer followed.", "slips"),
    ("dawnlink_station_connects_total", "TCP connections made or accepted.", "connects"),
    ("dawnlink_station_disconnects_total", "TCP connections ended.", "disconnects"),
    (
        "dawnlink_station_connect_failures_total",
        "Failed connection attempts (connect mode).",
        "connect_failures",
    ),
)


def register_station_metrics(registry: Registry, links: Sequence[StationLink]) -> None:
    """Expose the :class:`StationCounters` of ``links`` as series labelled
    ``station="<name>"``, read at each scrape."""
    links = list(links)

    def reader(attr: str) -> Callable[[], list[tuple[tuple[str], float]]]:
        return lambda: [((link.name,), float(getattr(link.counters, attr))) for link in links]

    for name, help, attr in _COUNTER_METRICS:
        registry.counter(name, help, labelnames=("station",), collect=reader(attr))
    registry.gauge(
        "dawnlink_station_locked",
        "1 while the station's frame synchronizer is in lock (UDP: once a frame arrived).",
        labelnames=("station",),
        collect=reader("locked"),
    )
    registry.gauge(
        "dawnlink_station_connected",
        "TCP connections to the station open now (UDP stations: 0).",
        labelnames=("station",),
        collect=reader("connected"),
    )


def cadu_params(station: StationConfig) -> CaduParams:
    """The CADU channel parameters a station's config describes."""
    if station.rs_interleave:
        return CaduParams.shortened(
            station.frame_length,
            rs_e=16,
            interleave=station.rs_interleave,
            randomize=station.randomized,
        )
    return CaduParams(station.frame_length, rs_e=None, randomize=station.randomized)


class StationDecoder:
    """Sans-I/O: one station's octets in, transfer frames out.

    ``stream``: True for a CADU stream (``cadu`` gives the coding), False for one frame
    per datagram of ``frame_length`` octets.
    """

    def __init__(
        self,
        name: str,
        *,
        frame_length: int,
        cadu: CaduParams | None = None,
        check_count: int = 1,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise UsageError(f"A station is named by a non-empty str, got {name!r}.")
        if cadu is not None and cadu.frame_length != frame_length:
            raise UsageError(
                f"The CADU parameters carry {cadu.frame_length}-octet frames but the station "
                f"has {frame_length}-octet frames; make them agree."
            )
        self.name = name
        self.frame_length = frame_length
        self.cadu = cadu
        self._check_count = check_count
        self.counters = StationCounters()
        self._events: list[IngestEvent] = []
        self._decoder = self._new_decoder()

    def _new_decoder(self) -> CaduDecoder | None:
        if self.cadu is None:
            return None
        return CaduDecoder(self.cadu, check_count=self._check_count)

    def events(self) -> list[IngestEvent]:
        """Drain the events reported so far."""
        # Drained in place: a TCP server's connections share this list.
        events = list(self._events)
        self._events.clear()
        return events

    def feed(self, chunk: BytesLike) -> list[bytes]:
        """Stream octets in (any split); the frames they completed out, in order."""
        if self._decoder is None:
            raise UsageError(f"Station {self.name} takes datagrams, not a stream: use datagram().")
        self.counters.bytes += len(chunk)
        return self._events_to_frames(self._decoder.feed(chunk))

    def end_of_stream(self) -> list[bytes]:
        """The connection ended: flush the synchronizer and start a fresh one."""
        if self._decoder is None:
            return []
        frames = self._events_to_frames(self._decoder.close())
        self._decoder = self._new_decoder()
        if self.counters.locked:
            self.counters.locked = False
            self._events.append(StationLockChanged(self.name, False))
        return frames

    def datagram(self, data: BytesLike) -> list[bytes]:
        """One UDP datagram: a frame, or refused and counted."""
        counters = self.counters
        counters.bytes += len(data)
        counters.datagrams += 1
        if len(data) != self.frame_length:
            counters.malformed += 1
            self._events.append(DatagramRefused(self.name, len(data), self.frame_length))
            return []
        counters.frames += 1
        counters.locked = True
        return [bytes(data)]

    def _events_to_frames(self, events: Sequence[CaduEvent]) -> list[bytes]:
        counters = self.counters
        frames: list[bytes] = []
        for event in events:
            if isinstance(event, CaduFrame):
                frames.append(event.data)
                corrected = event.corrected
                if corrected:
                    counters.rs_corrected_symbols += corrected
                    counters.rs_corrected_cadus += 1
            elif isinstance(event, UncorrectableCodeblock):
                counters.uncorrectable += 1
                self._events.append(
                    UncorrectableCadu(self.name, event.bit_offset, event.uncorrectable_codewords)
                )
            elif isinstance(event, LockAcquired):
                counters.locks_acquired += 1
                counters.locked = True
                self._events.append(StationLockChanged(self.name, True))
            elif isinstance(event, LockLost):
                counters.locks_lost += 1
                counters.locked = False
                self._events.append(StationLockChanged(self.name, False))
            elif isinstance(event, SlipDetected):
                counters.slips += 1
            elif isinstance(event, GarbageSkipped):
                counters.garbage_bits += event.bits
                self._events.append(StreamGarbage(self.name, event.bits))
        counters.frames += len(frames)
        counters.cadus = counters.frames + counters.uncorrectable
        decoder = self._decoder
        if decoder is not None and decoder.state in (SyncState.LOCK, SyncState.FLYWHEEL):
            counters.locked = True
        return frames


class StationLink:
    """The asyncio side of one station: connect or listen (TCP) or bind (UDP), feed a
    :class:`StationDecoder`, hand frames to ``sink``.

    ``listen``: for a TCP station, accept connections on ``host:port`` instead of
    connecting to it (stations that push); None (the default) follows the station's
    ``mode``. ``clock`` stamps the earth-receive time (Unix seconds UTC); ``rng``
    jitters the reconnect backoff.
    """

    def __init__(
        self,
        station: StationConfig,
        sink: FrameSink,
        *,
        listen: bool | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        reconnect_initial_s: float = RECONNECT_INITIAL_S,
        reconnect_max_s: float = RECONNECT_MAX_S,
        logger: logging.Logger | None = None,
    ) -> None:
        self.config = station
        self.name = station.name
        self.sink = sink
        self.listen = station.mode == "listen" if listen is None else listen
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.ingest")
        self.backoff = Backoff(reconnect_initial_s, reconnect_max_s, rng or random.Random())
        stream = station.kind is StationKind.TCP_CADU
        self.decoder = StationDecoder(
            station.name,
            frame_length=station.frame_length,
            cadu=cadu_params(station) if stream else None,
        )
        #: Set once the socket is bound (UDP, TCP server) or first connected (client).
        self.ready = asyncio.Event()
        #: The bound port (useful with port 0 in tests).
        self.port: int | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def counters(self) -> StationCounters:
        return self.decoder.counters

    def events(self) -> list[IngestEvent]:
        return self.decoder.events()

    async def run(self) -> None:
        """Run until cancelled."""
        if self.config.kind is StationKind.UDP_FRAMES:
            await self._run_udp()
        elif self.listen:
            await self._run_server()
        else:
            await self._run_client()

    # -- TCP client ------------------------------------------------------------------

    async def _run_client(self) -> None:
        host, port = self.config.host, self.config.port
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError as exc:
                self.counters.connect_failures += 1
                delay = self.backoff.next_delay()
                self.log.warning(
                    "station %s: connect to %s:%d failed (%s); retry in %.2f s",
                    self.name,
                    host,
                    port,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            self.ready.set()
            await self._serve_stream(reader, writer)
            delay = self.backoff.next_delay()
            await asyncio.sleep(delay)

    # -- TCP server ------------------------------------------------------------------

    async def _run_server(self) -> None:
        server = await asyncio.start_server(self._serve_client, self.config.host, self.config.port)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        try:
            async with server:
                await server.serve_forever()
        finally:
            # Closing the server leaves its connections open: end them with the link,
            # so a stopping gateway stops ingesting (and says so to the station).
            connections = list(self._connections)
            for task in connections:
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._serve_stream(reader, writer)
        except asyncio.CancelledError:
            pass  # the link is stopping; _serve_stream logged the end of the stream
        finally:
            self._connections.discard(task)

    async def _serve_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        # A server takes several connections: each is its own stream and synchronizer.
        decoder = self.decoder if not self.listen else self._connection_decoder()
        counters = self.counters
        counters.connects += 1
        decoder._events.append(StationConnected(self.name, peer))
        self.log.info("station %s: connected %s", self.name, peer)
        reason = "closed by peer"
        try:
            while True:
                chunk = await reader.read(READ_SIZE)
                if not chunk:
                    break
                ert = self.clock()
                frames = decoder.feed(chunk)
                if frames:
                    self.sink(self.name, frames, ert)
        except (OSError, asyncio.IncompleteReadError) as exc:
            reason = f"error: {exc}"
        except asyncio.CancelledError:
            reason = "gateway stopping"
            raise
        finally:
            frames = decoder.end_of_stream()
            if frames:
                self.sink(self.name, frames, self.clock())
            counters.disconnects += 1
            decoder._events.append(StationDisconnected(self.name, peer, reason))
            self.log.info("station %s: disconnected %s (%s)", self.name, peer, reason)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _connection_decoder(self) -> StationDecoder:
        decoder = StationDecoder(
            self.name, frame_length=self.config.frame_length, cadu=self.decoder.cadu
        )
        # Share one set of counters and one event queue across connections.
        decoder.counters = self.decoder.counters
        decoder._events = self.decoder._events
        return decoder

    # -- UDP -------------------------------------------------------------------------

    async def _run_udp(self) -> None:
        loop = asyncio.get_running_loop()
        link = self

        class _Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
                frames = link.decoder.datagram(data)
                if frames:
                    link.sink(link.name, frames, link.clock())

            def error_received(self, exc: Exception) -> None:
                link.log.warning("station %s: UDP error %s", link.name, exc)

        transport, _ = await loop.create_datagram_endpoint(
            _Protocol, local_addr=(self.config.host, self.config.port)
        )
        self.port = transport.get_extra_info("sockname")[1]
        self.ready.set()
        try:
            await asyncio.Future()  # until cancelled
        finally:
            transport.close()
