"""Slant range, light time, occultation, Sun and eclipse, time helpers."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from links import (
    Epoch,
    GroundStation,
    illumination,
    light_time_s,
    line_of_sight,
    look_angles,
    slant_range_m,
    sun_position_teme,
    sun_ra_dec_deg,
)
from links.frames import WGS84_A_M, geodetic_to_ecef, gmst_rad


@pytest.mark.parametrize(
    ("elevation_deg", "range_km"),
    [(0.0, 3183.0), (5.0, 2675.0), (10.0, 2262.0), (20.0, 1677.0), (90.0, 750.0)],
)
def test_slant_range_at_750_km(elevation_deg: float, range_km: float) -> None:
    # shared/REFERENCES.md, "Orbit and link facts" (spherical Earth, R = 6378.137 km).
    assert slant_range_m(750e3, elevation_deg) / 1e3 == pytest.approx(range_km, abs=0.5)


def test_light_time_at_10_deg() -> None:
    # REFERENCES: 7.55 ms at 10 deg (2262 km).
    assert float(light_time_s(slant_range_m(750e3, 10.0))) * 1e3 == pytest.approx(7.55, abs=0.005)


def test_geodetic_to_ecef_known_points() -> None:
    # WGS-84 by construction: equator/prime meridian is (a, 0, 0), the pole is (0, 0, b).
    np.testing.assert_allclose(geodetic_to_ecef(0.0, 0.0, 0.0), [WGS84_A_M, 0.0, 0.0])
    np.testing.assert_allclose(
        geodetic_to_ecef(90.0, 0.0, 0.0), [0.0, 0.0, 6356752.314245], atol=1e-3
    )


def test_gmst_at_j2000() -> None:
    # IAU-82 GMST at 2000-01-01 12:00 UT1 is 18h 41m 50.54841s (Aoki et al. 1982).
    expected = (18 + 41 / 60 + 50.54841 / 3600) * 15.0
    assert math.degrees(float(gmst_rad(0.0))) == pytest.approx(expected, abs=1e-9)


def test_look_angles_shapes_and_range_acceleration(iss, beijing) -> None:  # type: ignore[no-untyped-def]
    other = GroundStation(78.23, 15.39, 500.0, name="Svalbard")
    t = np.arange(0.0, 600.0, 1.0)
    look = look_angles(
        [iss, iss], [beijing, other], t, epoch=Epoch.of("2014-01-21T00:30"), range_acceleration=True
    )
    assert look.elevation_deg.shape == (2, 2, 600)
    assert look.range_accel_m_s2 is not None
    # Range acceleration is the derivative of range-rate.
    rr = look.range_rate_m_s[0, 0]
    np.testing.assert_allclose(
        np.gradient(rr, 1.0)[5:-5], look.range_accel_m_s2[0, 0, 5:-5], rtol=0.01, atol=0.05
    )
    np.testing.assert_allclose(look.light_time_s, look.range_m / 299_792_458.0)


def test_occultation_threshold() -> None:
    # Two points at 750 km altitude in the equatorial plane whose chord passes exactly
    # 100 km above the equator: clear with a 99 km margin, blocked with 101 km.
    r = WGS84_A_M + 750e3
    half = math.acos((WGS84_A_M + 100e3) / r)
    a = np.array([r * math.cos(half), r * math.sin(half), 0.0])
    b = np.array([r * math.cos(half), -r * math.sin(half), 0.0])
    assert line_of_sight(a, b, grazing_altitude_m=99e3)
    assert not line_of_sight(a, b, grazing_altitude_m=101e3)
    assert not line_of_sight(a, -a)
    with pytest.raises(UsageError):
        line_of_sight(a, b, grazing_altitude_m=-1.0)


@given(
    st.lists(st.floats(-1e7, 1e7), min_size=3, max_size=3),
    st.lists(st.floats(-1e7, 1e7), min_size=3, max_size=3),
)
def test_line_of_sight_is_symmetric(a: list[float], b: list[float]) -> None:
    assert bool(line_of_sight(a, b)) == bool(line_of_sight(b, a))


@pytest.mark.parametrize(
    ("when", "ra_deg", "dec_deg"),
    [
        # USNO: 2024 March equinox 03:06 UTC, June solstice 20:51 UTC (RA 0 h / 6 h).
        ("2024-03-20T03:06", 0.0, 0.0),
        ("2024-06-20T20:51", 90.0, 23.44),
    ],
)
def test_low_precision_sun(when: str, ra_deg: float, dec_deg: float) -> None:
    ra, dec = sun_ra_dec_deg(Epoch.of(when))
    assert (float(ra) - ra_deg + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=0.02)
    assert float(dec) == pytest.approx(dec_deg, abs=0.02)


def test_eclipse_models() -> None:
    epoch = Epoch.of("2024-03-20T03:06")
    sun = sun_position_teme(epoch, 0.0)
    sun_hat = sun / np.linalg.norm(sun)
    r = WGS84_A_M + 750e3
    lit, shadow = sun_hat * r, -sun_hat * r
    for model in ("conical", "cylindrical"):
        assert float(illumination(lit, sun, model=model)) == 1.0
        assert float(illumination(shadow, sun, model=model)) == 0.0
    # Sweep across the shadow edge: the conical penumbra is graded and narrow (~0.5 deg).
    side = np.cross(sun_hat, [0.0, 0.0, 1.0])
    side /= np.linalg.norm(side)
    angles = np.radians(np.linspace(90.0, 180.0, 20001))
    pts = r * (np.cos(angles)[:, None] * sun_hat + np.sin(angles)[:, None] * side)
    frac = illumination(pts, sun)
    partial = (frac > 0.0) & (frac < 1.0)
    assert partial.any()
    width_deg = np.degrees(angles[partial][-1] - angles[partial][0])
    assert 0.2 < width_deg < 1.0
    assert np.all(np.diff(frac) <= 1e-12)  # darker as we go behind the Earth
    with pytest.raises(UsageError):
        illumination(lit, sun, model="flat")


@given(st.floats(-1e7, 1e7, allow_nan=False))
def test_epoch_round_trip(seconds: float) -> None:
    e = Epoch.of("2025-03-20T00:00:00")
    back = e.seconds(e.datetimes(seconds))
    assert abs(float(back) - seconds) <= 1e-6
    jd, fr = e.jd_fr(seconds)
    assert 0.0 <= float(fr) < 1.0
    assert (float(jd) - e.jd_pair[0]) * 86400.0 + (
        float(fr) - e.jd_pair[1]
    ) * 86400.0 == pytest.approx(seconds, abs=1e-4)


def test_epoch_accepts_aware_datetimes() -> None:
    tz = dt.timezone(dt.timedelta(hours=8))
    a = Epoch.of(dt.datetime(2025, 1, 1, 8, 0, tzinfo=tz))
    assert a == Epoch.of("2025-01-01T00:00:00Z")
    assert a.datetime(1.5) == dt.datetime(2025, 1, 1, 0, 0, 1, 500000, tzinfo=dt.UTC)
    with pytest.raises(UsageError):
        Epoch.of(12345)  # type: ignore[arg-type]
