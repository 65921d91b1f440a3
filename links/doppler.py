"""Doppler shift and rate on ground and inter-satellite links, residual Doppler after
pre-compensation, and a carrier-tracking (lock) model.

Shift and rate are first order in range-rate:

    doppler_hz        = -freq_hz * range_rate / c
    doppler_rate_hz_s = -freq_hz * range_acceleration / c

so an approaching spacecraft (range-rate < 0) gives a positive shift. Range-rate and
range acceleration come from :mod:`links.geometry` (Earth-fixed relative velocity, i.e.
the Earth-rotation term included; acceleration as a +-0.5 s central difference). For a
750 km orbit this gives about +-6.77 km/s, +-185 kHz at X band (8.2 GHz), +-587 kHz at Ka
(26 GHz), +-4.4 GHz at 1550 nm and up to ~1.85 kHz/s at X band on an overhead pass.

Residual Doppler is what is left when the receiver (or the spacecraft) pre-compensates
the carrier with the Doppler predicted from one orbit (an older TLE, say) while the
spacecraft flies another: true minus predicted, in Hz and Hz/s.

:class:`CarrierTracker` turns a residual into lock state: a loop with a pull-in range
(Hz), a maximum trackable Doppler rate (Hz/s), an acquisition time and a signal threshold
(C/N0 or elevation). It acquires ``acquisition_time_s`` after the residual enters the
pull-in range (with signal present and the rate tolerable) and loses lock when the rate
exceeds the tolerance, the residual leaves the tracking range or the signal drops.

Left out: second-order (relativistic, (v/c)^2) terms, about 5 Hz at X band and 50 kHz
at 1550 nm (1e-5 of the shift); light-time correction of the satellite position
(7.5 ms, see :mod:`links.geometry`); two-way coherent (turn-around) Doppler; oscillator
drift; the loop's own dynamics (the tracker is a threshold model, not a PLL simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.geometry import SPEED_OF_LIGHT_M_S, look_angles, resolve_times
from links.orbit import Satellite, propagate_teme
from links.passes import Pass
from links.stations import GroundStation
from links.times import Epoch, FloatArray

__all__ = [
    "CarrierLock",
    "CarrierTracker",
    "Doppler",
    "DopplerProfile",
    "ResidualDoppler",
    "doppler_rate_hz_s",
    "doppler_shift_hz",
    "ground_doppler",
    "isl_doppler",
    "pass_doppler",
    "residual_doppler",
]

BoolArray = npt.NDArray[np.bool_]

_RANGE_ACCEL_STEP_S = 0.5  # the same central difference as links.geometry


def _freq(freq_hz: float) -> float:
    if not freq_hz > 0.0:
        raise UsageError(f"freq_hz must be a carrier frequency > 0 Hz, got {freq_hz}.")
    return float(freq_hz)


def doppler_shift_hz(range_rate_m_s: npt.ArrayLike, freq_hz: float) -> FloatArray:
    """Doppler shift (Hz) at carrier ``freq_hz``: -f * range_rate / c (approach > 0).

    >>> round(float(doppler_shift_hz(-6770.0, 8.2e9)))
    185178
    """
    return -_freq(freq_hz) * np.asarray(range_rate_m_s, dtype=np.float64) / SPEED_OF_LIGHT_M_S


def doppler_rate_hz_s(range_accel_m_s2: npt.ArrayLike, freq_hz: float) -> FloatArray:
    """Doppler rate (Hz/s) at ``freq_hz``: -f * range_acceleration / c."""
    return -_freq(freq_hz) * np.asarray(range_accel_m_s2, dtype=np.float64) / SPEED_OF_LIGHT_M_S


@dataclass(frozen=True)
class Doppler:
    """Range, range-rate, range acceleration and the Doppler they give, at ``freq_hz``.

    Arrays are (S, M, T) from :func:`ground_doppler` and (T,) from :func:`isl_doppler`;
    ``t_s`` counts seconds from ``epoch``.
    """

    epoch: Epoch
    t_s: FloatArray
    freq_hz: float
    range_m: FloatArray
    range_rate_m_s: FloatArray
    range_accel_m_s2: FloatArray
    doppler_hz: FloatArray
    doppler_rate_hz_s: FloatArray


def ground_doppler(
    satellites: Satellite | Sequence[Satellite],
    stations: GroundStation | Sequence[GroundStation],
    times: Any,
    *,
    freq_hz: float,
    epoch: Epoch | None = None,
) -> Doppler:
    """Doppler shift and rate of satellites seen from stations, arrays (S, M, T).

    ``times`` are datetime64/datetime/ISO values, or float seconds since ``epoch``.
    """
    f = _freq(freq_hz)
    ep, t = resolve_times(times, epoch)
    look = look_angles(satellites, stations, t, epoch=ep, range_acceleration=True)
    accel = look.range_accel_m_s2
    assert accel is not None  # asked for above
    return Doppler(
        epoch=ep,
        t_s=t,
        freq_hz=f,
        range_m=look.range_m,
        range_rate_m_s=look.range_rate_m_s,
        range_accel_m_s2=accel,
        doppler_hz=doppler_shift_hz(look.range_rate_m_s, f),
        doppler_rate_hz_s=doppler_rate_hz_s(accel, f),
    )


def _isl_range(
    a: Satellite, b: Satellite, epoch: Epoch, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    r, v = propagate_teme([a, b], epoch, t)
    # Range and range-rate are frame-independent: both states in TEME will do.
    rho, vel = r[1] - r[0], v[1] - v[0]
    rng = np.linalg.norm(rho, axis=-1)
    return rng, np.sum(rho * vel, axis=-1) / rng


def isl_doppler(
    sat_a: Satellite,
    sat_b: Satellite,
    times: Any,
    *,
    freq_hz: float,
    epoch: Epoch | None = None,
) -> Doppler:
    """Doppler between two spacecraft (an inter-satellite link), arrays (T,).

    Whether the Earth blocks the link is :func:`links.geometry.line_of_sight`'s question.
    """
    f = _freq(freq_hz)
    ep, t = resolve_times(times, epoch)
    rng, rate = _isl_range(sat_a, sat_b, ep, t)
    h = _RANGE_ACCEL_STEP_S
    accel = (_isl_range(sat_a, sat_b, ep, t + h)[1] - _isl_range(sat_a, sat_b, ep, t - h)[1]) / (
        2 * h
    )
    return Doppler(
        epoch=ep,
        t_s=t,
        freq_hz=f,
        range_m=rng,
        range_rate_m_s=rate,
        range_accel_m_s2=accel,
        doppler_hz=doppler_shift_hz(rate, f),
        doppler_rate_hz_s=doppler_rate_hz_s(accel, f),
    )


@dataclass(frozen=True)
class DopplerProfile:
    """One pass sampled every ``step_s``: geometry and Doppler as (T,) arrays."""

    satellite: str
    station: str
    epoch: Epoch
    freq_hz: float
    t_s: FloatArray
    elevation_deg: FloatArray
    azimuth_deg: FloatArray
    range_m: FloatArray
    range_rate_m_s: FloatArray
    doppler_hz: FloatArray
    doppler_rate_hz_s: FloatArray

    @property
    def max_doppler_hz(self) -> float:
        """The largest shift in magnitude, signed."""
        return float(self.doppler_hz[np.argmax(np.abs(self.doppler_hz))])

    @property
    def max_doppler_rate_hz_s(self) -> float:
        """The largest rate in magnitude, signed (negative: the shift falls at TCA)."""
        return float(self.doppler_rate_hz_s[np.argmax(np.abs(self.doppler_rate_hz_s))])

    @property
    def datetimes(self) -> Any:
        """``t_s`` as datetime64[us] UTC."""
        return self.epoch.datetimes(self.t_s)


def pass_doppler(
    satellite: Satellite,
    station: GroundStation,
    contact: Pass,
    *,
    freq_hz: float,
    step_s: float = 1.0,
) -> DopplerProfile:
    """The Doppler profile of ``contact`` (a pass of ``satellite`` over ``station``).

    Samples run from AOS to LOS every ``step_s`` seconds, LOS included.
    """
    if not step_s > 0.0:
        raise UsageError(f"step_s must be > 0 seconds, got {step_s}.")
    f = _freq(freq_hz)
    t = np.arange(contact.aos_s, contact.los_s, step_s)
    t = np.append(t, contact.los_s) if t.size == 0 or t[-1] < contact.los_s else t
    d = ground_doppler(satellite, station, t, freq_hz=f, epoch=contact.epoch)
    look = look_angles(satellite, station, t, epoch=contact.epoch)
    return DopplerProfile(
        satellite=contact.satellite,
        station=contact.station,
        epoch=contact.epoch,
        freq_hz=f,
        t_s=t,
        elevation_deg=look.elevation_deg[0, 0],
        azimuth_deg=look.azimuth_deg[0, 0],
        range_m=d.range_m[0, 0],
        range_rate_m_s=d.range_rate_m_s[0, 0],
        doppler_hz=d.doppler_hz[0, 0],
        doppler_rate_hz_s=d.doppler_rate_hz_s[0, 0],
    )


@dataclass(frozen=True)
class ResidualDoppler:
    """True and predicted Doppler, and what pre-compensation leaves: arrays (T,)."""

    epoch: Epoch
    t_s: FloatArray
    freq_hz: float
    true_hz: FloatArray
    predicted_hz: FloatArray
    residual_hz: FloatArray
    residual_rate_hz_s: FloatArray
    elevation_deg: FloatArray


def residual_doppler(
    true_satellite: Satellite,
    predicted_satellite: Satellite,
    station: GroundStation,
    times: Any,
    *,
    freq_hz: float,
    epoch: Epoch | None = None,
) -> ResidualDoppler:
    """Doppler left after pre-compensating with ``predicted_satellite``'s orbit.

    ``residual_hz`` = true - predicted shift; ``residual_rate_hz_s`` likewise for the
    rate. Identical orbits give exactly zero.
    """
    f = _freq(freq_hz)
    ep, t = resolve_times(times, epoch)
    true = ground_doppler(true_satellite, station, t, freq_hz=f, epoch=ep)
    pred = ground_doppler(predicted_satellite, station, t, freq_hz=f, epoch=ep)
    elevation = look_angles(true_satellite, station, t, epoch=ep).elevation_deg[0, 0]
    return ResidualDoppler(
        epoch=ep,
        t_s=t,
        freq_hz=f,
        true_hz=true.doppler_hz[0, 0],
        predicted_hz=pred.doppler_hz[0, 0],
        residual_hz=true.doppler_hz[0, 0] - pred.doppler_hz[0, 0],
        residual_rate_hz_s=true.doppler_rate_hz_s[0, 0] - pred.doppler_rate_hz_s[0, 0],
        elevation_deg=elevation,
    )


@dataclass(frozen=True)
class CarrierLock:
    """When a :class:`CarrierTracker` holds lock over a time array.

    ``locked[k]`` says whether the carrier is tracked at ``t_s[k]``; ``intervals`` are
    the (lock_s, unlock_s) spans, the last one ending at ``t_s[-1]`` if still locked.
    """

    t_s: FloatArray
    locked: BoolArray
    intervals: tuple[tuple[float, float], ...]
    acquisitions: int
    losses: int

    @property
    def locked_time_s(self) -> float:
        return float(sum(b - a for a, b in self.intervals))

    @property
    def first_lock_s(self) -> float | None:
        return self.intervals[0][0] if self.intervals else None


@dataclass(frozen=True)
class CarrierTracker:
    """A carrier-tracking receiver as a threshold model.

    - ``pull_in_range_hz``: |residual| within which the loop can acquire;
    - ``max_rate_hz_s``: the largest |Doppler rate| the loop follows (a 2nd-order PLL
      tracks a frequency ramp with a phase error growing with rate / loop bandwidth^2);
    - ``acquisition_time_s``: how long the residual must stay in the pull-in range (with
      signal and a tolerable rate) before lock is declared;
    - ``tracking_range_hz``: |residual| beyond which lock is lost (default: the pull-in
      range; a loop usually holds a little further than it pulls in);
    - ``min_cn0_dbhz`` / ``min_elevation_deg``: the signal counts as present only above
      these (either or both; None disables the test).
    """

    pull_in_range_hz: float
    max_rate_hz_s: float
    acquisition_time_s: float = 0.0
    tracking_range_hz: float | None = None
    min_cn0_dbhz: float | None = None
    min_elevation_deg: float | None = None

    def __post_init__(self) -> None:
        if not self.pull_in_range_hz > 0.0:
            raise UsageError(f"pull_in_range_hz must be > 0, got {self.pull_in_range_hz}.")
        if not self.max_rate_hz_s > 0.0:
            raise UsageError(f"max_rate_hz_s must be > 0, got {self.max_rate_hz_s}.")
        if not self.acquisition_time_s >= 0.0:
            raise UsageError(f"acquisition_time_s must be >= 0, got {self.acquisition_time_s}.")
        if self.tracking_range_hz is not None and self.tracking_range_hz < self.pull_in_range_hz:
            raise UsageError(
                f"tracking_range_hz ({self.tracking_range_hz}) must be at least the pull-in "
                f"range ({self.pull_in_range_hz}); a loop holds at least what it pulls in."
            )

    def track(
        self,
        t_s: npt.ArrayLike,
        residual_hz: npt.ArrayLike,
        residual_rate_hz_s: npt.ArrayLike,
        *,
        cn0_dbhz: npt.ArrayLike | None = None,
        elevation_deg: npt.ArrayLike | None = None,
    ) -> CarrierLock:
        """Lock state at each time of ``t_s`` (increasing seconds), from the residual.

        Sampling decides resolution: acquisition completes at the first sample at least
        ``acquisition_time_s`` after the residual entered the pull-in range, and a loss
        takes effect at the first sample that breaks a condition.
        """
        t = np.asarray(t_s, dtype=np.float64)
        res = np.broadcast_to(np.asarray(residual_hz, dtype=np.float64), t.shape)
        rate = np.broadcast_to(np.asarray(residual_rate_hz_s, dtype=np.float64), t.shape)
        if t.ndim != 1:
            raise UsageError("t_s must be a one-dimensional array of times in seconds.")
        if t.size > 1 and not np.all(np.diff(t) > 0.0):
            raise UsageError("t_s must be strictly increasing.")
        present = np.ones(t.shape, dtype=bool)
        if self.min_cn0_dbhz is not None:
            if cn0_dbhz is None:
                raise UsageError("This tracker has min_cn0_dbhz: pass cn0_dbhz=... to track().")
            present &= np.broadcast_to(np.asarray(cn0_dbhz, np.float64), t.shape) >= (
                self.min_cn0_dbhz
            )
        if self.min_elevation_deg is not None:
            if elevation_deg is None:
                raise UsageError(
                    "This tracker has min_elevation_deg: pass elevation_deg=... to track()."
                )
            present &= np.broadcast_to(np.asarray(elevation_deg, np.float64), t.shape) >= (
                self.min_elevation_deg
            )
        hold_range = (
            self.pull_in_range_hz if self.tracking_range_hz is None else self.tracking_range_hz
        )
        ok = present & (np.abs(rate) <= self.max_rate_hz_s)  # NaN compares False: no lock
        can_acquire = (ok & (np.abs(res) <= self.pull_in_range_hz)).tolist()
        can_hold = (ok & (np.abs(res) <= hold_range)).tolist()
        times = t.tolist()

        locked = np.zeros(t.shape, dtype=bool)
        intervals: list[tuple[float, float]] = []
        acquisitions = losses = 0
        is_locked = False
        entered: float | None = None
        lock_start = 0.0
        for k, now in enumerate(times):
            if is_locked:
                if can_hold[k]:
                    locked[k] = True
                    continue
                is_locked, losses = False, losses + 1
                intervals.append((lock_start, now))
                entered = None
            if can_acquire[k]:
                if entered is None:
                    entered = now
                if now - entered >= self.acquisition_time_s:
                    is_locked, lock_start, acquisitions = True, now, acquisitions + 1
                    locked[k] = True
            else:
                entered = None
        if is_locked:
            intervals.append((lock_start, times[-1]))
        return CarrierLock(
            t_s=t,
            locked=locked,
            intervals=tuple(intervals),
            acquisitions=acquisitions,
            losses=losses,
        )
