"""CRC-16-CCITT (FECF, CFDP PDU CRC) and CRC-32C against their C peers."""

from __future__ import annotations

import binascii
import os

import crcmod.predefined

from comms.crc import crc16_ccitt, crc32c
from tools.bench import Case


def cases() -> list[Case]:
    frame = os.urandom(1113)  # a 1115-octet TM frame less its FECF
    small = os.urandom(64)  # a short TC frame or PDU: below the sliced engine's break-even
    crcmod16 = crcmod.predefined.mkCrcFun("crc-ccitt-false")
    crcmod32c = crcmod.predefined.mkCrcFun("crc-32c")
    return [
        Case(
            "crc16 1113 B",
            "binascii.crc_hqx",
            lambda: binascii.crc_hqx(frame, 0xFFFF),
            nbytes=len(frame),
        ),
        Case(
            "crc16 1113 B",
            "crcmod",
            lambda: crcmod16(frame),
            nbytes=len(frame),
            peer="binascii.crc_hqx",
        ),
        Case(
            "crc16 1113 B",
            "dawnlink",
            lambda: crc16_ccitt(frame),
            nbytes=len(frame),
            peer="binascii.crc_hqx",
        ),
        Case(
            "crc16 64 B",
            "binascii.crc_hqx",
            lambda: binascii.crc_hqx(small, 0xFFFF),
            nbytes=len(small),
        ),
        Case(
            "crc16 64 B",
            "dawnlink",
            lambda: crc16_ccitt(small),
            nbytes=len(small),
            peer="binascii.crc_hqx",
        ),
        Case("crc32c 1113 B", "crcmod", lambda: crcmod32c(frame), nbytes=len(frame)),
        Case("crc32c 1113 B", "dawnlink", lambda: crc32c(frame), nbytes=len(frame), peer="crcmod"),
    ]
