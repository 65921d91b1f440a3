"""The leap second table: built-in values, IERS file formats, conversions at the leap.

Reference values: IERS Bulletin C / ``Leap_Second.dat`` (astropy-iers-data ships a copy)
and the IETF ``leap-seconds.list`` (tzdata ships a copy), both independent of this code;
the ERFA ``eraDat`` routine (pyerfa) as an independent implementation of TAI-UTC.
"""

from __future__ import annotations

import importlib.util
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from comms.time import DEFAULT_TABLE, LeapSecondTable, ccsds_day_number
from comms.time.epochs import div_round

# The last rows of IERS Leap_Second.dat (issued with Bulletin C 72, July 2026).
LEAP_SECOND_DAT = """\
#  Value of TAI-UTC in second valid beetween the initial value until
#  File expires on 28 June 2027
#    MJD        Date        TAI-UTC (s)
    56109.0    1  7 2012       35
    57204.0    1  7 2015       36
    57754.0    1  1 2017       37
"""
# The same rows of the IETF leap-seconds.list (NTP seconds since 1900); '#@' is the expiry.
LEAP_SECONDS_LIST = """\
#@	3991593600
3550089600	35	# 1 Jul 2012
3644697600	36	# 1 Jul 2015
3692217600	37	# 1 Jan 2017
"""


def test_builtin_values() -> None:
    table = DEFAULT_TABLE
    assert table.tai_minus_utc(date(1972, 1, 1)) == 10
    assert table.tai_minus_utc(date(2016, 12, 31)) == 36
    assert table.tai_minus_utc(date(2017, 1, 1)) == 37
    assert table.tai_minus_utc(datetime(2026, 11, 1, tzinfo=UTC)) == 37
    assert len(table.entries) == 28  # 27 leap seconds after the 10 s of 1972
    assert table.day_length(date(2016, 12, 31)) == 86401
    assert table.day_length(date(2016, 12, 30)) == 86400
    assert table.day_length(date(1960, 6, 30)) == 86400


def test_refusals() -> None:
    with pytest.raises(UsageError, match="before"):
        DEFAULT_TABLE.tai_minus_utc(date(1971, 12, 31))
    with pytest.raises(UsageError, match="timezone-aware"):
        DEFAULT_TABLE.tai_minus_utc(datetime(2020, 1, 1))
    with pytest.raises(UsageError):
        LeapSecondTable(((date(2000, 1, 1), 10), (date(2001, 1, 1), 12)))
    with pytest.raises(UsageError):
        LeapSecondTable(((date(2001, 1, 1), 10), (date(2000, 1, 1), 11)))
    with pytest.raises(UsageError):
        LeapSecondTable(())
    with pytest.raises(UsageError, match="line 1"):
        LeapSecondTable.parse("this is not a leap second file\n")


@pytest.mark.parametrize("text", [LEAP_SECOND_DAT, LEAP_SECONDS_LIST])
def test_parse_both_formats(text: str) -> None:
    table = LeapSecondTable.parse(text)
    assert table.entries == DEFAULT_TABLE.entries[-3:]
    assert table.expires in (date(2027, 6, 28), date(2026, 6, 28))


def _astropy_leap_second_dat() -> Path:
    spec = importlib.util.find_spec("astropy_iers_data")
    if spec is None or spec.origin is None:
        return Path("/nonexistent/Leap_Second.dat")
    return Path(spec.origin).parent / "data" / "Leap_Second.dat"


@pytest.mark.parametrize(
    "path",
    [Path("/usr/share/zoneinfo/leap-seconds.list"), _astropy_leap_second_dat()],
    ids=["tzdata leap-seconds.list", "IERS Leap_Second.dat"],
)
def test_builtin_matches_installed_iers_files(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not installed here")
    assert LeapSecondTable.from_iers_file(path).entries == DEFAULT_TABLE.entries


@pytest.mark.interop
def test_against_erfa_dat() -> None:
    erfa = pytest.importorskip("erfa")
    day = date(1972, 1, 1)
    while day < date(2027, 1, 1):
        assert DEFAULT_TABLE.tai_minus_utc(day) == erfa.dat(day.year, day.month, day.day, 0.0)
        day += timedelta(days=17)


def test_extend_programmatically() -> None:
    # A hypothetical future leap second at the end of June 2028, then a negative one.
    table = DEFAULT_TABLE.with_leap_second(date(2028, 7, 1))
    assert table.tai_minus_utc(date(2028, 7, 1)) == 38
    assert table.day_length(date(2028, 6, 30)) == 86401
    table = table.with_leap_second(date(2030, 1, 1), 37)
    assert table.day_length(date(2029, 12, 31)) == 86399
    with pytest.raises(UsageError):
        table.with_leap_second(date(2000, 1, 1))
    # A negative leap second: 23:59:59 does not exist, so 23:59:58.5 is 0.5 s before 00:00:00.
    d = ccsds_day_number(date(2029, 12, 31))
    before = table.utc_to_tai(d, Fraction(86398.5))
    after = table.utc_to_tai(d + 1, Fraction(0))
    assert after - before == Fraction(1, 2)
    assert table.tai_to_utc(before) == (d, Fraction(86398.5))
    with pytest.raises(UsageError):
        table.utc_to_tai(d, Fraction(86399))


def test_the_leap_second_of_2016() -> None:
    d = ccsds_day_number(date(2016, 12, 31))
    assert d == 21549
    tai_2359_59 = DEFAULT_TABLE.utc_to_tai(d, Fraction(86399))
    tai_2359_60 = DEFAULT_TABLE.utc_to_tai(d, Fraction(86400))
    tai_0000 = DEFAULT_TABLE.utc_to_tai(d + 1, Fraction(0))
    assert tai_2359_60 - tai_2359_59 == 1 and tai_0000 - tai_2359_60 == 1
    assert tai_2359_60 == 21549 * 86400 + 86400 + 36
    assert DEFAULT_TABLE.tai_to_utc(tai_2359_60 + Fraction(1, 2)) == (d, Fraction(172801, 2))
    assert DEFAULT_TABLE.tai_to_utc(tai_0000) == (d + 1, Fraction(0))
    with pytest.raises(UsageError):
        DEFAULT_TABLE.utc_to_tai(d - 1, Fraction(86400))  # 2016-12-30 had no leap second


@given(st.fractions(min_value=441763210, max_value=5_000_000_000, max_denominator=1 << 20))
def test_tai_utc_round_trip(tai: Fraction) -> None:
    day, second = DEFAULT_TABLE.tai_to_utc(tai)
    assert 0 <= second < DEFAULT_TABLE.day_length(day)
    assert DEFAULT_TABLE.utc_to_tai(day, second) == tai


def _check_integer_paths(tai_micro: int) -> None:
    # The datetime conversions use integer microseconds; they must agree with the exact
    # Fraction forms everywhere, leap seconds included.
    day, micro = DEFAULT_TABLE.tai_micro_to_utc_micro(tai_micro)
    exact = DEFAULT_TABLE.tai_to_utc(Fraction(tai_micro, 1_000_000))
    assert exact == (day, Fraction(micro, 1_000_000))
    assert DEFAULT_TABLE.utc_micro_to_tai_micro(day, micro) == tai_micro


@given(st.integers(441_763_210_000_000, 5_000_000_000_000_000))
def test_integer_microsecond_paths_match_exact_ones(tai_micro: int) -> None:
    _check_integer_paths(tai_micro)


@pytest.mark.parametrize("delta", [-1, 0, 999_999, 1_000_000])
def test_integer_paths_at_the_leap(delta: int) -> None:
    _check_integer_paths(1_861_920_036_000_000 + delta)  # around 2016-12-31T23:59:60


def test_div_round_ties_to_even() -> None:
    assert [div_round(n, 2) for n in (1, 3, 5, -1, -3)] == [0, 2, 2, 0, -2]
    assert div_round(7, 3) == 2 and div_round(8, 3) == 3
