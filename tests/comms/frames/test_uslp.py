"""USLP Transfer Frames (732.1-B-2): layout, truncated frames, both FECFs, rejections."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import (
    FecfError,
    TfdzConstructionRule,
    UslpFrame,
    UslpParams,
    crc32_uslp,
)
from tests.comms.frames.strategies import uslp_frames


def _frame(**changes: object) -> UslpFrame:
    fields: dict[str, object] = dict(
        scid=0xABCD, vcid=0x2B, map_id=0x9, construction_rule=0, upid=0,
        data_zone=b"hello", pointer=0, source_or_destination_id=1, bypass_flag=True,
        vcf_count_length=3, vcf_count=0x010203, insert_zone=b"IZ", ocf=b"OCF!",
    )  # fmt: skip
    fields.update(changes)
    return UslpFrame(**fields)  # type: ignore[arg-type]


def _crc32_bitwise(data: bytes) -> int:
    # Straight from the definition in 732.1-B-2 4.1.6: G(x) = x^32+x^23+x^21+x^11+x^2+1,
    # register preset to zero, bits in order, no reflection, no final inversion.
    reg = 0
    for octet in data:
        for i in range(7, -1, -1):
            top = ((reg >> 31) & 1) ^ ((octet >> i) & 1)
            reg = (reg << 1) & 0xFFFFFFFF
            if top:
                reg ^= 0x00A00805
    return reg


def test_layout_by_hand() -> None:
    raw = _frame().encode()
    # 1100 | SCID 0xABCD | src/dst 1 | VCID 101011 | MAP 1001 | EOFPH 0
    #   = 0xC_ABCD_ (1 101 = 0xD) (011 1001 0 = 0x72) -> C A B C D D 7 2
    assert raw[:4] == bytes.fromhex("CABCDD72")
    assert int.from_bytes(raw[4:6], "big") == len(raw) - 1
    # bypass 1, PCC 0, spare 00, OCF 1, VCF count length 011 = 0b1000_1011 = 0x8B
    assert raw[6] == 0x8B
    assert raw[7:10] == b"\x01\x02\x03"
    assert raw[10:12] == b"IZ"
    assert raw[12:15] == b"\x00\x00\x00"  # TFDF header: rule 000, UPID 0, FHP 0
    assert raw[15:20] == b"hello"
    assert raw[20:24] == b"OCF!"
    assert int.from_bytes(raw[24:], "big") == crc16_ccitt(raw[:24])
    params = UslpParams(insert_zone_length=2)
    assert UslpFrame.frame_length(raw, params) == len(raw)
    assert UslpFrame.decode(raw, params) == _frame()


def test_crc32_fecf_matches_the_polynomial() -> None:
    assert crc32_uslp(b"123456789") == _crc32_bitwise(b"123456789")
    frame = _frame(fecf_length=4)
    raw = frame.encode()
    assert int.from_bytes(raw[-4:], "big") == _crc32_bitwise(raw[:-4])
    params = UslpParams(insert_zone_length=2, fecf_length=4)
    assert UslpFrame.decode(raw, params) == frame
    with pytest.raises(FecfError) as info:
        UslpFrame.decode(raw[:-1] + bytes([raw[-1] ^ 1]), params)
    assert info.value.expected == _crc32_bitwise(raw[:-4])


@given(st.binary(max_size=200))
def test_crc32_against_bitwise_definition(data: bytes) -> None:
    assert crc32_uslp(data) == _crc32_bitwise(data)


def test_truncated_frame() -> None:
    frame = UslpFrame(0x1234, 1, 2, TfdzConstructionRule.NO_SEGMENTATION, 5, b"abc",
                      truncated=True, fecf_length=0)  # fmt: skip
    raw = frame.encode()
    assert len(raw) == 8 and raw[3] & 1 and raw[4] == 0b111_00101
    with pytest.raises(DecodeError, match="truncated") as info:
        UslpFrame.decode(raw, UslpParams(fecf_length=0))
    assert info.value.offset == 3
    assert UslpFrame.decode(raw, UslpParams(fecf_length=0, truncated_frame_length=8)) == frame
    with pytest.raises(UsageError, match="truncated"):
        UslpFrame(0, 0, 0, 7, 0, b"", truncated=True, ocf=b"1234")


def test_rejections() -> None:
    raw = _frame().encode()
    params = UslpParams(insert_zone_length=2)
    with pytest.raises(DecodeError, match="managed frame length"):
        UslpFrame.decode(raw, UslpParams(frame_length=len(raw) + 1, insert_zone_length=2))
    with pytest.raises(DecodeError, match="length"):
        UslpFrame.decode(raw[:-1], params)
    with pytest.raises(DecodeError, match="version"):
        UslpFrame.decode(b"\x00" + raw[1:], params)
    with pytest.raises(DecodeError, match="OCF flag"):
        UslpFrame.decode(raw, UslpParams(insert_zone_length=2, has_ocf=False))
    with pytest.raises(DecodeError, match="frame count length"):
        UslpFrame.decode(raw, UslpParams(insert_zone_length=2, vcf_count_length=1))
    with pytest.raises(UsageError, match="needs a pointer"):
        _frame(pointer=None)
    with pytest.raises(UsageError, match="no pointer"):
        _frame(construction_rule=TfdzConstructionRule.OCTET_STREAM)
    with pytest.raises(UsageError, match="vcf_count"):
        _frame(vcf_count=1 << 24)
    with pytest.raises(UsageError, match="fecf_length"):
        UslpParams(fecf_length=3)


@given(uslp_frames())
def test_round_trip(case: tuple[UslpFrame, UslpParams]) -> None:
    frame, params = case
    raw = frame.encode()
    assert len(raw) == len(frame) == UslpFrame.frame_length(raw, params)
    assert UslpFrame.decode(raw, params) == frame


@given(st.binary(max_size=48), st.sampled_from([
    UslpParams(), UslpParams(frame_length=20, fecf_length=4, insert_zone_length=2),
    UslpParams(fecf_length=0, truncated_frame_length=9), UslpParams(has_ocf=True),
]))  # fmt: skip
def test_any_bytes_decode_or_raise(raw: bytes, params: UslpParams) -> None:
    try:
        frame = UslpFrame.decode(raw, params, verify_fecf=False)
    except DecodeError:
        return
    # Whatever decodes is a valid value: it re-encodes and decodes to itself.
    assert UslpFrame.decode(frame.encode(), params) == frame


@given(st.binary(min_size=8, max_size=40))
def test_valid_headers_with_random_tails(tail: bytes) -> None:
    # Random bytes rarely carry version 1100 and a matching length; build headers that
    # do so the decoder's inner checks get exercised.
    raw = bytearray(b"\xc0\x00\x00\x00\x00\x00") + tail
    raw[3] = tail[0] & 0xFF
    raw[4:6] = (len(raw) - 1).to_bytes(2, "big")
    for params in (UslpParams(), UslpParams(fecf_length=4, truncated_frame_length=len(raw))):
        with contextlib.suppress(DecodeError):
            frame = UslpFrame.decode(bytes(raw), params, verify_fecf=False)
            assert UslpFrame.decode(frame.encode(), params) == frame
