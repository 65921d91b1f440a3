"""The uplink: TC packets through COP-1, SDLS, TC frames and CLTUs to a station, checked
by decoding on the far side with comms and a FARM-1 playing the spacecraft.

The sans-I/O core is driven with ``now`` stepped by hand; the asyncio side runs against
real loopback TCP station stubs and, end to end, a real Mosquitto broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from spacepackets.ccsds.spacepacket import PacketType as SppType
from spacepackets.ccsds.spacepacket import SpacePacketHeader

from comms.coding.cltu import cltu_decode
from comms.cop1 import Farm, FopState
from comms.frames.params import TcParams
from comms.frames.tc import TcFrame
from comms.sdls import FileStateStore, Key, MemoryKeyStore, SecurityEngine
from comms.spp import PacketType, SpacePacket
from comms.vc.tc import MapReassembler
from gateway.commands import Command
from gateway.config import (
    Cop1Config,
    GatewayConfig,
    SdlsConfig,
    UplinkConfig,
    UplinkStationConfig,
    parse_config,
)
from gateway.daemon import Gateway
from gateway.uplink import Cltu, Progress, ProgressState, TcUplink, choose_station, security_engine
from tests.gateway.conftest import Broker
from tests.gateway.helpers import WAIT_S, recording
from tests.gateway.spacecraft_stub import SpacecraftStub

SCID = 42
VCID = 1
STATION = UplinkStationConfig("svalbard", "127.0.0.1", 1)


def core_config(**overrides: Any) -> UplinkConfig:
    return UplinkConfig(stations=(STATION,), vcid=VCID, **overrides)


class Rig:
    """A TcUplink wired by hand to a FARM: every CLTU 'radiated' unless dropped."""

    def __init__(self, uplink: TcUplink, params: TcParams, security: Any = None) -> None:
        self.uplink = uplink
        self.farm = Farm(VCID)
        self.params = params
        self.security = security
        self.reassembler = MapReassembler(params)
        self.packets: list[SpacePacket] = []
        self.progress: list[Progress] = []

    def radiate(self, now: float, *, drop: int = 0) -> list[Cltu]:
        cltus = self.uplink.cltus_to_send()
        for i, cltu in enumerate(cltus):
            self.uplink.radiated(cltu, "svalbard", now)
            if i < drop:
                continue
            data = cltu_decode(cltu.data, derandomize=self.uplink.config.randomize).data
            raw = data[: TcFrame.frame_length(data)]
            if self.security is not None:
                raw = self.security.process(raw)
            self.farm.receive_frame(TcFrame.decode(raw, self.params))
            for frame in self.farm.frames_accepted():
                self.reassembler.receive_frame(frame)
            self.packets.extend(self.reassembler.packets())  # type: ignore[arg-type]
        self.progress.extend(self.uplink.events())
        return cltus

    def clcw(self, now: float) -> None:
        self.uplink.receive_clcw(self.farm.clcw().encode(), now)
        self.progress.extend(self.uplink.events())

    def states(self, tag: str) -> list[ProgressState]:
        return [p.state for p in self.progress if p.tag == tag]


def sent_frames(cltus: list[Cltu]) -> list[TcFrame]:
    return [c.frame for c in cltus]


def test_ad_service_segmented_packet_is_acknowledged_by_the_farm() -> None:
    config = core_config(max_frame_length=40, segmentation=True, map_id=3)
    uplink = TcUplink(config, SCID)
    rig = Rig(uplink, TcParams(has_segment_header=True))
    payload = bytes(range(256)) * 2
    uplink.submit(0x55, payload, 0.0, tag="c1")
    assert uplink.cltus_to_send() == []  # no station, no CLCW: nothing framed yet
    uplink.set_link_up(True, 0.0)
    assert uplink.cltus_to_send() == []  # COP-1 waits for the first CLCW
    rig.clcw(0.1)  # the FOP initiates from the FARM's N(R)
    sent: list[Cltu] = []
    now = 0.2
    while len(rig.packets) == 0:
        sent += rig.radiate(now)
        rig.clcw(now)  # acknowledgements open the window for the next frames
        now += 0.1
        assert now < 10
    frames = len(sent)
    assert frames == -(-(len(payload) + 6) // uplink.fdu_length) and frames > 10
    assert all(c.first for c in sent)
    (packet,) = rig.packets
    assert (packet.apid, packet.data, packet.packet_type) == (0x55, payload, PacketType.TC)
    # The header as an independent implementation (spacepackets) reads it.
    header = SpacePacketHeader.unpack(packet.encode())
    assert (header.packet_type, header.apid, header.seq_count) == (SppType.TC, 0x55, 0)
    assert header.data_len == len(payload) - 1
    assert {f.map_id for f in sent_frames(sent)} == {None}  # the header is in the FDU
    assert rig.reassembler.open_units == 0
    assert rig.states("c1") == [ProgressState.RADIATED, ProgressState.ACKNOWLEDGED]
    assert uplink.next_deadline() is None


def test_a_lost_frame_is_retransmitted_on_the_timer() -> None:
    uplink = TcUplink(core_config(cop1=Cop1Config(t1_initial_s=2.0)), SCID)
    rig = Rig(uplink, TcParams())
    uplink.set_link_up(True, 0.0)
    rig.clcw(0.0)
    uplink.submit(7, b"fire thrusters", 1.0, tag="t")
    first = rig.radiate(1.0, drop=1)  # lost on the way up
    rig.clcw(1.1)
    assert rig.packets == [] and rig.states("t") == [ProgressState.RADIATED]
    deadline = uplink.next_deadline()
    assert deadline == pytest.approx(3.0)
    uplink.on_timer(deadline)  # type: ignore[arg-type]
    again = rig.radiate(deadline)  # type: ignore[arg-type]
    rig.clcw(deadline + 0.1)  # type: ignore[operator]
    assert [c.first for c in first + again] == [True, False]
    assert first[0].frame.frame_sequence_number == again[0].frame.frame_sequence_number
    assert [p.data for p in rig.packets] == [b"fire thrusters"]
    assert rig.states("t") == [ProgressState.RADIATED, ProgressState.ACKNOWLEDGED]


def test_a_frame_first_radiated_by_its_retransmission_counts_as_radiated() -> None:
    uplink = TcUplink(core_config(cop1=Cop1Config(t1_initial_s=1.0)), SCID)
    rig = Rig(uplink, TcParams())
    uplink.set_link_up(True, 0.0)
    rig.clcw(0.0)
    uplink.submit(7, b"x", 0.0, tag="r")
    (lost,) = uplink.cltus_to_send()
    uplink.not_radiated(lost, "no uplink station connected", 0.0)  # AD: COP-1 retries
    assert uplink.events() == []
    uplink.on_timer(1.0)
    (again,) = rig.radiate(1.0)
    assert not again.first and again.key == lost.key
    assert rig.states("r") == [ProgressState.RADIATED]
    rig.clcw(1.1)
    assert rig.states("r") == [ProgressState.RADIATED, ProgressState.ACKNOWLEDGED]


def test_bd_frames_with_sdls_and_randomizer(tmp_path: Path) -> None:
    key_file = tmp_path / "tc.key"
    key_file.write_text(os.urandom(32).hex())
    sdls = SdlsConfig(spi=9, key_id=4, key_file=key_file, state_file=tmp_path / "tx.json")
    config = core_config(cop1=None, sdls=sdls, randomize=True)
    security = security_engine(config, SCID)
    assert security is not None
    uplink = TcUplink(config, SCID, security=security)
    receiver = SecurityEngine(
        TcParams(), MemoryKeyStore([Key.from_file(4, key_file)]), FileStateStore(tmp_path / "rx")
    )
    receiver.add(security[0].association(9))
    receiver.start(9)
    rig = Rig(uplink, TcParams(), security=receiver)
    uplink.submit(0x10, b"safe mode", 0.0, tag="bd")
    uplink.set_link_up(True, 0.0)  # BD needs no CLCW
    (cltu,) = rig.radiate(0.5)
    assert cltu.frame.bypass_flag
    assert b"safe mode" not in cltu_decode(cltu.data).data  # randomized on the wire
    assert [p.data for p in rig.packets] == [b"safe mode"]
    (progress,) = rig.progress
    assert (progress.state, progress.station) == (ProgressState.RADIATED, "svalbard")
    assert receiver.rejections.total() == 0  # MAC verified on the spacecraft side


def test_a_command_nobody_can_radiate_fails_after_the_queue_timeout() -> None:
    uplink = TcUplink(core_config(queue_timeout_s=30.0), SCID)
    uplink.submit(1, b"x", 100.0, tag="late")
    assert uplink.next_deadline() == 130.0
    uplink.on_timer(129.9)
    assert uplink.events() == []
    uplink.on_timer(130.0)
    (progress,) = uplink.events()
    assert progress.state is ProgressState.FAILED and "30 s" in (progress.reason or "")
    uplink.set_link_up(True, 131.0)
    uplink.receive_clcw(Farm(VCID).clcw().encode(), 131.0)
    assert uplink.cltus_to_send() == []  # the failed command never goes up


def segmented_rig(k: int) -> tuple[TcUplink, Rig]:
    config = core_config(
        max_frame_length=24, segmentation=True, cop1=Cop1Config(sliding_window_k=k)
    )
    uplink = TcUplink(config, SCID)
    assert uplink.fdu_length == 16  # a 20-octet command (26-octet packet) takes 2 frames
    rig = Rig(uplink, TcParams(has_segment_header=True))
    uplink.set_link_up(True, 0.0)
    rig.clcw(0.0)
    return uplink, rig


def test_abandon_fails_each_unfinished_command_by_how_far_it_got() -> None:
    # Window 3: "whole" gets both frames out, "part" one, "queued" none; the FARM's
    # CLCWs never come back, so nothing is acknowledged before the stop.
    uplink, rig = segmented_rig(3)
    for tag in ("whole", "part", "queued"):
        uplink.submit(1, tag[0].encode() * 20, 0.0, tag=tag)
    assert len(rig.radiate(0.5)) == 3
    uplink.abandon(1.0)
    rig.progress.extend(uplink.events())
    failed = {p.tag: p.reason for p in rig.progress if p.state is ProgressState.FAILED}
    assert failed == {
        "whole": "gateway stopping: radiated, not acknowledged by CLCW before stop",
        "part": "gateway stopping: partly radiated (1 of 2 frames), "
        "not acknowledged by CLCW before stop",
        "queued": "gateway stopping: not radiated",
    }
    assert rig.states("whole") == [ProgressState.RADIATED, ProgressState.FAILED]
    # Nothing of them is left to go up, and no timer runs for them.
    assert uplink.cltus_to_send() == [] and uplink.next_deadline() is None
    assert uplink.fop is not None and uplink.fop.state is FopState.INITIAL
    # The same core works afterwards: the next CLCW starts COP-1 afresh from N(R).
    rig.clcw(100.0)
    uplink.submit(1, b"a" * 20, 100.0, tag="after")
    after: list[Cltu] = []
    while rig.states("after")[-1:] != [ProgressState.ACKNOWLEDGED]:
        sent = rig.radiate(100.5)
        assert sent, "stuck: nothing to send and no acknowledgement"
        after += sent
        rig.clcw(100.6)
    assert len(after) == 2 and all(c.first for c in after)  # its own two frames only
    # "whole" did reach the spacecraft (only its CLCW was missing: hence "radiated,
    # not acknowledged"); the abandoned frames were not sent again.
    assert [p.data for p in rig.packets] == [b"w" * 20, b"a" * 20]
    assert [p.tag for p in rig.progress if p.state is ProgressState.FAILED].count("after") == 0
    uplink.abandon(102.0)  # nothing unfinished: nothing reported
    assert uplink.events() == []


def test_abandon_counts_frames_already_acknowledged() -> None:
    uplink, rig = segmented_rig(2)
    uplink.submit(1, b"x" * 20, 0.0, tag="half")
    first, second = uplink.cltus_to_send()
    for cltu in (first, second):
        uplink.radiated(cltu, "svalbard", 0.1)
    data = cltu_decode(first.data).data  # only the first frame reaches the FARM
    rig.farm.receive_frame(TcFrame.decode(data[: TcFrame.frame_length(data)], rig.params))
    rig.clcw(0.2)
    uplink.abandon(0.3)
    rig.progress.extend(uplink.events())
    assert [(p.state, p.reason) for p in rig.progress] == [
        (ProgressState.RADIATED, None),
        (
            ProgressState.FAILED,
            "gateway stopping: radiated, not acknowledged by CLCW (1 of 2 frames) before stop",
        ),
    ]


def test_abandon_without_cop1_fails_only_what_was_not_radiated() -> None:
    uplink = TcUplink(core_config(cop1=None), SCID)
    uplink.submit(1, b"bd", 0.0, tag="bd")  # no station: nothing framed
    uplink.abandon(1.0)
    (progress,) = uplink.events()
    assert (progress.state, progress.reason) == (
        ProgressState.FAILED,
        "gateway stopping: not radiated",
    )
    uplink.set_link_up(True, 2.0)
    assert uplink.cltus_to_send() == []


def test_a_cltu_caught_in_its_write_at_the_stop_counts_as_radiated() -> None:
    # White-box: the sender task cancelled inside drain() leaves the CLTU it was writing
    # in `_writing`; its octets may still leave, so the stop must not say "not radiated".
    from gateway.uplink import Uplink

    progress: list[Progress] = []
    config = UplinkConfig(stations=(STATION,), vcid=VCID)
    uplink = Uplink(config, SCID, on_progress=progress.append)
    uplink.core.set_link_up(True, 0.0)
    uplink.core.receive_clcw(Farm(VCID).clcw().encode(), 0.0)
    uplink.submit(1, b"x", tag="w")
    (cltu,) = uplink.core.cltus_to_send()
    uplink._writing = (cltu, "svalbard")
    uplink.abandon()
    assert [(p.state, p.reason) for p in progress] == [
        (ProgressState.RADIATED, None),
        (
            ProgressState.FAILED,
            "gateway stopping: radiated, not acknowledged by CLCW before stop",
        ),
    ]


def test_oversized_payload_is_a_usage_error() -> None:
    uplink = TcUplink(core_config(max_frame_length=64), SCID)
    assert uplink.max_packet_data == 64 - 5 - 2 - 6
    with pytest.raises(ValueError, match=r"1\.\.51 octets"):
        uplink.submit(1, bytes(52), 0.0)


def test_choose_station_prefers_the_one_that_hears_the_spacecraft() -> None:
    order = ["a", "b", "c"]
    assert choose_station(order, [], {}, 0.0, 10.0) is None
    assert choose_station(order, ["c", "b"], {}, 0.0, 10.0) == "b"  # priority order
    heard = {"c": 95.0, "b": 80.0, "a": 99.0}
    assert choose_station(order, ["b", "c"], heard, 100.0, 10.0) == "c"  # a is not up
    assert choose_station(order, ["b", "c"], heard, 200.0, 10.0) == "b"  # all too old


# -- asyncio, real sockets, real broker -----------------------------------------------------

HMAC_KEY = bytes(range(32))


def sign_hmac(command: Command, key: bytes = HMAC_KEY) -> Command:
    sig = hmac.new(key, command.signed_bytes(), hashlib.sha256).digest()
    return Command(**{**{f: getattr(command, f) for f in Command.__slots__}, "sig": sig})


def command(seq: int, payload: bytes, *, cid: str | None = None, **fields: Any) -> Command:
    base = dict(
        id=cid or f"cmd-{seq}",
        sender="ops",
        spacecraft="dawn-1",
        apid=0x42,
        payload=payload,
        seq=seq,
        ts_ms=int(time.time() * 1000),
        sig=b"",
    )
    base.update(fields)
    return sign_hmac(Command(**base))  # type: ignore[arg-type]


def gateway_config(
    broker: Broker, tmp_path: Path, stations: list[tuple[str, int]], **uplink: Any
) -> GatewayConfig:
    return parse_config(
        {
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "reconnect_initial_s": 0.02,
                "reconnect_max_s": 0.2,
                "protocol": "5" if broker.mqtt5 else "3.1.1",
            },
            "outbox": {"path": str(tmp_path / "outbox.db")},
            "metrics": {"enabled": False},
            "spacecraft": {"name": "dawn-1", "scid": SCID},
            "uplink": {
                "senders": [{"name": "ops", "algorithm": "hmac-sha256", "key": HMAC_KEY.hex()}],
                "stations": [{"name": n, "host": "127.0.0.1", "port": p} for n, p in stations],
                "vcid": VCID,
                **uplink,
            },
        }
    )


def responses(rec: Any, cid: str | None) -> list[dict[str, Any]]:
    """The progress reports of command ``cid`` on the default response topics."""
    out = []
    for message in rec.messages:
        if "/responses/" in str(message.topic):
            body = json.loads(message.payload)
            if body.get("id") == cid:
                out.append(body)
    return out


@pytest.mark.broker
@pytest.mark.asyncio
async def test_command_goes_up_and_is_acknowledged_by_clcw(broker: Broker, tmp_path: Path) -> None:
    if not broker.mqtt5:
        pytest.skip("MQTT 5 request/response needs Mosquitto (the amqtt fallback is 3.1.1)")
    gateway: Gateway | None = None

    def downlink_ocf(ocf: bytes) -> None:
        # What the pipeline's on_ocf hook does with each merged frame's OCF.
        assert gateway is not None and gateway.uplink is not None
        gateway.uplink.on_ocf(ocf)

    near, far = (SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=downlink_ocf) for _ in "ab")
    ports = [await near.start(), await far.start()]
    config = gateway_config(broker, tmp_path, [("near", ports[0]), ("far", ports[1])])
    gateway = Gateway(config, rng=random.Random(3), shutdown_grace_s=WAIT_S)
    assert gateway.uplink is not None
    async with recording(broker.host, broker.port, "#", mqtt5=broker.mqtt5) as rec:
        run = asyncio.create_task(gateway.run())
        try:
            await asyncio.wait_for(gateway.started.wait(), WAIT_S)
            await gateway.mqtt.wait_connected()
            await asyncio.wait_for(gateway.uplink.wait_connected(2), WAIT_S)
            # "far" delivered the latest downlink frame: it has the uplink now.
            gateway.uplink.on_downlink("far", time.time())
            assert gateway.uplink.current_station() == "far"
            cmd = command(1, b"\x01\x02 deploy")
            async with aiomqtt.Client(
                broker.host, broker.port, protocol=aiomqtt.ProtocolVersion.V5
            ) as client:
                props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                props.ResponseTopic = "clients/ops-console/reply"
                props.CorrelationData = b"\x00corr-1"
                # A Response Topic over the gateway's own products is not honoured.
                spoof = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
                spoof.ResponseTopic = "dawnlink/dawn-1/products/spoof"
                await client.publish("dawnlink/dawn-1/commands/ops", b"{}", qos=1, properties=spoof)
                await client.publish(
                    "dawnlink/dawn-1/commands/ops", cmd.to_json(), qos=1, properties=props
                )
            await rec.wait_for(
                lambda r: any(b["state"] == "acknowledged" for b in responses(r, "cmd-1"))
            )
            on_default = responses(rec, "cmd-1")
            assert [b["state"] for b in on_default] == ["accepted", "radiated", "acknowledged"]
            assert on_default[1]["station"] == "far"
            # The Correlation Data rides in the body too, base64, for MQTT 3.1.1 readers.
            assert {(b["sender"], b["correlation_data"]) for b in on_default} == {
                ("ops", "AGNvcnItMQ==")
            }
            await rec.wait_for(
                lambda r: (
                    len([m for m in r.messages if str(m.topic) == "clients/ops-console/reply"]) == 3
                )
            )
            replies = [m for m in rec.messages if str(m.topic) == "clients/ops-console/reply"]
            assert [json.loads(m.payload)["state"] for m in replies] == [  # type: ignore[arg-type]
                "accepted",
                "radiated",
                "acknowledged",
            ]
            assert all(m.properties.CorrelationData == b"\x00corr-1" for m in replies)  # type: ignore[union-attr]
            assert not [m for m in rec.messages if "spoof" in str(m.topic)]
            assert [b["reason"] for b in responses(rec, None)] == ["malformed"]
            assert [p.data for p in far.packets] == [b"\x01\x02 deploy"]
            assert far.packets[0].apid == 0x42 and near.packets == []
        finally:
            gateway.stop()
            await asyncio.wait_for(run, WAIT_S)
            await near.stop()
            await far.stop()


# -- configuration ---------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway.toml"


def test_the_example_uplink_section_parses(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    block = text.split("# --- uplink example begin ---\n")[1].split("# --- uplink example end")[0]
    toml = "\n".join(line.removeprefix("# ") for line in block.splitlines())
    (tmp_path / "mc.key").write_text(HMAC_KEY.hex() + "\n")
    (tmp_path / "tc.hex").write_text(os.urandom(32).hex())
    toml = toml.replace("/etc/dawnlink/mission-control.key", str(tmp_path / "mc.key"))
    toml = toml.replace("/etc/dawnlink/tc-key.hex", str(tmp_path / "tc.hex"))
    toml = toml.replace("/var/lib/dawnlink/tc-sa.json", str(tmp_path / "sa.json"))
    import tomllib

    config = parse_config(tomllib.loads(toml), base=tmp_path).uplink
    assert [s.name for s in config.stations] == ["svalbard"]
    assert config.cop1 == Cop1Config() and config.sdls is not None
    assert config.senders[0].key.reveal() == HMAC_KEY.hex()
    # Its SDLS engine comes up, and the uplink leaves room for the security overhead.
    assert TcUplink(config, SCID, security=security_engine(config, SCID)).fdu_length == (
        1024 - 5 - 2 - (2 + 12 + 4 + 16)
    )


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ({"uplink": {"stations": [{"name": "a", "host": "h"}]}}, "uplink.stations[0].port"),
        ({"uplink": {"vcid": 64}}, "uplink.vcid: expected an integer 0..63"),
        ({"uplink": {"max_frame_length": 7}}, "uplink.max_frame_length: expected an integer"),
        ({"uplink": {"cop1": {"sliding_window_k": 0}}}, "uplink.cop1.sliding_window_k"),
        ({"uplink": {"sdls": {"spi": 1}}}, "uplink.sdls.key_file: is required"),
        (
            {
                "spacecraft": {"scid": 2000},
                "uplink": {"stations": [{"name": "a", "host": "h", "port": 1}]},
            },
            "spacecraft.scid: expected 0..1023 with an uplink",
        ),
    ],
)
def test_uplink_config_errors(toml: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_config(toml)


def test_no_uplink_stations_means_no_uplink(broker: Broker, tmp_path: Path) -> None:
    config = gateway_config(broker, tmp_path, [])
    assert Gateway(config).uplink is None


@pytest.mark.asyncio
async def test_uplink_reconnects_to_a_restarted_station() -> None:
    from gateway.uplink import Uplink

    progress: list[Progress] = []
    uplink: Uplink | None = None

    def ocf(data: bytes) -> None:
        assert uplink is not None
        uplink.on_ocf(data)

    first = SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=ocf)
    port = await first.start()
    config = UplinkConfig(stations=(UplinkStationConfig("s", "127.0.0.1", port),), vcid=VCID)
    uplink = Uplink(config, SCID, on_progress=progress.append, rng=random.Random(2))
    task = asyncio.create_task(uplink.run())
    try:
        await asyncio.wait_for(uplink.wait_connected(), WAIT_S)
        uplink.submit(5, b"one", tag="1")
        await first.wait_for(lambda: len(first.packets) == 1)
        await first.stop()
        # The same spacecraft (its FARM keeps V(R)) behind a restarted station.
        second = SpacecraftStub(vcid=VCID, params=TcParams(), on_clcw=ocf)
        second.farm = first.farm
        await second.start(port)
        await second.wait_for(lambda: second.connections == 1)
        uplink.submit(5, b"two", tag="2")
        await second.wait_for(lambda: len(second.packets) == 1)
        assert [p.data for p in second.packets] == [b"two"]
        await second.wait_for(
            lambda: any(p.tag == "2" and p.state is ProgressState.ACKNOWLEDGED for p in progress)
        )
        assert [(p.tag, p.state.value) for p in progress] == [
            ("1", "radiated"),
            ("1", "acknowledged"),
            ("2", "radiated"),
            ("2", "acknowledged"),
        ]
        await second.stop()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.binary(min_size=1, max_size=120), min_size=1, max_size=8),
    losses=st.lists(st.booleans(), max_size=60),
    segmentation=st.booleans(),
)
def test_every_command_ends_acknowledged_or_failed_and_the_farm_gets_exactly_the_acknowledged(
    payloads: list[bytes], losses: list[bool], segmentation: bool
) -> None:
    config = core_config(
        max_frame_length=48,
        segmentation=segmentation,
        cop1=Cop1Config(sliding_window_k=3, t1_initial_s=1.0, transmission_limit=2),
    )
    uplink = TcUplink(config, SCID)
    rig = Rig(uplink, TcParams(has_segment_header=segmentation))
    losses_left = list(losses)
    now = 0.0
    uplink.set_link_up(True, now)
    rig.clcw(now)
    for i, payload in enumerate(payloads):
        if len(payload) <= uplink.max_packet_data:
            uplink.submit(9, payload, now, tag=str(i))
    tags = [str(i) for i, p in enumerate(payloads) if len(p) <= uplink.max_packet_data]
    for _ in range(2000):
        cltus = uplink.cltus_to_send()
        for cltu in cltus:
            drop = losses_left.pop(0) if losses_left else False
            uplink.radiated(cltu, "s", now)
            if drop:
                continue
            raw = cltu_decode(cltu.data).data
            frame = TcFrame.decode(raw[: TcFrame.frame_length(raw)], rig.params)
            rig.farm.receive_frame(frame)
            for accepted in rig.farm.frames_accepted():
                rig.reassembler.receive_frame(accepted)
            rig.packets.extend(rig.reassembler.packets())  # type: ignore[arg-type]
        rig.progress.extend(uplink.events())
        rig.clcw(now)
        finals = {p.tag for p in rig.progress if p.state.final}
        if finals == set(tags):
            break
        deadline = uplink.next_deadline()
        if not cltus:
            assert deadline is not None, "stuck: nothing to send and no timer"
            now = max(now, deadline)
            uplink.on_timer(now)
            rig.progress.extend(uplink.events())
    acknowledged = [p.tag for p in rig.progress if p.state is ProgressState.ACKNOWLEDGED]
    assert {p.tag for p in rig.progress if p.state.final} == set(tags)
    assert [p.data for p in rig.packets] == [payloads[int(t)] for t in acknowledged]
    assert acknowledged == sorted(acknowledged, key=int)
    for tag in acknowledged:
        assert rig.states(tag) == [ProgressState.RADIATED, ProgressState.ACKNOWLEDGED]
