"""Sun-synchronous orbits: the inclination condition, and builders for a dawn-dusk
satellite or constellation at a given altitude and local time of ascending node (LTAN).

Sun-synchronism: the J2 nodal precession
    dOmega/dt = -3/2 n J2 (R/p)^2 cos i,   p = a (1 - e^2),  n = sqrt(mu / a^3)
must equal the Sun's mean motion in right ascension, 360 deg per tropical year
(365.2421897 d). Constants: J2 = 1.08263e-3, R = 6378.137 km, mu = 398600.4418 km^3/s^2.

LTAN is local *apparent* solar time at the ascending node: RAAN = RA_sun(epoch) +
15 deg/h x (LTAN - 12 h), with the Sun from the low-precision formula of
:mod:`links.sun` (0.01 deg, i.e. < 3 s of LTAN). Using the mean Sun instead would shift
LTAN by the equation of time (up to ~16 min). Altitude is taken over the equatorial
radius: a = R + altitude.

Left out: frozen-orbit eccentricity/argument of perigee design, drag (bstar defaults to 0:
the orbit never decays), repeat-ground-track tuning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from comms.errors import UsageError
from links.orbit import Satellite
from links.sun import sun_ra_dec_deg
from links.times import Epoch, TimeLike

__all__ = [
    "EARTH_J2",
    "EARTH_MU_KM3_S2",
    "EARTH_RADIUS_KM",
    "sso_constellation",
    "sso_inclination_deg",
    "sso_satellite",
]

EARTH_J2 = 1.08263e-3
EARTH_RADIUS_KM = 6378.137
EARTH_MU_KM3_S2 = 398600.4418
_TROPICAL_YEAR_S = 365.2421897 * 86400.0


def sso_inclination_deg(altitude_km: float, eccentricity: float = 0.0) -> float:
    """Inclination (deg) making the J2 nodal precession follow the mean Sun.

    >>> round(sso_inclination_deg(750.0), 2)
    98.39
    """
    if not altitude_km > 0.0:
        raise UsageError(f"altitude_km must be > 0, got {altitude_km}.")
    if not 0.0 <= eccentricity < 1.0:
        raise UsageError(f"eccentricity must be in [0, 1), got {eccentricity}.")
    a = EARTH_RADIUS_KM + altitude_km
    n = math.sqrt(EARTH_MU_KM3_S2 / a**3)
    p = a * (1.0 - eccentricity**2)
    required = 2.0 * math.pi / _TROPICAL_YEAR_S
    cos_i = -required / (1.5 * n * EARTH_J2 * (EARTH_RADIUS_KM / p) ** 2)
    if cos_i < -1.0:
        raise UsageError(
            f"No sun-synchronous inclination exists at {altitude_km} km (needs cos i = "
            f"{cos_i:.3f}); sun-synchronous orbits exist below about 5970 km."
        )
    return math.degrees(math.acos(cos_i))


def _raan_for_ltan(ltan_hours: float, epoch: Epoch) -> float:
    ra_sun = float(sun_ra_dec_deg(epoch)[0])
    return (ra_sun + 15.0 * (ltan_hours - 12.0)) % 360.0


def sso_satellite(
    altitude_km: float,
    ltan_hours: float,
    epoch: TimeLike,
    *,
    arg_latitude_deg: float = 0.0,
    eccentricity: float = 0.0,
    bstar: float = 0.0,
    satnum: int = 99999,
    name: str = "",
) -> Satellite:
    """A circular sun-synchronous satellite (dawn-dusk for LTAN 18:00 or 06:00).

    ``arg_latitude_deg`` places the satellite along its orbit at the epoch (0 = at the
    ascending node).
    """
    if not 0.0 <= ltan_hours < 24.0:
        raise UsageError(f"ltan_hours must be in [0, 24), got {ltan_hours}.")
    ep = Epoch.of(epoch)
    return Satellite.from_elements(
        epoch=ep.utc,
        semi_major_axis_km=EARTH_RADIUS_KM + altitude_km,
        eccentricity=eccentricity,
        inclination_deg=sso_inclination_deg(altitude_km, eccentricity),
        raan_deg=_raan_for_ltan(ltan_hours, ep),
        arg_perigee_deg=0.0,
        mean_anomaly_deg=arg_latitude_deg,
        bstar=bstar,
        satnum=satnum,
        name=name or f"SSO-{altitude_km:g}km-{ltan_hours:g}h-{satnum}",
    )


def sso_constellation(
    altitude_km: float,
    planes: int,
    sats_per_plane: int,
    ltan_hours: float | Sequence[float],
    phasing: int = 0,
    *,
    epoch: TimeLike = "2025-03-20T00:00:00",
    plane_spacing_hours: float = 0.5,
    first_satnum: int = 90000,
    name_prefix: str = "DAWN",
) -> list[Satellite]:
    """A Walker-style sun-synchronous constellation.

    Planes sit at LTANs ``ltan_hours`` (a sequence, one per plane) or, given one value,
    ``plane_spacing_hours`` apart centred on it (0.5 h = 7.5 deg of RAAN, keeping all
    planes near the terminator). Within a plane, satellites are 360/``sats_per_plane``
    deg apart; plane ``p`` is shifted by ``phasing`` x 360 / (planes x sats_per_plane)
    deg (the Walker phasing factor F, 0 <= F < planes).
    """
    if planes < 1 or sats_per_plane < 1:
        raise UsageError(
            f"planes and sats_per_plane must be >= 1, got {planes} and {sats_per_plane}."
        )
    if not 0 <= phasing < max(planes, 1):
        raise UsageError(f"phasing (Walker F) must be in 0..planes-1, got {phasing}.")
    if isinstance(ltan_hours, int | float):
        centre = float(ltan_hours)
        ltans = [
            (centre + (p - (planes - 1) / 2.0) * plane_spacing_hours) % 24.0 for p in range(planes)
        ]
    else:
        ltans = [float(x) for x in ltan_hours]
        if len(ltans) != planes:
            raise UsageError(
                f"ltan_hours lists {len(ltans)} values for {planes} planes; give one per plane."
            )
    total = planes * sats_per_plane
    sats = []
    for p, ltan in enumerate(ltans):
        for j in range(sats_per_plane):
            u = 360.0 * j / sats_per_plane + 360.0 * phasing * p / total
            num = first_satnum + p * sats_per_plane + j
            sats.append(
                sso_satellite(
                    altitude_km,
                    ltan,
                    epoch,
                    arg_latitude_deg=u,
                    satnum=num,
                    name=f"{name_prefix}-P{p + 1}-S{j + 1}",
                )
            )
    return sats
