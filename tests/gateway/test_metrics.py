"""Prometheus metrics: labelled series in the registry, and per-station counters scraped
from a running gateway over real HTTP while two stations feed it (a TCP station that
dials in to a listening gateway, with Reed-Solomon-corrected CADUs, and a UDP station
with corrupted and missing frames)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from comms.coding import CaduEncoder
from comms.errors import UsageError
from gateway.broker import Broker, free_port
from gateway.config import parse_config
from gateway.daemon import Gateway
from gateway.metrics import CONTENT_TYPE, Registry
from gateway.pipeline import run_pipeline
from tests.gateway.gwproc import CADU, WAIT_S, http_get, sample
from tests.gateway.test_pipeline import SCID, corrupt, pass_frames, pass_packets

# -- the registry -------------------------------------------------------------------------


def test_labelled_series_render_in_the_text_format() -> None:
    registry = Registry()
    frames = registry.counter("dawnlink_station_frames_total", "Frames.", labelnames=("station",))
    frames.inc(12, station="svalbard")
    frames.inc(station="kiruna")
    frames.inc(station="kiruna")
    state = {"svalbard": 1.0, 'we"ird\\': 0.0}
    registry.gauge(
        "dawnlink_station_locked",
        "Lock.",
        labelnames=("station",),
        collect=lambda: [((name,), value) for name, value in state.items()],
    )
    two = registry.gauge("dawnlink_two", "Two labels.", labelnames=("vcid", "station"))
    two.set(3, station="a", vcid="1")
    assert registry.render() == (
        "# HELP dawnlink_station_frames_total Frames.\n"
        "# TYPE dawnlink_station_frames_total counter\n"
        'dawnlink_station_frames_total{station="kiruna"} 2\n'
        'dawnlink_station_frames_total{station="svalbard"} 12\n'
        "# HELP dawnlink_station_locked Lock.\n"
        "# TYPE dawnlink_station_locked gauge\n"
        'dawnlink_station_locked{station="svalbard"} 1\n'
        'dawnlink_station_locked{station="we\\"ird\\\\"} 0\n'
        "# HELP dawnlink_two Two labels.\n"
        "# TYPE dawnlink_two gauge\n"
        'dawnlink_two{station="a",vcid="1"} 3\n'
    )
    # Collected series follow the state they read, at each scrape.
    state["kiruna"] = 1.0
    assert 'dawnlink_station_locked{station="kiruna"} 1\n' in registry.render()
    metric = registry.get("dawnlink_station_locked")
    assert metric.value(station="kiruna") == 1.0 and metric.value(station="nowhere") == 0.0
    assert frames.value(station="svalbard") == 12


def test_label_misuse_is_refused() -> None:
    registry = Registry()
    frames = registry.counter("dawnlink_f_total", "F.", labelnames=("station",))
    with pytest.raises(UsageError, match=r"has labels \['station'\]"):
        frames.inc()  # every series of a family carries the same labels
    with pytest.raises(UsageError, match="has labels"):
        frames.inc(station="a", vcid="1")
    for bad in (("__reserved",), ("1st",), ("a-b",)):
        with pytest.raises(UsageError, match="not a valid Prometheus label name"):
            registry.gauge("dawnlink_g", "G.", labelnames=bad)
    with pytest.raises(UsageError, match="names a label twice"):
        registry.gauge("dawnlink_g", "G.", labelnames=("a", "a"))
    with pytest.raises(UsageError, match="sequence of names"):
        registry.gauge("dawnlink_g", "G.", labelnames="station")
    with pytest.raises(UsageError, match="give labelnames"):
        registry.gauge("dawnlink_g", "G.", collect=lambda: [])
    with pytest.raises(UsageError, match="use collect"):
        registry.gauge("dawnlink_g", "G.", lambda: 1.0, labelnames=("a",))
    collected = registry.gauge(
        "dawnlink_c", "C.", labelnames=("a", "b"), collect=lambda: [(("x",), 1.0)]
    )
    with pytest.raises(UsageError, match="1 label values"):
        registry.render()
    with pytest.raises(UsageError, match="reads its value from a callback"):
        collected.set(1, a="x", b="y")


# -- a strict reader of the text format, the scraper's side --------------------------------

_INNER = r'(?:[^"\\\n]|\\[\\"n])*'  # a label value: escapes only for \\, " and newline
_VALUE = f'"{_INNER}"'
_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    rf"(?:\{{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*={_VALUE},?)*)\}})? "
    r"(?P<value>[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
_LABEL = re.compile(rf'([a-zA-Z_][a-zA-Z0-9_]*)="({_INNER})"')


def parse_exposition(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of a text exposition 0.0.4 body; fails on anything out of grammar, a
    sample before its family's TYPE, a family declared twice or a repeated series."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types and kind in ("counter", "gauge"), line
            types[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        assert match["name"] in types, f"sample before its TYPE: {line!r}"
        labels = tuple(
            (k, re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], v))
            for k, v in _LABEL.findall(match["labels"] or "")
        )
        key = (match["name"], labels)
        assert key not in out, f"series repeated: {line!r}"
        out[key] = float(match["value"])
    return out


# -- a running gateway ----------------------------------------------------------------------


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Dial the gateway's listening station port (it binds after the gateway starts)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            try:
                return await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)


async def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, body = await http_get(port, "/metrics")
    assert status == 200
    return parse_exposition(body.decode())


async def _wait_series(port: int, series: str, value: float) -> str:
    async with asyncio.timeout(WAIT_S):
        while True:
            _, body = await http_get(port, "/metrics")
            text = body.decode()
            if sample(text, series) == value:
                return text
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_per_station_metrics_over_http(tmp_path: Path, broker: Broker) -> None:
    frames = pass_frames(pass_packets(1200))
    n = len(frames)
    assert 32 < n < 100
    metrics_port, tcp_port, udp_port = free_port(), free_port(), free_port()
    config = parse_config(
        {
            "mqtt": {"host": broker.host, "port": broker.port, "client_id": "metrics-test"},
            "metrics": {"port": metrics_port},
            "outbox": {"synchronous": "normal"},
            "spacecraft": {"scid": SCID, "name": "dawn"},
            # The window also bounds the merge's memory of released counts: 100 covers
            # the pass, so kiruna's copies, sent after svalbard's, are known duplicates.
            "merge": {"window": 100, "timeout_s": 0.2, "start_hold_s": 0.0},
            "stations": [
                {
                    "name": "svalbard",
                    "kind": "tcp-cadu",
                    "mode": "listen",
                    "host": "127.0.0.1",
                    "port": tcp_port,
                    "frame": {"rs_interleave": 5},
                },
                {"name": "kiruna", "kind": "udp-frames", "host": "127.0.0.1", "port": udp_port},
            ],
        },
        base=tmp_path,
    )
    # Svalbard's stream: two CADUs hit by symbol errors Reed-Solomon corrects (3 + 1).
    stream = bytearray(CaduEncoder(CADU).encode_many(frames).tobytes())
    length = CADU.cadu_length
    for cadu, offsets in ((2, (100, 400, 900)), (5, (300,))):
        for offset in offsets:
            stream[cadu * length + offset] ^= 0xFF
    # Kiruna's datagrams: frames 10-14 missing, three more corrupted.
    kiruna = [(i, corrupt(f) if i in (3, 30, 31) else f) for i, f in enumerate(frames)]
    kiruna = [(i, f) for i, f in kiruna if not 10 <= i <= 14]

    gateway = Gateway(config, pipeline=run_pipeline, shutdown_grace_s=1.0)
    task = asyncio.create_task(gateway.run())
    udp = None
    try:
        async with asyncio.timeout(WAIT_S):
            await gateway.started.wait()
        # Before any frame: both stations are there, at zero.
        await _wait_series(metrics_port, 'dawnlink_station_frames_total{station="kiruna"}', 0)
        before = await _scrape(metrics_port)
        for station in ("svalbard", "kiruna"):
            labels = (("station", station),)
            assert before[("dawnlink_station_frames_total", labels)] == 0
            assert before[("dawnlink_merge_crc_failures_total", labels)] == 0
        _, writer = await _connect(tcp_port)
        writer.write(bytes(stream))
        await writer.drain()
        text = await _wait_series(
            metrics_port, 'dawnlink_station_frames_total{station="svalbard"}', n
        )
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(
            asyncio.DatagramProtocol, remote_addr=("127.0.0.1", udp_port)
        )
        for start in range(0, len(kiruna), 10):  # bursts well inside the socket buffer
            for _, frame in kiruna[start : start + 10]:
                udp.sendto(frame)
            text = await _wait_series(
                metrics_port,
                'dawnlink_station_datagrams_total{station="kiruna"}',
                min(start + 10, len(kiruna)),
            )
        got = parse_exposition(text)

        def value(name: str, station: str) -> float:
            return got[(name, (("station", station),))]

        assert value("dawnlink_station_frames_total", "svalbard") == n
        assert value("dawnlink_station_rs_corrected_symbols_total", "svalbard") == 4
        assert value("dawnlink_station_rs_corrected_cadus_total", "svalbard") == 2
        assert value("dawnlink_station_uncorrectable_cadus_total", "svalbard") == 0
        assert value("dawnlink_station_locked", "svalbard") == 1
        assert value("dawnlink_station_connected", "svalbard") == 1
        assert value("dawnlink_station_bytes_total", "svalbard") == len(stream)
        assert value("dawnlink_station_frames_total", "kiruna") == len(kiruna)
        assert value("dawnlink_station_connected", "kiruna") == 0
        # The merge's view: svalbard was first with every frame; kiruna's good copies
        # were all duplicates, its corrupted ones CRC failures, its hole a gap.
        assert value("dawnlink_merge_contributed_total", "svalbard") == n
        assert value("dawnlink_merge_crc_failures_total", "svalbard") == 0
        assert value("dawnlink_merge_crc_failures_total", "kiruna") == 3
        assert value("dawnlink_merge_duplicates_total", "kiruna") == len(kiruna) - 3
        assert value("dawnlink_merge_late_total", "kiruna") == 0
        assert value("dawnlink_merge_gaps_total", "svalbard") == 0
        assert value("dawnlink_merge_gaps_total", "kiruna") >= 1
        assert got[("dawnlink_merge_held_frames", ())] == 0

        writer.close()  # svalbard hangs up
        text = await _wait_series(metrics_port, 'dawnlink_station_connected{station="svalbard"}', 0)
        assert sample(text, 'dawnlink_station_locked{station="svalbard"}') == 0
        assert sample(text, 'dawnlink_station_disconnects_total{station="svalbard"}') == 1
        # The content type a Prometheus server expects for this format.
        reader, w = await asyncio.open_connection("127.0.0.1", metrics_port)
        w.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode()
        w.close()
        assert f"Content-Type: {CONTENT_TYPE}" in head
    finally:
        if udp is not None:
            udp.close()
        gateway.stop()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(WAIT_S):
                await task
