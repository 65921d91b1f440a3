"""The command uplink: TC packets -> COP-1 (FOP-1) -> SDLS -> TC frames -> CLTUs -> the
ground station that has the uplink now.

Two layers, as everywhere in dawnlink:

- :class:`TcUplink`, sans-I/O. ``submit(apid, data, now, tag=...)`` builds one TC Space
  Packet (133.0-B-2; per-APID sequence count), cuts it into frame data fields (whole,
  or segmented with the segment header of 232.0-B-4 4.1.3.2 when ``segmentation`` is
  on) and hands them to a :class:`comms.cop1.Fop` on the sequence-controlled AD service,
  or, with COP-1 off, builds Type-BD frames itself. Every frame leaving is protected by
  SDLS ApplySecurity (:class:`comms.sdls.SecurityEngine`) when configured, and encoded
  as a CLTU (231.0-B-4). ``receive_clcw(ocf, now)`` feeds the FOP; ``cltus_to_send()``,
  ``events()`` (:class:`Progress`), ``next_deadline()``/``on_timer(now)`` are drained
  or driven by the caller, and the caller reports each CLTU written (``radiated``) or
  not (``not_radiated``).
- :class:`Uplink`, asyncio: one TCP connection per configured uplink station
  (reconnecting with :class:`gateway.backoff.Backoff`), one sender task writing CLTUs
  to the station that has the uplink now, one timer for the machine. ``send_packet``
  and ``on_ocf`` are the contract with the pipeline and CFDP; ``submit`` carries a
  command's correlation id so its progress can be reported.

Starting COP-1: the FOP stays in its Initial state until the first CLCW arrives from
the spacecraft, then takes V(S) from its N(R) and initiates the AD service without a
CLCW check (or with Unlock if the CLCW reports Lockout). A gateway restart therefore
resynchronises with the FARM without an operator directive. After an Alert the same
happens on the next CLCW; the frames the alert purged fail.

Which station: :func:`choose_station` -- among the uplink stations whose connection is
up, the one that delivered the most recent valid downlink frame within
``station_window_s`` (``on_downlink``), else the first in configured priority order.

Stopping: ``abandon`` (called as :meth:`Uplink.run` ends, and by the command service
before it stores its last responses) fails every unfinished command with a reason
that says how far it got and drops what is queued; nothing is kept for a restart.

"Radiated" means the CLTU was written to the station's TCP connection (the station
protocol here is the bare CLTU stream, with no radiation report); the end-to-end proof
is the CLCW acknowledgement. Left out: the expedited service for commands while COP-1
is on, packet blocking, more than one virtual channel or MAP, and SLE (913.x) CLTU
service.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from comms.coding.cltu import cltu_encode
from comms.cop1 import (
    Alert,
    Fop,
    FopState,
    InitiateMode,
    NegativeConfirm,
    PositiveConfirm,
    Reject,
)
from comms.errors import DecodeError, UsageError
from comms.frames.clcw import COP_1, Clcw
from comms.frames.params import TcParams
from comms.frames.tc import TcFrame
from comms.sdls import (
    FileStateStore,
    Gvcid,
    Key,
    MemoryKeyStore,
    SaState,
    SecurityAssociation,
    SecurityEngine,
    ServiceType,
)
from comms.spp import PacketType, SequenceCounter, SpacePacket
from gateway.backoff import Backoff
from gateway.config import UplinkConfig, UplinkStationConfig

__all__ = [
    "Cltu",
    "Progress",
    "ProgressState",
    "TcUplink",
    "Uplink",
    "choose_station",
    "security_engine",
]

# Segment header sequence flags (232.0-B-4 4.1.3.2.2.2).
_FIRST: Final = 0b01
_CONTINUATION: Final = 0b00
_LAST: Final = 0b10
_UNSEGMENTED: Final = 0b11
#: Reconnect backoff towards a station: first retry after ~0.5 s, at most ~30 s apart,
#: as for the downlink connections (gateway.ingest).
RECONNECT_INITIAL_S: Final = 0.5
RECONNECT_MAX_S: Final = 30.0
#: SDLS counter values reserved per state write on the TC channel: commands are rare,
#: and a small block keeps the counters the FARM side sees after a restart close.
SDLS_RESERVE: Final = 16
_ACTIVE_STATES: Final = (
    FopState.ACTIVE,
    FopState.RETRANSMIT_WITHOUT_WAIT,
    FopState.RETRANSMIT_WITH_WAIT,
)


class ProgressState(enum.Enum):
    """Where a command is (docs/gateway-commands.md)."""

    REFUSED = "refused"  # never reached the uplink: malformed or not authorized
    ACCEPTED = "accepted"  # authorized and queued for the uplink
    RADIATED = "radiated"  # every frame of it written to a station (first transmission)
    ACKNOWLEDGED = "acknowledged"  # the FARM acknowledged every frame (CLCW N(R))
    FAILED = "failed"  # given up: COP-1 alert, no station, timeout

    @property
    def final(self) -> bool:
        return self in (ProgressState.REFUSED, ProgressState.ACKNOWLEDGED, ProgressState.FAILED)


@dataclass(frozen=True, slots=True)
class Progress:
    """Command ``tag`` reached ``state`` at ``time``; ``reason`` says why it failed,
    ``station`` which station radiated it."""

    tag: str
    state: ProgressState
    time: float
    reason: str | None = None
    station: str | None = None


@dataclass(eq=False)
class _Unit:
    """One submitted packet: its frames and how far they got."""

    tag: str | None
    frames: int
    expires: float
    pending: int  # data units not yet given to the FOP or framed
    radiated: set[int] = field(default_factory=set)  # keys of the frames written once
    radiated_reported: bool = False
    station: str | None = None  # the last station a frame of it went to
    acknowledged: int = 0
    done: bool = False


@dataclass(frozen=True, eq=False)
class Cltu:
    """One CLTU to write; ``first`` is False for a COP-1 retransmission. ``key``
    identifies its frame within the command (the same for every retransmission)."""

    data: bytes
    frame: TcFrame
    unit: _Unit | None = field(repr=False)
    first: bool
    key: int = 0


def choose_station(
    stations: Sequence[str],
    connected: Iterable[str],
    heard: Mapping[str, float],
    now: float,
    window_s: float,
) -> str | None:
    """The station that has the uplink now.

    Among the ``connected`` ``stations``, the one whose latest valid downlink frame
    (``heard``: station -> Unix time) is the most recent within ``window_s`` of ``now``:
    it sees the spacecraft. With none heard that recently, the first connected station
    in priority order (``stations``). None when no station is connected.
    """
    up = [s for s in stations if s in set(connected)]
    recent = [s for s in up if s in heard and now - heard[s] <= window_s]
    if recent:
        return max(recent, key=lambda s: heard[s])
    return up[0] if up else None


def security_engine(config: UplinkConfig, scid: int) -> tuple[SecurityEngine, int] | None:
    """The SDLS engine of ``config.sdls`` (its SA added and operational) and its SPI."""
    sd = config.sdls
    if sd is None:
        return None
    params = TcParams(has_fecf=config.fecf, has_segment_header=config.segmentation)
    keys = MemoryKeyStore([Key.from_file(sd.key_id, sd.key_file)])
    engine = SecurityEngine(params, keys, FileStateStore(sd.state_file), reserve=SDLS_RESERVE)
    service = (
        ServiceType.AUTHENTICATED_ENCRYPTION
        if sd.service == "authenticated-encryption"
        else ServiceType.AUTHENTICATION
    )
    engine.add(
        SecurityAssociation(
            spi=sd.spi,
            gvcid=Gvcid(tfvn=0, scid=scid, vcid=config.vcid),
            service=service,
            key_id=sd.key_id,
            sequence_number_length=sd.sequence_number_length,
            mac_length=sd.mac_length,
        )
    )
    if engine.state_of(sd.spi) is not SaState.OPERATIONAL:
        engine.start(sd.spi)
    return engine, sd.spi


class TcUplink:
    """Sans-I/O: packets in, CLTUs and :class:`Progress` out (see the module doc).

    ``security`` is an SDLS engine with an operational SA ``spi`` on this channel, or
    None. ``now`` is any clock the caller keeps consistent (the gateway uses Unix time).
    """

    def __init__(
        self,
        config: UplinkConfig,
        scid: int,
        *,
        security: tuple[SecurityEngine, int] | None = None,
    ) -> None:
        self.config = config
        self.scid = scid
        self.security = security
        overhead = 5 + config.segmentation + 2 * config.fecf
        if security is not None:
            engine, spi = security
            overhead += engine.association(spi).overhead
        #: Octets of one frame's data field left for packet octets.
        self.fdu_length = config.max_frame_length - overhead
        if self.fdu_length < 1:
            raise UsageError(
                f"max_frame_length {config.max_frame_length} leaves no data field after "
                f"{overhead} octets of headers, FECF and SDLS; raise it."
            )
        # A TC Space Packet's data field is at most 65536 octets (133.0-B-2 4.1.3.5.3).
        self.max_packet_data = 65536 if config.segmentation else min(65536, self.fdu_length - 6)
        if self.max_packet_data < 1:
            raise UsageError("max_frame_length leaves no room for a packet header and data.")
        cop = config.cop1
        self.fop: Fop | None = None
        if cop is not None:
            # map_id None: the segment header, when on, is written into each FDU here,
            # because the FOP builds every frame as unsegmented.
            self.fop = Fop(
                scid,
                config.vcid,
                map_id=None,
                has_fecf=config.fecf,
                sliding_window_k=cop.sliding_window_k,
                t1_initial=cop.t1_initial_s,
                transmission_limit=cop.transmission_limit,
                timeout_type=cop.timeout_type,
            )
        self.counter = SequenceCounter()
        self.link_up = False
        self.clcws = 0
        self.bad_ocfs = 0
        self.cltus_dropped = 0
        self._pending: deque[tuple[_Unit, bytes]] = deque()
        self._units: list[_Unit] = []
        self._requests: dict[int, _Unit] = {}
        self._framed: set[int] = set()
        self._cltus: list[Cltu] = []
        self._events: list[Progress] = []
        self._alert: str | None = None

    # -- outputs ---------------------------------------------------------------------

    def cltus_to_send(self) -> list[Cltu]:
        out, self._cltus = self._cltus, []
        return out

    def events(self) -> list[Progress]:
        out, self._events = self._events, []
        return out

    @property
    def cltus_waiting(self) -> bool:
        return bool(self._cltus)

    def next_deadline(self) -> float | None:
        deadlines = [u.expires for u in self._units if not u.done and _waiting(u)]
        if self.fop is not None and self.fop.next_deadline() is not None:
            deadlines.append(self.fop.next_deadline())  # type: ignore[arg-type]
        return min(deadlines) if deadlines else None

    # -- inputs ----------------------------------------------------------------------

    def submit(self, apid: int, data: bytes, now: float, *, tag: str | None = None) -> None:
        """Queue one TC packet of ``apid`` carrying ``data``; ``tag`` names its progress.

        Raises :class:`UsageError` when ``data`` is empty or longer than
        :attr:`max_packet_data`.
        """
        if not 1 <= len(data) <= self.max_packet_data:
            raise UsageError(
                f"A command packet carries 1..{self.max_packet_data} octets of data on this "
                f"uplink, not {len(data)}."
            )
        packet = SpacePacket(
            apid=apid,
            data=data,
            packet_type=PacketType.TC,
            sequence_count=self.counter.next(apid),
        ).encode()
        fdus = self._fdus(packet)
        unit = _Unit(tag, len(fdus), now + self.config.queue_timeout_s, len(fdus))
        self._units.append(unit)
        self._pending.extend((unit, fdu) for fdu in fdus)
        self._pump(now)

    def set_link_up(self, up: bool, now: float) -> None:
        """Whether any station connection is up (nothing is framed without one)."""
        self.link_up = up
        self._pump(now)

    def receive_clcw(self, ocf: bytes, now: float) -> None:
        """One OCF from the downlink; CLCWs of this VC drive the FOP, others are ignored."""
        try:
            clcw = Clcw.decode(ocf)
        except DecodeError:
            self.bad_ocfs += 1
            return
        if clcw.cop_in_effect != COP_1 or clcw.vcid != self.config.vcid:
            return
        self.clcws += 1
        fop = self.fop
        if fop is None:
            return
        if fop.state is FopState.INITIAL:
            self._initiate(clcw, now)
        else:
            fop.receive_clcw(clcw, now)
        self._pump(now)

    def on_timer(self, now: float) -> None:
        if self.fop is not None:
            self.fop.on_timer(now)
        for unit in self._units:
            if not unit.done and _waiting(unit) and now >= unit.expires:
                self._fail(
                    unit,
                    f"not radiated within {self.config.queue_timeout_s:g} s "
                    "(no uplink station connected, or no CLCW yet to start COP-1)",
                    now,
                )
        self._pump(now)

    def abandon(self, now: float) -> None:
        """The gateway is stopping: every command not yet final fails, with a reason
        that says how far it got, and nothing queued goes up any more.

        Queued packets, unsent CLTUs and the FOP's queues are dropped (the AD service
        is terminated, so a later ``run`` starts COP-1 afresh from the next CLCW).
        Nothing is kept for a restart: see docs/gateway-commands.md for why.
        """
        for unit in self._units:
            if not unit.done:
                self._fail(unit, _stop_reason(unit), now)
        self._units = []
        self._pending.clear()
        fop = self.fop
        if fop is not None and fop.state is not FopState.INITIAL:
            fop.terminate_ad(now)
            self._drain_fop(now)  # the purge's confirms find their units done
        self._requests.clear()
        self._framed.clear()
        self._cltus.clear()

    def radiated(self, cltu: Cltu, station: str, now: float) -> None:
        """``cltu`` was written to ``station``."""
        unit = cltu.unit
        if unit is None or unit.done:
            return
        # Counted per frame, whichever transmission got out first: a frame whose first
        # CLTU found no station is radiated by its COP-1 retransmission.
        unit.radiated.add(cltu.key)
        unit.station = station
        if len(unit.radiated) == unit.frames:
            self._report_radiated(unit, now)
            if self.fop is None:
                unit.done = True  # no COP-1: nothing will acknowledge it
        self._forget_done()

    def _report_radiated(self, unit: _Unit, now: float) -> None:
        if not unit.radiated_reported:
            unit.radiated_reported = True
            self._report(unit, ProgressState.RADIATED, now, station=unit.station)

    def not_radiated(self, cltu: Cltu, reason: str, now: float) -> None:
        """``cltu`` could not be written. An AD frame is left to COP-1's retransmission;
        a BD frame has none, so its command fails."""
        self.cltus_dropped += 1
        unit = cltu.unit
        if unit is not None and cltu.frame.bypass_flag and not unit.done:
            self._fail(unit, reason, now)
            self._forget_done()

    # -- internals -------------------------------------------------------------------

    def _fdus(self, packet: bytes) -> list[bytes]:
        if not self.config.segmentation:
            return [packet]
        size = self.fdu_length
        pieces = [packet[i : i + size] for i in range(0, len(packet), size)]
        map_id = self.config.map_id
        if len(pieces) == 1:
            flags = [_UNSEGMENTED]
        else:
            flags = [_FIRST] + [_CONTINUATION] * (len(pieces) - 2) + [_LAST]
        return [bytes(((f << 6) | map_id,)) + p for f, p in zip(flags, pieces, strict=True)]

    def _initiate(self, clcw: Clcw, now: float) -> None:
        fop = self.fop
        assert fop is not None
        if fop.suspend_state:
            fop.resume_ad(now)
            return
        if clcw.lockout and not self.link_up:
            return  # the Unlock needs a station; try again on a later CLCW
        fop.set_v_s(clcw.report_value, now)
        mode = InitiateMode.WITH_UNLOCK if clcw.lockout else InitiateMode.WITHOUT_CLCW_CHECK
        fop.initiate_ad(now, mode)

    def _pump(self, now: float) -> None:
        fop = self.fop
        if fop is None:
            while self.link_up and self._pending:
                unit, fdu = self._pending.popleft()
                if unit.done:
                    continue
                unit.pending -= 1
                frame = TcFrame(
                    self.scid, self.config.vcid, 0, fdu, bypass_flag=True, has_fecf=self.config.fecf
                )
                key = unit.frames - unit.pending
                self._cltus.append(Cltu(self._encode(frame), frame, unit, True, key))
            return
        while self.link_up and self._pending and fop.state in _ACTIVE_STATES:
            if not fop.wait_queue_empty:
                break
            unit, fdu = self._pending.popleft()
            if unit.done:
                continue
            unit.pending -= 1
            self._requests[fop.transmit_ad(fdu, now)] = unit
        self._drain_fop(now)

    def _drain_fop(self, now: float) -> None:
        fop = self.fop
        assert fop is not None
        owners = {id(s.frame): s.request.request_id for s in fop.sent_queue if s.request}
        for frame in fop.frames_to_send():
            request_id = owners.get(id(frame))
            unit = self._requests.get(request_id) if request_id is not None else None
            first = request_id is not None and request_id not in self._framed
            if first:
                self._framed.add(request_id)  # type: ignore[arg-type]
            key = request_id if request_id is not None else -1
            self._cltus.append(Cltu(self._encode(frame), frame, unit, first, key))
        events = fop.events()
        for event in events:
            if isinstance(event, Alert):
                self._alert = f"COP-1 alert {event.reason.value} (event {event.event})"
        for event in events:
            if isinstance(event, PositiveConfirm):
                unit = self._requests.pop(event.request_id, None)
                self._framed.discard(event.request_id)
                if unit is not None and not unit.done:
                    unit.acknowledged += 1
                    if unit.acknowledged == unit.frames:
                        unit.done = True
                        # The FARM has it, so it went up, even if the acknowledgement
                        # overtook the report of the write.
                        self._report_radiated(unit, now)
                        self._report(unit, ProgressState.ACKNOWLEDGED, now)
            elif isinstance(event, NegativeConfirm | Reject):
                unit = self._requests.pop(event.request_id, None)
                self._framed.discard(event.request_id)
                if unit is not None and not unit.done:
                    reason = self._alert or f"COP-1 {type(event).__name__} of {event.request}"
                    self._fail(unit, reason, now)
        self._alert = None
        self._forget_done()

    def _encode(self, frame: TcFrame) -> bytes:
        data = frame.encode()
        if self.security is not None:
            engine, spi = self.security
            data = engine.apply(data, spi)
        return cltu_encode(data, randomize=self.config.randomize)

    def _fail(self, unit: _Unit, reason: str, now: float) -> None:
        unit.done = True
        self._report(unit, ProgressState.FAILED, now, reason=reason)

    def _report(
        self,
        unit: _Unit,
        state: ProgressState,
        now: float,
        *,
        reason: str | None = None,
        station: str | None = None,
    ) -> None:
        if unit.tag is not None:
            self._events.append(Progress(unit.tag, state, now, reason, station))

    def _forget_done(self) -> None:
        if any(u.done for u in self._units):
            self._units = [u for u in self._units if not u.done]
            if self._pending and any(u.done for u, _ in self._pending):
                self._pending = deque((u, f) for u, f in self._pending if not u.done)


def _stop_reason(unit: _Unit) -> str:
    """Why ``unit`` failed at a stop, by how far it got: a command radiated but not
    acknowledged may have reached the spacecraft, one not radiated cannot have. (A
    fully radiated BD command is already final, so only COP-1 ones wait for a CLCW.)"""
    sent = len(unit.radiated)
    if sent == 0:
        return "gateway stopping: not radiated"
    if sent < unit.frames:
        return (
            f"gateway stopping: partly radiated ({sent} of {unit.frames} frames), "
            "not acknowledged by CLCW before stop"
        )
    acked = f" ({unit.acknowledged} of {unit.frames} frames)" if unit.acknowledged else ""
    return f"gateway stopping: radiated, not acknowledged by CLCW{acked} before stop"


def _waiting(unit: _Unit) -> bool:
    """Still waiting to be radiated (the queue timeout applies)."""
    return len(unit.radiated) < unit.frames


class Uplink:
    """The asyncio side of :class:`TcUplink` (see the module doc).

    ``on_progress`` gets every :class:`Progress` of a command submitted with a tag.
    ``clock`` gives Unix seconds (the same scale as the earth-receive times passed to
    :meth:`on_downlink`).
    """

    def __init__(
        self,
        config: UplinkConfig,
        scid: int,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        if not config.stations:
            raise UsageError("An Uplink needs at least one [[uplink.stations]] entry.")
        self.config = config
        self.core = TcUplink(config, scid, security=security_engine(config, scid))
        self.on_progress = on_progress
        self.clock = clock
        self.log = logger or logging.getLogger("gateway.uplink")
        self._rng = rng or random.Random()
        self._writers: dict[str, asyncio.StreamWriter] = {}
        self._heard: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._connected = asyncio.Condition()
        self._writing: tuple[Cltu, str] | None = None  # the CLTU in write()/drain()
        self.cltus_sent = 0

    @property
    def stations_connected(self) -> int:
        return len(self._writers)

    @property
    def max_packet_data(self) -> int:
        """The longest command payload (packet data field) this uplink carries."""
        return self.core.max_packet_data

    # -- the contract ----------------------------------------------------------------

    def send_packet(self, apid: int, data: bytes) -> None:
        """Queue one TC Space Packet's user data for radiation (CFDP's ``send_up``)."""
        self.submit(apid, data)

    def submit(self, apid: int, data: bytes, *, tag: str | None = None) -> None:
        """Queue one TC packet; progress of a tagged one goes to ``on_progress``."""
        self.core.submit(apid, data, self.clock(), tag=tag)
        self._after_input()

    def on_ocf(self, ocf: bytes) -> None:
        """A 4-octet OCF from the downlink (a CLCW feeds COP-1)."""
        self.core.receive_clcw(bytes(ocf), self.clock())
        self._after_input()

    def on_downlink(self, station: str, ert: float) -> None:
        """``station`` delivered a valid downlink frame received at ``ert``."""
        if ert > self._heard.get(station, -math.inf):
            self._heard[station] = ert

    def current_station(self) -> str | None:
        """The station that has the uplink now (:func:`choose_station`)."""
        return choose_station(
            [s.name for s in self.config.stations],
            self._writers,
            self._heard,
            self.clock(),
            self.config.station_window_s,
        )

    def abandon(self) -> None:
        """Fail every command not yet final (:meth:`TcUplink.abandon`) and report it to
        ``on_progress`` now. :meth:`run` does this as it ends; a caller that must have
        the failures before then (the command service storing its last responses)
        calls it first. Calling it again finds nothing left."""
        now = self.clock()
        if self._writing is not None:
            # Stopped inside drain(): the octets are in the transport and may still
            # leave as it closes. Saying "radiated" errs on the safe side (the operator
            # checks before sending it again); "not radiated" could invite a repeat.
            cltu, station = self._writing
            self._writing = None
            self.core.radiated(cltu, station, now)
        self.core.abandon(now)
        self._after_input(wake=False)

    async def wait_connected(self, count: int = 1) -> None:
        """Until at least ``count`` station connections are up."""
        async with self._connected:
            await self._connected.wait_for(lambda: len(self._writers) >= count)

    # -- running ---------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the station connections up and send CLTUs, until cancelled."""
        try:
            async with asyncio.TaskGroup() as tasks:
                for station in self.config.stations:
                    tasks.create_task(self._station(station), name=f"uplink-{station.name}")
                tasks.create_task(self._sender(), name="uplink-sender")
                self._after_input()
        finally:
            try:
                self.abandon()
            finally:
                if self._timer is not None:
                    self._timer.cancel()
                for writer in self._writers.values():
                    writer.close()
                self._writers.clear()

    async def _station(self, station: UplinkStationConfig) -> None:
        backoff = Backoff(RECONNECT_INITIAL_S, RECONNECT_MAX_S, random.Random(self._rng.random()))
        while True:
            try:
                reader, writer = await asyncio.open_connection(station.host, station.port)
            except OSError as exc:
                self.log.warning(
                    "uplink station %s (%s:%d) unreachable: %s",
                    station.name,
                    station.host,
                    station.port,
                    exc,
                )
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff.reset()
            self.log.info("uplink station %s connected", station.name)
            await self._set_writer(station.name, writer)
            try:
                # Stations send nothing back on this stream; reading finds the close.
                while await reader.read(4096):
                    pass
            except OSError:
                pass
            finally:
                await self._set_writer(station.name, None)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            self.log.warning("uplink station %s disconnected", station.name)
            await asyncio.sleep(backoff.next_delay())

    async def _set_writer(self, name: str, writer: asyncio.StreamWriter | None) -> None:
        async with self._connected:
            if writer is None:
                self._writers.pop(name, None)
            else:
                self._writers[name] = writer
            self._connected.notify_all()
        self.core.set_link_up(bool(self._writers), self.clock())
        self._after_input()

    async def _sender(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for cltu in self.core.cltus_to_send():
                name = self.current_station()
                writer = self._writers.get(name) if name is not None else None
                if name is None or writer is None:
                    self.core.not_radiated(cltu, "no uplink station connected", self.clock())
                    continue
                self._writing = (cltu, name)
                try:
                    writer.write(cltu.data)
                    await writer.drain()
                except (OSError, ConnectionError) as exc:
                    reason = f"uplink station {name} connection lost: {exc}"
                    self.core.not_radiated(cltu, reason, self.clock())
                else:
                    self.cltus_sent += 1
                    self.core.radiated(cltu, name, self.clock())
                # Not in a `finally`: when cancelled in drain() it stays set for abandon().
                self._writing = None
            self._after_input(wake=False)

    def _after_input(self, *, wake: bool = True) -> None:
        for progress in self.core.events():
            if progress.state is ProgressState.FAILED:
                self.log.warning("command %s failed: %s", progress.tag, progress.reason)
            if self.on_progress is not None:
                self.on_progress(progress)
        if wake or self.core.cltus_waiting:
            self._wake.set()
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.core.next_deadline()
        if deadline is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not running yet: run() arms it
        # The machine runs on the injected (Unix) clock, the loop on its own.
        self._timer = loop.call_later(max(0.0, deadline - self.clock()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.core.on_timer(self.clock())
        self._after_input()
