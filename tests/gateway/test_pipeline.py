"""The sans-I/O pipeline: two stations' copies of one pass -> merged frames -> packets ->
routed products -> outbox messages."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from comms.errors import DecodeError, UsageError
from comms.frames import AosParams, TmParams
from comms.spp import SpacePacket
from comms.time import CucTime
from comms.vc import MasterChannelReceiver, VcPacketSender
from gateway.config import Decoder, GatewayConfig, RouteConfig, StationConfig, StationKind
from gateway.merge import FrameRefused, FramesGivenUp, StationMerge
from gateway.messages import OutboxMessage, Topics
from gateway.pipeline import OcfRejected, Pipeline, ProductFailed, UnroutedPacket
from gateway.products import ProductRoute, TimeCode, TimeFormat

PARAMS = TmParams(frame_length=1115)
SCID = 42
TOPICS = Topics("dawnlink", "dawn")
T0 = datetime(2030, 6, 21, 6, 0, 0, tzinfo=UTC)
ERT0 = T0.timestamp() + 0.5

APID_RAW, APID_JSON, APID_STRUCT, APID_CBOR, APID_UNROUTED, APID_CFDP = (
    0x10,
    0x11,
    0x12,
    0x13,
    0x20,
    0x30,
)
# RFC 8949 Appendix A: {"a": 1, "b": [2, 3]}
CBOR_ITEM = bytes.fromhex("a26161016162820203")

ROUTES = [
    ProductRoute(APID_RAW, "raw"),
    ProductRoute(APID_JSON, "status", Decoder.JSON, time=TimeCode(TimeFormat.CUC)),
    ProductRoute(APID_STRUCT, "hk", Decoder.STRUCT, ">fH", ("temp_c", "count")),
    ProductRoute(APID_CBOR, "cbor", Decoder.CBOR),
]


def pass_packets(n: int = 1200) -> list[SpacePacket]:
    """A pass's packets: 256-octet raw ones, timed JSON (every 7th malformed), struct,
    CBOR, one unrouted APID and CFDP PDUs, interleaved."""
    packets = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            packets.append(
                SpacePacket(apid=APID_RAW, data=bytes([i & 0xFF]) * 250, sequence_count=i)
            )
        elif kind == 1:
            cuc = CucTime.from_datetime(T0 + timedelta(seconds=i), with_pfield=False)
            body = b"{bad" if i % 7 == 0 else json.dumps({"i": i}).encode()
            packets.append(
                SpacePacket(
                    apid=APID_JSON, data=cuc.encode() + body, sequence_count=i, sec_header_flag=True
                )
            )
        elif kind == 2:
            packets.append(
                SpacePacket(
                    apid=APID_STRUCT,
                    data=b"\x41\xc8\x00\x00" + (i & 0xFFFF).to_bytes(2, "big"),
                    sequence_count=i,
                )
            )
        elif kind == 3:
            packets.append(SpacePacket(apid=APID_CBOR, data=CBOR_ITEM, sequence_count=i))
        elif kind == 4:
            packets.append(SpacePacket(apid=APID_UNROUTED, data=b"?" * 40, sequence_count=i))
        else:
            packets.append(
                SpacePacket(apid=APID_CFDP, data=b"pdu" + bytes([i & 0xFF]), sequence_count=i)
            )
    return packets


def pass_frames(packets: list[SpacePacket]) -> list[bytes]:
    sender = VcPacketSender(PARAMS, scid=SCID, vcid=1)
    frames = sender.add_packets(packets)
    frames += sender.flush()
    return frames


def corrupt(frame: bytes) -> bytes:
    damaged = bytearray(frame)
    damaged[100] ^= 0xA5
    return bytes(damaged)


def station_copies(
    frames: list[bytes], lost_a: range, lost_b: range, corrupt_b: set[int]
) -> tuple[list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    a = [(i, f) for i, f in enumerate(frames) if i not in lost_a]
    b = [(i, corrupt(f) if i in corrupt_b else f) for i, f in enumerate(frames) if i not in lost_b]
    return a, b


def run(
    pipeline: Pipeline, a: list[tuple[int, bytes]], b: list[tuple[int, bytes]], *, skew: int = 3
) -> list[OutboxMessage]:
    """Feed both stations in frame order, B ``skew`` frames behind A, one frame each
    per 10 ms of earth-receive time; then flush."""
    deliveries = [(i, 0, f) for i, f in a] + [(i + skew, 1, f) for i, f in b]
    deliveries.sort(key=lambda d: (d[0], d[1]))
    for step, station, frame in deliveries:
        pipeline.receive("AB"[station], [frame], ERT0 + step * 0.01)
    pipeline.flush()
    return pipeline.messages()


def new_pipeline(**options: Any) -> Pipeline:
    pdus: list[bytes] = options.pop("pdus", [])
    return Pipeline(
        PARAMS,
        scid=SCID,
        routes=options.pop("routes", ROUTES),
        topics=TOPICS,
        merge=StationMerge(PARAMS, timeout_s=1.0),
        cfdp_apids={APID_CFDP},
        cfdp=lambda pdu, ert: pdus.append(pdu),
        **options,
    )


def all_raw_routes() -> list[ProductRoute]:
    return [ProductRoute(apid, f"p{apid}") for apid in (0x10, 0x11, 0x12, 0x13, 0x20)]


def packets_of(messages: list[OutboxMessage]) -> list[tuple[int, int, bytes]]:
    out = []
    for m in messages:
        body = json.loads(m.payload)
        out.append((body["apid"], body["seq"], base64.b64decode(body["data"])))
    return out


def test_complementary_losses_give_every_packet_exactly_once_in_order() -> None:
    packets = pass_packets()
    frames = pass_frames(packets)
    assert len(frames) > 60
    a, b = station_copies(frames, range(10, 21), range(21, 31), corrupt_b={3, 5, 40, 41})
    pdus: list[bytes] = []
    pipeline = new_pipeline(routes=all_raw_routes(), pdus=pdus)
    messages = run(pipeline, a, b)
    sent = [(p.apid, p.sequence_count, p.data) for p in packets if p.apid != APID_CFDP]
    assert packets_of(messages) == sent
    assert pdus == [p.data for p in packets if p.apid == APID_CFDP]
    quality = pipeline.merge.quality()
    assert quality["B"].crc_failures == 4
    # A alone had 21-30 and the four B corrupted; B alone had 10-20.
    assert (quality["A"].unique, quality["B"].unique) == (14, 11)
    events = pipeline.events()
    assert [e for e in events if not isinstance(e, UnroutedPacket | FrameRefused)] == []
    assert [e.station for e in events if isinstance(e, FrameRefused)] == ["B"] * 4
    assert pipeline.counters.frames_merged == len(frames)


def test_overlapping_losses_give_the_union_and_report_the_gap() -> None:
    """The issue's case: A loses frames 10-20, B loses 15-30 and corrupts others."""
    packets = pass_packets()
    frames = pass_frames(packets)
    a, b = station_copies(frames, range(10, 21), range(15, 31), corrupt_b={2, 4, 35, 50})
    pipeline = new_pipeline(routes=all_raw_routes())
    messages = run(pipeline, a, b)
    # Reference: the frames either station had (good copies), straight into a receiver.
    had = sorted({i for i, _ in a} | {i for i, f in b if f == frames[i]})
    assert had == [i for i in range(len(frames)) if not 15 <= i <= 20]
    reference = MasterChannelReceiver(PARAMS, SCID)
    for i in had:
        reference.receive_bytes(frames[i])
    expected = [
        (p.apid, p.sequence_count, p.data) for p in reference.packets() if p.apid != APID_CFDP
    ]
    assert packets_of(messages) == expected
    assert len(expected) < len([p for p in packets if p.apid != APID_CFDP])
    events = pipeline.events()
    assert FramesGivenUp(SCID, 1, 15, 6) in events
    assert pipeline.receiver.vc_counters(1).frames_missing == 6


def test_products_are_decoded_per_route() -> None:
    packets = pass_packets(60)
    pdus: list[bytes] = []
    pipeline = new_pipeline(pdus=pdus)
    frames = pass_frames(packets)
    messages = run(pipeline, list(enumerate(frames)), list(enumerate(frames)))
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for m in messages:
        by_topic.setdefault(m.topic, []).append(json.loads(m.payload))
    raw = by_topic["dawnlink/dawn/products/raw"]
    assert base64.b64decode(raw[0]["data"]) == bytes(250)
    assert raw[0]["stations"] == ["A", "B"]  # held at the start: both copies were in
    status = by_topic["dawnlink/dawn/products/status"]
    assert status[0]["data"] == {"i": 1}
    assert status[0]["sct"] == pytest.approx((T0 + timedelta(seconds=1)).timestamp(), abs=1e-4)
    hk = by_topic["dawnlink/dawn/products/hk"]
    assert hk[1]["data"] == {"temp_c": 25.0, "count": 8}
    assert by_topic["dawnlink/dawn/products/cbor"][0]["data"] == {"a": 1, "b": [2, 3]}
    # JSON packets 7, 49: malformed -> error topic with the reason, never dropped.
    errors = by_topic["dawnlink/dawn/errors"]
    assert [e["seq"] for e in errors] == [7, 49]
    assert all("does not parse" in e["error"] for e in errors)
    events = pipeline.events()
    failed = [e for e in events if isinstance(e, ProductFailed)]
    assert [(e.apid, e.sequence_count, e.product) for e in failed] == [
        (APID_JSON, 7, "status"),
        (APID_JSON, 49, "status"),
    ]
    assert UnroutedPacket(APID_UNROUTED) in events
    counters = pipeline.counters
    assert counters.unrouted == 10 and counters.product_errors == 2 and counters.cfdp_pdus == 10
    assert counters.messages == len(messages) == 60 - 10 - 10
    assert len(pdus) == 10


def test_message_ids_are_stable_across_a_replay() -> None:
    packets = pass_packets(120)
    frames = pass_frames(packets)
    a, b = station_copies(frames, range(3, 6), range(8, 10), corrupt_b=set())
    first = [m.message_id for m in run(new_pipeline(), a, b)]
    second = [m.message_id for m in run(new_pipeline(), a, b)]
    assert first == second and len(set(first)) == len(first)
    # A replay hours later through one station only: the timed products keep their ids.
    late = new_pipeline()
    for frame in frames:
        late.receive("C", [frame], ERT0 + 7200)
    late.flush()
    timed = {m.message_id for m in late.messages() if m.topic.endswith("/status")}
    before = {m.message_id for m in run(new_pipeline(), a, b) if m.topic.endswith("/status")}
    assert timed == before


def test_hole_waits_for_the_timer_then_the_rest_flows() -> None:
    frames = pass_frames(pass_packets())
    pipeline = new_pipeline()
    pipeline.receive("A", frames[:3], ERT0)
    pipeline.receive("A", frames[4:6], ERT0 + 0.1)
    assert pipeline.next_deadline() == ERT0 + 1.0  # the start hold
    pipeline.on_timer(ERT0 + 0.5)
    assert pipeline.counters.frames_merged == 0
    pipeline.on_timer(ERT0 + 1.0)
    assert pipeline.counters.frames_merged == 3  # 0..2; 3 is missing, 4 and 5 wait
    assert pipeline.next_deadline() == ERT0 + 0.1 + 1.0
    pipeline.on_timer(ERT0 + 1.1)
    assert pipeline.counters.frames_merged == 5
    assert pipeline.next_deadline() is None
    assert FramesGivenUp(SCID, 1, 3, 1) in pipeline.events()


def test_from_config_and_option_checks() -> None:
    config = GatewayConfig(
        stations=(
            StationConfig("gs1", StationKind.TCP_CADU, "127.0.0.1", 1, rs_interleave=5),
            StationConfig("gs2", StationKind.UDP_FRAMES, "127.0.0.1", 2),
        ),
        routes=(RouteConfig(apid=5, product="p", decoder=Decoder.JSON),),
    )
    pipeline = Pipeline.from_config(config)
    assert pipeline.params.frame_length == 1115 and set(pipeline.routes) == {5}
    with pytest.raises(UsageError, match="no \\[\\[stations\\]\\]"):
        Pipeline.from_config(GatewayConfig())
    with pytest.raises(UsageError, match="routed twice"):
        Pipeline(PARAMS, scid=1, routes=[ProductRoute(1, "a"), ProductRoute(1, "b")], topics=TOPICS)
    with pytest.raises(UsageError, match="cfdp callable"):
        Pipeline(PARAMS, scid=1, routes=[], topics=TOPICS, cfdp_apids={3})


class _RejectOddCounts:
    """A stand-in security hook: refuses frames with an odd VC count, passes the rest."""

    def process(self, frame: bytes) -> bytes:
        if frame[3] % 2:
            raise DecodeError("MAC does not verify", offset=0)
        return frame


def test_security_hook_runs_after_the_merge() -> None:
    frames = pass_frames(pass_packets(60))
    pipeline = new_pipeline(security=_RejectOddCounts(), plain_params=PARAMS)
    run(pipeline, list(enumerate(frames)), list(enumerate(frames)))
    # Each frame is processed once (the duplicate from B never reaches the hook).
    assert pipeline.counters.security_rejected == len(frames) // 2


# -- the OCF hook --------------------------------------------------------------------------


OCF_TM = TmParams(frame_length=1115, has_ocf=True)
OCF_AOS = AosParams(frame_length=1115, has_ocf=True)


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        (PARAMS, PARAMS),  # no OCF
        (OCF_TM, TmParams(frame_length=1115, has_ocf=None)),  # the TM flag says so
        (OCF_AOS, OCF_AOS),  # the AOS parameters say so
    ],
)
def test_on_ocf_gets_each_merged_frame_once(
    sent: TmParams | AosParams, received: TmParams | AosParams
) -> None:
    seen: list[bytes] = []
    pipeline = Pipeline(received, scid=SCID, routes=[], topics=TOPICS, on_ocf=seen.append)
    sender = VcPacketSender(sent, scid=SCID, vcid=1)
    frames = []
    for i in range(3):
        if sent.has_ocf:
            sender.set_clcw(bytes([1, 2, 3, i]))
        frames += sender.add_packets([SpacePacket(apid=5, data=b"x" * 900)]) + sender.flush()
    # Two stations deliver the same frames: the hook still runs once per frame.
    pipeline.receive("A", frames, ERT0)
    pipeline.receive("B", frames, ERT0)
    pipeline.flush()
    assert pipeline.counters.packets == 3  # the OCF is not taken for packet data
    if sent.has_ocf:
        assert len(seen) == len(frames) and {s[:3] for s in seen} == {b"\x01\x02\x03"}
        assert sorted({s[3] for s in seen}) == [0, 1, 2]
    else:
        assert seen == []


def test_a_refused_ocf_costs_no_packets() -> None:
    def refuse(ocf: bytes) -> None:
        raise DecodeError("not a CLCW", offset=0)

    pipeline = Pipeline(OCF_TM, scid=SCID, routes=[], topics=TOPICS, on_ocf=refuse)
    sender = VcPacketSender(OCF_TM, scid=SCID, vcid=1)
    frames = sender.add_packets([SpacePacket(apid=5, data=b"x" * 900)] * 2) + sender.flush()
    pipeline.receive("A", frames, ERT0)
    pipeline.flush()
    assert pipeline.counters.packets == 2
    assert sum(isinstance(e, OcfRejected) for e in pipeline.events()) == len(frames)
