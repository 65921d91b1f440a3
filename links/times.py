"""Time arrays for geometry: an explicit UTC epoch plus float seconds.

Every geometry function in :mod:`links` takes times as float seconds since an explicit
:class:`Epoch` (or as ``numpy.datetime64`` UTC values, converted here). Nothing here reads
the wall clock (ARCHITECTURE.md rule 2): scenario time is always passed in.

What is left out: leap seconds and UT1. Times are UTC and are used as UT1 for Earth
rotation (|UT1 - UTC| < 0.9 s, i.e. at most ~0.4 km of ground motion at the equator,
a few milliseconds of pass timing) and as the TLE time scale (TLE epochs are UTC).
A span that straddles a leap second is off by that second.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError

__all__ = ["Epoch", "FloatArray", "TimeLike", "to_datetime64"]

FloatArray = npt.NDArray[np.float64]
TimeLike = _dt.datetime | np.datetime64 | str

_UNIX_JD = 2440587.5  # Julian date of 1970-01-01T00:00:00 UTC
_US_PER_DAY = 86_400_000_000


def to_datetime64(value: Any) -> Any:
    """``value`` (datetime, ISO string, datetime64 or an array of them) as datetime64[us].

    A naive ``datetime`` is taken as UTC; an aware one is converted to UTC first.
    """
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return np.datetime64(value, "us")
    if isinstance(value, str):
        return np.datetime64(value.rstrip("Z"), "us")
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[us]")
    arr = np.asarray(value)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[us]")
    if arr.dtype == object or arr.dtype.kind == "U":
        return np.array([to_datetime64(v) for v in arr.ravel()], dtype="datetime64[us]").reshape(
            arr.shape
        )
    raise UsageError(
        f"A time must be a datetime, an ISO 8601 string or numpy datetime64, not {type(value)!r}; "
        "pass float seconds together with an explicit Epoch instead."
    )


@dataclass(frozen=True)
class Epoch:
    """A UTC instant that float-second time arrays count from.

    >>> e = Epoch.of("2024-03-20T00:00:00")
    >>> e.datetimes([0.0, 90.5])[1]
    np.datetime64('2024-03-20T00:01:30.500000')
    """

    utc: np.datetime64

    def __post_init__(self) -> None:
        if not isinstance(self.utc, np.datetime64):
            raise UsageError("Epoch.utc must be a numpy datetime64; use Epoch.of(...) to convert.")
        object.__setattr__(self, "utc", self.utc.astype("datetime64[us]"))

    @classmethod
    def of(cls, value: TimeLike) -> Epoch:
        """An epoch from a datetime (naive means UTC), ISO string or datetime64."""
        return cls(to_datetime64(value))

    @property
    def jd(self) -> float:
        """Julian date (UTC) of the epoch, as one float (about 20 us resolution)."""
        whole, frac = self.jd_pair
        return whole + frac

    @property
    def jd_pair(self) -> tuple[float, float]:
        """Julian date split into a half-integer day and a fraction, for sgp4 precision."""
        us = int(self.utc.astype("datetime64[us]").astype(np.int64))
        days, rem = divmod(us, _US_PER_DAY)
        return _UNIX_JD + days, rem / _US_PER_DAY

    def seconds(self, times: Any) -> FloatArray:
        """Seconds since this epoch of ``times`` (datetimes, strings or datetime64)."""
        t = to_datetime64(times)
        return np.asarray((t - self.utc) / np.timedelta64(1, "us"), dtype=np.float64) * 1e-6

    def datetimes(self, t_s: npt.ArrayLike) -> Any:
        """``t_s`` seconds since the epoch as datetime64[us] UTC (rounded to 1 us)."""
        us = np.rint(np.asarray(t_s, dtype=np.float64) * 1e6).astype(np.int64)
        return self.utc + us.astype("timedelta64[us]")

    def datetime(self, t_s: float) -> _dt.datetime:
        """One instant ``t_s`` seconds after the epoch as an aware UTC ``datetime``."""
        us = round(float(t_s) * 1e6)
        base: _dt.datetime = self.utc.astype(_dt.datetime)
        return (base + _dt.timedelta(microseconds=us)).replace(tzinfo=_dt.UTC)

    def jd_fr(self, t_s: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(jd, fr) arrays as sgp4 wants them: whole part and day fraction, UTC."""
        whole, frac = self.jd_pair
        fr = frac + np.asarray(t_s, dtype=np.float64) / 86_400.0
        shift = np.floor(fr)
        fr = fr - shift
        # A tiny negative fraction rounds up to exactly 1.0 after the shift: carry it.
        carry = fr >= 1.0
        return np.full_like(fr, whole) + shift + carry, np.where(carry, fr - 1.0, fr)

    def julian_centuries_j2000(self, t_s: npt.ArrayLike) -> FloatArray:
        """Julian centuries since J2000.0 (UTC used as UT1/TT, see the module docstring)."""
        whole, frac = self.jd_pair
        return ((whole - 2451545.0) + (frac + np.asarray(t_s, dtype=np.float64) / 86_400.0)) / (
            36525.0
        )
