"""TC Transfer Frames (232.0-B-4) and the COP-1 control commands (232.1-B-2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import (
    FecfError,
    SetVR,
    TcFrame,
    TcParams,
    Unlock,
    decode_control_command,
)
from tests.comms.frames.strategies import tc_frames

MAP_PARAMS = TcParams(has_segment_header=True)


def test_layout_by_hand() -> None:
    frame = TcFrame(0x1FF, 0x2A, 0x77, b"\xca\xfe", map_id=0x15, sequence_flags=0b01)
    raw = frame.encode()
    # version 00, bypass 0, control 0, spare 00, SCID 0x1FF: 0x01FF; VCID 0x2A and
    # length 10 - 1 = 9: 0b101010_0000001001 = 0xA809; FSN 0x77; segment header
    # flags 01, MAP 0x15 = 0x55.
    assert raw[:6] == bytes.fromhex("01FF A809 77 55")
    assert raw[6:8] == b"\xca\xfe"
    assert int.from_bytes(raw[8:], "big") == crc16_ccitt(raw[:8])
    assert TcFrame.frame_length(raw) == 10
    assert TcFrame.decode(raw, MAP_PARAMS) == frame


def test_control_commands() -> None:
    unlock = TcFrame.unlock(0x12, 3)
    raw = unlock.encode()
    assert raw[0] & 0x30 == 0x30  # bypass and control command flags
    assert raw[5] == 0x00 and len(raw) == 8
    decoded = TcFrame.decode(raw, MAP_PARAMS)  # no segment header on Type-BC frames
    assert decoded.control_command() == Unlock()
    set_vr = TcFrame.decode(TcFrame.set_v_r(0x12, 3, 200).encode(), MAP_PARAMS)
    assert set_vr.data_field == b"\x82\x00\xc8"
    assert set_vr.control_command() == SetVR(200)
    assert TcFrame(1, 1, 0, b"data").control_command() is None
    with pytest.raises(DecodeError, match="control command"):
        decode_control_command(b"\x82\x01\x00")
    with pytest.raises(UsageError):
        SetVR(256)
    with pytest.raises(UsageError, match="segment header"):
        TcFrame(1, 1, 0, b"\x00", True, True, map_id=0)


def test_limits_and_rejections() -> None:
    assert len(TcFrame(1, 1, 0, bytes(1017)).encode()) == 1024
    with pytest.raises(UsageError, match="1024"):
        TcFrame(1, 1, 0, bytes(1018))
    with pytest.raises(UsageError):
        TcFrame(1, 1, 0, b"")
    raw = TcFrame(1, 1, 0, b"abc").encode()
    with pytest.raises(DecodeError, match="length") as info:
        TcFrame.decode(raw + b"\x55", TcParams())  # CLTU fill after the frame
    assert (info.value.expected, info.value.got) == (len(raw), len(raw) + 1)
    with pytest.raises(FecfError):
        TcFrame.decode(raw[:-1] + bytes([raw[-1] ^ 1]), TcParams())
    with pytest.raises(DecodeError, match="version"):
        TcFrame.decode(bytes([raw[0] | 0x80]) + raw[1:], TcParams())
    with pytest.raises(DecodeError):
        TcFrame.frame_length(b"\x00\x00")


@given(tc_frames())
def test_round_trip(case: tuple[TcFrame, TcParams]) -> None:
    frame, params = case
    raw = frame.encode()
    assert TcFrame.frame_length(raw + b"\x55\x55") == len(raw) == len(frame)
    assert TcFrame.decode(raw, params) == frame


@given(st.binary(max_size=40), st.sampled_from([TcParams(), MAP_PARAMS, TcParams(False)]))
def test_any_bytes_decode_or_raise(raw: bytes, params: TcParams) -> None:
    try:
        frame = TcFrame.decode(raw, params, verify_fecf=False)
    except DecodeError:
        return
    # Whatever decodes is a valid value: it re-encodes and decodes to itself.
    assert TcFrame.decode(frame.encode(), params) == frame
