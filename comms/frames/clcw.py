"""The Communications Link Control Word (232.0-B-4 4.2.1, reported by COP-1 232.1-B-2).

The CLCW is the FARM's report, carried in the OCF of TM, AOS or USLP frames::

    bit  0      control word type (0: CLCW)
         1-2    CLCW version number (00)
         3-5    status field (mission-defined)
         6-7    COP in effect (01: COP-1)
         8-13   VCID
         14-15  spare
         16     no RF available
         17     no bit lock
         18     lockout
         19     wait
         20     retransmit
         21-22  FARM-B counter (2 low bits)
         23     spare
         24-31  report value: N(R), the next expected frame sequence number

A 4-octet OCF with control word type 1 is a project-defined report, not a CLCW, so
``decode`` rejects it (as it does a version other than 00). Spare bits are written as
zeros and ignored on receive.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.errors import DecodeError
from comms.frames._value import as_bytes, check_flag, check_int

__all__ = ["COP_1", "Clcw"]

#: COP in effect: COP-1 (232.1-B-2).
COP_1: Final = 0b01

_WORD = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Clcw:
    """One CLCW; ``report_value`` is the FARM's N(R)."""

    vcid: int
    report_value: int
    cop_in_effect: int = COP_1
    status_field: int = 0
    no_rf_available: bool = False
    no_bit_lock: bool = False
    lockout: bool = False
    wait: bool = False
    retransmit: bool = False
    farm_b_counter: int = 0

    def __post_init__(self) -> None:
        check_int("Clcw", "vcid", self.vcid, 6)
        check_int("Clcw", "report_value", self.report_value, 8)
        check_int("Clcw", "cop_in_effect", self.cop_in_effect, 2)
        check_int("Clcw", "status_field", self.status_field, 3)
        check_int("Clcw", "farm_b_counter", self.farm_b_counter, 2)
        for name in ("no_rf_available", "no_bit_lock", "lockout", "wait", "retransmit"):
            check_flag("Clcw", name, getattr(self, name))

    def encode(self) -> bytes:
        """The 4 octets, ready to be a frame's OCF."""
        word = (
            (self.status_field << 26)
            | (self.cop_in_effect << 24)
            | (self.vcid << 18)
            | (self.no_rf_available << 15)
            | (self.no_bit_lock << 14)
            | (self.lockout << 13)
            | (self.wait << 12)
            | (self.retransmit << 11)
            | (self.farm_b_counter << 9)
            | self.report_value
        )
        return _WORD.pack(word)

    @classmethod
    def decode(cls, buf: BytesLike) -> Clcw:
        """Decode exactly 4 octets (an OCF)."""
        buf = as_bytes(buf)
        if len(buf) != 4:
            raise DecodeError("a CLCW is 4 octets", offset=0, expected=4, got=len(buf))
        (word,) = _WORD.unpack(buf)
        if word >> 31:
            raise DecodeError(
                "OCF is not a CLCW (control word type 1)", offset=0, expected=0, got=1
            )
        version = (word >> 29) & 0x3
        if version:
            raise DecodeError("bad CLCW version number", offset=0, expected=0, got=version)
        return cls(
            vcid=(word >> 18) & 0x3F,
            report_value=word & 0xFF,
            cop_in_effect=(word >> 24) & 0x3,
            status_field=(word >> 26) & 0x7,
            no_rf_available=bool(word & 0x8000),
            no_bit_lock=bool(word & 0x4000),
            lockout=bool(word & 0x2000),
            wait=bool(word & 0x1000),
            retransmit=bool(word & 0x0800),
            farm_b_counter=(word >> 9) & 0x3,
        )
