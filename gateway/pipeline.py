"""The downlink pipeline: station frames -> merge -> virtual channels -> packets ->
APID routing -> products -> outbox messages.

:class:`Pipeline` is the sans-I/O core. Frames go in with their station and
earth-receive time (``receive(station, frames, now)``, ``now`` in Unix seconds UTC);
``messages()`` drains the :class:`~gateway.messages.OutboxMessage` values to store,
``events()`` what went wrong on the way, and ``next_deadline()``/``on_timer(now)`` drive
the merge's give-up timer. The stages, in the order ARCHITECTURE.md gives them:

1. :class:`~gateway.merge.StationMerge`: copies from several stations become one ordered
   stream per virtual channel (before anything that assumes one stream);
2. an optional frame security hook (SDLS ProcessSecurity, 355.0-B-2, e.g.
   :class:`comms.sdls.SecurityEngine`): after the merge, so its anti-replay window sees
   each frame once and in order; then the optional ``on_ocf`` hook gets the 4-octet
   Operational Control Field (the CLCW for COP-1) of each frame that has one;
3. :class:`~comms.vc.MasterChannelReceiver`: VC demultiplexing, packet extraction, gap
   events (132.0-B-3, 732.0-B-4);
4. APID routing: a :class:`~gateway.products.ProductRoute` per APID; APIDs handed to
   CFDP go to a callable or to a :class:`~gateway.files.GatewayCfdp`, whose file
   notices join the messages and whose timers join ``next_deadline()``; others are
   counted as unrouted;
5. product decoding and the envelope (:mod:`gateway.products`); a product that fails
   to decode becomes a message on the error topic and a :class:`ProductFailed` event.

A packet's earth-receive time and stations are those of the frame that completed it.

:class:`PipelineRunner` is the thin asyncio side: it runs one
:class:`~gateway.ingest.StationLink` per station, feeds their frames in, re-arms one
timer at ``next_deadline()``, and stores messages in the outbox in batches (one SQLite
transaction each, in a worker thread, which also finishes the batch's file notices:
their SHA-256 reads the whole file, so never on the event loop). :func:`run_pipeline`
plugs it into :class:`gateway.daemon.Gateway`.

Left out: more than one spacecraft per pipeline (build one per SCID), USLP channels,
and Encapsulation Packets as products (counted as unrouted).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol

from comms.buffers import BytesLike
from comms.errors import CommsError, DecodeError, UsageError
from comms.frames import AosParams, TmParams
from comms.spp import SpacePacket
from comms.vc import MasterChannelReceiver
from comms.vc.events import VcEvent
from gateway.config import GatewayConfig
from gateway.files import CfdpReport, FileNotice, GatewayCfdp, finish_all
from gateway.ingest import IngestEvent, StationLink, register_station_metrics
from gateway.merge import MergeEvent, StationMerge
from gateway.messages import OutboxMessage, Topics
from gateway.metrics import Registry
from gateway.outbox import OutboxFull
from gateway.products import (
    DEFAULT_ERT_WINDOW_S,
    ProductRoute,
    build_message,
    error_message,
)

if TYPE_CHECKING:
    from gateway.daemon import Gateway

__all__ = [
    "CfdpSink",
    "FrameSecurity",
    "OcfRejected",
    "Pipeline",
    "PipelineCounters",
    "PipelineRunner",
    "ProductFailed",
    "SecurityRejected",
    "UnroutedPacket",
    "run_pipeline",
]

CfdpSink = Callable[[bytes, float], None]
"""Takes one CFDP PDU (a packet's data field) and its earth-receive time."""


class FrameSecurity(Protocol):
    """SDLS ProcessSecurity: a protected frame in, the plain frame out, or a
    :class:`~comms.errors.CommsError` (``comms.sdls.SecurityEngine.process`` fits)."""

    def process(self, frame: BytesLike) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ProductFailed:
    """The packet (``apid``, ``sequence_count``) did not decode as ``product``; it went
    to the error topic."""

    apid: int
    sequence_count: int
    product: str
    reason: str
    offset: int


@dataclass(frozen=True, slots=True)
class UnroutedPacket:
    """A packet of an APID no route names (the first of each APID is reported; all are
    counted)."""

    apid: int


@dataclass(frozen=True, slots=True)
class SecurityRejected:
    """The security hook refused a frame of (``vcid``, ``vc_frame_count``)."""

    vcid: int
    vc_frame_count: int
    reason: str


@dataclass(frozen=True, slots=True)
class CfdpRejected:
    """The CFDP entity refused a PDU of ``apid``."""

    apid: int
    reason: str


@dataclass(frozen=True, slots=True)
class OcfRejected:
    """The ``on_ocf`` hook refused the OCF of a frame of ``vcid``."""

    vcid: int
    reason: str


PipelineEvent = (
    MergeEvent
    | VcEvent
    | ProductFailed
    | UnroutedPacket
    | SecurityRejected
    | CfdpRejected
    | OcfRejected
    | CfdpReport
)


@dataclass(slots=True)
class PipelineCounters:
    frames_in: int = 0
    frames_merged: int = 0
    packets: int = 0
    messages: int = 0
    product_errors: int = 0
    unrouted: int = 0
    cfdp_pdus: int = 0
    security_rejected: int = 0

    def snapshot(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Pipeline:
    """Sans-I/O: frames of spacecraft ``scid`` from any number of stations in, outbox
    messages and events out.

    ``params``: the channel's :class:`~comms.frames.TmParams` or
    :class:`~comms.frames.AosParams` (as received, i.e. protected when SDLS is on).
    ``routes``: one :class:`~gateway.products.ProductRoute` per APID. ``topics``: the
    topic names. ``merge``: a configured :class:`~gateway.merge.StationMerge` (default:
    one with the merge's defaults). ``cfdp_apids`` + ``cfdp``: packets of those APIDs
    carry CFDP PDUs and go to ``cfdp(pdu, ert)``; a :class:`~gateway.files.GatewayCfdp`
    instead gets the stations too, and its notices, events and timers become the
    pipeline's (``cfdp_apids`` default to its ``downlink_apids``). ``on_ocf(ocf)``:
    called with the OCF of every merged frame that carries one (the TM OCF flag, or
    AOS parameters with an OCF), after the security hook and before VC processing.
    ``security`` + ``plain_params``: the SDLS hook and the parameters of the frames it
    returns. ``raw_payload``: publish raw products as the bare octets (MQTT
    ``payload_format = "raw"``) rather than the JSON envelope.
    """

    def __init__(
        self,
        params: TmParams | AosParams,
        *,
        scid: int,
        routes: Iterable[ProductRoute],
        topics: Topics,
        merge: StationMerge | None = None,
        cfdp_apids: Iterable[int] = (),
        cfdp: CfdpSink | GatewayCfdp | None = None,
        security: FrameSecurity | None = None,
        on_ocf: Callable[[bytes], None] | None = None,
        plain_params: TmParams | AosParams | None = None,
        ert_window_s: float = DEFAULT_ERT_WINDOW_S,
        raw_payload: bool = False,
    ) -> None:
        self.params = params
        self.scid = scid
        self.topics = topics
        self.merge = merge if merge is not None else StationMerge(params)
        if self.merge.params != params:
            raise UsageError("The merge and the pipeline must use the same frame parameters.")
        self.routes: dict[int, ProductRoute] = {}
        for route in routes:
            if route.apid in self.routes:
                raise UsageError(f"APID {route.apid} is routed twice; give each APID one route.")
            self.routes[route.apid] = route
        # Checked once here rather than per message.
        self._topics = {r.apid: topics.product(r.product) for r in self.routes.values()}
        self.cfdp_entity = cfdp if isinstance(cfdp, GatewayCfdp) else None
        if self.cfdp_entity is not None and not cfdp_apids:
            cfdp_apids = self.cfdp_entity.config.downlink_apids
        self.cfdp_apids = frozenset(cfdp_apids)
        if self.cfdp_apids and cfdp is None:
            raise UsageError("cfdp_apids need a cfdp callable to hand the PDUs to.")
        if self.cfdp_apids & set(self.routes):
            raise UsageError(
                f"APIDs {sorted(self.cfdp_apids & set(self.routes))} are routed both to "
                "products and to CFDP; pick one."
            )
        self.cfdp = cfdp
        if security is not None and plain_params is None:
            raise UsageError("A security hook changes the frame length: pass plain_params.")
        self.security = security
        self.on_ocf = on_ocf
        self.receiver = MasterChannelReceiver(plain_params or params, scid)
        self._ocf_at = _ocf_locator(plain_params or params)
        self.ert_window_s = ert_window_s
        self.raw_payload = raw_payload
        self.counters = PipelineCounters()
        self._messages: list[OutboxMessage | FileNotice] = []
        self._events: list[PipelineEvent] = []
        self._unrouted_seen: set[int] = set()

    @classmethod
    def from_config(
        cls,
        config: GatewayConfig,
        *,
        routes: Iterable[ProductRoute] | None = None,
        **options: Any,
    ) -> Pipeline:
        """A pipeline for ``config``: the stations' frame parameters (TM or AOS; all
        stations must agree), a merge built from ``[merge]``, its routes with their time
        codes (or ``routes``, e.g. for an agency epoch), its spacecraft and topics."""
        if not config.stations:
            raise UsageError("The config names no [[stations]]; the pipeline has no input.")
        shapes = {s.frame_params() for s in config.stations}
        if len(shapes) != 1:
            raise UsageError(
                "All stations of one spacecraft receive the same frames; their [stations.frame] "
                f"settings differ: {sorted(map(repr, shapes))}."
            )
        (params,) = shapes
        if routes is None:
            routes = [ProductRoute.from_config(r) for r in config.routes]
        if "merge" not in options:
            m = config.merge
            options["merge"] = StationMerge(
                params,
                window=m.window,
                timeout_s=m.timeout_s,
                start_hold_s=m.start_hold_s,
                idle_reset_s=m.idle_reset_s,
            )
        return cls(
            params,
            scid=config.spacecraft.scid,
            routes=routes,
            topics=Topics(config.mqtt.topic_prefix, config.spacecraft.name),
            raw_payload=config.mqtt.payload_format == "raw",
            **options,
        )

    # -- outputs ---------------------------------------------------------------------

    def messages(self) -> list[OutboxMessage]:
        """Drain the messages to store in the outbox, in packet order (file notices
        finished here, reading their files: see :meth:`unfinished_messages`)."""
        return finish_all(self.unfinished_messages())

    def unfinished_messages(self) -> list[OutboxMessage | FileNotice]:
        """Drain like :meth:`messages`, but file notices come as
        :class:`~gateway.files.FileNotice`: pass the list through
        :func:`gateway.files.finish_all` (off the event loop) before storing it."""
        if self.cfdp_entity is not None:
            self._messages.extend(self.cfdp_entity.notices())
        out, self._messages = self._messages, []
        return out

    def events(self) -> list[PipelineEvent]:
        """Drain what went wrong, merge, virtual channel and pipeline events in order."""
        self._events.extend(self.merge.events())
        if self.cfdp_entity is not None:
            self._events.extend(self.cfdp_entity.events())
        events, self._events = self._events, []
        return events

    def next_deadline(self) -> float | None:
        """The merge's give-up timer or a CFDP timer, whichever is first."""
        deadline = self.merge.next_deadline()
        if self.cfdp_entity is not None:
            cfdp = self.cfdp_entity.next_deadline()
            if cfdp is not None and (deadline is None or cfdp < deadline):
                deadline = cfdp
        return deadline

    # -- inputs ----------------------------------------------------------------------

    def receive(self, station: str, frames: Sequence[BytesLike], now: float) -> None:
        """Frames ``station`` received at ``now`` (Unix seconds UTC)."""
        merge = self.merge
        self.counters.frames_in += len(frames)
        for frame in frames:
            merge.receive(station, frame, now)
        self._process()

    def on_timer(self, now: float) -> None:
        self.merge.on_timer(now)
        self._process()
        if self.cfdp_entity is not None:
            self.cfdp_entity.on_timer(now)

    def flush(self) -> None:
        """End of pass: release everything the merge holds."""
        self.merge.flush()
        self._process()

    # -- internals -------------------------------------------------------------------

    def _process(self) -> None:
        self._events.extend(self.merge.events())
        merged = self.merge.frames()
        if not merged:
            return
        self.counters.frames_merged += len(merged)
        receiver = self.receiver
        security = self.security
        for frame in merged:
            data = frame.data
            if security is not None:
                try:
                    data = security.process(data)
                except CommsError as exc:
                    self.counters.security_rejected += 1
                    self._events.append(
                        SecurityRejected(frame.vcid, frame.vc_frame_count, str(exc))
                    )
                    continue
            if self.on_ocf is not None:
                start = self._ocf_at(data)
                if start is not None:
                    try:
                        self.on_ocf(data[start : start + 4])
                    except CommsError as exc:
                        # A bad CLCW must not cost the frame's packets.
                        self._events.append(OcfRejected(frame.vcid, str(exc)))
            receiver.receive_bytes(data)
            packets = receiver.packets()
            events = receiver.events()
            if events:
                self._events.extend(events)
            if packets:
                self._route(packets, frame.vcid, frame.ert, frame.stations)

    def _route(self, packets: list[Any], vcid: int, ert: float, stations: tuple[str, ...]) -> None:
        counters = self.counters
        counters.packets += len(packets)
        routes = self.routes
        for packet in packets:
            if not isinstance(packet, SpacePacket):
                self._unrouted(-1)
                continue
            apid = packet.apid
            route = routes.get(apid)
            if route is None:
                if apid in self.cfdp_apids:
                    self._to_cfdp(packet, ert, stations)
                else:
                    self._unrouted(apid)
                continue
            try:
                message = build_message(
                    route,
                    packet,
                    scid=self.scid,
                    topics=self.topics,
                    ert=ert,
                    stations=stations,
                    vcid=vcid,
                    ert_window_s=self.ert_window_s,
                    raw_payload=self.raw_payload,
                    topic=self._topics[apid],
                )
            except DecodeError as exc:
                counters.product_errors += 1
                self._events.append(
                    ProductFailed(
                        apid, packet.sequence_count, route.product, exc.reason, exc.offset
                    )
                )
                message = error_message(
                    route,
                    packet,
                    exc,
                    scid=self.scid,
                    topics=self.topics,
                    ert=ert,
                    stations=stations,
                    ert_window_s=self.ert_window_s,
                )
            counters.messages += 1
            self._messages.append(message)

    def _to_cfdp(self, packet: SpacePacket, ert: float, stations: tuple[str, ...]) -> None:
        assert self.cfdp is not None
        self.counters.cfdp_pdus += 1
        try:
            if self.cfdp_entity is not None:
                self.cfdp_entity.receive_pdu(packet.data, ert, stations)
            else:
                self.cfdp(packet.data, ert)  # type: ignore[operator]
        except CommsError as exc:
            self._events.append(CfdpRejected(packet.apid, str(exc)))

    def _unrouted(self, apid: int) -> None:
        self.counters.unrouted += 1
        if apid not in self._unrouted_seen:
            self._unrouted_seen.add(apid)
            self._events.append(UnroutedPacket(max(apid, 0)))


def _ocf_locator(params: TmParams | AosParams) -> Callable[[bytes], int | None]:
    """Where a frame's OCF starts (None: it has none): before the FECF, if any."""
    fecf = 2 if params.has_fecf else 0
    if isinstance(params, AosParams):
        # AOS has no OCF flag: the managed parameters say (732.0-B-4 4.1.5).
        fixed = params.has_ocf
        return lambda frame: len(frame) - fecf - 4 if fixed else None
    forced = params.has_ocf

    def tm(frame: bytes) -> int | None:
        # TM: the OCF flag is the last bit of the first two octets (132.0-B-3 4.1.2.4),
        # unless the parameters fix it.
        has = bool(frame[1] & 1) if forced is None else forced
        return len(frame) - fecf - 4 if has else None

    return tm


class MessageStore(Protocol):
    """Where messages go: :class:`gateway.outbox.Outbox` fits."""

    def put_many(self, messages: Sequence[OutboxMessage]) -> list[int]: ...


class PipelineRunner:
    """The asyncio side: stations -> :class:`Pipeline` -> ``store``.

    ``links``: options per station name for :class:`~gateway.ingest.StationLink`
    (``listen=True`` ...). ``clock``: Unix seconds UTC, the earth-receive time and the
    pipeline's ``now``. ``registry``: where the per-station ingest and merge metrics
    are registered (labelled ``station``). Runs until cancelled; :meth:`flush` releases
    what the merge holds and waits until it is stored.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        config: GatewayConfig,
        store: MessageStore,
        *,
        links: dict[str, dict[str, Any]] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
        on_event: Callable[[object], None] | None = None,
        retry_s: float = 1.0,
        registry: Registry | None = None,
        on_downlink: Callable[[str, float], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        # Told which station delivered frames and when: the uplink goes through the
        # station that hears the spacecraft now (gateway.uplink.choose_station).
        self.on_downlink = on_downlink
        self.store = store
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.pipeline")
        self.on_event = on_event
        self.retry_s = retry_s
        rng = rng or random.Random()
        links = links or {}
        self.links = [
            StationLink(
                station,
                self._frames,
                rng=random.Random(rng.random()),
                clock=clock,
                logger=logger,
                **links.get(station.name, {}),
            )
            for station in config.stations
        ]
        if registry is not None:
            register_station_metrics(registry, self.links)
            pipeline.merge.register_metrics(registry, [s.name for s in config.stations])
        # File notices stay unfinished until the writer's worker thread (see _store).
        self._pending: list[OutboxMessage | FileNotice] = []
        self._wakeup = asyncio.Event()
        self._stored = asyncio.Condition()
        self._stored_count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None

    @property
    def stored(self) -> int:
        """Messages stored in the outbox so far."""
        return self._stored_count

    async def run(self) -> None:
        # What the pipeline holds before any frame (a resumed CFDP transaction's notice,
        # its timers and checkpoint) is taken up now, not at the first frame.
        self._collect()
        async with asyncio.TaskGroup() as tasks:
            for link in self.links:
                tasks.create_task(link.run(), name=f"station-{link.name}")
            tasks.create_task(self._writer(), name="pipeline-writer")

    async def wait_ready(self) -> None:
        """Until every station socket is bound or connected."""
        for link in self.links:
            await link.ready.wait()

    async def wait_stored(self, count: int) -> None:
        """Until at least ``count`` messages are in the store."""
        async with self._stored:
            await self._stored.wait_for(lambda: self._stored_count >= count)

    def take_unstored(self) -> list[OutboxMessage]:
        """After :meth:`run` ended: the messages the writer had not stored yet, and
        everything the merge still held (the caller stores them). File notices are
        finished here, in the calling thread (the loop has stopped ingesting)."""
        self.pipeline.flush()
        batch, self._pending = self._pending, []
        return finish_all(batch + self.pipeline.unfinished_messages())

    def flush(self) -> None:
        """End of pass: release what the merge holds (stored by the writer task)."""
        self.pipeline.flush()
        self._collect()

    # -- internals -------------------------------------------------------------------

    def _frames(self, station: str, frames: list[bytes], ert: float) -> None:
        if frames and self.on_downlink is not None:
            self.on_downlink(station, ert)
        self.pipeline.receive(station, frames, ert)
        self._collect()

    def _collect(self) -> None:
        pipeline = self.pipeline
        messages = pipeline.unfinished_messages()
        if messages:
            self._pending.extend(messages)
            self._wakeup.set()
        for event in pipeline.events():
            self._report(event)
        for link in self.links:
            for ingest_event in link.events():
                self._report(ingest_event)
        self._arm_timer()

    def _report(self, event: PipelineEvent | IngestEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)
        self.log.debug("pipeline event %s", event)

    def _arm_timer(self) -> None:
        deadline = self.pipeline.next_deadline()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            loop = asyncio.get_running_loop()
            # The pipeline runs on the injected (UTC) clock; the loop on its own.
            delay = max(0.0, deadline - self.clock())
            self._timer = loop.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        self.pipeline.on_timer(self.clock())
        self._collect()

    async def _writer(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending:
                    batch, self._pending = self._pending, []
                    try:
                        await asyncio.to_thread(self._store, batch)
                    except OutboxFull as exc:
                        # Backpressure: keep the batch (in order) and try again later
                        # rather than drop data the outbox policy did not choose to drop.
                        self._pending[:0] = batch
                        self.log.warning("outbox full (%s); retrying in %.1f s", exc, self.retry_s)
                        await asyncio.sleep(self.retry_s)
                        continue
                    async with self._stored:
                        self._stored_count += len(batch)
                        self._stored.notify_all()
        finally:
            if self._timer is not None:
                self._timer.cancel()

    def _store(self, batch: list[OutboxMessage | FileNotice]) -> None:
        # In the worker thread: the file notices' hashing, then one transaction, in
        # order. A notice keeps its finished message, so a retry (OutboxFull) does not
        # read the file again.
        self.store.put_many(finish_all(batch))


async def run_pipeline(gateway: Gateway, **options: Any) -> None:
    """The :data:`gateway.daemon.Pipeline` hook: ingest from the configured stations
    into the gateway's outbox until cancelled.

    With ``[cfdp]`` it builds the :class:`~gateway.files.GatewayCfdp` (its PDUs up
    through ``gateway.uplink.send_packet`` on the configured APID), resumes the
    transactions the last stop saved, and saves the open ones when stopped. The
    uplink, when there is one, also gets each frame's OCF (``on_ocf``).
    """
    config = gateway.config
    clock: Callable[[], float] = options.get("clock", time.time)
    uplink = getattr(gateway, "uplink", None)
    extra: dict[str, Any] = {}
    if uplink is not None:
        extra["on_ocf"] = uplink.on_ocf
    cfdp: GatewayCfdp | None = None
    if config.cfdp is not None:
        cfdp = _build_cfdp(gateway, uplink)
        extra["cfdp"] = cfdp
    pipeline = Pipeline.from_config(config, **extra)
    if cfdp is not None and config.cfdp is not None and config.cfdp.resume:
        resumed = cfdp.resume(clock())
        if resumed:
            gateway.log.info("cfdp: %d open transactions resumed", resumed)
    runner = PipelineRunner(
        pipeline,
        gateway.config,
        gateway.outbox,
        logger=gateway.log.getChild("pipeline"),
        registry=gateway.registry,
        on_downlink=uplink.on_downlink if uplink is not None else None,
        **options,
    )
    try:
        await runner.run()
    finally:
        # Stopping: nothing ingested is dropped; what the writer had not stored yet
        # goes into the outbox now (unless it is full, which it logs). Open CFDP
        # transactions are saved after the merge let go of its last frames.
        if cfdp is not None and config.cfdp is not None and config.cfdp.resume:
            pipeline.flush()
            saved = cfdp.save(clock())
            if saved:
                gateway.log.info("cfdp: %d open transactions saved for the next start", saved)
        batch = runner.take_unstored()
        if batch:
            try:
                gateway.outbox.put_many(batch)
            except CommsError as exc:
                gateway.log.error("pipeline: %d messages not stored at stop: %s", len(batch), exc)


def _build_cfdp(gateway: Gateway, uplink: Any) -> GatewayCfdp:
    config = gateway.config
    assert config.cfdp is not None
    log = gateway.log.getChild("files")
    apid = config.cfdp.uplink_apid
    if uplink is not None:

        def send_up(pdu: bytes) -> None:
            uplink.send_packet(apid, pdu)

    else:
        # Class 1 needs nothing up; class 2 then recovers nothing and ends on its limits.
        log.warning("cfdp: no uplink configured: ACK, NAK and Finished PDUs are dropped")

        def send_up(pdu: bytes) -> None:
            pass

    cfdp = GatewayCfdp(
        config.cfdp,
        send_up,
        topics=Topics(config.mqtt.topic_prefix, config.spacecraft.name),
        qos=config.mqtt.qos,
        logger=log,
    )
    cfdp.register_metrics(gateway.registry)
    return cfdp
