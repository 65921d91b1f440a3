"""The SDLS security header and trailer (CCSDS 355.0-B-2 section 4.1).

::

    security header   SPI 16 | IV (iv_length) | sequence number (0..8 octets)
                      | pad length (0..2 octets)
    frame data field  clear or encrypted
    security trailer  MAC (mac_length octets)

Only the SPI is self-describing; the lengths of the other fields are managed
parameters of the SA the SPI names (4.1.1.1), so :meth:`SecurityHeader.decode` takes
the :class:`SecurityAssociation`. The header is placed right after the frame's headers
(TM: after the secondary header; AOS: after the insert zone; TC: after the segment
header; USLP: after the insert zone) and the trailer right before the OCF or, without
one, the FECF (4.1.1.1, 4.1.2.1); :mod:`comms.sdls.layout` knows those places.
"""

from __future__ import annotations

from dataclasses import dataclass

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError
from comms.sdls.association import SecurityAssociation

__all__ = ["SecurityHeader", "peek_spi"]


def peek_spi(buf: BytesLike, offset: int = 0) -> int:
    """The SPI of a security header starting at ``offset`` (to find its SA first)."""
    if len(buf) < offset + 2:
        raise DecodeError(
            "buffer too short for the security parameter index",
            offset=offset,
            expected=f">= {offset + 2} octets",
            got=len(buf),
        )
    return (buf[offset] << 8) | buf[offset + 1]


@dataclass(frozen=True)
class SecurityHeader:
    """One security header: SPI, IV, anti-replay sequence number and pad length.

    ``iv`` is the IV field as sent (``iv_length`` octets); ``sequence_number`` the
    anti-replay sequence number, None when the SA has no such field; ``pad_length``
    the count of fill octets, None when the SA has no pad length field.
    """

    spi: int
    iv: bytes
    sequence_number: int | None = None
    pad_length: int | None = None

    def __post_init__(self) -> None:
        spi = self.spi
        if isinstance(spi, bool) or not isinstance(spi, int) or not 0 <= spi <= 0xFFFF:
            raise UsageError(f"SecurityHeader.spi must be an int in 0..65535, got {spi!r}.")
        if not isinstance(self.iv, bytes):
            raise UsageError(f"SecurityHeader.iv must be bytes, not {type(self.iv).__name__}.")
        for name in ("sequence_number", "pad_length"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise UsageError(
                    f"SecurityHeader.{name} must be a non-negative int or None, got {value!r}."
                )

    def encode(self, sa: SecurityAssociation) -> bytes:
        """The header on the wire, field lengths from ``sa``."""
        if self.spi != sa.spi:
            raise UsageError(f"This header carries SPI {self.spi}, the SA has SPI {sa.spi}.")
        if len(self.iv) != sa.iv_length:
            raise UsageError(
                f"SecurityHeader.iv must be {sa.iv_length} octets for SA {sa.spi}, "
                f"got {len(self.iv)}."
            )
        parts = [self.spi.to_bytes(2, "big"), self.iv]
        for name, value, length in (
            ("sequence_number", self.sequence_number, sa.sequence_number_length),
            ("pad_length", self.pad_length, sa.pad_length_length),
        ):
            if (value is None) != (length == 0):
                raise UsageError(
                    f"SA {sa.spi} has a {length}-octet {name} field; pass "
                    f"{'None' if length == 0 else 'an int'} as {name}."
                )
            if value is not None:
                if value >= 1 << (8 * length):
                    raise UsageError(
                        f"SecurityHeader.{name} {value} does not fit in {length} octets."
                    )
                parts.append(value.to_bytes(length, "big"))
        return b"".join(parts)

    @classmethod
    def decode(cls, buf: BytesLike, sa: SecurityAssociation, offset: int = 0) -> SecurityHeader:
        """Decode the header starting at ``offset`` of ``buf`` with ``sa``'s field lengths.

        Raises :class:`DecodeError` when the buffer is too short or the SPI is not
        ``sa``'s.
        """
        end = offset + sa.header_length
        if len(buf) < end:
            raise DecodeError(
                "buffer too short for the security header",
                offset=offset,
                expected=f">= {end} octets",
                got=len(buf),
            )
        spi = (buf[offset] << 8) | buf[offset + 1]
        if spi != sa.spi:
            raise DecodeError(
                "security header SPI differs from the SA's", offset=offset, expected=sa.spi, got=spi
            )
        pos = offset + 2
        iv = bytes(buf[pos : pos + sa.iv_length])
        pos += sa.iv_length
        sequence_number = pad_length = None
        if sa.sequence_number_length:
            sequence_number = int.from_bytes(buf[pos : pos + sa.sequence_number_length], "big")
            pos += sa.sequence_number_length
        if sa.pad_length_length:
            pad_length = int.from_bytes(buf[pos : pos + sa.pad_length_length], "big")
        return cls(spi, iv, sequence_number, pad_length)
