"""Low-precision Sun position and Earth-shadow (eclipse) tests.

Sun: the Astronomical Almanac's low-precision formula (section C, "Sun: low precision
formulas"), stated good to 0.01 deg in direction for 1950-2050; distance to ~1e-4 AU.
Coordinates are equatorial of date, used as TEME (they differ by the equation of the
equinoxes and nutation, < 20 arcsec -- irrelevant for shadows and LTAN).

Shadow: a spherical Earth of the WGS-84 equatorial radius with a conical umbra and
penumbra (or the cylindrical approximation on request). Left out: Earth oblateness in the
shadow (up to ~20 km at the shadow edge, a few seconds of eclipse entry), atmospheric
refraction and the Moon.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.frames import WGS84_A_M
from links.times import Epoch, FloatArray

__all__ = ["AU_M", "SUN_RADIUS_M", "illumination", "sun_position_teme", "sun_ra_dec_deg"]

AU_M = 149_597_870_700.0
SUN_RADIUS_M = 695_700_000.0  # IAU 2015 nominal solar radius


def _sun_lambda_eps_r(
    epoch: Epoch, t_s: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    whole, frac = epoch.jd_pair
    n = (whole - 2451545.0) + frac + np.asarray(t_s, dtype=np.float64) / 86400.0
    mean_longitude = np.radians(280.460 + 0.9856474 * n)
    g = np.radians(357.528 + 0.9856003 * n)
    ecliptic_longitude = mean_longitude + np.radians(1.915 * np.sin(g) + 0.020 * np.sin(2 * g))
    obliquity = np.radians(23.439 - 0.0000004 * n)
    distance_au = 1.00014 - 0.01671 * np.cos(g) - 0.00014 * np.cos(2 * g)
    return ecliptic_longitude, obliquity, distance_au


def sun_ra_dec_deg(epoch: Epoch, t_s: npt.ArrayLike = 0.0) -> tuple[FloatArray, FloatArray]:
    """Apparent right ascension [0, 360) and declination of the Sun, degrees (~0.01 deg)."""
    lam, eps, _ = _sun_lambda_eps_r(epoch, t_s)
    ra = np.degrees(np.arctan2(np.cos(eps) * np.sin(lam), np.cos(lam))) % 360.0
    dec = np.degrees(np.arcsin(np.sin(eps) * np.sin(lam)))
    return ra, dec


def sun_position_teme(epoch: Epoch, t_s: npt.ArrayLike) -> FloatArray:
    """Geocentric Sun position (m), shape (..., 3), equatorial of date ~ TEME."""
    lam, eps, r_au = _sun_lambda_eps_r(epoch, t_s)
    r = r_au * AU_M
    return np.stack(
        [r * np.cos(lam), r * np.cos(eps) * np.sin(lam), r * np.sin(eps) * np.sin(lam)], axis=-1
    )


def illumination(
    r_teme_m: npt.ArrayLike,
    sun_teme_m: npt.ArrayLike,
    *,
    model: str = "conical",
) -> FloatArray:
    """Fraction of the solar disc visible from each position: 1 sunlit, 0 umbra.

    ``r_teme_m`` (..., 3) and ``sun_teme_m`` broadcast against each other. ``model``
    "conical" grades the penumbra linearly in the apparent Sun-Earth disc separation;
    "cylindrical" is the classic 0/1 test (shadow is a cylinder of Earth radius behind
    the Earth).
    """
    r = np.asarray(r_teme_m, dtype=np.float64)
    sun = np.asarray(sun_teme_m, dtype=np.float64)
    if model == "cylindrical":
        sun_hat = sun / np.linalg.norm(sun, axis=-1, keepdims=True)
        along = np.sum(r * sun_hat, axis=-1)
        perp = np.linalg.norm(r - along[..., None] * sun_hat, axis=-1)
        return np.where((along < 0.0) & (perp < WGS84_A_M), 0.0, 1.0)
    if model != "conical":
        raise UsageError(f"model must be 'conical' or 'cylindrical', not {model!r}.")
    to_sun = sun - r
    d_sun = np.linalg.norm(to_sun, axis=-1)
    d_earth = np.linalg.norm(r, axis=-1)
    # Apparent radii of Sun and Earth discs and their separation, seen from r.
    a = np.arcsin(np.clip(SUN_RADIUS_M / d_sun, -1.0, 1.0))
    b = np.arcsin(np.clip(WGS84_A_M / d_earth, -1.0, 1.0))
    cos_c = np.sum(to_sun * -r, axis=-1) / (d_sun * d_earth)
    c = np.arccos(np.clip(cos_c, -1.0, 1.0))
    # Linear grading across the penumbra: 1 at c = a + b (first contact), 0 at c = b - a.
    frac = (c - (b - a)) / (2.0 * a)
    return np.asarray(np.clip(frac, 0.0, 1.0))
