"""TM Transfer Frames (132.0-B-3): layout, round trips, rejections."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import FHP_IDLE, FecfError, TmFrame, TmParams
from tests.comms.frames.strategies import tm_frames

PARAMS = TmParams(1115, has_ocf=True)


def _frame(**changes: object) -> TmFrame:
    fields: dict[str, object] = dict(
        scid=0x2A5, vcid=5, mc_frame_count=0x12, vc_frame_count=0x34,
        first_header_pointer=0x123, data_field=bytes(range(256)) * 4 + bytes(79),
        ocf=b"\x01\x02\x03\x04",
    )  # fmt: skip
    fields.update(changes)
    return TmFrame(**fields)  # type: ignore[arg-type]


def test_header_layout_by_hand() -> None:
    # Bits laid out from 132.0-B-3 figure 4-2: version 00, SCID 0x2A5, VCID 5, OCF flag 1
    # -> 0b00_1010100101_101_1 = 0x2A5B; counts; data field status with FHP 0x123 and
    # segment length id 11 -> 0b0_0_0_11_00100100011 = 0x1923.
    raw = _frame().encode()
    assert raw[:6] == bytes.fromhex("2A5B 1234 1923")
    assert len(raw) == 1115
    assert raw[-6:-2] == b"\x01\x02\x03\x04"
    assert int.from_bytes(raw[-2:], "big") == crc16_ccitt(raw[:-2])


def test_secondary_header_layout() -> None:
    frame = _frame(secondary_header=b"\xaa\xbb\xcc", data_field=bytes(1100), ocf=None)
    raw = frame.encode()
    # flag in bit 0 of octet 4; identification octet: version 00, length 3 (octets - 1)
    assert raw[4] & 0x80
    assert raw[6:10] == b"\x03\xaa\xbb\xcc"
    assert TmFrame.decode(raw, TmParams(len(raw), secondary_header_length=3)) == frame


def test_decode_accepts_bytearray_and_memoryview_and_copies() -> None:
    raw = bytearray(_frame().encode())
    frame = TmFrame.decode(raw, PARAMS)
    assert TmFrame.decode(memoryview(raw), PARAMS) == frame
    raw[10] ^= 0xFF  # the decoded frame does not alias the caller's buffer
    assert frame == _frame()
    assert type(frame.data_field) is bytes


def test_fecf_mismatch_reports_expected_and_got() -> None:
    raw = bytearray(_frame().encode())
    raw[100] ^= 0x01
    with pytest.raises(FecfError) as info:
        TmFrame.decode(bytes(raw), PARAMS)
    err = info.value
    assert isinstance(err, DecodeError)
    assert err.offset == 1113
    assert err.expected == crc16_ccitt(bytes(raw[:-2]))
    assert err.got == int.from_bytes(raw[-2:], "big")
    # A receiver that wants the frame anyway (and counts the failure itself):
    assert TmFrame.decode(bytes(raw), PARAMS, verify_fecf=False).data_field[94] == 94 ^ 1


@pytest.mark.parametrize(
    ("mutate", "params", "offset"),
    [
        (lambda b: b[:-1], PARAMS, 0),  # wrong length
        (lambda b: bytes([b[0] | 0x40]) + b[1:], TmParams(1115, has_ocf=True, has_fecf=False), 0),
        (lambda b: b, TmParams(1115, has_ocf=False), 1),  # OCF flag disagrees
        (lambda b: b, TmParams(1115, has_ocf=True, secondary_header_length=2), 4),
    ],
)
def test_rejections_carry_offsets(mutate, params, offset) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DecodeError) as info:
        TmFrame.decode(mutate(_frame().encode()), params)
    assert info.value.offset == offset


def test_ocf_flag_followed_when_params_say_none() -> None:
    frame = _frame()
    assert TmFrame.decode(frame.encode(), TmParams(1115, has_ocf=None)) == frame
    no_ocf = _frame(ocf=None, data_field=bytes(1107))
    assert TmFrame.decode(no_ocf.encode(), TmParams(1115, has_ocf=None)) == no_ocf


def test_idle_and_validation() -> None:
    assert _frame(first_header_pointer=FHP_IDLE).is_idle
    with pytest.raises(UsageError, match="scid"):
        _frame(scid=1024)
    with pytest.raises(UsageError, match="4 octets"):
        _frame(ocf=b"\x00")
    with pytest.raises(UsageError, match="2048"):
        _frame(data_field=bytes(2048))
    with pytest.raises(UsageError, match="frame_length"):
        TmParams(6)
    with pytest.raises(AttributeError, match="immutable"):
        _frame().scid = 1  # type: ignore[misc]


def test_replace_hash_pickle() -> None:
    frame = _frame()
    assert frame.replace(vcid=1).vcid == 1
    with pytest.raises(UsageError):
        frame.replace(vcid=8)
    assert hash(frame) == hash(_frame())
    assert pickle.loads(pickle.dumps(frame)) == frame
    assert "TmFrame(scid=677" in repr(frame)


@given(tm_frames())
def test_round_trip(case: tuple[TmFrame, TmParams]) -> None:
    frame, params = case
    raw = frame.encode()
    assert len(raw) == len(frame) == params.frame_length
    assert TmFrame.decode(raw, params) == frame


@given(st.binary(max_size=80), st.sampled_from([
    TmParams(20), TmParams(30, has_ocf=None, secondary_header_length=3),
    TmParams(16, has_ocf=True, has_fecf=False),
]))  # fmt: skip
def test_any_bytes_decode_or_raise(raw: bytes, params: TmParams) -> None:
    try:
        frame = TmFrame.decode(raw, params, verify_fecf=False)
    except DecodeError:
        return
    # No spare bits in TM: what decodes re-encodes to the same octets (FECF aside).
    body = len(raw) - 2 * params.has_fecf
    assert frame.encode()[:body] == raw[:body]
