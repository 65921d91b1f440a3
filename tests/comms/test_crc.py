"""CRC check values and incremental use.

Check values for ASCII "123456789" are the catalogued ones (CRC RevEng catalogue:
CRC-16/IBM-3740 a.k.a. CCITT-FALSE 0x29B1, CRC-32/ISO-HDLC 0xCBF43926, CRC-32/ISCSI
0xE3069283), also listed in shared/REFERENCES.md.
"""

from __future__ import annotations

import binascii

import crcmod.predefined
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.crc import crc16_ccitt, crc32, crc32c

CHECK = b"123456789"


def test_check_values() -> None:
    assert crc16_ccitt(CHECK) == 0x29B1
    assert crc32(CHECK) == 0xCBF43926
    assert crc32c(CHECK) == 0xE3069283


def test_accepts_memoryview_and_bytearray() -> None:
    assert crc16_ccitt(memoryview(CHECK)) == 0x29B1
    assert crc32c(bytearray(CHECK)) == 0xE3069283


def test_frame_with_its_fecf_checks_to_zero() -> None:
    # The FECF property receivers rely on (132.0-B-3 4.1.6): CRC over frame+FECF is 0.
    body = bytes(range(100))
    fecf = crc16_ccitt(body).to_bytes(2, "big")
    assert crc16_ccitt(body + fecf) == 0


@given(st.binary(), st.binary())
def test_incremental_equals_whole(a: bytes, b: bytes) -> None:
    assert crc16_ccitt(b, crc16_ccitt(a)) == crc16_ccitt(a + b)
    assert crc32(b, crc32(a)) == crc32(a + b)
    assert crc32c(b, crc32c(a)) == crc32c(a + b)


@given(st.binary(max_size=2048), st.integers(0, 0xFFFF))
def test_against_crcmod(data: bytes, start: int) -> None:
    # crcmod's catalogue definitions are an independent implementation; the sizes span
    # both CRC-16 engines (crc_hqx below 96 octets, anycrc above).
    assert crc16_ccitt(data) == crcmod.predefined.mkCrcFun("crc-ccitt-false")(data)
    assert crc16_ccitt(data, start) == binascii.crc_hqx(data, start)
    assert crc32(data) == crcmod.predefined.mkCrcFun("crc-32")(data)
    assert crc32c(data) == crcmod.predefined.mkCrcFun("crc-32c")(data)


@pytest.mark.parametrize("size", [0, 1, 95, 96, 97, 1113, 4096, 70000])
def test_engine_boundary(size: int) -> None:
    data = bytes((i * 37 + 11) & 0xFF for i in range(size))
    assert crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)
    assert crc16_ccitt(memoryview(data)) == binascii.crc_hqx(data, 0xFFFF)
