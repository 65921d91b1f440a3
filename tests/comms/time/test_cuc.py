"""CUC (301.0-B-4 3.2): P-field layouts, codec, UTC conversion across the 2016 leap second.

P-field vectors are built bit by bit from the layout of 301.0-B-4 3.2.2 (extension flag,
time code id, coarse octets - 1, fine octets; second octet: extension flag, additional
coarse, additional fine, two mission bits). Instants: 1972-01-01T00:00:00 UTC is 5113 days
after 1958 plus TAI-UTC 10 s; GPS time at 2017-01-01T00:00:00 UTC is 1 167 264 018 s (the
published GPS-UTC offset of 18 s since then); J2000.0 is 2000-01-01T11:58:55.816 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.time import DEFAULT_TABLE, GPS_EPOCH, J2000_EPOCH, TAI_EPOCH, CucTime, Epoch
from comms.time.epochs import utc_parts
from tools.fuzz.fuzz_time import test_one_input as fuzz_one_input

LEAP = datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)  # with leap_second=True: 23:59:60


@pytest.mark.parametrize(
    ("coarse_octets", "fine_octets", "agency", "pfield"),
    [
        (4, 2, False, "1e"),
        (4, 2, True, "2e"),
        (4, 3, False, "1f"),
        (1, 0, False, "10"),
        (2, 1, True, "25"),
        (5, 3, False, "9f20"),
        (4, 4, False, "9f04"),
        (7, 10, False, "9f7c"),
    ],
)
def test_pfield_vectors(coarse_octets: int, fine_octets: int, agency: bool, pfield: str) -> None:
    epoch = GPS_EPOCH if agency else TAI_EPOCH
    t = CucTime(1, 0, coarse_octets, fine_octets, epoch)
    assert t.pfield.hex() == pfield
    assert CucTime.decode(t.encode(), epoch=epoch) == t


def test_encode_vector() -> None:
    assert CucTime(0x01020304, 0x0506).encode().hex() == "1e010203040506"
    assert CucTime(0x01020304, 0x0506, with_pfield=False).encode().hex() == "010203040506"


def test_decode_without_pfield_needs_layout() -> None:
    t = CucTime.decode(bytes.fromhex("0102030405"), coarse_octets=4, fine_octets=1)
    assert (t.coarse, t.fine, t.with_pfield, t.epoch) == (0x01020304, 5, False, TAI_EPOCH)
    t = CucTime.decode(b"\x00\x10", coarse_octets=2, epoch=GPS_EPOCH)
    assert (t.coarse, t.fine_octets, t.epoch) == (16, 0, GPS_EPOCH)
    with pytest.raises(UsageError):
        CucTime.decode(b"\x00", fine_octets=1)
    with pytest.raises(UsageError):
        CucTime.decode(b"\x00", coarse_octets=8)


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", 0),
        (b"\x1e\x00\x00", 3),  # truncated T-field
        (b"\x4e" + bytes(6), 0),  # time code id 100 is CDS, not CUC
        (b"\x2e" + bytes(6), 0),  # agency epoch, none given
        (b"\x9e", 1),  # extension octet missing
        (b"\x9e\x80" + bytes(6), 1),  # a third P-field octet
        (b"\x9e\x01" + bytes(6), 1),  # mission-defined bits
        (b"\x1e" + bytes(7), 7),  # trailing octet
    ],
)
def test_decode_errors(data: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        CucTime.decode(data)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    "kwargs",
    [
        {"coarse": 1 << 32},
        {"coarse": -1},
        {"coarse": 0, "fine": 1 << 16},
        {"coarse": 0, "coarse_octets": 0},
        {"coarse": 0, "coarse_octets": 8},
        {"coarse": 0, "fine_octets": 11},
        {"coarse": 0, "epoch": "1958"},
    ],
)
def test_bad_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        CucTime(**kwargs)  # type: ignore[arg-type]


def test_instant_vectors() -> None:
    t = CucTime.from_datetime(datetime(1972, 1, 1, tzinfo=UTC), fine_octets=0)
    assert t.coarse == 5113 * 86400 + 10
    gps = CucTime.from_datetime(datetime(2017, 1, 1, tzinfo=UTC), epoch=GPS_EPOCH)
    assert (gps.coarse, gps.fine) == (1_167_264_018, 0)
    j2000 = CucTime.from_datetime(
        datetime(2000, 1, 1, 11, 58, 55, 816000, tzinfo=UTC), epoch=J2000_EPOCH, fine_octets=3
    )
    assert (j2000.coarse, j2000.fine) == (0, 0)
    # Any time zone is accepted; results come back in UTC.
    cet = datetime(2017, 1, 1, 1, 0, tzinfo=__import__("datetime").timezone(timedelta(hours=1)))
    assert CucTime.from_datetime(cet) == CucTime.from_datetime(datetime(2017, 1, 1, tzinfo=UTC))


def test_leap_second_2016() -> None:
    before = CucTime.from_datetime(LEAP)
    leap = CucTime.from_datetime(LEAP, leap_second=True)
    after = CucTime.from_datetime(datetime(2017, 1, 1, tzinfo=UTC))
    assert leap.coarse == 21549 * 86400 + 86400 + 36 == before.coarse + 1 == after.coarse - 1
    assert before.to_utc() == (LEAP, False)
    assert leap.to_utc() == (LEAP, True)
    assert leap.to_datetime() == LEAP  # folded: datetime has no second 60
    assert after.to_utc() == (datetime(2017, 1, 1, tzinfo=UTC), False)
    half = CucTime.from_datetime(LEAP + timedelta(microseconds=500000), leap_second=True)
    assert (half.coarse, half.fine) == (leap.coarse, 0x8000)
    with pytest.raises(UsageError, match="23:59:59"):
        CucTime.from_datetime(LEAP - timedelta(seconds=1), leap_second=True)
    with pytest.raises(UsageError):
        CucTime.from_datetime(LEAP - timedelta(days=1), leap_second=True)  # no leap that day


def test_conversion_refusals() -> None:
    with pytest.raises(UsageError, match="timezone-aware"):
        CucTime.from_datetime(datetime(2020, 1, 1))
    with pytest.raises(UsageError, match="before"):
        CucTime.from_datetime(datetime(1965, 1, 1, tzinfo=UTC))
    with pytest.raises(UsageError, match="before"):
        CucTime(100).to_datetime()  # 1958 + 100 s: before the table (UTC was not SI-based)
    with pytest.raises(UsageError, match="epoch"):
        CucTime.from_datetime(datetime(1979, 1, 1, tzinfo=UTC), epoch=GPS_EPOCH)
    with pytest.raises(UsageError, match="fit"):
        CucTime.from_datetime(datetime(2030, 1, 1, tzinfo=UTC), coarse_octets=2)
    with pytest.raises(UsageError):
        CucTime.from_seconds(1.5)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Epoch(1.5)  # type: ignore[arg-type]


def test_rounding_carries_into_coarse() -> None:
    t = CucTime.from_seconds(Fraction(9, 1) + Fraction(255, 256) + Fraction(3, 1024), fine_octets=1)
    assert (t.coarse, t.fine) == (10, 0)
    assert t.resolution == Fraction(1, 256)


layouts = st.tuples(st.integers(1, 7), st.integers(0, 10))


@st.composite
def cuc_times(draw: st.DrawFn) -> CucTime:
    coarse_octets, fine_octets = draw(layouts)
    return CucTime(
        draw(st.integers(0, (1 << (8 * coarse_octets)) - 1)),
        draw(st.integers(0, (1 << (8 * fine_octets)) - 1)),
        coarse_octets,
        fine_octets,
        draw(st.sampled_from([TAI_EPOCH, GPS_EPOCH])),
        draw(st.booleans()),
        draw(st.booleans()),
    )


@given(cuc_times())
def test_round_trip(t: CucTime) -> None:
    wire = t.encode()
    assert len(wire) == t.encoded_length
    if t.with_pfield:
        got = CucTime.decode(wire, epoch=t.epoch)
    else:
        got = CucTime.decode(
            wire, coarse_octets=t.coarse_octets, fine_octets=t.fine_octets, epoch=t.epoch
        )
    assert got == t


@given(st.binary(max_size=24))
def test_any_bytes_decode_or_decode_error(data: bytes) -> None:
    fuzz_one_input(data)


instants = st.datetimes(
    min_value=datetime(1972, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@given(instants, st.integers(0, 10), st.booleans())
def test_datetime_round_trip_within_bound(dt: datetime, fine_octets: int, leap: bool) -> None:
    # Documented bounds: from_datetime is within half a fine unit of the instant, and
    # to_utc within half a microsecond of the code. Errors are measured in TAI seconds:
    # naive datetime arithmetic does not know that 2016-12-31 lasted 86 401 s.
    if leap:
        dt = datetime(2016, 12, 31, 23, 59, 59, dt.microsecond, tzinfo=UTC)
    exact = DEFAULT_TABLE.utc_to_tai(*utc_parts(dt, leap))
    t = CucTime.from_datetime(dt, leap_second=leap, fine_octets=fine_octets, coarse_octets=5)
    assert abs(t.tai_seconds - exact) <= t.resolution / 2
    back, back_leap = t.to_utc()
    again = DEFAULT_TABLE.utc_to_tai(*utc_parts(back, back_leap))
    assert abs(again - t.tai_seconds) <= Fraction(1, 2_000_000)
    if fine_octets >= 3:
        assert (back, back_leap) == (dt, leap)


@pytest.mark.interop
@given(
    # ERFA warns ("dubious year") past the leap seconds it knows of: stay inside them.
    st.datetimes(
        min_value=datetime(1972, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    st.booleans(),
)
def test_tai_seconds_against_astropy(dt: datetime, leap: bool) -> None:
    # astropy.time (ERFA underneath) is an independent UTC -> TAI implementation; it
    # accepts second 60 in ISO strings, which is how the leap second is handed over.
    time = pytest.importorskip("astropy.time")
    if leap:
        dt = datetime(2016, 12, 31, 23, 59, 59, dt.microsecond, tzinfo=UTC)
    iso = dt.strftime("%Y-%m-%dT%H:%M:") + f"{dt.second + leap:02d}.{dt.microsecond:06d}"
    theirs = (time.Time(iso, scale="utc").tai - time.Time("1958-01-01", scale="tai")).sec
    ours = CucTime.from_datetime(dt, leap_second=leap, fine_octets=4).tai_seconds
    assert abs(float(ours) - theirs) < 1e-6


def test_accepts_memoryview_and_bytearray() -> None:
    wire = CucTime(7, 9, 2, 1).encode()
    assert CucTime.decode(memoryview(wire)) == CucTime.decode(bytearray(wire))
    assert CucTime.decode_from(b"xx" + wire, 2) == (CucTime(7, 9, 2, 1), 2 + len(wire))
