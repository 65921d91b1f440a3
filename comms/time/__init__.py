"""CCSDS time codes (CCSDS 301.0-B-4 Time Code Formats) and UTC/TAI conversion.

- :class:`CucTime`: the Unsegmented Time Code (3.2), TAI seconds and binary fractions.
- :class:`CdsTime`: the Day Segmented Time Code (3.3), UTC days, ms of day, us or ps.
- :class:`LeapSecondTable`: TAI-UTC since 1972, updatable from IERS files.
- :class:`Epoch` and the epoch constants; :func:`decode_time_code` dispatches on the
  P-field.

Time scales: CUC counts TAI seconds (no leap second jumps); CDS counts UTC days whose
milliseconds reach 86 400 999 during a leap second. Conversions take and return
timezone-aware UTC ``datetime`` plus a leap second flag for 23:59:60.

Left out: the Calendar Segmented (CCS, 3.4) and ASCII (3.5) codes and the level 3/4
agency-defined codes (3.6).
"""

from __future__ import annotations

from datetime import date

from comms.buffers import BytesLike
from comms.errors import DecodeError
from comms.time.cds import CDS_ID, MAX_MS_OF_DAY, CdsTime
from comms.time.cuc import CUC_AGENCY_EPOCH_ID, CUC_TAI_EPOCH_ID, CucTime
from comms.time.epochs import CCSDS_EPOCH_DATE, GPS_EPOCH, J2000_EPOCH, TAI_EPOCH, Epoch
from comms.time.leapseconds import DEFAULT_TABLE, LeapSecondTable, ccsds_day_number

__all__ = [
    "CCSDS_EPOCH_DATE",
    "CDS_ID",
    "CUC_AGENCY_EPOCH_ID",
    "CUC_TAI_EPOCH_ID",
    "DEFAULT_TABLE",
    "GPS_EPOCH",
    "J2000_EPOCH",
    "MAX_MS_OF_DAY",
    "TAI_EPOCH",
    "CdsTime",
    "CucTime",
    "Epoch",
    "LeapSecondTable",
    "ccsds_day_number",
    "decode_time_code",
]


def decode_time_code(
    buf: BytesLike,
    *,
    cuc_epoch: Epoch | None = None,
    cds_epoch: date | None = None,
) -> CucTime | CdsTime:
    """Decode one self-describing time code (P-field first), CUC or CDS by its time code id.

    The agency-defined epochs are needed only if the P-field names one.
    """
    if not buf:
        raise DecodeError("empty time code", offset=0, expected="a P-field octet")
    code = (buf[0] >> 4) & 0b111
    if code in (CUC_TAI_EPOCH_ID, CUC_AGENCY_EPOCH_ID):
        return CucTime.decode(buf, epoch=cuc_epoch)
    if code == CDS_ID:
        return CdsTime.decode(buf, epoch=cds_epoch)
    raise DecodeError(
        "time code id not supported (CUC '001'/'010' or CDS '100')",
        offset=0,
        expected="001, 010 or 100",
        got=f"{code:03b}",
    )
