"""CDS (301.0-B-4 3.3): P-field layouts, codec, UTC days across the 2016 leap second.

Vectors: ``40 01 02 03 04 05 06`` for days 0x0102, ms 0x03040506 is spacepackets'
own doctest of ``CdsShortTimestamp`` (an independent implementation); other P-fields are
built bit by bit from 301.0-B-4 3.3.2 (extension 0, id 100, epoch, day length,
submillisecond length). 2016-12-31 is day 21 549 after 1958-01-01.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.time import DEFAULT_TABLE, CdsTime, CucTime, decode_time_code

LEAP = datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)  # with leap_second=True: 23:59:60
AGENCY = date(2000, 1, 1)


def test_vectors() -> None:
    assert CdsTime(0x0102, 0x03040506).encode().hex() == "40010203040506"
    assert CdsTime(1, 2, 999_999_999, 3, 4).encode().hex() == "46000001000000023b9ac9ff"
    assert CdsTime(1, 2, 999, 2, 2, AGENCY).pfield.hex() == "49"
    assert CdsTime(1, 2, with_pfield=False).encode().hex() == "000100000002"


def test_decode_layouts() -> None:
    t = CdsTime.decode(bytes.fromhex("00010000000203e7"), day_octets=2, submilli_octets=2)
    assert (t.days, t.ms_of_day, t.submilli, t.with_pfield) == (1, 2, 999, False)
    t = CdsTime.decode(bytes.fromhex("4900010000000203e7"), epoch=AGENCY)
    assert t.epoch == AGENCY and t.submilli_octets == 2
    assert decode_time_code(t.encode(), cds_epoch=AGENCY) == t
    with pytest.raises(UsageError):
        CdsTime.decode(b"\x00" * 6, day_octets=4)


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (b"", 0),
        (b"\x40\x00", 2),  # truncated
        (b"\x1e" + bytes(6), 0),  # a CUC P-field
        (b"\xc0" + bytes(6), 0),  # extension flag set
        (b"\x43" + bytes(6), 0),  # reserved submillisecond length '11'
        (b"\x48" + bytes(6), 0),  # agency epoch, none given
        (b"\x40\x00\x00\x05\x26\x60\x00", 3),  # ms_of_day 86 401 024 > 86 400 999
        (b"\x41\x00\x00\x00\x00\x00\x00\x03\xe8", 7),  # 1000 microseconds
        (b"\x40" + bytes(7), 7),  # trailing octet
    ],
)
def test_decode_errors(data: bytes, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        CdsTime.decode(data)
    assert info.value.offset == offset


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 1 << 16, "ms_of_day": 0},
        {"days": 0, "ms_of_day": 86_401_000},
        {"days": 0, "ms_of_day": -1},
        {"days": 0, "ms_of_day": 0, "submilli": 1},
        {"days": 0, "ms_of_day": 0, "submilli": 1000, "submilli_octets": 2},
        {"days": 0, "ms_of_day": 0, "day_octets": 4},
        {"days": 0, "ms_of_day": 0, "submilli_octets": 3},
        {"days": 0, "ms_of_day": 0, "epoch": datetime(2000, 1, 1)},
    ],
)
def test_bad_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        CdsTime(**kwargs)  # type: ignore[arg-type]


def test_leap_second_2016() -> None:
    leap = CdsTime.from_datetime(
        LEAP + timedelta(microseconds=500), leap_second=True, submilli_octets=2
    )
    assert (leap.days, leap.ms_of_day, leap.submilli) == (21549, 86_400_000, 500)
    assert leap.to_utc() == (LEAP + timedelta(microseconds=500), True)
    after = CdsTime.from_datetime(datetime(2017, 1, 1, tzinfo=UTC))
    assert (after.days, after.ms_of_day) == (21550, 0)
    # CDS and CUC agree on the instant: the leap second is one TAI second before 2017.
    cuc = CucTime.from_datetime(LEAP, leap_second=True)
    assert CdsTime.from_datetime(LEAP, leap_second=True).to_tai_seconds() == cuc.tai_seconds
    # Rounding at the end of the leap second rolls over to the next day.
    end = CdsTime.from_datetime(LEAP + timedelta(microseconds=999_800), leap_second=True)
    assert (end.days, end.ms_of_day) == (21550, 0)
    # A leap millisecond on a day the table knows no leap second for.
    with pytest.raises(UsageError, match="leap second"):
        CdsTime(21548, 86_400_500).to_utc()
    with pytest.raises(UsageError, match="no leap second"):
        CdsTime.from_datetime(LEAP - timedelta(days=1), leap_second=True)
    # With a table that has one, it converts.
    table = DEFAULT_TABLE.with_leap_second(date(2027, 7, 1))
    t = CdsTime.from_datetime(
        datetime(2027, 6, 30, 23, 59, 59, tzinfo=UTC), leap_second=True, table=table
    )
    assert t.ms_of_day == 86_400_000 and t.to_utc(table)[1]


def test_days_before_1972_need_no_table() -> None:
    assert CdsTime(0, 0).to_datetime() == datetime(1958, 1, 1, tzinfo=UTC)
    t = CdsTime.from_datetime(datetime(1965, 6, 30, 12, tzinfo=UTC))
    assert t.ms_of_day == 43_200_000
    with pytest.raises(UsageError):
        t.to_tai_seconds()  # TAI needs 1972 or later
    with pytest.raises(UsageError, match="before the CDS epoch"):
        CdsTime.from_datetime(datetime(1999, 1, 1, tzinfo=UTC), epoch=AGENCY)
    with pytest.raises(UsageError, match="datetime"):
        CdsTime((1 << 24) - 1, 0, day_octets=3).to_datetime()


@st.composite
def cds_times(draw: st.DrawFn) -> CdsTime:
    day_octets = draw(st.sampled_from([2, 3]))
    submilli_octets = draw(st.sampled_from([0, 2, 4]))
    limit = {0: 0, 2: 999, 4: 999_999_999}[submilli_octets]
    return CdsTime(
        draw(st.integers(0, (1 << (8 * day_octets)) - 1)),
        draw(st.integers(0, 86_400_999)),
        draw(st.integers(0, limit)),
        day_octets,
        submilli_octets,
        draw(st.sampled_from([date(1958, 1, 1), AGENCY])),
        draw(st.booleans()),
    )


@given(cds_times())
def test_round_trip(t: CdsTime) -> None:
    wire = t.encode()
    assert len(wire) == t.encoded_length
    if t.with_pfield:
        assert CdsTime.decode(wire, epoch=t.epoch) == t
    else:
        got = CdsTime.decode(
            wire, day_octets=t.day_octets, submilli_octets=t.submilli_octets, epoch=t.epoch
        )
        assert got == t


instants = st.datetimes(
    min_value=datetime(1958, 1, 1), max_value=datetime(2137, 1, 1), timezones=st.just(UTC)
)


@given(instants, st.sampled_from([0, 2, 4]))
def test_datetime_round_trip_within_bound(dt: datetime, submilli_octets: int) -> None:
    # Documented bound: 0.5 ms without a submillisecond segment, exact with one.
    t = CdsTime.from_datetime(dt, submilli_octets=submilli_octets)
    back, leap = t.to_utc()
    assert not leap
    if submilli_octets:
        assert back == dt
    else:
        assert abs(back - dt) <= timedelta(microseconds=500)


@pytest.mark.interop
@given(st.integers(0, 0xFFFF), st.integers(0, 86_399_999))
def test_against_spacepackets_codec(days: int, ms_of_day: int) -> None:
    from spacepackets.ccsds.time import CdsShortTimestamp

    peer = CdsShortTimestamp(days, ms_of_day).pack()
    assert CdsTime(days, ms_of_day).encode() == peer
    got = CdsTime.decode(peer)
    assert (got.days, got.ms_of_day) == CdsShortTimestamp.unpack_from_raw(peer)


@pytest.mark.interop
@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_against_spacepackets_datetime(dt: datetime) -> None:
    from spacepackets.ccsds.time import CdsShortTimestamp

    # Whole seconds: spacepackets truncates where this codec rounds, through float Unix
    # seconds (0.001 s can come out as 0 ms), and mishandles days before 1970.
    dt = dt.replace(microsecond=0)
    peer = CdsShortTimestamp.from_datetime(dt)
    ours = CdsTime.from_datetime(dt)
    assert (ours.days, ours.ms_of_day) == (peer.ccsds_days, peer.ms_of_day)
    assert ours.to_datetime() == CdsShortTimestamp(ours.days, ours.ms_of_day).as_datetime()


def test_accepts_memoryview_and_bytearray() -> None:
    wire = CdsTime(7, 9, 3, submilli_octets=2).encode()
    assert CdsTime.decode(memoryview(wire)) == CdsTime.decode(bytearray(wire))
    assert CdsTime.decode_from(b"xx" + wire, 2)[1] == 2 + len(wire)
