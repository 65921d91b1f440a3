"""Satellites as SGP4 element sets, and their vectorized propagation.

A :class:`Satellite` wraps an ``sgp4.api.Satrec`` built from a two-line element set or
from mean elements (``Satrec.sgp4init``, WGS-72 constants as SGP4 requires). Many
satellites are propagated at many times at once with ``sgp4.api.SatrecArray`` (the C++
extension; :data:`ACCELERATED` says whether it is in use -- the pure-Python fallback is
about 100x slower).

Left out: element-set fitting, other propagators (numerical, SDP4 is used automatically
by sgp4 for deep-space orbits), manoeuvres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sgp4.api import WGS72, Satrec, SatrecArray, accelerated

from comms.errors import UsageError
from links.times import Epoch, FloatArray, TimeLike

__all__ = ["ACCELERATED", "Satellite", "propagate_teme"]

ACCELERATED: bool = bool(accelerated)

# WGS-72 gravitational parameter (km^3/s^2): the constant SGP4 itself uses, so a
# Keplerian semi-major axis converts to the mean motion SGP4 will reproduce.
_MU_WGS72_KM3_S2 = 398600.8
_SGP4_EPOCH_JD = 2433281.5  # 1949 December 31 00:00 UT, sgp4init's epoch origin


@dataclass(frozen=True, eq=False)
class Satellite:
    """One spacecraft: a name and its SGP4 element set (``satrec``)."""

    satrec: Satrec
    name: str = ""
    node_number: int | None = field(default=None)

    def __post_init__(self) -> None:
        if getattr(self.satrec, "error", 0):
            raise UsageError(
                f"The element set of {self.name or 'this satellite'} failed SGP4 "
                f"initialisation (error {self.satrec.error}); check the elements."
            )

    @classmethod
    def from_tle(cls, line1: str, line2: str, name: str = "") -> Satellite:
        """A satellite from the two lines of a NORAD two-line element set."""
        if not (line1.startswith("1 ") and line2.startswith("2 ")):
            raise UsageError(
                "A two-line element set needs line 1 starting with '1 ' and line 2 with '2 '."
            )
        satrec = Satrec.twoline2rv(line1.rstrip(), line2.rstrip())
        return cls(satrec, name or f"NORAD {satrec.satnum}")

    @classmethod
    def from_elements(
        cls,
        *,
        epoch: TimeLike,
        semi_major_axis_km: float,
        eccentricity: float,
        inclination_deg: float,
        raan_deg: float,
        arg_perigee_deg: float,
        mean_anomaly_deg: float,
        bstar: float = 0.0,
        satnum: int = 99999,
        name: str = "",
    ) -> Satellite:
        """A satellite from mean elements, built with ``Satrec.sgp4init``.

        The mean motion is sqrt(mu / a^3) with SGP4's own WGS-72 mu, handed to SGP4 as
        its (Kozai) mean motion; SGP4's J2 recovery then places the mean orbit within a
        few km of ``semi_major_axis_km``, far below what a pass prediction notices.
        ``bstar`` 0 means no drag (an ideal, non-decaying orbit).
        """
        if not semi_major_axis_km > 6378.135:
            raise UsageError(
                f"semi_major_axis_km must exceed the Earth's radius (6378 km), got "
                f"{semi_major_axis_km}; pass the radius, not the altitude."
            )
        if not 0.0 <= eccentricity < 1.0:
            raise UsageError(f"eccentricity must be in [0, 1), got {eccentricity}.")
        if not 0.0 <= inclination_deg <= 180.0:
            raise UsageError(f"inclination_deg must be in [0, 180], got {inclination_deg}.")
        if not 0 <= satnum <= 339999:
            raise UsageError(f"satnum must be in 0..339999 (alpha-5 range), got {satnum}.")
        ep = Epoch.of(epoch)
        whole, frac = ep.jd_pair
        n_rad_min = math.sqrt(_MU_WGS72_KM3_S2 / semi_major_axis_km**3) * 60.0
        satrec = Satrec()
        satrec.sgp4init(
            WGS72,
            "i",
            satnum,
            (whole - _SGP4_EPOCH_JD) + frac,
            bstar,
            0.0,
            0.0,
            eccentricity,
            math.radians(arg_perigee_deg % 360.0),
            math.radians(inclination_deg),
            math.radians(mean_anomaly_deg % 360.0),
            n_rad_min,
            math.radians(raan_deg % 360.0),
        )
        return cls(satrec, name or f"SAT {satnum}")

    @property
    def epoch(self) -> Epoch:
        """The element set's epoch (UTC)."""
        jd = self.satrec.jdsatepoch + self.satrec.jdsatepochF
        return Epoch(
            np.datetime64("1970-01-01", "us")
            + np.timedelta64(round((jd - 2440587.5) * 86_400_000_000), "us")
        )

    @property
    def inclination_deg(self) -> float:
        return math.degrees(float(self.satrec.inclo))

    @property
    def period_s(self) -> float:
        """Anomalistic period from SGP4's un-Kozaied mean motion (``no``, rad/min)."""
        return 2.0 * math.pi / float(self.satrec.no) * 60.0

    def propagate_teme(self, epoch: Epoch, t_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Position (m) and velocity (m/s) in TEME at ``t_s`` seconds after ``epoch``.

        Shapes (T, 3). Times where SGP4 fails (decay, e >= 1) come back as NaN.
        """
        jd, fr = epoch.jd_fr(np.atleast_1d(np.asarray(t_s, dtype=np.float64)))
        err, r, v = self.satrec.sgp4_array(jd, fr)
        r = np.asarray(r) * 1e3
        v = np.asarray(v) * 1e3
        bad = np.asarray(err) != 0
        if bad.any():
            r[bad] = np.nan
            v[bad] = np.nan
        return r, v


def propagate_teme(
    satellites: Sequence[Satellite], epoch: Epoch, t_s: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Positions (m) and velocities (m/s) in TEME, shape (S, T, 3), via SatrecArray.

    Entries where SGP4 reports an error are NaN (so they never count as visible).
    """
    if not satellites:
        raise UsageError("propagate_teme needs at least one satellite.")
    jd, fr = epoch.jd_fr(np.atleast_1d(np.asarray(t_s, dtype=np.float64)))
    array = SatrecArray([s.satrec for s in satellites])
    err, r, v = array.sgp4(jd, fr)
    r *= 1e3
    v *= 1e3
    bad = err != 0
    if bad.any():
        r[bad] = np.nan
        v[bad] = np.nan
    return r, v
