"""Ground stations: WGS-84 position, elevation mask and optional horizon profile.

The effective mask at an azimuth is the larger of ``min_elevation_deg`` and the horizon
profile there (terrain, buildings, keyhole-free antenna limits). The profile is a list of
(azimuth_deg, elevation_deg) points, interpolated linearly in azimuth around the circle.
Left out: refraction (a few tenths of a degree near the horizon -- fold it into the mask
if it matters) and antenna slew-rate limits (a scheduling concern, not geometry).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.frames import ecef_to_enu_matrix, geodetic_to_ecef
from links.times import FloatArray

__all__ = ["GroundStation"]


@dataclass(frozen=True, eq=False)
class GroundStation:
    """A ground antenna at a WGS-84 geodetic position.

    >>> GroundStation(78.23, 15.39, 500.0, name="Svalbard", min_elevation_deg=5.0).name
    'Svalbard'
    """

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    name: str = ""
    min_elevation_deg: float = 0.0
    horizon: Sequence[tuple[float, float]] | None = None
    node_number: int | None = None
    ecef_m: FloatArray = field(init=False, repr=False)
    enu: FloatArray = field(init=False, repr=False)
    _horizon_az: FloatArray | None = field(init=False, repr=False)
    _horizon_el: FloatArray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat_deg <= 90.0:
            raise UsageError(f"lat_deg must be in [-90, 90], got {self.lat_deg}.")
        if not -180.0 <= self.lon_deg <= 360.0:
            raise UsageError(f"lon_deg must be in [-180, 360], got {self.lon_deg}.")
        if not -500.0 <= self.alt_m <= 10_000.0:
            raise UsageError(
                f"alt_m is the height above the WGS-84 ellipsoid in metres (-500..10000), "
                f"got {self.alt_m}."
            )
        if not -90.0 < self.min_elevation_deg < 90.0:
            raise UsageError(
                f"min_elevation_deg must be in (-90, 90), got {self.min_elevation_deg}."
            )
        object.__setattr__(self, "ecef_m", geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m))
        object.__setattr__(self, "enu", ecef_to_enu_matrix(self.lat_deg, self.lon_deg))
        az_arr: FloatArray | None = None
        el_arr: FloatArray | None = None
        if self.horizon is not None:
            points = sorted((float(a) % 360.0, float(e)) for a, e in self.horizon)
            if not points:
                raise UsageError(
                    "horizon must list at least one (azimuth_deg, elevation_deg) pair."
                )
            if any(not -90.0 < e < 90.0 for _, e in points):
                raise UsageError("horizon elevations must be in (-90, 90) degrees.")
            az = [a for a, _ in points]
            el = [e for _, e in points]
            # Wrap one point either side so interpolation is periodic in azimuth.
            az_arr = np.array([az[-1] - 360.0, *az, az[0] + 360.0])
            el_arr = np.array([el[-1], *el, el[0]])
            object.__setattr__(self, "horizon", tuple(points))
        object.__setattr__(self, "_horizon_az", az_arr)
        object.__setattr__(self, "_horizon_el", el_arr)

    @property
    def has_horizon(self) -> bool:
        return self._horizon_az is not None

    @property
    def lowest_mask_deg(self) -> float:
        """The lowest elevation the mask allows anywhere (the coarse-search threshold)."""
        if self._horizon_el is None:
            return self.min_elevation_deg
        return max(self.min_elevation_deg, float(np.min(self._horizon_el)))

    def mask_deg(
        self, azimuth_deg: npt.ArrayLike, min_elevation_deg: float | None = None
    ) -> FloatArray:
        """Effective elevation mask (deg) at each azimuth."""
        floor = self.min_elevation_deg if min_elevation_deg is None else min_elevation_deg
        az = np.asarray(azimuth_deg, dtype=np.float64)
        if self._horizon_az is None or self._horizon_el is None:
            return np.full(az.shape, floor)
        return np.maximum(floor, np.interp(az % 360.0, self._horizon_az, self._horizon_el))

    def label(self) -> str:
        return self.name or f"{self.lat_deg:.3f},{self.lon_deg:.3f}"

    @property
    def sin_min_elevation(self) -> float:
        return math.sin(math.radians(self.min_elevation_deg))
