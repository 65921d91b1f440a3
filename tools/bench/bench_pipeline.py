"""The gateway's downlink pipeline, sans-I/O (no sockets, no outbox, no MQTT).

Frames: BATCH 1115-octet TM frames with FECF carrying 256-octet Space Packets (packets
span frames), as one station delivers them in order, through :class:`gateway.pipeline.
Pipeline`: station merge, VC demux and packet extraction, APID routing, the product
decoder and the JSON envelope of each message. Two product kinds: ``raw`` (the data
field base64 in the envelope) and ``json`` (a small JSON object padded to 256 octets,
parsed and re-serialized). Each group's reference row is
:class:`comms.vc.MasterChannelReceiver` alone on the same frames (``receive_many``):
there is no peer library with a gateway pipeline, so the ratio is what merge, routing
and products cost on top of packet extraction. Rates are given per frame and per
message (one message per packet).

CADU: the same frames as a CADU stream (RS(255,223) I=5, randomized: 1279 octets each)
through :class:`gateway.ingest.StationDecoder` (frame sync, derandomize, RS decode) and
the pipeline to envelopes; MB/s counts CADU octets (x8 for Mbps), against
``CaduDecoder.feed`` + ``MasterChannelReceiver`` alone.
"""

from __future__ import annotations

import json
from functools import partial

from comms.coding import CaduDecoder, CaduEncoder, CaduFrame, CaduParams
from comms.frames import TmParams
from comms.spp import SpacePacket
from comms.vc import MasterChannelReceiver, VcPacketSender
from gateway.config import Decoder
from gateway.ingest import StationDecoder
from gateway.merge import StationMerge
from gateway.messages import Topics
from gateway.pipeline import Pipeline
from gateway.products import ProductRoute
from tools.bench import Case

BATCH = 256
PARAMS = TmParams(frame_length=1115)
SCID = 0x2A
TOPICS = Topics("dawnlink", "bench")
CADU = CaduParams(frame_length=1115, interleave=5)


def _frames(apid: int, data: bytes) -> tuple[list[bytes], int]:
    sender = VcPacketSender(PARAMS, SCID, 1)
    frames: list[bytes] = []
    count = 0
    while len(frames) < BATCH:
        frames += sender.add_packet(
            SpacePacket(apid=apid, data=data, sequence_count=count & 0x3FFF)
        )
        count += 1
    frames = frames[:BATCH]
    receiver = MasterChannelReceiver(PARAMS, SCID)
    receiver.receive_many(b"".join(frames))
    return frames, len(receiver.packets())


def _pipeline() -> Pipeline:
    return Pipeline(
        PARAMS,
        scid=SCID,
        routes=[ProductRoute(0x10, "raw"), ProductRoute(0x11, "status", Decoder.JSON)],
        topics=TOPICS,
        merge=StationMerge(PARAMS, start_hold_s=0),
    )


def _run_pipeline(frames: list[bytes]) -> int:
    pipeline = _pipeline()
    pipeline.receive("A", frames, 1.9e9)
    return len(pipeline.messages())


def _receiver_only(joined: bytes) -> int:
    receiver = MasterChannelReceiver(PARAMS, SCID)
    receiver.receive_many(joined)
    return len(receiver.packets())


def _cadu_pipeline(stream: bytes) -> int:
    station = StationDecoder("A", frame_length=1115, cadu=CADU)
    pipeline = _pipeline()
    frames = station.feed(stream) + station.end_of_stream()
    pipeline.receive("A", frames, 1.9e9)
    return len(pipeline.messages())


def _cadu_receiver(stream: bytes) -> int:
    decoder = CaduDecoder(CADU)
    receiver = MasterChannelReceiver(PARAMS, SCID)
    events = decoder.feed(stream) + decoder.close()
    receiver.receive_many(b"".join(e.data for e in events if isinstance(e, CaduFrame)))
    return len(receiver.packets())


def cases() -> list[Case]:
    raw_frames, raw_packets = _frames(0x10, bytes(range(250)))
    status = json.dumps({"node": 7, "temp_c": 21.5, "load": [0.5, 0.25], "ok": True})
    body = (status + " " * (250 - len(status))).encode()
    json_frames, json_packets = _frames(0x11, body)
    assert _run_pipeline(raw_frames) == raw_packets
    assert _run_pipeline(json_frames) == json_packets
    out: list[Case] = []
    for name, frames, packets in (
        ("raw", raw_frames, raw_packets),
        ("json", json_frames, json_packets),
    ):
        joined = b"".join(frames)
        nbytes = len(joined)
        for unit, items in (("frames", BATCH), ("messages", packets)):
            group = f"pipeline {name} 256 B packets, {unit}"
            out.append(
                Case(
                    group,
                    "MasterChannelReceiver",
                    partial(_receiver_only, joined),
                    items=items,
                    nbytes=nbytes,
                )
            )
            out.append(
                Case(
                    group,
                    "Pipeline",
                    partial(_run_pipeline, frames),
                    items=items,
                    nbytes=nbytes,
                    peer="MasterChannelReceiver",
                )
            )
    stream = CaduEncoder(CADU).encode_many(raw_frames).tobytes()
    assert _cadu_pipeline(stream) == raw_packets == _cadu_receiver(stream)
    group = "CADU stream -> raw messages (MB/s of CADUs)"
    out.append(
        Case(
            group,
            "CaduDecoder+MasterChannelReceiver",
            lambda: _cadu_receiver(stream),
            items=raw_packets,
            nbytes=len(stream),
        )
    )
    out.append(
        Case(
            group,
            "StationDecoder+Pipeline",
            lambda: _cadu_pipeline(stream),
            items=raw_packets,
            nbytes=len(stream),
            peer="CaduDecoder+MasterChannelReceiver",
        )
    )
    return out
