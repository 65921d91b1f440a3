"""Where the security header and trailer go in each kind of transfer frame.

355.0-B-2 places the security header right after the last header the frame has, and
the security trailer right before the OCF (or, without one, the FECF):

- TM (132.0-B-3 with SDLS, 355.0-B-2 4.1.1.1): after the primary header and the
  secondary header if present; trailer before the OCF and FECF.
- AOS (732.0-B-4): after the primary header, the FHEC and the insert zone.
- TC (232.0-B-4): after the primary header and the segment header if the VC has one
  (control command frames carry none, as in :mod:`comms.frames.tc`); no OCF.
- USLP (732.1-B-2 section 6): after the primary header and the insert zone, so the
  whole TFDF (its header included) is the protected data; trailer before the OCF.

Each :class:`FrameLayout` also fixes what security changes in a frame: the TC and USLP
frame length fields (the frame grows by the header and trailer) and the FECF (CRC-16,
or the 32-bit USLP CRC), recomputed over the finished frame. Layouts read only the
octets they need and raise :class:`DecodeError` on frames too short for them.
"""

from __future__ import annotations

import dataclasses
from typing import Any, overload

from comms.buffers import BytesLike
from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import AosParams, TcParams, TmParams, UslpParams, crc32_uslp
from comms.sdls.association import TFVN_AOS, TFVN_TM_TC, TFVN_USLP, Gvcid

__all__ = ["FrameLayout", "FrameParams", "layout_for", "plain_params"]

FrameParams = TmParams | AosParams | TcParams | UslpParams


def _short(what: str, needed: int, got: int) -> DecodeError:
    return DecodeError(
        f"frame too short for {what}",
        offset=min(got, needed),
        expected=f">= {needed} octets",
        got=got,
    )


class FrameLayout:
    """Offsets and fix-ups of one channel's frames (built once per channel)."""

    fecf_length: int = 2
    #: Transfer frame version number of the channel's frames.
    tfvn: int = TFVN_TM_TC
    #: (security header offset, OCF length, frame length) when every frame of the
    #: channel has the same layout (TM with a managed OCF choice, AOS): the engine then
    #: skips the per-frame offset calls. None where frames differ (TC, USLP).
    static: tuple[int, int, int] | None = None

    def route_pattern(self, gvcid: Gvcid) -> tuple[int, int] | None:
        """(mask, value) over the first two octets selecting ``gvcid``'s frames, or None.

        Only for static layouts; (0, 1) when no frame of this channel can match.
        """
        return None

    def header_end(self, buf: BytesLike) -> int:
        """Offset of the security header: the octet after the frame's own headers."""
        raise NotImplementedError

    def ocf_length(self, buf: BytesLike) -> int:
        """Octets of OCF at the end of the frame, before the FECF."""
        return 0

    def routing(self, buf: BytesLike) -> tuple[int, int, int, int | None]:
        """(transfer frame version, SCID, VCID, MAP id or None) of the frame."""
        raise NotImplementedError

    def length_field(self, buf: BytesLike) -> int | None:
        """The frame length its header declares (TC, USLP), None where it has none."""
        return None

    def managed_length(self, buf: BytesLike) -> int | None:
        """The length every protected frame has on a fixed-length channel, else None."""
        return None

    def with_length(self, header: bytes, total: int) -> bytes:
        """``header`` with the frame length field set for a frame of ``total`` octets."""
        return header

    def fecf(self, body: bytes) -> bytes:
        """The FECF octets for ``body`` (everything before the FECF)."""
        if self.fecf_length == 2:
            return crc16_ccitt(body).to_bytes(2, "big")
        return b""

    def fecf_ok(self, buf: BytesLike) -> bool:
        """Whether the frame's FECF matches (True without an FECF)."""
        if self.fecf_length == 2:
            # Over a frame and its correct FECF the CRC is zero: one C call.
            return crc16_ccitt(buf) == 0
        return True


class TmLayout(FrameLayout):
    def __init__(self, params: TmParams) -> None:
        self.params = params
        self.start = 6 + (
            0 if params.secondary_header_length is None else 1 + params.secondary_header_length
        )
        self.fecf_length = 2 * params.has_fecf
        self._ocf = params.has_ocf
        if params.has_ocf is not None:
            ocf = 4 * params.has_ocf
            if params.frame_length >= self.start + 2 + ocf + self.fecf_length:
                self.static = (self.start, ocf, params.frame_length)

    def route_pattern(self, gvcid: Gvcid) -> tuple[int, int] | None:
        # Version 00, SCID 10 bits, VCID 3 bits: the first 15 bits (132.0-B-3 4.1.2).
        if (
            gvcid.tfvn != TFVN_TM_TC
            or gvcid.scid > 0x3FF
            or gvcid.vcid > 7
            or gvcid.map_id is not None
        ):
            return (0, 1)
        return (0xFFFE, (gvcid.scid << 4) | (gvcid.vcid << 1))

    def header_end(self, buf: BytesLike) -> int:
        if len(buf) < self.start + 2:
            raise _short("TM headers and an SPI", self.start + 2, len(buf))
        if buf[0] >> 6 != TFVN_TM_TC:
            raise DecodeError(
                "bad TM transfer frame version number", offset=0, expected=0, got=buf[0] >> 6
            )
        return self.start

    def ocf_length(self, buf: BytesLike) -> int:
        if self._ocf is None:
            return 4 * (buf[1] & 1)
        return 4 * self._ocf

    def routing(self, buf: BytesLike) -> tuple[int, int, int, int | None]:
        w0 = (buf[0] << 8) | buf[1]
        return w0 >> 14, (w0 >> 4) & 0x3FF, (w0 >> 1) & 0x7, None

    def managed_length(self, buf: BytesLike) -> int | None:
        return self.params.frame_length


class AosLayout(FrameLayout):
    def __init__(self, params: AosParams) -> None:
        self.params = params
        self.start = 6 + 2 * params.has_fhec + params.insert_zone_length
        self.fecf_length = 2 * params.has_fecf
        self._ocf = 4 * params.has_ocf
        self.tfvn = TFVN_AOS
        if params.frame_length >= self.start + 2 + self._ocf + self.fecf_length:
            self.static = (self.start, self._ocf, params.frame_length)

    def route_pattern(self, gvcid: Gvcid) -> tuple[int, int] | None:
        # Version 01, SCID 8 bits, VCID 6 bits: the first 16 bits (732.0-B-4 4.1.2).
        if gvcid.tfvn != TFVN_AOS or gvcid.scid > 0xFF:
            return (0, 1)
        return (0xFFFF, (TFVN_AOS << 14) | (gvcid.scid << 6) | gvcid.vcid)

    def header_end(self, buf: BytesLike) -> int:
        if len(buf) < self.start + 2:
            raise _short("AOS headers and an SPI", self.start + 2, len(buf))
        if buf[0] >> 6 != TFVN_AOS:
            raise DecodeError(
                "bad AOS transfer frame version number", offset=0, expected=1, got=buf[0] >> 6
            )
        return self.start

    def ocf_length(self, buf: BytesLike) -> int:
        return self._ocf

    def routing(self, buf: BytesLike) -> tuple[int, int, int, int | None]:
        w0 = (buf[0] << 8) | buf[1]
        return w0 >> 14, (w0 >> 6) & 0xFF, w0 & 0x3F, None

    def managed_length(self, buf: BytesLike) -> int | None:
        return self.params.frame_length


class TcLayout(FrameLayout):
    def __init__(self, params: TcParams) -> None:
        self.params = params
        self.fecf_length = 2 * params.has_fecf
        self._segment = params.has_segment_header

    def _has_segment_header(self, buf: BytesLike) -> bool:
        return self._segment and not buf[0] & 0x10

    def header_end(self, buf: BytesLike) -> int:
        if len(buf) < 5:
            raise _short("a TC primary header", 5, len(buf))
        if buf[0] >> 6 != TFVN_TM_TC:
            raise DecodeError(
                "bad TC transfer frame version number", offset=0, expected=0, got=buf[0] >> 6
            )
        start = 6 if self._has_segment_header(buf) else 5
        if len(buf) < start + 2:
            raise _short("TC headers and an SPI", start + 2, len(buf))
        return start

    def routing(self, buf: BytesLike) -> tuple[int, int, int, int | None]:
        map_id = buf[5] & 0x3F if self._has_segment_header(buf) else None
        return buf[0] >> 6, ((buf[0] << 8) | buf[1]) & 0x3FF, buf[2] >> 2, map_id

    def length_field(self, buf: BytesLike) -> int | None:
        return (((buf[2] << 8) | buf[3]) & 0x3FF) + 1

    def with_length(self, header: bytes, total: int) -> bytes:
        if total > 1024:
            raise UsageError(
                f"With its security header and trailer this TC frame would be {total} "
                "octets, over the 1024 of 232.0-B-4 4.1.2.7; shorten the data field."
            )
        w1 = (header[2] & 0xFC) << 8 | (total - 1)
        return header[:2] + w1.to_bytes(2, "big") + header[4:]


class UslpLayout(FrameLayout):
    def __init__(self, params: UslpParams) -> None:
        self.params = params
        self.fecf_length = params.fecf_length
        self._iz = params.insert_zone_length
        self.tfvn = TFVN_USLP

    def header_end(self, buf: BytesLike) -> int:
        n = len(buf)
        if n < 4:
            raise _short("a USLP primary header", 4, n)
        if buf[0] >> 4 != TFVN_USLP:
            raise DecodeError(
                "bad USLP transfer frame version number", offset=0, expected=12, got=buf[0] >> 4
            )
        if buf[3] & 1:
            if self.params.truncated_frame_length is None:
                raise DecodeError(
                    "truncated USLP frame on a channel without truncated frames",
                    offset=3,
                    expected=0,
                    got=1,
                )
            start = 4 + self._iz
        else:
            if n < 7:
                raise _short("a USLP primary header", 7, n)
            start = 7 + (buf[6] & 7) + self._iz
        if n < start + 2:
            raise _short("USLP headers and an SPI", start + 2, n)
        return start

    def ocf_length(self, buf: BytesLike) -> int:
        return 0 if buf[3] & 1 else 4 * ((buf[6] >> 3) & 1)

    def routing(self, buf: BytesLike) -> tuple[int, int, int, int | None]:
        w0 = int.from_bytes(buf[:4], "big")
        return w0 >> 28, (w0 >> 12) & 0xFFFF, (w0 >> 5) & 0x3F, (w0 >> 1) & 0xF

    def length_field(self, buf: BytesLike) -> int | None:
        return None if buf[3] & 1 else ((buf[4] << 8) | buf[5]) + 1

    def managed_length(self, buf: BytesLike) -> int | None:
        if buf[3] & 1:
            return self.params.truncated_frame_length
        return self.params.frame_length

    def with_length(self, header: bytes, total: int) -> bytes:
        if header[3] & 1:
            return header
        if total > 65536:
            raise UsageError(
                f"With its security header and trailer this USLP frame would be {total} "
                "octets, over the 65536 of its length field; shorten the data zone."
            )
        return header[:4] + (total - 1).to_bytes(2, "big") + header[6:]

    def fecf(self, body: bytes) -> bytes:
        if self.fecf_length == 4:
            return crc32_uslp(body).to_bytes(4, "big")
        return super().fecf(body)

    def fecf_ok(self, buf: BytesLike) -> bool:
        if self.fecf_length == 4:
            return crc32_uslp(buf[:-4]) == int.from_bytes(buf[-4:], "big")
        return super().fecf_ok(buf)


def layout_for(params: FrameParams) -> FrameLayout:
    """The layout of frames on a channel with these managed parameters."""
    if isinstance(params, TmParams):
        return TmLayout(params)
    if isinstance(params, AosParams):
        return AosLayout(params)
    if isinstance(params, TcParams):
        return TcLayout(params)
    if isinstance(params, UslpParams):
        return UslpLayout(params)
    raise UsageError(
        "Pass the channel's TmParams, AosParams, TcParams or UslpParams, "
        f"not {type(params).__name__}."
    )


@overload
def plain_params(params: TmParams, overhead: int) -> TmParams: ...
@overload
def plain_params(params: AosParams, overhead: int) -> AosParams: ...
@overload
def plain_params(params: TcParams, overhead: int) -> TcParams: ...
@overload
def plain_params(params: UslpParams, overhead: int) -> UslpParams: ...
@overload
def plain_params(params: FrameParams, overhead: int) -> FrameParams: ...
def plain_params(params: FrameParams, overhead: int) -> FrameParams:
    """The managed parameters of the frames with security removed.

    Protected frames on a fixed-length channel are ``params.frame_length`` long; the
    plain frames :meth:`~comms.sdls.engine.SecurityEngine.process` returns (and
    :meth:`~comms.sdls.engine.SecurityEngine.apply` takes) are ``overhead`` octets
    shorter, so decode them with these parameters.
    """
    replace: Any = dataclasses.replace  # one call for four unrelated dataclasses
    if isinstance(params, TmParams | AosParams):
        result: FrameParams = replace(params, frame_length=params.frame_length - overhead)
        return result
    if isinstance(params, UslpParams):
        changes: dict[str, int] = {}
        if params.frame_length is not None:
            changes["frame_length"] = params.frame_length - overhead
        if params.truncated_frame_length is not None:
            changes["truncated_frame_length"] = params.truncated_frame_length - overhead
        result = replace(params, **changes)
        return result
    return params
