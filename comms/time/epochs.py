"""Epochs of the time codes, and the step between UTC ``datetime`` and day/second counts.

301.0-B-4 gives each time code a "level 1" epoch, 1958 January 1 (3.2.1, 3.3.1), and
lets an agency define another (level 2). Here a CUC epoch is an :class:`Epoch`, an instant
on the TAI scale, because CUC counts TAI seconds; a CDS epoch is a ``date``, because CDS
counts UTC days.

A Python ``datetime`` cannot hold 23:59:60. Conversions therefore pair it with a flag,
as skyfield does: ``(datetime(2016, 12, 31, 23, 59, 59, 500000), True)`` is
2016-12-31T23:59:60.5. Datetimes must be timezone-aware (any zone; they are converted
to UTC) and are returned in UTC, to the microsecond (rounded to nearest, ties to even).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from comms.errors import UsageError
from comms.time.leapseconds import DEFAULT_TABLE, LeapSecondTable

__all__ = [
    "CCSDS_EPOCH_DATE",
    "GPS_EPOCH",
    "J2000_EPOCH",
    "TAI_EPOCH",
    "Epoch",
    "div_round",
    "utc_from_micro",
    "utc_from_parts",
    "utc_micro",
    "utc_parts",
]

CCSDS_EPOCH_DATE = date(1958, 1, 1)
"""The CDS level 1 epoch: day 0 is 1958-01-01 (301.0-B-4 3.3.1)."""

_ORDINAL_1958 = CCSDS_EPOCH_DATE.toordinal()
_US_PER_DAY = 86_400_000_000
_UTC_1958 = datetime(1958, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Epoch:
    """A CUC epoch: ``tai_seconds`` after 1958-01-01T00:00:00 TAI, on the TAI scale."""

    tai_seconds: Fraction
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tai_seconds, int | Fraction):
            raise UsageError(
                f"tai_seconds must be an int or a Fraction (exact), not "
                f"{type(self.tai_seconds).__name__}; use Epoch.from_tai or Epoch.from_utc."
            )
        object.__setattr__(self, "tai_seconds", Fraction(self.tai_seconds))

    @property
    def is_ccsds(self) -> bool:
        """True for the level 1 epoch, 1958-01-01 TAI (P-field time code id '001')."""
        return self.tai_seconds == 0

    @classmethod
    def from_tai(cls, tai: datetime, name: str = "") -> Epoch:
        """An epoch given as a TAI calendar reading (a naive datetime: TAI has no zone)."""
        if tai.tzinfo is not None:
            raise UsageError(
                "Epoch.from_tai takes a naive datetime read on the TAI scale; for a UTC "
                "instant use Epoch.from_utc."
            )
        delta = tai - datetime(1958, 1, 1)
        micro = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return cls(Fraction(micro, 1_000_000), name)

    @classmethod
    def from_utc(
        cls,
        utc: datetime,
        *,
        leap_second: bool = False,
        table: LeapSecondTable = DEFAULT_TABLE,
        name: str = "",
    ) -> Epoch:
        """An epoch given as a UTC instant (1972 or later: the table must cover it)."""
        day, second = utc_parts(utc, leap_second)
        return cls(table.utc_to_tai(day, second), name)


TAI_EPOCH = Epoch(Fraction(0), "1958-01-01T00:00:00 TAI (CCSDS level 1)")
"""The CUC level 1 epoch (301.0-B-4 3.2.1)."""

GPS_EPOCH = Epoch.from_tai(datetime(1980, 1, 6, 0, 0, 19), "GPS: 1980-01-06T00:00:00 UTC")
"""GPS time zero; TAI-UTC was 19 s, so GPS = TAI - 19 s."""

J2000_EPOCH = Epoch.from_tai(
    datetime(2000, 1, 1, 11, 59, 27, 816000), "J2000.0: 2000-01-01T12:00:00 TT"
)
"""J2000.0; TT = TAI + 32.184 s."""


def div_round(num: int, den: int) -> int:
    """``num / den`` rounded to the nearest integer, ties to even (``den`` > 0)."""
    q, r = divmod(num, den)
    twice = 2 * r
    if twice > den or (twice == den and q & 1):
        q += 1
    return q


def utc_parts(utc: datetime, leap_second: bool = False) -> tuple[int, Fraction]:
    """(CCSDS day number, second of UTC day) of an aware datetime.

    With ``leap_second`` the datetime must read 23:59:59.xxx and stands for 23:59:60.xxx;
    whether that day really ends with a leap second is for the caller's table to judge.
    """
    day, micro = utc_micro(utc, leap_second)
    return day, Fraction(micro, 1_000_000)


def utc_micro(utc: datetime, leap_second: bool = False) -> tuple[int, int]:
    """(CCSDS day number, microsecond of UTC day) of an aware datetime (see utc_parts)."""
    if not isinstance(utc, datetime):
        raise UsageError(f"expected a datetime, not {type(utc).__name__}.")
    if utc.tzinfo is None:
        raise UsageError(
            "pass a timezone-aware datetime, e.g. datetime(..., tzinfo=UTC); a naive "
            "one does not say which time scale it is in."
        )
    if utc.tzinfo is not UTC:
        utc = utc.astimezone(UTC)
    second = utc.hour * 3600 + utc.minute * 60 + utc.second
    if leap_second:
        if second != 86399:
            raise UsageError(
                f"leap_second=True stands for 23:59:60, so pass 23:59:59.xxx, not {utc.time()}."
            )
        second += 1
    return utc.toordinal() - _ORDINAL_1958, second * 1_000_000 + utc.microsecond


def utc_from_parts(day_number: int, second: Fraction, day_length: int) -> tuple[datetime, bool]:
    """An aware UTC datetime and leap second flag from a day number and second of day.

    ``day_length`` (86 400 or 86 401) says where the day rolls over after rounding to the
    microsecond.
    """
    return utc_from_micro(day_number, round(second * 1_000_000), day_length)


def utc_from_micro(day_number: int, micro: int, day_length: int) -> tuple[datetime, bool]:
    """As :func:`utc_from_parts`, from the microsecond of the day."""
    day_micro = day_length * 1_000_000
    if micro >= day_micro:
        day_number += 1
        micro -= day_micro
    leap = micro >= _US_PER_DAY
    if leap:
        micro -= 1_000_000  # 23:59:60.x is reported as 23:59:59.x with the flag set
    try:
        # One timedelta addition: the cheapest way to a datetime (measured, tools/bench).
        return _UTC_1958 + timedelta(days=day_number, microseconds=micro), leap
    except OverflowError:
        raise UsageError(
            f"day {day_number} after 1958-01-01 is outside what datetime holds (years 1-9999)."
        ) from None
