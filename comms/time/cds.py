"""CCSDS Day Segmented Time Code, CDS (CCSDS 301.0-B-4 3.3).

T-field, big-endian: day count from the epoch (16 or 24 bits), milliseconds of the day
(32 bits), then optionally the submillisecond segment: microseconds of the millisecond
(16 bits, 0..999) or picoseconds of the millisecond (32 bits, 0..999 999 999).

P-field (3.3.2), one octet: extension flag (0; CDS defines no second octet), time code id
'100', epoch (0: 1958-01-01, 1: agency-defined), day segment length (0: 16, 1: 24 bits),
submillisecond length (00 none, 01 16 bits, 10 32 bits; 11 is reserved and rejected).

Time scale, as decided here: CDS counts UTC days. Every day is 86 400 000 ms long except
one that ends with a leap second, on which ``ms_of_day`` runs up to 86 400 999
(2016-12-31T23:59:60.5 is day 21 549, ms 86 400 500). The codec accepts ``ms_of_day`` up
to 86 400 999 on any day; conversion to UTC checks it against a
:class:`~comms.time.LeapSecondTable`. Days before 1972, where the table has no say,
are 86 400 s long.

Round-trip bounds: ``from_datetime`` rounds to the nearest unit of the finest segment
(1 ms, 1 us or 1 ps; ties to even), so |to_datetime(from_datetime(t)) - t| <= 0.5 ms with
no submillisecond segment and 0 with microseconds or picoseconds.

Left out: CDS P-field extensions (none are defined) and negative days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction

from comms.buffers import BytesLike
from comms.errors import DecodeError, UsageError
from comms.time.epochs import CCSDS_EPOCH_DATE, div_round, utc_from_micro, utc_micro
from comms.time.leapseconds import DEFAULT_TABLE, LeapSecondTable, ccsds_day_number

__all__ = ["CDS_ID", "MAX_MS_OF_DAY", "CdsTime"]

CDS_ID = 0b100
"""P-field time code id of CDS."""
MAX_MS_OF_DAY = 86_400_999
"""The last millisecond of a day that ends with a leap second (3.3.1)."""

_SUBMILLI_CODE = {0: 0b00, 2: 0b01, 4: 0b10}
_SUBMILLI_OCTETS = {0b00: 0, 0b01: 2, 0b10: 4}
_SUBMILLI_MAX = {0: 0, 2: 999, 4: 999_999_999}
_SUBMILLI_UNITS_PER_MS = {0: 1, 2: 1000, 4: 1_000_000_000}


@dataclass(frozen=True, slots=True)
class CdsTime:
    """A CDS time: ``days`` after ``epoch``, ``ms_of_day`` and ``submilli``.

    ``submilli`` is microseconds of the millisecond with ``submilli_octets`` 2, picoseconds
    with 4, and must be 0 with 0. ``epoch`` is the first day counted (the level 1 epoch
    1958-01-01 by default; any other date is written as an agency-defined epoch).
    """

    days: int
    ms_of_day: int
    submilli: int = 0
    day_octets: int = 2
    submilli_octets: int = 0
    epoch: date = CCSDS_EPOCH_DATE
    with_pfield: bool = True

    def __post_init__(self) -> None:
        if self.day_octets not in (2, 3):
            raise UsageError(f"day_octets must be 2 or 3 (16 or 24 bits), not {self.day_octets}.")
        if self.submilli_octets not in _SUBMILLI_CODE:
            raise UsageError(
                f"submilli_octets must be 0, 2 (microseconds) or 4 (picoseconds), "
                f"not {self.submilli_octets}."
            )
        if not 0 <= self.days < 1 << (8 * self.day_octets):
            raise UsageError(
                f"days {self.days} does not fit {self.day_octets} octets; use day_octets=3 "
                "or a later epoch."
            )
        if not 0 <= self.ms_of_day <= MAX_MS_OF_DAY:
            raise UsageError(
                f"ms_of_day must be 0..{MAX_MS_OF_DAY} (the top second only in a leap "
                f"second), not {self.ms_of_day}."
            )
        limit = _SUBMILLI_MAX[self.submilli_octets]
        if not 0 <= self.submilli <= limit:
            raise UsageError(
                f"submilli must be 0..{limit} with submilli_octets={self.submilli_octets}, "
                f"not {self.submilli}."
            )
        if isinstance(self.epoch, datetime) or not isinstance(self.epoch, date):
            raise UsageError(f"a CDS epoch is a date (a UTC day), not {type(self.epoch).__name__}.")

    # -- wire --------------------------------------------------------------------------

    @property
    def pfield(self) -> bytes:
        return bytes(
            (
                (CDS_ID << 4)
                | ((self.epoch != CCSDS_EPOCH_DATE) << 3)
                | ((self.day_octets == 3) << 2)
                | _SUBMILLI_CODE[self.submilli_octets],
            )
        )

    @property
    def encoded_length(self) -> int:
        return int(self.with_pfield) + self.day_octets + 4 + self.submilli_octets

    def encode(self) -> bytes:
        tfield = (
            self.days.to_bytes(self.day_octets, "big")
            + self.ms_of_day.to_bytes(4, "big")
            + self.submilli.to_bytes(self.submilli_octets, "big")
        )
        return self.pfield + tfield if self.with_pfield else tfield

    @classmethod
    def decode(
        cls,
        buf: BytesLike,
        *,
        day_octets: int | None = None,
        submilli_octets: int = 0,
        epoch: date | None = None,
    ) -> CdsTime:
        """Decode exactly one CDS time code.

        With ``day_octets`` None the buffer starts with a P-field that gives the layout;
        otherwise there is none and ``day_octets``/``submilli_octets`` give it. ``epoch``
        is the agency-defined epoch, needed when the P-field says so (else
        :class:`DecodeError`) and used when there is no P-field (default 1958-01-01).
        """
        value, end = cls.decode_from(
            buf, day_octets=day_octets, submilli_octets=submilli_octets, epoch=epoch
        )
        if end != len(buf):
            raise DecodeError(
                "octets after the end of the CDS time code",
                offset=end,
                expected=f"{end} octets",
                got=f"{len(buf)} octets",
            )
        return value

    @classmethod
    def decode_from(
        cls,
        buf: BytesLike,
        offset: int = 0,
        *,
        day_octets: int | None = None,
        submilli_octets: int = 0,
        epoch: date | None = None,
    ) -> tuple[CdsTime, int]:
        """Decode the time code at ``offset``; return it and the offset just past it."""
        pos = offset
        with_pfield = day_octets is None
        if day_octets is None:
            if pos >= len(buf):
                raise DecodeError("truncated CDS P-field", offset=pos, expected="a P-field octet")
            p = buf[pos]
            if (p >> 4) & 0b111 != CDS_ID or p & 0x80:
                raise DecodeError(
                    "not a CDS P-field (extension flag and time code id)",
                    offset=pos,
                    expected=f"0{CDS_ID:03b}",
                    got=f"{p >> 4:04b}",
                )
            if p & 0b1000:
                if epoch is None:
                    raise DecodeError(
                        "CDS with an agency-defined epoch but no epoch was given to the decoder",
                        offset=pos,
                        expected="epoch bit 0 or an epoch argument",
                        got=1,
                    )
            else:
                epoch = CCSDS_EPOCH_DATE
            day_octets = 3 if p & 0b100 else 2
            code = p & 0b11
            if code not in _SUBMILLI_OCTETS:
                raise DecodeError(
                    "reserved CDS submillisecond length '11'",
                    offset=pos,
                    expected="00, 01 or 10",
                    got="11",
                )
            submilli_octets = _SUBMILLI_OCTETS[code]
            pos += 1
        else:
            if day_octets not in (2, 3) or submilli_octets not in _SUBMILLI_CODE:
                raise UsageError(
                    f"a CDS layout is 2 or 3 day octets and 0, 2 or 4 submillisecond octets, "
                    f"not {day_octets} and {submilli_octets}."
                )
            epoch = CCSDS_EPOCH_DATE if epoch is None else epoch
        end = pos + day_octets + 4 + submilli_octets
        if end > len(buf):
            raise DecodeError(
                "truncated CDS T-field",
                offset=len(buf),
                expected=f"{end - offset} octets",
                got=f"{len(buf) - offset} octets",
            )
        # One conversion for the whole T-field, then shifts: cheaper than three slices.
        count = int.from_bytes(buf[pos:end], "big")
        sub_bits = 8 * submilli_octets
        submilli = count & ((1 << sub_bits) - 1)
        ms_of_day = (count >> sub_bits) & 0xFFFF_FFFF
        days = count >> (sub_bits + 32)
        if ms_of_day > MAX_MS_OF_DAY:
            raise DecodeError(
                "CDS milliseconds of day out of range",
                offset=pos + day_octets,
                expected=f"<= {MAX_MS_OF_DAY}",
                got=ms_of_day,
            )
        if submilli > _SUBMILLI_MAX[submilli_octets]:
            raise DecodeError(
                "CDS submillisecond segment out of range",
                offset=end - submilli_octets,
                expected=f"<= {_SUBMILLI_MAX[submilli_octets]}",
                got=submilli,
            )
        return cls(days, ms_of_day, submilli, day_octets, submilli_octets, epoch, with_pfield), end

    # -- conversions ------------------------------------------------------------------

    @property
    def resolution(self) -> Fraction:
        """One unit of the finest segment, in seconds."""
        return Fraction(1, 1000 * _SUBMILLI_UNITS_PER_MS[self.submilli_octets])

    @property
    def day_number(self) -> int:
        """Days after 1958-01-01 (the CCSDS day count, whatever the epoch)."""
        return ccsds_day_number(self.epoch) + self.days

    @property
    def second_of_day(self) -> Fraction:
        """Seconds into the UTC day, exactly (86 400 or more inside a leap second)."""
        per_ms = _SUBMILLI_UNITS_PER_MS[self.submilli_octets]
        return Fraction(self.ms_of_day * per_ms + self.submilli, 1000 * per_ms)

    @classmethod
    def from_datetime(
        cls,
        dt: datetime,
        *,
        leap_second: bool = False,
        day_octets: int = 2,
        submilli_octets: int = 0,
        epoch: date = CCSDS_EPOCH_DATE,
        with_pfield: bool = True,
        table: LeapSecondTable = DEFAULT_TABLE,
    ) -> CdsTime:
        """The CDS time of a UTC instant, rounded to the nearest unit of the finest segment.

        ``leap_second`` marks 23:59:60 (pass 23:59:59.x); ``table`` must have a leap second
        at the end of that day.
        """
        day, micro = utc_micro(dt, leap_second)
        length = table.day_length(day)
        if micro >= length * 1_000_000:
            raise UsageError(
                f"{dt.date()} has no leap second in this table; it is {length} s long."
            )
        per_ms = _SUBMILLI_UNITS_PER_MS[submilli_octets]
        units = div_round(micro * per_ms, 1000)
        if units >= length * 1000 * per_ms:  # rounded up into the next day
            units -= length * 1000 * per_ms
            day += 1
        days = day - ccsds_day_number(epoch)
        if days < 0:
            raise UsageError(f"{dt} is before the CDS epoch {epoch}; CDS days are unsigned.")
        ms_of_day, submilli = divmod(units, per_ms)
        return cls(days, ms_of_day, submilli, day_octets, submilli_octets, epoch, with_pfield)

    def to_utc(self, table: LeapSecondTable = DEFAULT_TABLE) -> tuple[datetime, bool]:
        """(UTC datetime, in leap second): 23:59:60.x comes back as (23:59:59.x, True)."""
        day = self.day_number
        length = table.day_length(day)
        if self.ms_of_day >= length * 1000:
            raise UsageError(
                f"ms_of_day {self.ms_of_day} lies in a leap second, but this table has none at "
                f"the end of day {day} after 1958-01-01; update the table or check the source."
            )
        per_ms = _SUBMILLI_UNITS_PER_MS[self.submilli_octets]
        micro = self.ms_of_day * 1000 + div_round(self.submilli * 1000, per_ms)
        return utc_from_micro(day, micro, length)

    def to_datetime(self, table: LeapSecondTable = DEFAULT_TABLE) -> datetime:
        """The UTC datetime, microsecond resolution (a leap second reads 23:59:59.x)."""
        return self.to_utc(table)[0]

    def to_tai_seconds(self, table: LeapSecondTable = DEFAULT_TABLE) -> Fraction:
        """TAI seconds after 1958-01-01 TAI (for conversion to CUC; needs 1972 or later)."""
        return table.utc_to_tai(self.day_number, self.second_of_day)
