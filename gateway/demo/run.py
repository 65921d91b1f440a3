"""``dawnlink demo``: the whole chain, one process, one pass, on the virtual clock.

::

    node (results + CFDP files) -> TM frames -> CADUs -> pass channel -> station (TCP)
      -> gateway (ingest, merge, VC demux, APID routes, CFDP, outbox) -> MQTT broker
      -> subscriber (prints, checks)
    gateway uplink (CLTUs over TCP) -> station -> light time -> node (FARM-1, CFDP)

Everything runs on one :class:`links.clock.VirtualTimeEventLoop` whose clock reads Unix
seconds UTC of the scenario's pass: the gateway's earth-receive times, the outbox clock,
the CFDP timers and the latencies are all on it. The broker (a Mosquitto subprocess,
or amqtt on its own thread) and the gateway's SQLite worker threads live outside the
loop, so the loop waits ``AUTOJUMP_THRESHOLD_S`` of real time for their answers before
each jump of the virtual clock (links/clock.py explains the trade).

Schedule (from the embedded scenario, the 750 km dawn-dusk node over a Beijing-area
X-band station, :data:`DEFAULT_SCENARIO`): the gateway and the subscriber connect
before AOS; the node radiates from AOS (idle frames while the station acquires the
carrier), starts results and the file transfers at ``first lock + 1 s`` (its contact
plan), stops making results ``duration_s`` later (or 10 s before LOS), and keeps
radiating until every file's transaction has ended or LOS. The demo then waits until
the subscriber has everything that should arrive, and summarises.

Files go by CFDP class 2 when the gateway has an uplink to send ACK/NAK/Finished up
(``gateway.uplink``), else class 1 (the summary says which).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import math
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from gateway.broker import BrokerUnavailable, EmbeddedBroker
from gateway.config import GatewayConfig, parse_config
from gateway.daemon import Gateway
from gateway.demo.link import CADU_PARAMS, PassLink
from gateway.demo.spacecraft import (
    CFDP_DOWN_APID,
    CFDP_UP_APID,
    FILES_VCID,
    GROUND_ENTITY_ID,
    RESULTS_APID,
    RESULTS_VCID,
    SCID,
    SPACECRAFT_ENTITY_ID,
    ResultGenerator,
    Spacecraft,
    make_result_files,
)
from gateway.demo.subscriber import Subscriber
from gateway.messages import Topics
from links.clock import run_virtual
from links.emulator import PassEmulator
from links.scenario import Scenario, parse_scenario

__all__ = ["DEFAULT_SCENARIO", "DemoOptions", "DemoSummary", "run", "run_demo"]

#: The node over Beijing, X band (scenarios/beijing-x.toml), with burst fades on top:
#: a Gilbert process losing 0.1 % of frames in bursts of 5 on average (scintillation
#: and rain cells; scenarios/svalbard-x.toml uses the same).
DEFAULT_SCENARIO: Final = """\
name = "DAWN-1 over Beijing, X band, with fades"
start = "2025-03-20T00:00:00"
hours = 24.0
seed = 1

[satellite]
name = "DAWN-1"
sso_altitude_km = 750.0
ltan_hours = 18.0

[[stations]]
name = "Beijing"
lat_deg = 40.0
lon_deg = 116.3
alt_m = 50.0
min_elevation_deg = 5.0

[link]
type = "rf"
data_rate_bps = 2e6
station = "Beijing"
pass_index = 2
step_s = 1.0

[link.rf]
freq_hz = 8.2e9
modcod = "QPSK RS(255,223)+conv(7,1/2) I=5"
eirp_dbw = 16.0
g_over_t_db_k = 31.0
link_rate_bps = 1.5e9
implementation_loss_db = 1.0
atmosphere = "none"

[tracker]
pull_in_range_hz = 20e3
max_rate_hz_s = 2e3
acquisition_time_s = 2.0
precompensation = true
prediction_error_s = 1.0

[channel]
burst_loss_rate = 0.001
burst_length = 5.0
"""

#: Real seconds the virtual loop waits for socket and thread I/O before a clock jump:
#: a loopback broker round trip and an SQLite commit take well under this.
AUTOJUMP_THRESHOLD_S: Final = 0.002
#: The node's radio tick: frames for this long are handed to the link at once.
TICK_S: Final = 0.25
#: The gateway and subscriber connect this long before AOS (virtual seconds).
LEAD_S: Final = 5.0
#: Real seconds the demo waits at the end for the last messages before it gives up.
SETTLE_TIMEOUT_S: Final = 30.0
PREFIX: Final = "dawnlink"
SPACECRAFT: Final = "dawn-1"
STATION: Final = "beijing"


@dataclass(frozen=True)
class DemoOptions:
    """What to run (``dawnlink demo`` options). ``duration_s``: seconds of results
    from the start of data (None: until 10 s before LOS)."""

    broker: tuple[str, int] | None = None
    seed: int = 1
    files: int = 3
    file_size: int = 4_000_000
    duration_s: float | None = None
    result_rate_hz: float = 5.0
    #: Mean share of frames the burst fades erase (0: none); bursts of 5 frames.
    fade_loss_rate: float = 0.001
    workdir: Path | None = None
    quiet: bool = False

    @classmethod
    def quick(cls, **overrides: Any) -> DemoOptions:
        """The test-sized demo: one minute of pass, two files of 300 kB."""
        values: dict[str, Any] = {"files": 2, "file_size": 300_000, "duration_s": 60.0}
        values.update(overrides)
        return cls(**values)


@dataclass
class DemoSummary:
    """What the demo delivered (see :meth:`to_dict` for the JSON form)."""

    scenario: str
    aos_utc: str
    los_utc: str
    max_elevation_deg: float
    broker: str
    cfdp_class: int
    pass_seconds: float = 0.0
    wall_seconds: float = 0.0
    results_sent: int = 0
    results_delivered: int = 0
    results_lost_with_frames: int = 0
    results_lost_unexplained: int = 0
    duplicates: int = 0
    latency_s: dict[str, float] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    onboard: dict[str, int] = field(default_factory=dict)
    product_errors: int = 0
    #: File transfers the node still had open when the pass ended.
    open_at_los: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ok"] = self.ok
        return out

    def text(self) -> str:
        lines = [
            f"{self.scenario}",
            f"  pass       AOS {self.aos_utc}  LOS {self.los_utc}  max elevation "
            f"{self.max_elevation_deg:.1f} deg; {self.pass_seconds:.0f} s simulated in "
            f"{self.wall_seconds:.1f} s",
            f"  broker     {self.broker}",
        ]
        f = self.frames
        lines.append(
            f"  frames     sent {f.get('frames_sent', 0)}, delivered "
            f"{f.get('frames_delivered', 0)}, erased {f.get('frames_erased_unlocked', 0)} "
            f"before carrier lock + {f.get('frames_erased_fade', 0)} in fades; "
            f"{f.get('frames_rs_corrected', 0)} repaired by Reed-Solomon "
            f"({f.get('bit_errors', 0)} bit errors), {f.get('frames_uncorrectable', 0)} beyond it"
        )
        lat = self.latency_s
        lat_text = (
            f"latency median {lat['median']:.2f} s, p95 {lat['p95']:.2f} s, max {lat['max']:.2f} s"
            if lat
            else "no latency (nothing arrived)"
        )
        lines.append(
            f"  results    sent {self.results_sent}, delivered {self.results_delivered}, "
            f"lost with erased frames {self.results_lost_with_frames}, lost otherwise "
            f"{self.results_lost_unexplained}; {lat_text}"
        )
        verified = sum(1 for x in self.files if x.get("verified"))
        lines.append(
            f"  files      {verified} of {len(self.files)} delivered with SHA-256 verified "
            f"(CFDP class {self.cfdp_class}; "
            f"{self.onboard.get('cfdp_pdus_up', 0)} PDUs up, "
            f"{self.onboard.get('file_octets_resent', 0)} file octets sent again on NAKs)"
        )
        for x in self.files:
            mark = "ok " if x.get("verified") else "BAD"
            lines.append(
                f"    {mark} {x['name']}  {x['size']} octets  sha256 {x['sha256'][:16]}...  "
                f"{x.get('status', '')}"
            )
        if self.problems:
            lines.append("  PROBLEMS")
            lines.extend(f"    - {p}" for p in self.problems)
        else:
            lines.append("  ok: nothing was lost that the link did not lose")
        return "\n".join(lines)


def _unix(epoch: Any) -> float:
    return float(epoch.utc.astype("datetime64[us]").astype(np.int64)) / 1e6


def build_scenario(options: DemoOptions) -> Scenario:
    scenario = parse_scenario(DEFAULT_SCENARIO, source="dawnlink demo")
    channel = dataclasses.replace(scenario.channel, burst_loss_rate=options.fade_loss_rate)
    return dataclasses.replace(scenario, seed=options.seed, channel=channel)


def gateway_config(
    *,
    broker: tuple[str, int],
    mqtt5: bool,
    workdir: Path,
    station_port: int,
    uplink_port: int,
) -> GatewayConfig:
    """The gateway's configuration for the demo (what a TOML file would say)."""
    data: dict[str, Any] = {
        "mqtt": {
            "host": broker[0],
            "port": broker[1],
            "client_id": f"dawnlink-demo-gateway-{workdir.name}",
            "protocol": "5" if mqtt5 else "3.1.1",
            "topic_prefix": PREFIX,
            "reconnect_initial_s": 0.1,
            "reconnect_max_s": 2.0,
        },
        "outbox": {"path": str(workdir / "outbox.sqlite3"), "synchronous": "normal"},
        "metrics": {"enabled": False},
        "logging": {"level": "WARNING"},
        "spacecraft": {"scid": SCID, "name": SPACECRAFT},
        "stations": [
            {
                "name": STATION,
                "kind": "tcp-cadu",
                "host": "127.0.0.1",
                "port": station_port,
                "frame": {"length": 1115, "rs_interleave": 5, "randomized": True, "fecf": True},
            }
        ],
        "routes": [{"apid": RESULTS_APID, "product": "results", "decoder": "json"}],
        "cfdp": {
            "entity_id": GROUND_ENTITY_ID,
            "directory": str(workdir / "ground-files"),
            "downlink_apids": [CFDP_DOWN_APID],
            "uplink_apid": CFDP_UP_APID,
            # Timers: a few round trips of the light time plus the node's radio queue.
            "remotes": [
                {
                    "entity_id": SPACECRAFT_ENTITY_ID,
                    # A NAK must fit one TC frame (1024 octets) with its packet header.
                    "max_pdu_length": 512,
                    "nak_timer_s": 5.0,
                    "ack_timer_s": 5.0,
                    "nak_limit": 8,
                    "ack_limit": 8,
                    "inactivity_timer_s": 120.0,
                    "check_timer_s": 5.0,
                }
            ],
        },
    }
    # The ground's CFDP PDUs go up through the gateway's uplink to the same station.
    data["uplink"] = {"stations": [{"name": STATION, "host": "127.0.0.1", "port": uplink_port}]}
    return parse_config(data, base=workdir)


async def _pipeline(gateway: Gateway, clock: Callable[[], float]) -> None:
    """The gateway's own pipeline (:func:`gateway.pipeline.run_pipeline`: stations,
    routes, CFDP, the uplink's OCF hook) on the demo's clock."""
    from gateway.pipeline import run_pipeline

    await run_pipeline(gateway, clock=clock)


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.last = -math.inf

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)


async def run_demo(
    options: DemoOptions,
    broker: tuple[str, int],
    *,
    mqtt5: bool,
    broker_name: str,
    emulator: PassEmulator | None = None,
) -> DemoSummary:
    """The demo on the running (virtual-time) loop against ``broker``; ``emulator`` is
    the pass of :func:`build_scenario` (built here when not given)."""
    wall0 = time.monotonic()
    loop = asyncio.get_running_loop()
    progress = _Progress(options.quiet)
    workdir = options.workdir
    if workdir is None:
        raise ValueError("run_demo needs options.workdir (run() makes a temporary one)")
    scenario = build_scenario(options)
    if emulator is None:
        emulator = PassEmulator(scenario)
    tl = emulator.timeline
    contact = tl.contact
    epoch_unix = _unix(contact.epoch)
    aos = epoch_unix + contact.aos_s
    los = epoch_unix + contact.los_s
    first_lock = tl.lock.first_lock_s
    data_start = epoch_unix + (first_lock if first_lock is not None else contact.aos_s) + 1.0
    data_end = los - 10.0
    if options.duration_s is not None:
        data_end = min(data_end, data_start + options.duration_s)

    # The link comes first: the gateway's config needs the station's ports, and the
    # node (built once the gateway says whether it can radiate) gets CLTUs through it.
    craft_ref: list[Spacecraft] = []
    light_time = tl.light_time_s
    t_s = tl.t_s
    link = PassLink(
        emulator.channel(),
        epoch_unix=epoch_unix,
        locked=tl.locked_at,
        light_time_s=lambda t: float(np.interp(t, t_s, light_time)),
        uplink_sink=lambda cltu, now: craft_ref[0].receive_cltu(cltu, now),
    )
    station_port, uplink_port = await link.start()
    config = gateway_config(
        broker=broker,
        mqtt5=mqtt5,
        workdir=workdir,
        station_port=station_port,
        uplink_port=uplink_port,
    )
    gateway = Gateway(
        config,
        pipeline=lambda gw: _pipeline(gw, loop.time),
        rng=random.Random(options.seed),
        clock=loop.time,
        shutdown_grace_s=5.0,
        logger=logging.getLogger("dawnlink.demo.gateway"),
    )
    # Class 2 needs the ground's ACK, NAK and Finished PDUs to come up.
    acknowledged = getattr(gateway, "uplink", None) is not None
    rng = random.Random(options.seed)
    onboard_dir = workdir / "onboard"
    files = make_result_files(onboard_dir, options.files, options.file_size, rng)
    craft = Spacecraft(
        files,
        onboard_dir,
        results=ResultGenerator(options.result_rate_hz, random.Random(rng.random()), data_start),
        acknowledged=acknowledged,
    )
    craft_ref.append(craft)
    topics = Topics(PREFIX, SPACECRAFT)
    summary = DemoSummary(
        scenario=scenario.name,
        aos_utc=f"{contact.aos:%Y-%m-%dT%H:%M:%S}Z",
        los_utc=f"{contact.epoch.datetime(contact.los_s):%Y-%m-%dT%H:%M:%S}Z",
        max_elevation_deg=contact.max_elevation_deg,
        broker=broker_name,
        cfdp_class=2 if acknowledged else 1,
    )
    progress.line(
        f"dawnlink demo: {scenario.name}\n"
        f"  pass {summary.aos_utc} .. {summary.los_utc}, max elevation "
        f"{contact.max_elevation_deg:.1f} deg; broker {broker_name}; "
        f"{len(files)} file(s) of {options.file_size} octets by CFDP class "
        f"{summary.cfdp_class}; results at {options.result_rate_hz:g}/s for "
        f"{data_end - data_start:.0f} s"
    )
    subscriber = Subscriber(broker[0], broker[1], topics, mqtt5=mqtt5, print_line=progress.line)
    sub_task = asyncio.create_task(subscriber.run(), name="subscriber")
    gw_task = asyncio.create_task(gateway.run(), name="gateway")
    try:
        await _first(subscriber.ready.wait(), sub_task, gw_task)
        await _first(link.connected.wait(), sub_task, gw_task)
        if acknowledged:
            await _first(link.uplink_connected.wait(), sub_task, gw_task)
        await _radiate(
            craft,
            link,
            progress,
            (aos, los, data_start, data_end),
            scenario.link.data_rate_bps,
            tl,
            epoch_unix,
        )
        summary.pass_seconds = loop.time() - aos
        summary.open_at_los = len(files) - len(craft.finished)
        await _settle(craft, link, subscriber, sub_task, gw_task)
    finally:
        gateway.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(gw_task, 30.0)
        sub_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sub_task
        await link.aclose()
    _summarise(summary, craft, link, subscriber, files)
    summary.wall_seconds = time.monotonic() - wall0
    return summary


async def _first(aw: Any, *tasks: asyncio.Task[None]) -> None:
    """Await ``aw`` unless one of ``tasks`` ends first (then raise what ended it)."""
    waiter = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({waiter, *tasks}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        return
    waiter.cancel()
    for task in tasks:
        if task in done:
            task.result()
            raise RuntimeError(f"{task.get_name()} ended early")


async def _radiate(
    craft: Spacecraft,
    link: PassLink,
    progress: _Progress,
    times: tuple[float, float, float, float],
    rate_bps: float,
    tl: Any,
    epoch_unix: float,
) -> None:
    """The node's radio from AOS to LOS, ``rate_bps`` of CADUs one tick at a time:
    results between data start and end, files from data start until they have ended.
    ``times``: AOS, LOS, data start and data end (Unix seconds)."""
    aos, los, data_start, data_end = times
    loop = asyncio.get_running_loop()
    per_tick = rate_bps * TICK_S / (8 * CADU_PARAMS.cadu_length)
    credit = 0.0
    started = False
    next_report = aos
    await asyncio.sleep(max(0.0, aos - loop.time()))
    while True:
        now = loop.time()
        if now >= los:
            break
        if not started and now >= data_start:
            craft.start(now)
            started = True
        credit += per_tick
        n = int(credit)
        credit -= n
        frames = craft.transmit(now, n, results=started and now < data_end)
        link.radiate(frames, now, rate_bps)
        if now >= next_report:
            _report(progress, craft, link, now, aos, tl, epoch_unix)
            next_report = now + 30.0
        if started and now >= data_end and craft.files_done():
            break
        await asyncio.sleep(TICK_S)
    _report(progress, craft, link, loop.time(), aos, tl, epoch_unix)


def _report(
    progress: _Progress,
    craft: Spacecraft,
    link: PassLink,
    now: float,
    aos: float,
    tl: Any,
    epoch_unix: float,
) -> None:
    t = now - epoch_unix
    el = float(np.interp(t, tl.t_s, tl.elevation_deg))
    ber = float(np.interp(t, tl.t_s, tl.ber))
    doppler_khz = float(np.interp(t, tl.t_s, tl.doppler_hz)) / 1e3
    c = link.counters
    progress.line(
        f"  AOS+{now - aos:4.0f} s  el {el:4.1f} deg  Doppler {doppler_khz:+6.1f} kHz  "
        f"BER {ber:.0e}  frames {c.frames_sent} "
        f"(erased {c.frames_erased_unlocked + c.frames_erased_fade}, RS-fixed "
        f"{c.frames_rs_corrected})  results {craft.counters.results}  files ended "
        f"{len(craft.finished)}/{len(craft.files)}  CLTUs up {c.cltus_up}"
    )


async def _settle(
    craft: Spacecraft,
    link: PassLink,
    subscriber: Subscriber,
    *tasks: asyncio.Task[None],
) -> None:
    """Until the subscriber has every result the link delivered and a notice per file,
    bounded by ``SETTLE_TIMEOUT_S`` of real time."""
    lost_frames = {index for vcid, index in link.counters.lost if vcid == RESULTS_VCID}
    expected = set(craft.results.made) - {
        seq for index in lost_frames for seq in craft.results_in_frame.get(index, ())
    }
    deadline = time.monotonic() + SETTLE_TIMEOUT_S

    def done() -> bool:
        return (
            expected <= subscriber.results.keys()
            and len(subscriber.file_notices) >= len(craft.files)
        ) or time.monotonic() > deadline

    # Poll on the loop: the subscriber's event covers arrivals, the time bound needs
    # a wake-up of its own.
    while not done():
        for task in tasks:
            if task.done():
                task.result()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await subscriber.wait_for(done)


def _summarise(
    summary: DemoSummary,
    craft: Spacecraft,
    link: PassLink,
    subscriber: Subscriber,
    files: list[Any],
) -> None:
    c = link.counters
    summary.frames = c.snapshot()
    summary.onboard = dataclasses.asdict(craft.counters)
    summary.onboard["file_octets_resent"] = max(
        0, craft.counters.file_data_octets - sum(f.size for f in files)
    )
    made = set(craft.results.made)
    delivered = made & subscriber.results.keys()
    lost_frames = {index for vcid, index in c.lost if vcid == RESULTS_VCID}
    with_frames = {seq for index in lost_frames for seq in craft.results_in_frame.get(index, ())}
    missing = made - delivered
    summary.results_sent = len(made)
    summary.results_delivered = len(delivered)
    summary.results_lost_with_frames = len(missing & with_frames)
    summary.results_lost_unexplained = len(missing - with_frames)
    summary.duplicates = subscriber.duplicates
    summary.product_errors = len(subscriber.errors)
    latencies = sorted(subscriber.results[s] for s in delivered)
    if latencies:
        summary.latency_s = {
            "median": statistics.median(latencies),
            "p95": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
            "max": latencies[-1],
        }
    notices = {}
    for body in subscriber.file_notices:
        data = body.get("data", {})
        if isinstance(data, dict) and data.get("name"):
            notices[data["name"]] = data
    files_lost_on_link = any(vcid == FILES_VCID for vcid, _ in c.lost)
    for f in files:
        notice = notices.get(f.name)
        entry: dict[str, Any] = {"name": f.name, "size": f.size, "sha256": f.sha256}
        verified = False
        if notice is None:
            entry["status"] = "no notice"
        else:
            entry["status"] = f"{notice.get('delivery')} ({notice.get('condition')})"
            path = notice.get("path")
            if path and Path(path).is_file():
                got = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                verified = got == f.sha256 and notice.get("sha256") == f.sha256
                entry["received_sha256"] = got
        entry["verified"] = verified
        summary.files.append(entry)
        if not verified and (summary.cfdp_class == 2 or not files_lost_on_link):
            summary.problems.append(f"file {f.name}: {entry['status']}, not verified")
    if summary.open_at_los:
        summary.problems.append(
            f"LOS came with {summary.open_at_los} file transfer(s) still open: the pass "
            "carries about 170 MB at the emulated 2 Mbit/s; send fewer or smaller files"
        )
    if summary.results_lost_unexplained:
        summary.problems.append(
            f"{summary.results_lost_unexplained} results lost that the link delivered"
        )
    if subscriber.errors:
        summary.problems.append(f"{len(subscriber.errors)} messages on the error topic")


async def speaks_mqtt5(host: str, port: int) -> bool:
    """Whether the broker at ``host:port`` accepts an MQTT 5 connection (amqtt, for
    one, speaks 3.1.1 only). Raises :class:`BrokerUnavailable` when nothing answers."""
    import aiomqtt
    from aiomqtt.exceptions import MqttConnectError

    try:
        async with aiomqtt.Client(
            host,
            port,
            protocol=aiomqtt.ProtocolVersion.V5,
            identifier="dawnlink-demo-probe",
            timeout=10.0,
        ):
            return True
    except MqttConnectError:
        return False  # CONNACK "unsupported protocol version" (or a 3.1.1 refusal)
    except aiomqtt.MqttError as exc:
        raise BrokerUnavailable(f"no MQTT broker answers at {host}:{port}: {exc}") from None


def run(options: DemoOptions) -> DemoSummary:
    """Run the demo: start the embedded broker unless ``options.broker`` names one,
    then the chain on a virtual-time loop. Blocks until the summary is ready."""
    with contextlib.ExitStack() as stack:
        workdir = options.workdir
        if workdir is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="dawnlink-demo-"))
            )
            options = dataclasses.replace(options, workdir=workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        if options.broker is None:
            embedded = stack.enter_context(EmbeddedBroker(workdir / "broker"))
            broker = (embedded.host, embedded.port)
            mqtt5 = embedded.mqtt5
            name = f"embedded {embedded.kind} on {embedded.host}:{embedded.port}"
        else:
            broker = options.broker
            mqtt5 = asyncio.run(speaks_mqtt5(*broker))
            name = f"{broker[0]}:{broker[1]} (MQTT {'5' if mqtt5 else '3.1.1'})"
        emulator = PassEmulator(build_scenario(options))
        contact = emulator.timeline.contact
        start = _unix(contact.epoch) + contact.aos_s - LEAD_S
        return run_virtual(
            run_demo(options, broker, mqtt5=mqtt5, broker_name=name, emulator=emulator),
            start=start,
            autojump_threshold=AUTOJUMP_THRESHOLD_S,
        )
