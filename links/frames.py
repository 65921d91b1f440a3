"""Reference frames: TEME (SGP4 output), Earth-fixed (ECEF) and WGS-84 geodetic.

TEME -> ECEF is a single rotation about z by the IAU-82 Greenwich mean sidereal time,
the model SGP4's TEME is defined against (Vallado et al., "Revisiting Spacetrack
Report #3", AIAA 2006-6753, sec. on TEME; skyfield's ``TEME`` frame does the same).
Velocities carry the Earth-rotation term -omega x r so range-rates come out right.

Left out, on purpose: polar motion (at most ~15 m of pole offset, below the accuracy of
a TLE), the equation of the equinoxes (TEME absorbs it), and UT1 - UTC (UTC is used
as UT1; see :mod:`links.times`). The "inertial" frame offered here is TEME itself:
good enough for Sun direction, eclipse and inter-satellite geometry, not for astrometry.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from links.times import FloatArray

__all__ = [
    "EARTH_ROTATION_RAD_S",
    "WGS84_A_M",
    "WGS84_B_M",
    "WGS84_F",
    "ecef_to_enu_matrix",
    "geodetic_to_ecef",
    "gmst_rad",
    "teme_to_ecef",
]

WGS84_A_M = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
_E2 = WGS84_F * (2.0 - WGS84_F)
# Vallado's nominal Earth rotation rate (rad/s) for TEME/PEF velocity transforms.
EARTH_ROTATION_RAD_S = 7.292115146706979e-5


def gmst_rad(julian_centuries_ut1: npt.ArrayLike) -> FloatArray:
    """IAU-82 Greenwich mean sidereal time (radians in [0, 2 pi)) at T centuries of UT1.

    GMST(s) = 67310.54841 + (876600 h + 8640184.812866) T + 0.093104 T^2 - 6.2e-6 T^3
    (Aoki et al. 1982; the form used by Vallado's ``gstime`` for TEME).
    """
    t = np.asarray(julian_centuries_ut1, dtype=np.float64)
    seconds = (
        67310.54841 + (876600.0 * 3600.0 + 8640184.812866) * t + 0.093104 * t * t - 6.2e-6 * t**3
    )
    return np.asarray(np.remainder(seconds * (2.0 * np.pi / 86400.0), 2.0 * np.pi))


def teme_to_ecef(
    r_teme: npt.ArrayLike, v_teme: npt.ArrayLike, gmst: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Rotate TEME position/velocity (any units, last axis xyz) to Earth-fixed.

    ``gmst`` (radians) broadcasts against the leading axes of ``r_teme`` (typically one
    value per time, last time axis). The velocity gets -omega x r: the Earth-fixed
    velocity, which is what a station on the ground sees.
    """
    r = np.asarray(r_teme, dtype=np.float64)
    v = np.asarray(v_teme, dtype=np.float64)
    theta = np.asarray(gmst, dtype=np.float64)
    c, s = np.cos(theta), np.sin(theta)
    x, y = r[..., 0], r[..., 1]
    xe = c * x + s * y
    ye = -s * x + c * y
    r_e = np.stack([xe, ye, r[..., 2]], axis=-1)
    vx, vy = v[..., 0], v[..., 1]
    w = EARTH_ROTATION_RAD_S
    v_e = np.stack([c * vx + s * vy + w * ye, -s * vx + c * vy - w * xe, v[..., 2]], axis=-1)
    return r_e, v_e


def geodetic_to_ecef(
    lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, alt_m: npt.ArrayLike
) -> FloatArray:
    """WGS-84 geodetic latitude/longitude (deg) and ellipsoidal height (m) to ECEF metres."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    h = np.asarray(alt_m, dtype=np.float64)
    n = WGS84_A_M / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    return np.stack(
        [
            (n + h) * np.cos(lat) * np.cos(lon),
            (n + h) * np.cos(lat) * np.sin(lon),
            (n * (1.0 - _E2) + h) * np.sin(lat),
        ],
        axis=-1,
    )


def ecef_to_enu_matrix(lat_deg: float, lon_deg: float) -> FloatArray:
    """Rows are the local east, north and up unit vectors in ECEF (geodetic normal)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    return np.array(
        [
            [-so, co, 0.0],
            [-sl * co, -sl * so, cl],
            [cl * co, cl * so, sl],
        ]
    )
