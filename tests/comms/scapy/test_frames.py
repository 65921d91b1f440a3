"""The scapy frame header layers against :mod:`comms.frames`, both ways.

scapy's BitField packing is an independent implementation of the header layouts, so
dissecting our encodings and building the same fields with scapy is a differential test
of the four primary headers (132.0-B-3, 232.0-B-4, 732.0-B-4, 732.1-B-2 section 4.1.2).
Frames come from the frame codecs' own Hypothesis strategies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given

pytest.importorskip("scapy")

from scapy.layers.inet import IP, UDP
from scapy.packet import Raw, split_layers

from comms.errors import DecodeError, UsageError
from comms.frames import AosFrame, TcFrame, TmFrame, UslpFrame
from comms.scapy import frames as layer
from tests.comms.frames.strategies import aos_frames, tc_frames, tm_frames, uslp_frames


def test_import_emits_no_warnings() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", "import comms.scapy.frames"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_comms_scapy_does_not_import_scapy() -> None:
    code = "import sys, comms.scapy; assert 'scapy' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@given(tm_frames())
def test_tm(pair: tuple[TmFrame, object]) -> None:
    frame, _ = pair
    raw = frame.encode()
    p = layer.TmFrame(raw)
    assert (p.version, p.scid, p.vcid, p.ocf_flag) == (
        0,
        frame.scid,
        frame.vcid,
        frame.ocf is not None,
    )
    assert (p.mc_frame_count, p.vc_frame_count) == (frame.mc_frame_count, frame.vc_frame_count)
    assert p.sec_header_flag == (frame.secondary_header is not None)
    assert (p.sync_flag, p.packet_order_flag) == (frame.sync_flag, frame.packet_order_flag)
    assert p.segment_length_id == frame.segment_length_id
    assert p.first_header_pointer == frame.first_header_pointer
    assert p[Raw].load == raw[6:]
    built = layer.TmFrame(
        scid=frame.scid,
        vcid=frame.vcid,
        ocf_flag=int(frame.ocf is not None),
        mc_frame_count=frame.mc_frame_count,
        vc_frame_count=frame.vc_frame_count,
        sec_header_flag=int(frame.secondary_header is not None),
        sync_flag=int(frame.sync_flag),
        packet_order_flag=int(frame.packet_order_flag),
        segment_length_id=frame.segment_length_id,
        first_header_pointer=frame.first_header_pointer,
    ) / Raw(raw[6:])
    assert bytes(built) == raw


@given(tc_frames())
def test_tc(pair: tuple[TcFrame, object]) -> None:
    frame, _ = pair
    raw = frame.encode()
    p = layer.TcFrame(raw)
    assert (p.version, p.bypass_flag, p.control_command_flag) == (
        0,
        frame.bypass_flag,
        frame.control_command_flag,
    )
    assert (p.scid, p.vcid, p.frame_sequence_number) == (
        frame.scid,
        frame.vcid,
        frame.frame_sequence_number,
    )
    assert p.frame_length == len(raw) - 1
    assert p[Raw].load == raw[5:]
    built = layer.TcFrame(
        bypass_flag=int(frame.bypass_flag),
        control_command_flag=int(frame.control_command_flag),
        scid=frame.scid,
        vcid=frame.vcid,
        frame_sequence_number=frame.frame_sequence_number,
    ) / Raw(raw[5:])
    assert bytes(built) == raw  # frame_length computed on build


@given(aos_frames())
def test_aos(pair: tuple[AosFrame, object]) -> None:
    frame, _ = pair
    raw = frame.encode()
    p = layer.AosFrame(raw)
    assert (p.version, p.scid, p.vcid, p.vc_frame_count) == (
        1,
        frame.scid,
        frame.vcid,
        frame.vc_frame_count,
    )
    assert (p.replay_flag, p.vc_frame_count_usage_flag, p.vc_frame_count_cycle) == (
        frame.replay_flag,
        frame.vc_frame_count_usage_flag,
        frame.vc_frame_count_cycle,
    )
    built = layer.AosFrame(
        scid=frame.scid,
        vcid=frame.vcid,
        vc_frame_count=frame.vc_frame_count,
        replay_flag=int(frame.replay_flag),
        vc_frame_count_usage_flag=int(frame.vc_frame_count_usage_flag),
        vc_frame_count_cycle=frame.vc_frame_count_cycle,
    ) / Raw(raw[6:])
    assert bytes(built) == raw


@given(uslp_frames())
def test_uslp(pair: tuple[UslpFrame, object]) -> None:
    frame, _ = pair
    raw = frame.encode()
    p = layer.UslpFrame(raw)
    assert (p.version, p.scid, p.vcid, p.map_id) == (12, frame.scid, frame.vcid, frame.map_id)
    assert p.source_or_destination_id == frame.source_or_destination_id
    assert p.end_of_frame_primary_header == frame.truncated
    fields: dict[str, Any] = {
        "scid": frame.scid,
        "source_or_destination_id": frame.source_or_destination_id,
        "vcid": frame.vcid,
        "map_id": frame.map_id,
        "end_of_frame_primary_header": int(frame.truncated),
    }
    if frame.truncated:
        header = 4
        assert p.frame_length is None  # absent field
    else:
        header = 7 + frame.vcf_count_length
        assert p.frame_length == len(raw) - 1
        assert (p.bypass_flag, p.protocol_control_command_flag) == (
            frame.bypass_flag,
            frame.protocol_control_command_flag,
        )
        assert p.ocf_flag == (frame.ocf is not None)
        assert (p.vcf_count_length, p.vcf_count) == (frame.vcf_count_length, frame.vcf_count)
        fields.update(
            bypass_flag=int(frame.bypass_flag),
            protocol_control_command_flag=int(frame.protocol_control_command_flag),
            ocf_flag=int(frame.ocf is not None),
            vcf_count_length=frame.vcf_count_length,
            vcf_count=frame.vcf_count,
        )
    assert p[Raw].load == raw[header:]
    assert bytes(layer.UslpFrame(**fields) / Raw(raw[header:])) == raw


@pytest.mark.parametrize(
    "cls, octets",
    [(layer.TmFrame, 5), (layer.TcFrame, 4), (layer.AosFrame, 5), (layer.UslpFrame, 6)],
)
def test_short_header_raises_decode_error(cls: type, octets: int) -> None:
    with pytest.raises(DecodeError, match="truncated"):
        cls(bytes(octets))


def test_uslp_short_vcf_count_raises_decode_error() -> None:
    # Full header, VC frame count length 7, but only 2 count octets present.
    with pytest.raises(DecodeError, match="VC frame count"):
        layer.UslpFrame(bytes.fromhex("c0 00 00 00 00 10 07 01 02"))


def test_build_without_data_is_refused() -> None:
    with pytest.raises(UsageError, match="TC frame"):
        bytes(layer.TcFrame())
    assert bytes(layer.TcFrame(frame_length=0))[:5] == bytes(5)  # crafted: kept as given


def test_bind_udp_port() -> None:
    port = 47002
    layer.bind_udp_port(port, "aos")
    try:
        raw = AosFrame(scid=1, vcid=2, vc_frame_count=3, data_field=b"x").encode()
        datagram = IP(bytes(IP() / UDP(sport=1, dport=port) / raw))
        assert datagram[layer.AosFrame].vc_frame_count == 3
    finally:
        split_layers(UDP, layer.AosFrame, dport=port)
        split_layers(UDP, layer.AosFrame, sport=port)
    with pytest.raises(UsageError):
        layer.bind_udp_port(70000)
    with pytest.raises(UsageError):
        layer.bind_udp_port(port, "cadu")
