"""AOS Transfer Frames (732.0-B-4): layout, FHEC on receive, round trips, rejections."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import (
    AosDataUnit,
    AosFrame,
    AosParams,
    FecfError,
    fhec_encode,
)
from tests.comms.frames.strategies import aos_frames

PARAMS = AosParams(64, has_fhec=True, insert_zone_length=2, has_ocf=True)


def _frame(**changes: object) -> AosFrame:
    fields: dict[str, object] = dict(
        scid=0xAB, vcid=0x15, vc_frame_count=0x123456, data_field=bytes(range(46)),
        first_header_pointer=0x7FF, replay_flag=True, vc_frame_count_cycle=9,
        insert_zone=b"\xee\xff", ocf=b"OCF!", has_fhec=True,
    )  # fmt: skip
    fields.update(changes)
    return AosFrame(**fields)  # type: ignore[arg-type]


def test_layout_by_hand() -> None:
    raw = _frame().encode()
    assert len(raw) == 64
    # version 01, SCID 0xAB, VCID 0x15: 0b01_10101011_010101 = 0x6AD5; count; signaling
    # replay 1, usage 0, spare 00, cycle 1001 = 0x89.
    assert raw[:6] == bytes.fromhex("6AD5 123456 89")
    assert raw[6:8] == fhec_encode(0x6AD589).to_bytes(2, "big")
    assert raw[8:10] == b"\xee\xff"  # insert zone
    assert raw[10:12] == b"\x07\xff"  # M_PDU header: spare 00000, FHP 0x7FF
    assert raw[-6:-2] == b"OCF!"
    assert int.from_bytes(raw[-2:], "big") == crc16_ccitt(raw[:-2])
    assert AosFrame.decode(raw, PARAMS) == _frame()


def test_b_pdu_and_vca_sdu_and_idle() -> None:
    b_pdu = _frame(first_header_pointer=None, bitstream_data_pointer=0x3FFF)
    params = AosParams(64, has_fhec=True, insert_zone_length=2, has_ocf=True,
                       data_unit=AosDataUnit.B_PDU)  # fmt: skip
    raw = b_pdu.encode()
    assert raw[10:12] == b"\x3f\xff"
    assert AosFrame.decode(raw, params).data_unit is AosDataUnit.B_PDU
    idle = _frame(vcid=63, first_header_pointer=None, data_field=bytes(48))
    decoded = AosFrame.decode(idle.encode(), PARAMS)  # VCID 63 is raw despite M_PDU
    assert decoded == idle and decoded.is_idle and decoded.data_unit is AosDataUnit.VCA_SDU


def test_fhec_corrects_header_on_receive() -> None:
    raw = bytearray(_frame().encode())
    raw[1] ^= 0x0F  # one symbol of the VCID
    raw[5] ^= 0xF0  # one symbol of the signaling field
    frame = AosFrame.decode(bytes(raw), PARAMS, verify_fecf=False)
    assert frame == _frame()
    raw[0] ^= 0x30  # a third symbol: uncorrectable
    with pytest.raises(DecodeError) as info:
        AosFrame.decode(bytes(raw), PARAMS, verify_fecf=False)
    assert info.value.offset == 6


def test_fecf_checked_before_fhec() -> None:
    raw = bytearray(_frame().encode())
    raw[1] ^= 0x01
    with pytest.raises(FecfError):
        AosFrame.decode(bytes(raw), PARAMS)


def test_rejections() -> None:
    raw = _frame().encode()
    with pytest.raises(DecodeError, match="length"):
        AosFrame.decode(raw + b"\x00", PARAMS)
    no_fhec = AosParams(64, has_fhec=True, insert_zone_length=2, has_ocf=True, has_fecf=False)
    bad_version = (
        bytes([raw[0] & 0x3F])
        + raw[1:6]
        + fhec_encode(((raw[0] & 0x3F) << 16) | (raw[1] << 8) | raw[5]).to_bytes(2, "big")
        + raw[8:]
    )
    with pytest.raises(DecodeError, match="version") as info:
        AosFrame.decode(bad_version, no_fhec)
    assert (info.value.expected, info.value.got) == (1, 0)
    with pytest.raises(UsageError, match="not both"):
        _frame(bitstream_data_pointer=1)
    with pytest.raises(UsageError, match="vc_data_units"):
        AosParams(64, vc_data_units=((1, "M_PDU"),))  # type: ignore[arg-type]


@given(aos_frames())
def test_round_trip(case: tuple[AosFrame, AosParams]) -> None:
    frame, params = case
    raw = frame.encode()
    assert len(raw) == len(frame) == params.frame_length
    assert AosFrame.decode(raw, params) == frame


@given(st.binary(max_size=60), st.sampled_from([
    AosParams(24), AosParams(30, has_fhec=True, insert_zone_length=3, has_ocf=True),
    AosParams(20, has_fecf=False, data_unit=AosDataUnit.B_PDU),
]))  # fmt: skip
def test_any_bytes_decode_or_raise(raw: bytes, params: AosParams) -> None:
    try:
        frame = AosFrame.decode(raw, params, verify_fecf=False)
    except DecodeError:
        return
    # Whatever decodes is a valid value: it re-encodes and decodes to itself.
    assert AosFrame.decode(frame.encode(), params) == frame
