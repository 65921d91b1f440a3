"""Ingest from ground stations: the sans-I/O station decoder, then real TCP and UDP
sockets on 127.0.0.1 through the whole pipeline into a real SQLite outbox."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from comms.coding import CaduEncoder, CaduParams
from comms.vc import MasterChannelReceiver
from gateway.config import GatewayConfig, StationConfig, StationKind
from gateway.ingest import (
    DatagramRefused,
    StationConnected,
    StationDecoder,
    StationDisconnected,
    StationLink,
    StreamGarbage,
    UncorrectableCadu,
    cadu_params,
)
from gateway.merge import StationMerge
from gateway.outbox import Outbox
from gateway.pipeline import Pipeline, PipelineRunner
from tests.gateway.test_pipeline import (
    APID_CFDP,
    ERT0,
    PARAMS,
    ROUTES,
    SCID,
    TOPICS,
    corrupt,
    pass_frames,
    pass_packets,
)

CADU = CaduParams(frame_length=1115, interleave=5)  # RS(255,223) I=5, randomized: 1279 octets
ENCODER = CaduEncoder(CADU)
FRAMES = pass_frames(pass_packets())


def cadus(frames: list[bytes]) -> bytes:
    return ENCODER.encode_many(frames).tobytes() if frames else b""


# -- sans-I/O ---------------------------------------------------------------------------


def test_stream_decodes_the_same_whole_and_byte_by_byte() -> None:
    stream = cadus(FRAMES[:6])
    whole = StationDecoder("A", frame_length=1115, cadu=CADU)
    out = whole.feed(stream) + whole.end_of_stream()
    split = StationDecoder("A", frame_length=1115, cadu=CADU)
    pieces: list[bytes] = []
    for i in range(len(stream)):
        pieces += split.feed(stream[i : i + 1])
    pieces += split.end_of_stream()
    assert out == pieces == FRAMES[:6]
    assert whole.counters.frames == 6 and whole.counters.bytes == len(stream)


def test_garbage_and_uncorrectable_cadus_are_counted_not_fatal() -> None:
    rng = random.Random(7)
    hit = bytearray(cadus(FRAMES[2:3]))
    for index in rng.sample(range(4, len(hit)), 400):  # far beyond 16 per codeword
        hit[index] ^= rng.randrange(1, 256)
    stream = (
        bytes(rng.randrange(256) for _ in range(3000))
        + cadus(FRAMES[:2])
        + bytes(hit)
        + cadus(FRAMES[3:5])
        + b"\x00" * 500
    )
    decoder = StationDecoder("A", frame_length=1115, cadu=CADU)
    frames = decoder.feed(stream) + decoder.end_of_stream()
    assert frames == FRAMES[:2] + FRAMES[3:5]
    counters = decoder.counters
    assert counters.uncorrectable == 1 and counters.garbage_bits > 0
    events = decoder.events()
    assert any(isinstance(e, StreamGarbage) for e in events)
    assert any(isinstance(e, UncorrectableCadu) for e in events)


def test_pure_garbage_stream_yields_nothing_and_does_not_raise() -> None:
    rng = random.Random(3)
    decoder = StationDecoder("A", frame_length=1115, cadu=CADU)
    for _ in range(20):
        assert decoder.feed(bytes(rng.randrange(256) for _ in range(997))) == []
    assert decoder.end_of_stream() == []
    assert decoder.counters.frames == 0 and decoder.counters.garbage_bits > 0


def test_datagram_of_the_wrong_size_is_refused() -> None:
    decoder = StationDecoder("B", frame_length=1115)
    assert decoder.datagram(FRAMES[0]) == [FRAMES[0]]
    assert decoder.datagram(FRAMES[0][:-1]) == []
    assert decoder.events() == [DatagramRefused("B", 1114, 1115)]
    assert decoder.counters.malformed == 1 and decoder.counters.datagrams == 2


def test_cadu_params_from_station_config() -> None:
    coded = StationConfig("gs", StationKind.TCP_CADU, "h", 1, rs_interleave=5)
    assert cadu_params(coded) == CADU
    plain = StationConfig("gs", StationKind.TCP_CADU, "h", 1, randomized=False)
    assert cadu_params(plain).cadu_length == 1119


# -- real sockets -----------------------------------------------------------------------


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop until ``condition`` holds (the caller's timeout bounds it)."""
    while not condition():
        await asyncio.sleep(0)


class CaduServer:
    """A station that serves CADUs over TCP: each connection gets the next chunk, then
    the station closes it (the gateway must reconnect for the rest)."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.chunks:
            writer.write(self.chunks.pop(0))
            await writer.drain()
        if self.chunks:
            writer.close()  # the peer closes mid-pass
            await writer.wait_closed()
        else:
            await reader.read()  # keep the last connection open until the gateway goes
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def send_datagrams(port: int, frames: list[bytes], link: StationLink) -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, remote_addr=("127.0.0.1", port)
    )
    try:
        for frame in frames:
            before = link.counters.datagrams
            transport.sendto(frame)
            # One in flight at a time: loopback never drops then, whatever the buffers.
            await until(lambda before=before: link.counters.datagrams > before)
    finally:
        transport.close()


async def run_pass(
    tmp_path: Path, name: str
) -> tuple[list[tuple[str, bytes, str]], Pipeline, PipelineRunner]:
    """Station A (TCP client, reconnecting) loses frames 10-20; station B (UDP) loses
    15-30 and corrupts 2, 4, 35 and 50. Returns (topic, payload, id) per stored message."""
    a_frames = [f for i, f in enumerate(FRAMES) if not 10 <= i <= 20]
    b_frames = [
        corrupt(f) if i in (2, 4, 35, 50) else f for i, f in enumerate(FRAMES) if not 15 <= i <= 30
    ]
    server = CaduServer([cadus(a_frames[:25]), cadus(a_frames[25:])])
    port_a = await server.start()
    config = GatewayConfig(
        stations=(
            StationConfig("A", StationKind.TCP_CADU, "127.0.0.1", port_a, rs_interleave=5),
            StationConfig("B", StationKind.UDP_FRAMES, "127.0.0.1", 0),
        )
    )
    pipeline = Pipeline(
        PARAMS,
        scid=SCID,
        routes=ROUTES,
        topics=TOPICS,
        merge=StationMerge(PARAMS, timeout_s=30.0),
        cfdp_apids={APID_CFDP},
        cfdp=lambda pdu, ert: None,
    )
    outbox = Outbox(tmp_path / f"{name}.sqlite3", synchronous="normal")
    heard: list[tuple[str, float]] = []  # what the uplink's station choice is told
    runner = PipelineRunner(
        pipeline,
        config,
        outbox,
        links={"A": {"reconnect_initial_s": 0.01, "reconnect_max_s": 0.05}},
        rng=random.Random(1),
        clock=lambda: ERT0,  # a fixed earth-receive time: the replay is exact
        on_downlink=lambda station, ert: heard.append((station, ert)),
    )
    link_a, link_b = runner.links
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(30):  # a hang guard, not a timed assertion
            await runner.wait_ready()
            assert link_b.port is not None
            await send_datagrams(link_b.port, b_frames, link_b)
            await until(lambda: link_a.counters.frames == len(a_frames))
            runner.flush()
            expected = pipeline.counters.messages
            await runner.wait_stored(expected)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.close()
    rows = outbox.peek(limit=10_000)
    outbox.close()
    assert server.connections == 2 and link_a.counters.connects == 2
    assert set(heard) == {("A", ERT0), ("B", ERT0)}
    return [(r.topic, r.payload, r.message_id) for r in rows], pipeline, runner


@pytest.mark.asyncio
async def test_two_stations_over_tcp_and_udp_merge_into_the_outbox(tmp_path: Path) -> None:
    rows, pipeline, runner = await run_pass(tmp_path, "first")
    link_a, link_b = runner.links
    # Frames: the union of what either station had good, exactly once, in order.
    reference = MasterChannelReceiver(PARAMS, SCID)
    had = [i for i in range(len(FRAMES)) if not 15 <= i <= 20]
    for i in had:
        reference.receive_bytes(FRAMES[i])
    expected = [p for p in reference.packets() if p.apid in {r.apid for r in ROUTES}]
    assert pipeline.counters.frames_merged == len(had)
    got = [json.loads(payload) for _topic, payload, _id in rows]
    assert [(g["apid"], g["seq"]) for g in got] == [(p.apid, p.sequence_count) for p in expected]
    raw = [g for g, (topic, _, _) in zip(got, rows, strict=True) if topic.endswith("/raw")]
    assert [base64.b64decode(g["data"]) for g in raw] == [
        p.data for p in expected if p.apid == ROUTES[0].apid
    ]
    assert any(topic.endswith("/errors") for topic, _, _ in rows)
    # Per-station counters and quality.
    quality = pipeline.merge.quality()
    assert quality["B"].crc_failures == 4
    assert link_b.counters.datagrams == len(FRAMES) - 16
    # Closed by the station once mid-pass, then by the gateway at the end.
    assert link_a.counters.disconnects == 2 and link_a.counters.locks_acquired == 2
    assert quality["A"].frames == len(FRAMES) - 11

    # A replay of the same pass: the same messages with the same ids.
    again, _, _ = await run_pass(tmp_path, "second")
    assert [r[2] for r in again] == [r[2] for r in rows]
    assert again == rows


@pytest.mark.asyncio
async def test_listening_station_survives_garbage_and_malformed_input() -> None:
    frames: list[tuple[str, list[bytes]]] = []
    config = StationConfig("L", StationKind.TCP_CADU, "127.0.0.1", 0, rs_interleave=5)
    link = StationLink(config, lambda s, f, ert: frames.append((s, f)), listen=True)
    task = asyncio.create_task(link.run())
    try:
        async with asyncio.timeout(30):
            await link.ready.wait()
            assert link.port is not None
            rng = random.Random(5)
            # First connection: garbage only, then the station hangs up.
            _, writer = await asyncio.open_connection("127.0.0.1", link.port)
            writer.write(bytes(rng.randrange(256) for _ in range(5000)))
            await writer.drain()
            writer.close()
            await writer.wait_closed()
            await until(lambda: link.counters.disconnects == 1)
            # Second connection: garbage, then good CADUs.
            _, writer = await asyncio.open_connection("127.0.0.1", link.port)
            writer.write(b"\x55" * 333 + cadus(FRAMES[:4]))
            await writer.drain()
            await until(lambda: link.counters.frames == 4)
            writer.close()
            await writer.wait_closed()
            await until(lambda: link.counters.disconnects == 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert [f for _, batch in frames for f in batch] == FRAMES[:4]
    assert link.counters.connects == 2 and link.counters.garbage_bits > 0
    events = link.events()
    assert sum(isinstance(e, StationConnected) for e in events) == 2
    assert sum(isinstance(e, StationDisconnected) for e in events) == 2


@pytest.mark.asyncio
async def test_client_backs_off_while_the_station_is_down() -> None:
    # A port nobody listens on: grab one, then close it.
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    config = StationConfig("D", StationKind.TCP_CADU, "127.0.0.1", port, rs_interleave=5)
    link = StationLink(
        config,
        lambda s, f, ert: None,
        rng=random.Random(2),
        reconnect_initial_s=0.001,
        reconnect_max_s=0.004,
    )
    task = asyncio.create_task(link.run())
    try:
        async with asyncio.timeout(30):
            await until(lambda: link.counters.connect_failures >= 4)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert link.counters.connects == 0
    assert link.backoff.attempts >= 4


@pytest.mark.asyncio
async def test_runner_hands_back_what_it_had_not_stored(tmp_path: Path) -> None:
    pipeline = Pipeline(PARAMS, scid=SCID, routes=ROUTES, topics=TOPICS)
    outbox = Outbox(tmp_path / "stop.sqlite3", synchronous="normal")
    runner = PipelineRunner(pipeline, GatewayConfig(), outbox, clock=lambda: ERT0)
    runner._frames("A", FRAMES[:10], ERT0)  # the writer task never ran
    batch = runner.take_unstored()
    assert batch and len(batch) == pipeline.counters.messages
    assert runner.take_unstored() == []
    outbox.close()
