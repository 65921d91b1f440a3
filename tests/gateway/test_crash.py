"""The gateway as a process: killed mid-stream, stopped by SIGTERM, refused a bad config.

Everything is real: `dawnlink gateway run` in a subprocess, Mosquitto, a station serving
Reed-Solomon-coded CADUs over loopback TCP, the SQLite outbox on disk, a subscriber.

The contract under test: *a product is written (in the outbox file) before the gateway
acknowledges or forgets its source*. A raw CADU stream has no acknowledgements: what a
SIGKILL loses is what was only in memory -- octets read but not yet decoded, frames the
merge held, products not yet committed. A station cannot know which of its octets those
were, so it re-sends the pass (stations keep passes and replay them). The tests check
both halves: every product that was in the outbox file at the kill is published after
the restart *without* any replay, and after the replay every product of the pass is
published, with a duplicate carrying the same message id as the first copy.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gateway.broker import Broker, free_port
from tests.gateway.gwproc import (
    CONFIG,
    WAIT_S,
    CaduStation,
    GatewayProcess,
    Notifications,
    cadus,
    dawnlink_command,
    expected_ids,
    outbox_ids,
    pass_frames,
    wait_metric,
    wait_until,
)
from tests.gateway.helpers import Recorder, recording

PREFIX = "dawnlink/dawn"


def bodies(recorder: Recorder) -> list[dict[str, Any]]:
    """The JSON envelopes of the products received, in arrival order."""
    return [
        json.loads(bytes(m.payload))  # type: ignore[arg-type]
        for m in recorder.messages
        if str(m.topic).startswith(f"{PREFIX}/products/")
    ]


def ids(recorder: Recorder) -> list[str]:
    return [body["id"] for body in bodies(recorder)]


def statuses(recorder: Recorder) -> list[bytes]:
    return [bytes(m.payload) for m in recorder.messages if str(m.topic) == f"{PREFIX}/status"]  # type: ignore[arg-type]


class Rig:
    """A broker, a station, a config pointing the gateway at both, and the gateway."""

    def __init__(self, tmp_path: Path, broker: Broker, station: CaduStation) -> None:
        self.broker = broker
        self.station = station
        self.config_path = tmp_path / "gateway.toml"
        self.metrics_port = free_port()
        self.config_path.write_text(
            CONFIG.format(
                broker_host=broker.host,
                broker_port=broker.port,
                metrics_port=self.metrics_port,
                station_port=station.port,
            )
        )
        self.outbox = tmp_path / "outbox.sqlite3"
        self.notifications = Notifications()
        self.gateway = GatewayProcess(self.config_path, self.notifications)


@pytest_asyncio.fixture
async def rig(tmp_path: Path, broker: Broker) -> AsyncIterator[Rig]:
    station = CaduStation()
    await station.start()
    rig = Rig(tmp_path, broker, station)
    try:
        yield rig
    finally:
        rig.gateway.kill()
        await station.close()
        rig.notifications.close()


FRAMES = pass_frames(600)  # ~130 frames of 1115 octets, 600 timed JSON products


@pytest.mark.asyncio
async def test_sigkill_mid_stream_loses_nothing_written(rig: Rig) -> None:
    k1, k2 = 40, 80
    all_ids = expected_ids(rig.config_path, FRAMES)
    first = set(expected_ids(rig.config_path, FRAMES[:k1]))
    second = set(expected_ids(rig.config_path, FRAMES[:k2])) - first
    assert len(set(all_ids)) == len(all_ids) == 600 and first and second

    # Phase 1: the broker is up; the first 40 frames flow through to the subscriber.
    async with recording(rig.broker.host, rig.broker.port, f"{PREFIX}/products/#") as rec1:
        await rig.gateway.start()
        await rig.station.wait(lambda: rig.station.connections == 1)
        await rig.station.send(cadus(FRAMES[:k1]))
        await rec1.wait_for(lambda r: set(ids(r)) >= first)
        assert set(ids(rec1)) == first
        # Phase 2: the broker dies; the next 40 frames can only go to the outbox file.
        rig.broker.kill()
    await rig.station.send(cadus(FRAMES[k1:k2]))
    await wait_until(lambda: set(outbox_ids(rig.outbox)) >= second)
    # Mid-stream (the station is still connected with a pass to finish): SIGKILL.
    rig.gateway.signal(signal.SIGKILL)
    assert await rig.gateway.wait_exit() == -signal.SIGKILL
    written = set(outbox_ids(rig.outbox))
    assert written >= second

    # Phase 3: broker and gateway back; the station sends nothing yet. Everything the
    # outbox file held at the kill is published: the file alone carries it.
    rig.broker.start()
    async with recording(rig.broker.host, rig.broker.port, f"{PREFIX}/products/#") as rec2:
        await rig.gateway.start()
        await rig.station.wait(lambda: rig.station.connections == 2)
        await rec2.wait_for(lambda r: set(ids(r)) >= written)
        assert set(ids(rec2)) == written

        # Phase 4: the station replays the pass; every product arrives.
        await rig.station.send(cadus(FRAMES))
        await rec2.wait_for(lambda r: set(ids(r)) >= set(all_ids))
        rig.gateway.signal(signal.SIGTERM)
        assert await rig.gateway.wait_exit() == 0, rig.gateway.log()

    received = bodies(rec1) + bodies(rec2)
    assert {b["id"] for b in received} == set(all_ids)  # nothing missing, nothing invented
    # Duplicates (published before the kill or from the outbox, then again from the
    # replay) carry the same id, and the same product: only the receive time differs.
    by_id: dict[str, list[dict[str, Any]]] = {}
    for body in received:
        by_id.setdefault(body["id"], []).append(body)
    duplicated = {i: copies for i, copies in by_id.items() if len(copies) > 1}
    assert set(duplicated) >= first | second
    for copies in duplicated.values():
        same = [{k: v for k, v in c.items() if k != "ert"} for c in copies]
        assert all(s == same[0] for s in same)
        assert "sct" in copies[0]  # the id rests on the spacecraft time, not the ERT


@pytest.mark.asyncio
async def test_sigterm_flushes_says_offline_and_exits_0(rig: Rig) -> None:
    frames = pass_frames(200)
    want = set(expected_ids(rig.config_path, frames))
    async with recording(rig.broker.host, rig.broker.port, f"{PREFIX}/#") as rec:
        await rig.gateway.start()
        await rig.station.wait(lambda: rig.station.connections == 1)
        await rig.station.send(cadus(frames))
        # Stop as soon as every product is stored -- published or still in the outbox
        # (read in that order: a row in transit shows in one or, on the next poll, the
        # other) -- typically while the publisher is still at work.
        await wait_until(lambda: set(ids(rec)) | set(outbox_ids(rig.outbox)) >= want)
        rig.gateway.signal(signal.SIGTERM)
        assert await rig.gateway.wait_exit() == 0, rig.gateway.log()
        await rec.wait_for(lambda r: statuses(r)[-1:] == [b"offline"])
        assert set(ids(rec)) == want  # the outbox was flushed before "offline"
    await rig.notifications.wait_for("STOPPING=1")
    # Ingest stopped: the gateway closed its station connection.
    await rig.station.wait(lambda: rig.station.closed == 1)
    assert outbox_ids(rig.outbox) == []  # flushed
    assert statuses(rec)[0] == b"online"
    # Retained: a consumer arriving later still learns the gateway is offline.
    async with recording(rig.broker.host, rig.broker.port, f"{PREFIX}/status") as late:
        await late.wait_for(lambda r: len(r.messages) >= 1)
    assert statuses(late) == [b"offline"]


@pytest.mark.asyncio
async def test_sigterm_with_the_broker_down_keeps_the_outbox_for_the_next_start(
    rig: Rig,
) -> None:
    frames = pass_frames(120, first_seq=1000)
    want = set(expected_ids(rig.config_path, frames))
    await rig.gateway.start()
    # Killed after the gateway's session is up: a broker that dies between our TCP
    # connect and its CONNACK holds the stop for the MQTT connect timeout (10 s).
    await wait_metric(rig.metrics_port, "dawnlink_mqtt_connected", 1)
    rig.broker.kill()
    await rig.station.wait(lambda: rig.station.connections == 1)
    await rig.station.send(cadus(frames))
    await wait_until(lambda: set(outbox_ids(rig.outbox)) >= want)
    rig.gateway.signal(signal.SIGTERM)
    assert await rig.gateway.wait_exit() == 0, rig.gateway.log()
    assert set(outbox_ids(rig.outbox)) == want  # persisted, nothing published or lost

    rig.broker.start()
    async with recording(rig.broker.host, rig.broker.port, f"{PREFIX}/products/#") as rec:
        await rig.gateway.start()
        await rec.wait_for(lambda r: set(ids(r)) >= want)
        rig.gateway.signal(signal.SIGTERM)
        assert await rig.gateway.wait_exit() == 0, rig.gateway.log()
    assert set(ids(rec)) == want
    assert outbox_ids(rig.outbox) == []


async def run_to_exit(config: Path) -> tuple[int, str]:
    """Run the gateway on ``config`` until it exits by itself: (exit code, stderr)."""
    process = await asyncio.create_subprocess_exec(
        *dawnlink_command(),
        "gateway",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(WAIT_S):
        _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.asyncio
async def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[[stations]]\nname = 'a'\nkind = 'tcp-cadu'\nhost = 'h'\nport = 1\nmode = 'push'\n"
    )
    code, err = await run_to_exit(bad)
    assert code == 2
    assert "stations[0].mode: expected one of connect, listen, got 'push'" in err
    # Stations that disagree on their frames are a config error too, found at start.
    bad.write_text(
        "[[stations]]\nname = 'a'\nkind = 'udp-frames'\nhost = '127.0.0.1'\nport = 1\n"
        "[[stations]]\nname = 'b'\nkind = 'udp-frames'\nhost = '127.0.0.1'\nport = 2\n"
        "[stations.frame]\ntype = 'aos'\n"
    )
    code, err = await run_to_exit(bad)
    assert code == 2 and "stations[1].frame: expected the same frame type" in err


@pytest.mark.asyncio
async def test_a_gateway_that_cannot_start_exits_1_with_the_reason(rig: Rig) -> None:
    with socket.socket() as taken:  # the metrics port is someone else's
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        text = rig.config_path.read_text().replace(
            f"port = {rig.metrics_port}", f"port = {taken.getsockname()[1]}"
        )
        rig.config_path.write_text(text)
        code, err = await run_to_exit(rig.config_path)
    assert code == 1
    assert "stopped by an error" in err and "address already in use" in err.lower()


def test_sd_notify_reaches_path_and_abstract_sockets_and_is_quiet_without() -> None:
    from gateway.sdnotify import notify

    listener = Notifications()
    try:
        assert notify("READY=1", {"NOTIFY_SOCKET": listener.path})
        assert listener.sock.recv(64) == b"READY=1"
    finally:
        listener.close()
    name = f"dawnlink-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        abstract.bind("\0" + name)
        assert notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert abstract.recv(64) == b"STOPPING=1"
    assert not notify("READY=1", {})  # not under systemd: nothing to do
    assert not notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/socket"})
