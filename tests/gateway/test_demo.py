"""``dawnlink demo`` end to end against a real broker: the node, the pass channel, the
real gateway over loopback TCP (CADUs down, CLTUs up), MQTT, the subscriber.

Each run is the quick demo (one minute of pass, two small files) on the virtual clock;
what is asserted is the summary the demo computes from what the subscriber received
and from the files the gateway wrote (SHA-256 against the node's originals).
"""

from __future__ import annotations

import gc
import json
import random
import socket
from pathlib import Path

import pytest

from comms.coding import cltu_encode
from comms.frames import TcFrame, TmParams
from comms.spp import PacketType, SpacePacket
from comms.vc import MasterChannelReceiver
from gateway.broker import Broker, EmbeddedBroker
from gateway.demo.cli import main
from gateway.demo.run import DemoOptions, run
from gateway.demo.spacecraft import (
    CFDP_UP_APID,
    FRAME_LENGTH,
    RESULTS_APID,
    RESULTS_VCID,
    SCID,
    TC_VCID,
    ResultGenerator,
    Spacecraft,
)


@pytest.mark.broker
def test_quick_demo_delivers_every_result_and_file(broker: Broker, tmp_path: Path) -> None:
    # No fades: the link loses only the frames sent before carrier lock (idle ones).
    summary = run(
        DemoOptions.quick(
            broker=(broker.host, broker.port), fade_loss_rate=0.0, workdir=tmp_path, quiet=True
        )
    )
    assert summary.ok, summary.text()
    assert summary.results_sent > 200
    assert summary.results_delivered == summary.results_sent
    assert summary.results_lost_with_frames == 0
    assert len(summary.files) == 2
    assert all(f["verified"] for f in summary.files)
    # The received copies are real files with the originals' checksums.
    for f in summary.files:
        assert f["received_sha256"] == f["sha256"]
    # Class 2 over the uplink: the ground's ACK/Finished PDUs reached the node.
    assert summary.cfdp_class == 2
    assert summary.onboard["cfdp_pdus_up"] > 0
    assert summary.onboard["tc_frames_accepted"] == summary.onboard["cfdp_pdus_up"]
    # Low in the pass the Viterbi output has bit errors that Reed-Solomon repairs.
    assert summary.frames["frames_rs_corrected"] > 0
    assert summary.frames["frames_uncorrectable"] == 0
    assert summary.latency_s["max"] >= summary.latency_s["median"] > 0


# amqtt: see test_embedded_amqtt_broker_serves_mqtt_and_stops for these two filters.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_quick_demo_on_the_amqtt_fallback_broker(tmp_path: Path) -> None:
    # The broker a machine without Mosquitto gets (MQTT 3.1.1). amqtt 0.11 sends
    # PUBLISHes to the outbox's publish-only connection; they must not stall it.
    pytest.importorskip("amqtt")
    with EmbeddedBroker(tmp_path, kind="amqtt") as b:
        summary = run(
            DemoOptions.quick(
                broker=(b.host, b.port), fade_loss_rate=0.0, workdir=tmp_path, quiet=True
            )
        )
    gc.collect()  # amqtt's leftover transports warn here, inside this test's filters
    assert summary.ok, summary.text()
    assert summary.results_delivered == summary.results_sent > 200
    assert all(f["verified"] for f in summary.files)


@pytest.mark.broker
def test_fades_lose_frames_that_cfdp_recovers(broker: Broker, tmp_path: Path) -> None:
    # 2 % of the frames erased in bursts: results in those frames are gone (a packet
    # service has no retransmission), file data comes back on the NAKs.
    summary = run(
        DemoOptions.quick(
            broker=(broker.host, broker.port),
            fade_loss_rate=0.02,
            seed=3,
            workdir=tmp_path,
            quiet=True,
        )
    )
    assert summary.ok, summary.text()
    assert summary.frames["frames_erased_fade"] > 0
    assert summary.onboard["file_octets_resent"] > 0
    assert all(f["verified"] for f in summary.files)
    assert summary.results_lost_unexplained == 0
    assert summary.results_delivered + summary.results_lost_with_frames == summary.results_sent


@pytest.mark.broker
def test_cli_json_summary_and_exit_status(
    broker: Broker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--quick",
            "--broker",
            f"{broker.host}:{broker.port}",
            "--files",
            "1",
            "--file-size",
            "50k",
            "--duration",
            "20",
            "--workdir",
            str(tmp_path),
            "--json",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["ok"] is True
    assert [f["size"] for f in summary["files"]] == [50_000]
    assert summary["files"][0]["verified"] is True
    assert (
        summary["results_delivered"] + summary["results_lost_with_frames"]
        == (summary["results_sent"])
    )


def test_cli_refuses_a_bad_broker_address(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--broker", "nowhere"])
    assert exc.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err


# -- the onboard node alone (sans-I/O) ---------------------------------------------------


def _node(tmp_path: Path, rate_hz: float = 5.0) -> Spacecraft:
    return Spacecraft(
        [],
        tmp_path,
        results=ResultGenerator(rate_hz, random.Random(1), start=1000.0),
        acknowledged=True,
    )


def _results(frames: list[bytes]) -> list[int]:
    receiver = MasterChannelReceiver(TmParams(FRAME_LENGTH, has_ocf=True), SCID)
    for frame in frames:
        receiver.receive_bytes(frame)
    return [json.loads(p.data)["seq"] for p in receiver.packets() if p.apid == RESULTS_APID]


def test_node_frames_carry_every_result_in_order(tmp_path: Path) -> None:
    node = _node(tmp_path)
    frames = [f.data for t in range(8) for f in node.transmit(1000.0 + t, 20)]
    assert _results(frames) == list(range(36))  # made at 1000.0, 1000.2, ... 1007.0


def test_results_in_frame_names_what_a_lost_frame_took(tmp_path: Path) -> None:
    # 200 results a second: several frames a tick, results spanning frame boundaries.
    node = _node(tmp_path, rate_hz=200.0)
    sent = [f for t in range(3) for f in node.transmit(1000.0 + 0.25 * t, 50)]
    on_vc = [f for f in sent if f.vcid == RESULTS_VCID]
    assert len(on_vc) > 8
    lost = on_vc[4]
    got = _results([f.data for f in sent if f is not lost])
    missing = set(node.results.made) - set(got)
    assert missing == set(node.results_in_frame[lost.index])
    assert missing  # the frame carried something


def test_node_takes_cfdp_pdus_from_cltus_and_counts_bad_ones(tmp_path: Path) -> None:
    node = _node(tmp_path)
    pdu = bytes(range(40))  # not a PDU the entity knows: received, then refused
    packet = SpacePacket(apid=CFDP_UP_APID, data=pdu, packet_type=PacketType.TC).encode()
    frame = TcFrame(scid=SCID, vcid=TC_VCID, frame_sequence_number=0, data_field=packet)
    node.receive_cltu(cltu_encode(frame.encode()), 1000.0)
    assert node.counters.tc_frames_accepted == 1
    assert node.counters.cfdp_pdus_up == 1
    assert node.farm.v_r == 1  # the CLCW the next frames carry reports it
    node.receive_cltu(b"\x00\x01garbage", 1001.0)
    assert node.counters.cltus_rejected == 1
    assert node.counters.tc_frames_accepted == 1


# amqtt 0.12's Broker.shutdown() leaves the server side of a disconnected client's
# socket to the garbage collector, whose ResourceWarning lands in whichever test runs
# next; the CLI never sees it (Python ignores ResourceWarning by default).
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_embedded_amqtt_broker_serves_mqtt_and_stops(tmp_path: Path) -> None:
    # The fallback when no mosquitto binary exists: amqtt on its own thread.
    pytest.importorskip("amqtt")
    import asyncio

    import aiomqtt

    async def round_trip(port: int) -> bytes:
        async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V311) as c:
            await c.subscribe("demo/t", qos=1)
            await c.publish("demo/t", b"hello", qos=1)
            async for message in c.messages:
                return bytes(message.payload)  # type: ignore[arg-type]
        raise AssertionError("no message")

    with EmbeddedBroker(tmp_path, kind="amqtt") as b:
        assert not b.mqtt5
        assert asyncio.run(asyncio.wait_for(round_trip(b.port), 20)) == b"hello"
    with pytest.raises(OSError):
        socket.create_connection((b.host, b.port), timeout=1).close()
    gc.collect()  # the leftover transports warn here, inside this test's filters
