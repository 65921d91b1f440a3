"""CRCs used across the CCSDS books, at C speed and usable incrementally.

- :func:`crc16_ccitt`: CRC-16-CCITT (poly 0x1021, init 0xFFFF, no reflection, no final
  xor): the TM/TC/AOS/USLP FECF (132.0-B-3 4.1.6) and the CFDP PDU CRC (727.0-B-5 4.1.3).
  The standard library's ``binascii.crc_hqx`` computes exactly this in C; a benchmark
  (``python -m tools.bench crc``) shows it on par with crcmod, so no extra dependency.
- :func:`crc32`: CRC-32 (ISO-HDLC), CFDP checksum type 3; ``zlib.crc32`` in C.
- :func:`crc32c`: CRC-32C (Castagnoli), CFDP checksum type 2; crcmod's C extension.

Incremental use: pass the previous result as ``crc`` to continue over the next chunk.
"""

from __future__ import annotations

import binascii
import zlib

import crcmod.predefined

from comms.buffers import BytesLike

__all__ = ["crc16_ccitt", "crc32", "crc32c"]

_crc32c = crcmod.predefined.mkCrcFun("crc-32c")


def crc16_ccitt(data: BytesLike, crc: int = 0xFFFF) -> int:
    """CRC-16-CCITT of ``data`` continuing from ``crc`` (0xFFFF to start)."""
    return binascii.crc_hqx(data, crc)


def crc32(data: BytesLike, crc: int = 0) -> int:
    """CRC-32 (ISO-HDLC) of ``data`` continuing from ``crc`` (0 to start)."""
    return zlib.crc32(data, crc)


def crc32c(data: BytesLike, crc: int = 0) -> int:
    """CRC-32C (Castagnoli) of ``data`` continuing from ``crc`` (0 to start)."""
    result: int = _crc32c(data, crc)
    return result
