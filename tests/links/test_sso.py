"""Sun-synchronous inclination and the dawn-dusk builders.

Real SSO missions (published mission parameters):
- Sentinel-2: mean altitude 786 km, inclination 98.62 deg (ESA Sentinel-2 User
  Handbook, "Orbit"); our circular, equatorial-radius altitude model gives 98.54.
- Landsat 8: 705 km, 98.2 deg (USGS Landsat 8 Data Users Handbook, sec. 1).
- shared/REFERENCES.md: 750 km -> 98.39 deg.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from links import Epoch, Satellite, sso_constellation, sso_inclination_deg, sso_satellite
from links.sun import sun_ra_dec_deg


@pytest.mark.parametrize(
    ("altitude_km", "inclination_deg", "tolerance_deg"),
    [(750.0, 98.39, 0.005), (786.0, 98.62, 0.1), (705.0, 98.2, 0.05)],
)
def test_inclination_against_real_missions(
    altitude_km: float, inclination_deg: float, tolerance_deg: float
) -> None:
    assert sso_inclination_deg(altitude_km) == pytest.approx(inclination_deg, abs=tolerance_deg)


@given(st.floats(200.0, 5000.0))
def test_inclination_is_retrograde_and_grows_with_altitude(altitude_km: float) -> None:
    i = sso_inclination_deg(altitude_km)
    assert 90.0 < i < 180.0
    assert sso_inclination_deg(altitude_km + 10.0) > i


def test_no_sso_above_about_6000_km() -> None:
    with pytest.raises(UsageError, match="sun-synchronous"):
        sso_inclination_deg(7000.0)
    with pytest.raises(UsageError):
        sso_inclination_deg(-1.0)


def test_sgp4_sees_the_node_follow_the_sun() -> None:
    # SGP4's own secular J2 theory (WGS-72 constants) is an independent check of the
    # inclination: its nodal rate must match 360 deg per tropical year within 0.5 %.
    sat = sso_satellite(750.0, 18.0, "2025-03-20T00:00")
    per_minute = 2.0 * math.pi / (365.2421897 * 1440.0)
    assert sat.satrec.nodedot == pytest.approx(per_minute, rel=5e-3)
    assert sat.inclination_deg == pytest.approx(98.39, abs=0.01)
    # REFERENCES: period 99.82 min at 750 km.
    assert sat.period_s / 60.0 == pytest.approx(99.82, abs=0.3)


@pytest.mark.parametrize("ltan_hours", [18.0, 6.0, 10.5])
def test_ltan_places_the_node_at_that_local_solar_time(ltan_hours: float) -> None:
    epoch = Epoch.of("2025-06-01T12:00")
    sat = sso_satellite(750.0, ltan_hours, epoch.utc)
    r, _ = sat.propagate_teme(epoch, [0.0])  # at the ascending node (argument of latitude 0)
    ra_node = math.degrees(math.atan2(r[0, 1], r[0, 0])) % 360.0
    ra_sun = float(sun_ra_dec_deg(epoch)[0])
    local_time = 12.0 + ((ra_node - ra_sun + 180.0) % 360.0 - 180.0) / 15.0
    assert local_time % 24.0 == pytest.approx(ltan_hours, abs=0.05)  # 3 minutes


def test_constellation_layout() -> None:
    sats = sso_constellation(750.0, 3, 4, 18.0, 1, epoch="2025-03-20T00:00")
    assert len(sats) == 12
    assert len({s.satrec.satnum for s in sats}) == 12
    raan = np.degrees([s.satrec.nodeo for s in sats]).reshape(3, 4)
    # Planes 0.5 h = 7.5 deg apart, centred on 18:00.
    np.testing.assert_allclose(np.diff(raan[:, 0]), 7.5, atol=1e-9)
    mean_anomaly = np.degrees([s.satrec.mo for s in sats]).reshape(3, 4)
    np.testing.assert_allclose(np.diff(mean_anomaly[0]), 90.0, atol=1e-9)
    # Walker phasing F=1: adjacent planes shifted by 360 / 12 = 30 deg.
    np.testing.assert_allclose(mean_anomaly[1, 0] - mean_anomaly[0, 0], 30.0, atol=1e-9)


def test_constellation_rejects_bad_layouts() -> None:
    with pytest.raises(UsageError):
        sso_constellation(750.0, 0, 4, 18.0)
    with pytest.raises(UsageError, match="phasing"):
        sso_constellation(750.0, 2, 4, 18.0, 2)
    with pytest.raises(UsageError, match="one per plane"):
        sso_constellation(750.0, 2, 4, [18.0])


def test_from_elements_validates() -> None:
    with pytest.raises(UsageError, match="radius"):
        Satellite.from_elements(
            epoch="2025-01-01",
            semi_major_axis_km=750.0,
            eccentricity=0.0,
            inclination_deg=98.0,
            raan_deg=0.0,
            arg_perigee_deg=0.0,
            mean_anomaly_deg=0.0,
        )
    with pytest.raises(UsageError):
        Satellite.from_tle("garbage", "more garbage")
