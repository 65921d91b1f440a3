"""The CLCW (232.0-B-4 4.2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.frames import Clcw
from tests.comms.frames.strategies import clcws


def test_layout_by_hand() -> None:
    clcw = Clcw(vcid=0x2A, report_value=0x5C, status_field=0b101, lockout=True, retransmit=True,
                farm_b_counter=0b10)  # fmt: skip
    # type 0 | version 00 | status 101 | COP 01 = 0b0_00_101_01 = 0x15; VCID 101010 and
    # spare 00 = 0xA8; no RF 0, no bit lock 0, lockout 1, wait 0, retransmit 1,
    # FARM-B 10, spare 0 = 0b0010_1100 = 0x2C; report value 0x5C.
    assert clcw.encode() == bytes.fromhex("15 A8 2C 5C")
    assert Clcw.decode(bytes.fromhex("15 A8 2C 5C")) == clcw


def test_spare_bits_ignored_and_rejections() -> None:
    assert Clcw.decode(bytes.fromhex("01 03 01 07")) == Clcw(vcid=0, report_value=7)
    with pytest.raises(DecodeError, match="not a CLCW"):
        Clcw.decode(bytes.fromhex("81 00 00 00"))
    with pytest.raises(DecodeError, match="version"):
        Clcw.decode(bytes.fromhex("21 00 00 00"))
    with pytest.raises(DecodeError, match="4 octets"):
        Clcw.decode(b"\x01\x00\x00")
    with pytest.raises(UsageError, match="vcid"):
        Clcw(vcid=64, report_value=0)


@given(clcws)
def test_round_trip(clcw: Clcw) -> None:
    assert Clcw.decode(clcw.encode()) == clcw


@given(st.binary(max_size=6))
def test_any_bytes_decode_or_raise(raw: bytes) -> None:
    try:
        clcw = Clcw.decode(raw)
    except DecodeError:
        return
    assert Clcw.decode(clcw.encode()) == clcw
