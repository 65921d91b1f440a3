"""TAI-UTC: the leap second table between UTC calendar time and the uniform TAI count.

UTC days are 86 400 s long except the last day of a month on which IERS inserts (or,
never so far, removes) a leap second: 2016-12-31 ended at 23:59:60. TAI counts SI seconds
without jumps. CUC time codes (301.0-B-4 3.2) count TAI seconds; CDS (3.3) counts UTC
days; this table converts between them.

The built-in table is TAI-UTC from 1972-01-01 (10 s) to the leap second at the end of
2016 (37 s since 2017-01-01). IERS Bulletin C 72 (July 2026) announced no leap second for
the end of 2026, so it holds until at least 2027-06-28 (the expiry of the IERS
``Leap_Second.dat`` issued with it). Beyond its last entry a table keeps the last offset;
``expires`` says how far that is known to be right. Update it with
:meth:`LeapSecondTable.from_iers_file` (IERS ``Leap_Second.dat`` or the IETF/NIST
``leap-seconds.list``, e.g. ``/usr/share/zoneinfo/leap-seconds.list``) or
:meth:`LeapSecondTable.with_leap_second`.

Left out: UTC before 1972, when TAI-UTC was not a whole number of seconds and UTC seconds
were not SI seconds; conversions that need it raise :class:`~comms.errors.UsageError`.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from comms.errors import UsageError

__all__ = ["DEFAULT_TABLE", "LeapSecondTable", "ccsds_day_number"]

_ORDINAL_1958 = date(1958, 1, 1).toordinal()
_NTP_EPOCH_ORDINAL = date(1900, 1, 1).toordinal()
_MJD_EPOCH_ORDINAL = date(1858, 11, 17).toordinal()
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}


def ccsds_day_number(day: date) -> int:
    """Days from 1958-01-01 (the CCSDS epoch, 301.0-B-4 3.3.1) to ``day``."""
    return day.toordinal() - _ORDINAL_1958


@dataclass(frozen=True)
class LeapSecondTable:
    """TAI-UTC by UTC date: ``entries`` are ``(first day in effect, TAI-UTC seconds)``.

    Entries must be in date order and each must change TAI-UTC by exactly one second
    (a leap second inserted, +1, or removed, -1, at the end of the previous day).
    """

    entries: tuple[tuple[date, int], ...]
    expires: date | None = None
    _days: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _tai_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple((day, int(offset)) for day, offset in self.entries)
        if not entries:
            raise UsageError("a leap second table needs at least one (date, TAI-UTC) entry.")
        for (day0, off0), (day1, off1) in itertools.pairwise(entries):
            if day1 <= day0:
                raise UsageError(f"leap second entries must be in date order: {day1} after {day0}.")
            if abs(off1 - off0) != 1:
                raise UsageError(
                    f"TAI-UTC must change by one second per leap second, not {off0} -> {off1} "
                    f"on {day1}."
                )
        object.__setattr__(self, "entries", entries)
        days = tuple(ccsds_day_number(day) for day, _ in entries)
        object.__setattr__(self, "_days", days)
        # The TAI second (since 1958-01-01 TAI) at which each entry starts to apply.
        tai_starts = tuple(d * 86400 + off for d, (_, off) in zip(days, entries, strict=True))
        object.__setattr__(self, "_tai_starts", tai_starts)

    @property
    def first_day(self) -> date:
        """The first UTC day the table covers."""
        return self.entries[0][0]

    def _index(self, day_number: int) -> int:
        i = bisect.bisect_right(self._days, day_number) - 1
        if i < 0:
            raise UsageError(
                f"{date.fromordinal(day_number + _ORDINAL_1958)} is before this leap second "
                f"table starts ({self.first_day}); before 1972 TAI-UTC was not a whole number "
                "of seconds. Use an instant from 1972 on, or a CDS time (UTC days need no table)."
            )
        return i

    def tai_minus_utc(self, when: datetime | date) -> int:
        """TAI-UTC in seconds in effect on the UTC date of ``when`` (aware datetime or date)."""
        if isinstance(when, datetime):
            if when.tzinfo is None:
                raise UsageError(
                    "pass a timezone-aware datetime, e.g. datetime(..., tzinfo=UTC); "
                    "a naive one does not say which time scale it is in."
                )
            when = when.astimezone(UTC).date()
        return self.entries[self._index(ccsds_day_number(when))][1]

    def day_length(self, day: date | int) -> int:
        """Length of the UTC day in seconds: 86 401 with a leap second, 86 400 otherwise.

        ``day`` is a date or a CCSDS day number. Days before the table are 86 400 s.
        """
        n = day if isinstance(day, int) else ccsds_day_number(day)
        i = bisect.bisect_right(self._days, n + 1) - 1
        if i <= 0 or self._days[i] != n + 1:
            return 86400
        return 86400 + self.entries[i][1] - self.entries[i - 1][1]

    def with_leap_second(
        self, effective: date, tai_minus_utc: int | None = None
    ) -> LeapSecondTable:
        """A new table with TAI-UTC changing on ``effective`` (the day after the leap second).

        ``tai_minus_utc`` defaults to the last value plus one (an inserted second).
        """
        if effective <= self.entries[-1][0]:
            raise UsageError(
                f"new leap seconds go after the last entry ({self.entries[-1][0]}), "
                f"not on {effective}."
            )
        offset = self.entries[-1][1] + 1 if tai_minus_utc is None else tai_minus_utc
        expires = self.expires if self.expires and self.expires > effective else None
        return LeapSecondTable((*self.entries, (effective, offset)), expires)

    # -- conversions on the CCSDS day count; the time codes use these -------------------

    def utc_to_tai(self, day_number: int, second_of_day: Fraction) -> Fraction:
        """TAI seconds since 1958-01-01T00:00:00 TAI of a UTC day and second of that day.

        ``second_of_day`` may reach into the leap second (86 400 <= s < 86 401) only on a
        day that ends with one.
        """
        i = self._index(day_number)
        length = self.day_length(day_number)
        if not 0 <= second_of_day < length:
            day = date.fromordinal(day_number + _ORDINAL_1958)
            raise UsageError(
                f"second of day {float(second_of_day)} is outside {day}, which is "
                f"{length} s long in this leap second table."
            )
        return day_number * 86400 + second_of_day + self.entries[i][1]

    def tai_to_utc(self, tai_seconds: Fraction) -> tuple[int, Fraction]:
        """(CCSDS day number, second of UTC day) of a TAI count since 1958-01-01 TAI."""
        i = bisect.bisect_right(self._tai_starts, tai_seconds) - 1
        if i < 0:
            raise UsageError(
                f"TAI {float(tai_seconds)} s after 1958 is before this leap second table "
                f"starts ({self.first_day}); before 1972 TAI-UTC was not a whole number of "
                "seconds, so no UTC time is given for it."
            )
        offset = self.entries[i][1]
        utc = tai_seconds - offset
        nxt = i + 1
        if (
            nxt < len(self.entries)
            and self.entries[nxt][1] > offset
            and utc >= self._days[nxt] * 86400
        ):
            # Inside an inserted leap second: 23:59:60 of the day before the next entry.
            day_number = self._days[nxt] - 1
            return day_number, utc - day_number * 86400
        day_number = int(utc // 86400)
        return day_number, utc - day_number * 86400

    # Integer microsecond forms of the two conversions above, for the datetime paths:
    # whole-second offsets keep them exact, and ints are ~10x faster than Fractions.

    def utc_micro_to_tai_micro(self, day_number: int, micro_of_day: int) -> int:
        """TAI microseconds since 1958-01-01 TAI of a UTC day and microsecond of that day."""
        i = self._index(day_number)
        length = self.day_length(day_number)
        if not 0 <= micro_of_day < length * 1_000_000:
            day = date.fromordinal(day_number + _ORDINAL_1958)
            raise UsageError(
                f"second of day {micro_of_day / 1e6} is outside {day}, which is "
                f"{length} s long in this leap second table."
            )
        return (day_number * 86400 + self.entries[i][1]) * 1_000_000 + micro_of_day

    def tai_micro_to_utc_micro(self, tai_micro: int) -> tuple[int, int]:
        """(CCSDS day number, microsecond of UTC day) of TAI microseconds since 1958."""
        i = bisect.bisect_right(self._tai_starts, tai_micro // 1_000_000) - 1
        if i < 0:
            raise UsageError(
                f"TAI {tai_micro / 1e6} s after 1958 is before this leap second table "
                f"starts ({self.first_day}); before 1972 TAI-UTC was not a whole number of "
                "seconds, so no UTC time is given for it."
            )
        offset = self.entries[i][1]
        utc = tai_micro - offset * 1_000_000
        nxt = i + 1
        if (
            nxt < len(self.entries)
            and self.entries[nxt][1] > offset
            and utc >= self._days[nxt] * 86_400_000_000
        ):
            day_number = self._days[nxt] - 1
            return day_number, utc - day_number * 86_400_000_000
        day_number, micro = divmod(utc, 86_400_000_000)
        return day_number, micro

    # -- reading IERS files -----------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> LeapSecondTable:
        """Read the text of an IERS ``Leap_Second.dat`` or an IETF ``leap-seconds.list``.

        ``Leap_Second.dat`` rows are ``MJD day month year TAI-UTC``; ``leap-seconds.list``
        rows are ``NTP-seconds TAI-UTC`` with the expiry on a ``#@`` line. Raises
        :class:`UsageError` naming the line that is neither.
        """
        entries: list[tuple[date, int]] = []
        expires: date | None = None
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if line.startswith("#@"):
                expires = _ntp_date(int(line[2:].split()[0]))
                continue
            m = re.search(r"expires on\s+(\d+)\s+([A-Za-z]+)\s+(\d{4})", line)
            if line.startswith("#") and m:
                month = _MONTHS.get(m.group(2)[:3].lower())
                if month:
                    expires = date(int(m.group(3)), month, int(m.group(1)))
                continue
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            try:
                if len(fields) == 5:  # Leap_Second.dat: MJD day month year TAI-UTC
                    day = date.fromordinal(int(float(fields[0])) + _MJD_EPOCH_ORDINAL)
                    if day != date(int(fields[3]), int(fields[2]), int(fields[1])):
                        raise ValueError("MJD and calendar date disagree")
                    entries.append((day, int(fields[4])))
                elif len(fields) == 2:  # leap-seconds.list: NTP seconds, TAI-UTC
                    entries.append((_ntp_date(int(fields[0])), int(fields[1])))
                else:
                    raise ValueError(f"{len(fields)} fields")
            except ValueError as exc:
                raise UsageError(
                    f"line {lineno} is not a Leap_Second.dat or leap-seconds.list row "
                    f"({exc}): {raw!r}."
                ) from None
        return cls(tuple(entries), expires)

    @classmethod
    def from_iers_file(cls, path: str | Path) -> LeapSecondTable:
        """Read a leap second file (see :meth:`parse`). The one place this package reads a file."""
        return cls.parse(Path(path).read_text(encoding="ascii", errors="replace"))


def _ntp_date(ntp_seconds: int) -> date:
    # NTP seconds count from 1900-01-01 and ignore leap seconds: whole days are exact.
    return date.fromordinal(_NTP_EPOCH_ORDINAL) + timedelta(days=ntp_seconds // 86400)


# TAI-UTC from IERS Bulletin C, as also listed in IERS Leap_Second.dat and the IETF
# leap-seconds.list (cross-checked against both in tests/comms/time).
DEFAULT_TABLE = LeapSecondTable(
    (
        (date(1972, 1, 1), 10),
        (date(1972, 7, 1), 11),
        (date(1973, 1, 1), 12),
        (date(1974, 1, 1), 13),
        (date(1975, 1, 1), 14),
        (date(1976, 1, 1), 15),
        (date(1977, 1, 1), 16),
        (date(1978, 1, 1), 17),
        (date(1979, 1, 1), 18),
        (date(1980, 1, 1), 19),
        (date(1981, 7, 1), 20),
        (date(1982, 7, 1), 21),
        (date(1983, 7, 1), 22),
        (date(1985, 7, 1), 23),
        (date(1988, 1, 1), 24),
        (date(1990, 1, 1), 25),
        (date(1991, 1, 1), 26),
        (date(1992, 7, 1), 27),
        (date(1993, 7, 1), 28),
        (date(1994, 7, 1), 29),
        (date(1996, 1, 1), 30),
        (date(1997, 7, 1), 31),
        (date(1999, 1, 1), 32),
        (date(2006, 1, 1), 33),
        (date(2009, 1, 1), 34),
        (date(2012, 7, 1), 35),
        (date(2015, 7, 1), 36),
        (date(2017, 1, 1), 37),
    ),
    expires=date(2027, 6, 28),
)
