"""Contact windows (passes) of many satellites over many ground stations.

Method, in four stages (all vectorized over satellites, stations and windows):

1. Coarse grid. All satellites are propagated together (``SatrecArray``) once, on a grid
   of ``step_s`` seconds (automatic by default: at most 120 s, see stage 3), and rotated
   to Earth-fixed (ECEF).
2. Geometric screen. For every satellite, station and grid time we take the central
   angle psi between the satellite's position vector and the station's geocentric
   direction. A satellite can only be above a mask of eps degrees when
   psi <= psi_max = 90 - eps' - asin(R_g cos eps' / r_max), the spherical horizon cone,
   with eps' = eps - delta (delta: the station's geodetic-minus-geocentric vertical,
   at most 0.19 deg, which bounds the gap between the true and the "geocentric"
   elevation) and r_max an upper bound on the satellite's radius (apogee + 20 km).
   psi changes no faster than omega = 1.05 x the Keplerian angular rate at perigee plus
   the Earth's rotation (in ECEF the station does not move, so psi's rate is bounded by
   the angular rate of the satellite's direction; the 5 % covers SGP4's short-period
   terms and drag). Hence if the satellite is visible at any instant t of a grid interval
   [t_i, t_i+1] of length h, then psi_i <= psi(t) + omega (t - t_i) and psi_i+1 <=
   psi(t) + omega (t_i+1 - t), so **(psi_i + psi_i+1 - omega h) / 2 <= psi_max**. Every
   interval failing that test provably holds no visibility, of any duration; only the
   few percent that pass it (the "candidates") are looked at further.
3. Candidate intervals. Inside a grid interval the ECEF track is the cubic Hermite
   interpolant of the positions and velocities at its ends (error <= h^4/384 |r''''|,
   about omega^4 r h^4 / 384: under 20 m for LEO at h = 120 s, i.e. a few milliseconds of
   AOS/LOS; the automatic step keeps this bound under 20 m for the fastest satellite).
   With f = sin(elevation) - sin(mask) and its time derivative at both ends: a sign
   change brackets one AOS or LOS; two negative ends with f rising then falling bracket
   a possible short pass, whose maximum is found by bisecting f' and, if it clears the
   mask, gives an AOS and a LOS. This assumes at most one extremum of elevation per grid
   interval, true for passes (one maximum each, minutes apart) of any Earth orbit.
   Stations with a horizon profile make f kinked (the mask follows azimuth), so their
   candidate intervals are sampled every ``fine_step_s`` (1 s) instead.
4. Refinement. All brackets of all pairs are bisected together on the interpolant to
   ``tolerance_s``; TCA is the root of d(elevation)/dt between AOS and LOS, to the same
   tolerance. No SGP4 call happens after stage 1.

A pass already in progress at ``start`` or still in progress at ``end`` is clipped to the
span and flagged (``aos_clipped`` / ``los_clipped``). Elevation is geometric (no
refraction); see :mod:`links.geometry` and :mod:`links.frames` for what the frames leave
out. The result is checked against a brute-force 1 s grid and against skyfield's
``find_events`` in the tests.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.frames import EARTH_ROTATION_RAD_S, gmst_rad, teme_to_ecef
from links.orbit import Satellite, propagate_teme
from links.stations import GroundStation
from links.times import Epoch, FloatArray, TimeLike

__all__ = ["Pass", "coarse_step_s", "find_contacts", "find_passes"]

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

MAX_COARSE_STEP_S = 120.0
# Hermite interpolation error budget (m): 20 m at 2000+ km slant range moves AOS/LOS by
# a few milliseconds, far inside any tolerance_s worth asking for.
INTERPOLATION_ERROR_M = 20.0
_RATE_MARGIN = 1.05  # on the Keplerian perigee rate: SGP4 short-period terms, drag
_RADIUS_MARGIN_M = 20e3  # on the apogee radius: SGP4 short-period radial terms (~5 km)
_MU_WGS72_M3_S2 = 398600.8e9
# Elements per (satellites x times x stations) screening array: ~32 MB per float array.
_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Pass:
    """One contact window of a satellite over a station.

    ``aos``/``tca``/``los`` are aware UTC datetimes; ``aos_s``/``tca_s``/``los_s`` the
    same instants as seconds since ``epoch`` (the search start), for contact plans.
    """

    satellite: str
    station: str
    epoch: Epoch
    aos_s: float
    tca_s: float
    los_s: float
    max_elevation_deg: float
    aos_azimuth_deg: float
    tca_azimuth_deg: float
    los_azimuth_deg: float
    tca_range_m: float
    aos_range_m: float
    los_range_m: float
    satellite_index: int = 0
    station_index: int = 0
    aos_clipped: bool = False
    los_clipped: bool = False

    @property
    def aos(self) -> _dt.datetime:
        return self.epoch.datetime(self.aos_s)

    @property
    def tca(self) -> _dt.datetime:
        return self.epoch.datetime(self.tca_s)

    @property
    def los(self) -> _dt.datetime:
        return self.epoch.datetime(self.los_s)

    @property
    def max_elevation(self) -> float:
        """Alias of ``max_elevation_deg``."""
        return self.max_elevation_deg

    @property
    def duration_s(self) -> float:
        return self.los_s - self.aos_s

    @property
    def duration(self) -> _dt.timedelta:
        return _dt.timedelta(seconds=self.duration_s)


def _angular_rate_bound_rad_s(sat: Satellite) -> float:
    """Upper bound on the ECEF angular rate of the satellite's position vector."""
    n = float(sat.satrec.no_kozai) / 60.0
    e = min(float(sat.satrec.ecco), 0.999)
    return _RATE_MARGIN * n * math.sqrt(1.0 + e) / math.pow(1.0 - e, 1.5) + EARTH_ROTATION_RAD_S


def _apogee_radius_m(sat: Satellite) -> float:
    return (1.0 + float(sat.satrec.alta)) * float(sat.satrec.radiusearthkm) * 1e3


def coarse_step_s(satellites: Sequence[Satellite]) -> float:
    """The automatic coarse grid step for ``satellites`` (s), at most 120 s.

    The largest step whose cubic Hermite interpolation error bound, with
    |r''''| <= 3 omega^4 r_apogee, stays under :data:`INTERPOLATION_ERROR_M`.
    """
    worst = max(_angular_rate_bound_rad_s(s) ** 4 * _apogee_radius_m(s) for s in satellites)
    return min(MAX_COARSE_STEP_S, math.pow(384.0 * INTERPOLATION_ERROR_M / (3.0 * worst), 0.25))


class _Track:
    """ECEF states of a group of satellites on the grid, and the stations' frames."""

    def __init__(
        self,
        r: FloatArray,
        v: FloatArray,
        t_grid: FloatArray,
        stations: Sequence[GroundStation],
        floors: FloatArray,
    ) -> None:
        self.r, self.v, self.t = r, v, t_grid
        self.h = float(t_grid[1] - t_grid[0])
        self.stations = stations
        self.floors = floors
        self.sin_floor = np.sin(np.radians(floors))
        self.pos = np.array([s.ecef_m for s in stations])
        self.enu = np.array([s.enu for s in stations])
        self.horizon = [k for k, s in enumerate(stations) if s.has_horizon]

    def interval(self, t: FloatArray) -> IntArray:
        return np.clip((t / self.h).astype(np.intp), 0, self.t.size - 2)

    def grid_sin_el(self, s: IntArray, k: IntArray, m: IntArray) -> tuple[FloatArray, FloatArray]:
        """(sin elevation, its rate) at grid points ``k``: exact SGP4 samples."""
        rho = self.r[s, k] - self.pos[m]
        vel = self.v[s, k]
        up = self.enu[m, 2]
        rng = np.sqrt(np.einsum("ij,ij->i", rho, rho))
        sin_el = np.einsum("ij,ij->i", rho, up) / rng
        rate = np.einsum("ij,ij->i", vel, up) - sin_el * np.einsum("ij,ij->i", rho, vel) / rng
        return sin_el, rate / rng


class _Batch:
    """Satellite ``s`` seen from station ``m`` inside grid interval ``i``, one row each.

    The relative position is the cubic Hermite interpolant of the interval's end
    states, held as polynomial coefficients in x = (t - t_i) / h.
    """

    def __init__(self, track: _Track, s: IntArray, i: IntArray, m: IntArray) -> None:
        h = track.h
        p0, p1 = track.r[s, i], track.r[s, i + 1]
        v0, v1 = track.v[s, i] * h, track.v[s, i + 1] * h
        self.track, self.s, self.m, self.h = track, s, m, h
        self.t0 = track.t[i]
        self.c0 = p0 - track.pos[m]
        self.c1 = v0
        self.c2 = 3.0 * (p1 - p0) - 2.0 * v0 - v1
        self.c3 = 2.0 * (p0 - p1) + v0 + v1
        self.up = track.enu[m, 2]
        self.sin_mask = track.sin_floor[m]
        self.has_horizon = bool(track.horizon) and bool(np.isin(m, track.horizon).any())

    def take(self, sel: BoolArray | IntArray) -> _Batch:
        other = object.__new__(_Batch)
        other.__dict__.update(self.__dict__)
        for name in ("s", "m", "t0", "c0", "c1", "c2", "c3", "up", "sin_mask"):
            setattr(other, name, getattr(self, name)[sel])
        return other

    def rho(self, t: FloatArray) -> FloatArray:
        x = ((t - self.t0) / self.h)[:, None]
        return np.asarray(self.c0 + x * (self.c1 + x * (self.c2 + x * self.c3)))

    def sin_el(self, t: FloatArray) -> tuple[FloatArray, FloatArray]:
        """sin(elevation) and its time derivative."""
        x = ((t - self.t0) / self.h)[:, None]
        rho = self.c0 + x * (self.c1 + x * (self.c2 + x * self.c3))
        vel = (self.c1 + x * (2.0 * self.c2 + 3.0 * x * self.c3)) / self.h
        rng = np.sqrt(np.einsum("ij,ij->i", rho, rho))
        sin_el = np.einsum("ij,ij->i", rho, self.up) / rng
        rate = np.einsum("ij,ij->i", vel, self.up) - sin_el * np.einsum("ij,ij->i", rho, vel) / rng
        return sin_el, rate / rng

    def margin(self, t: FloatArray) -> FloatArray:
        """sin(elevation) - sin(mask): >= 0 where the satellite is visible."""
        rho = self.rho(t)
        sin_el = np.einsum("ij,ij->i", rho, self.up) / np.sqrt(np.einsum("ij,ij->i", rho, rho))
        if not self.has_horizon:
            return np.asarray(sin_el - self.sin_mask)
        sin_mask = self.sin_mask.copy()
        track = self.track
        for k in track.horizon:
            sel = self.m == k
            if sel.any():
                enu = rho[sel] @ track.enu[k].T
                az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1]))
                mask = track.stations[k].mask_deg(az, float(track.floors[k]))
                sin_mask[sel] = np.sin(np.radians(mask))
        return np.asarray(sin_el - sin_mask)

    def look(self, t: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(azimuth_deg, elevation_deg, range_m)."""
        enu = np.einsum("kij,kj->ki", self.track.enu[self.m], self.rho(t))
        az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
        el = np.degrees(np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1])))
        return az, el, np.linalg.norm(enu, axis=-1)

    def bisect_root(self, lo: FloatArray, hi: FloatArray, tolerance_s: float) -> FloatArray:
        """The crossing of margin() = 0 in [lo, hi], where the ends differ in sign."""
        lo, hi = lo.copy(), hi.copy()
        below_lo = self.margin(lo) < 0.0
        while lo.size and float(np.max(hi - lo)) > 2.0 * tolerance_s:  # midpoint within tolerance_s
            mid = 0.5 * (lo + hi)
            same = (self.margin(mid) < 0.0) == below_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        return 0.5 * (lo + hi)

    def bisect_extremum(self, lo: FloatArray, hi: FloatArray, tolerance_s: float) -> FloatArray:
        """Where d(sin elevation)/dt changes sign in [lo, hi] (ends of opposite sign)."""
        lo, hi = lo.copy(), hi.copy()
        rising_lo = self.sin_el(lo)[1] > 0.0
        while lo.size and float(np.max(hi - lo)) > 2.0 * tolerance_s:  # midpoint within tolerance_s
            mid = 0.5 * (lo + hi)
            same = (self.sin_el(mid)[1] > 0.0) == rising_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        return 0.5 * (lo + hi)


def _screen(
    r: FloatArray,
    sats: Sequence[Satellite],
    stations: Sequence[GroundStation],
    lowest_mask_deg: FloatArray,
    h: float,
) -> tuple[IntArray, IntArray, IntArray]:
    """(satellite, interval, station) indices of the candidate intervals (stage 2)."""
    pos = np.array([s.ecef_m for s in stations])
    r_g = np.linalg.norm(pos, axis=1)
    g_hat = pos / r_g[:, None]
    # Angle between the geodetic vertical and the geocentric direction of each station.
    up = np.array([s.enu[2] for s in stations])
    delta = np.arccos(np.clip(np.sum(g_hat * up, axis=1), -1.0, 1.0))
    eps = np.radians(lowest_mask_deg) - delta  # (M,)
    r_norm = np.linalg.norm(r, axis=-1)  # (S, T)
    r_max = np.array([_apogee_radius_m(s) for s in sats])
    r_max = np.maximum(r_max, np.nanmax(r_norm, axis=1, initial=0.0)) + _RADIUS_MARGIN_M
    ratio = np.clip(r_g[None, :] * np.cos(eps)[None, :] / r_max[:, None], -1.0, 1.0)
    psi_max = 0.5 * np.pi - eps[None, :] - np.arcsin(ratio)  # (S, M)
    half_sweep = (0.5 * h) * np.array([_angular_rate_bound_rad_s(s) for s in sats])  # (S,)
    cos_psi = np.nan_to_num((r @ g_hat.T) / r_norm[..., None], nan=-1.0)  # (S, T, M)
    # A candidate needs min(psi_i, psi_i+1) <= psi_max + half_sweep: a cheap cosine test
    # first, arccos only where it passes.
    limit = np.cos(np.minimum(psi_max + half_sweep[:, None], np.pi))  # (S, M)
    near = cos_psi >= limit[:, None, :]
    s_i, i_i, m_i = np.nonzero(near[:, :-1] | near[:, 1:])
    psi0 = np.arccos(np.clip(cos_psi[s_i, i_i, m_i], -1.0, 1.0))
    psi1 = np.arccos(np.clip(cos_psi[s_i, i_i + 1, m_i], -1.0, 1.0))
    keep = 0.5 * (psi0 + psi1) - half_sweep[s_i] <= psi_max[s_i, m_i]
    return s_i[keep], i_i[keep], m_i[keep]


def _crossings(
    track: _Track, s: IntArray, i: IntArray, m: IntArray, fine_step_s: float, tolerance_s: float
) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    """AOS (+1) and LOS (-1) times in the candidate intervals (stages 3 and 4)."""
    t = track.t
    brackets: list[tuple[_Batch, FloatArray, FloatArray]] = []
    smooth = ~np.isin(m, track.horizon) if track.horizon else np.ones(s.size, dtype=bool)
    # Smooth masks: one interval, end values and slopes.
    batch = _Batch(track, s[smooth], i[smooth], m[smooth])
    t0, t1 = t[i[smooth]], t[i[smooth] + 1]
    f0, d0 = track.grid_sin_el(batch.s, i[smooth], batch.m)
    f1, d1 = track.grid_sin_el(batch.s, i[smooth] + 1, batch.m)
    f0 -= batch.sin_mask
    f1 -= batch.sin_mask
    edge = (f0 < 0.0) != (f1 < 0.0)
    brackets.append((batch.take(edge), t0[edge], t1[edge]))
    peak = (f0 < 0.0) & (f1 < 0.0) & (d0 > 0.0) & (d1 < 0.0)
    dip = (f0 >= 0.0) & (f1 >= 0.0) & (d0 < 0.0) & (d1 > 0.0)
    turn = peak | dip
    if turn.any():
        sub = batch.take(turn)
        a, b = t0[turn], t1[turn]
        t_ext = sub.bisect_extremum(a, b, tolerance_s * 0.1)
        f_ext = sub.margin(t_ext)
        both = np.where(peak[turn], f_ext >= 0.0, f_ext < 0.0)
        two = sub.take(both)
        brackets += [(two, a[both], t_ext[both]), (two, t_ext[both], b[both])]
    # Horizon profiles: sample the candidate intervals every fine_step_s.
    if not smooth.all():
        n_sub = max(1, math.ceil(track.h / fine_step_s))
        frac = np.linspace(0.0, 1.0, n_sub + 1)
        hi_ = i[~smooth]
        grid = t[hi_][:, None] + frac[None, :] * (t[hi_ + 1] - t[hi_])[:, None]
        rows = np.repeat(np.arange(hi_.size), n_sub + 1)
        fine = _Batch(track, s[~smooth][rows], hi_[rows], m[~smooth][rows])
        f = fine.margin(grid.ravel()).reshape(grid.shape)
        row, col = np.nonzero((f[:, :-1] < 0.0) != (f[:, 1:] < 0.0))
        brackets.append((fine.take(row * (n_sub + 1)), grid[row, col], grid[row, col + 1]))
    sats, stas, roots, kinds = [], [], [], []
    for b, lo, hi in brackets:
        if not lo.size:
            continue
        kinds.append(np.where(b.margin(hi) >= 0.0, 1, -1))
        roots.append(b.bisect_root(lo, hi, tolerance_s))
        sats.append(b.s)
        stas.append(b.m)
    if not roots:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, np.zeros(0), empty
    return np.concatenate(sats), np.concatenate(stas), np.concatenate(roots), np.concatenate(kinds)


Window = tuple[int, int, float, float, bool, bool]


def _windows(
    sat: IntArray,
    sta: IntArray,
    root: FloatArray,
    kind: IntArray,
    open_first: BoolArray,
    open_last: BoolArray,
    span: float,
) -> tuple[IntArray, IntArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    """Pair crossings into windows: (sat, station, aos, los, aos_clipped, los_clipped)."""
    n_sta = open_first.shape[1]
    f_s, f_m = np.nonzero(open_first)
    l_s, l_m = np.nonzero(open_last)
    key = np.concatenate([sat * n_sta + sta, f_s * n_sta + f_m, l_s * n_sta + l_m])
    t = np.concatenate([root, np.zeros(f_s.size), np.full(l_s.size, span)])
    k = np.concatenate([kind, np.ones(f_s.size, np.intp), -np.ones(l_s.size, np.intp)])
    clipped = np.concatenate([np.zeros(root.size, bool), np.ones(f_s.size + l_s.size, bool)])
    order = np.lexsort((t, key))
    key, t, k, clipped = key[order], t[order], k[order], clipped[order]
    # The sign of f at the grid points fixes the order of the crossings, so each pair's
    # crossings alternate AOS, LOS, AOS, ... (the clipped ends included).
    if k.size % 2 or not (
        np.all(k[0::2] == 1) and np.all(k[1::2] == -1) and np.all(key[0::2] == key[1::2])
    ):
        raise AssertionError("pass crossings out of order; please report this input")
    pair = key[0::2]
    return (
        pair // n_sta,
        pair % n_sta,
        t[0::2],
        t[1::2],
        clipped[0::2],
        clipped[1::2],
    )


def _tca(
    track: _Track,
    s: IntArray,
    m: IntArray,
    aos: FloatArray,
    los: FloatArray,
    tolerance_s: float,
) -> FloatArray:
    """Time of the elevation maximum in each window (d elevation/dt turns + to -)."""
    h = track.h
    # The first grid point inside the window where elevation no longer rises bounds the
    # maximum; the grid samples are exact SGP4 states, so no interpolation is needed here.
    first_k = np.floor(aos / h).astype(np.intp) + 1
    last_k = np.minimum(np.ceil(los / h).astype(np.intp) - 1, track.t.size - 1)
    count = np.maximum(last_k - first_k + 1, 0)
    rows = np.repeat(np.arange(s.size), count)
    offsets = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
    k = first_k[rows] + offsets
    _, rate = track.grid_sin_el(s[rows], k, m[rows])
    falling = rate <= 0.0
    # Index of each window's first falling grid point (count if none).
    first_fall = np.full(s.size, -1, dtype=np.intp)
    hit = np.nonzero(falling)[0]
    if hit.size:
        w = rows[hit]
        uniq, at = np.unique(w, return_index=True)
        first_fall[uniq] = offsets[hit[at]]
    fall_k = np.where(first_fall >= 0, first_k + first_fall, -1)
    lo = np.where((fall_k > first_k), track.t[np.maximum(fall_k - 1, 0)], aos)
    lo = np.where(
        fall_k < 0, np.where(count > 0, track.t[np.minimum(last_k, track.t.size - 1)], aos), lo
    )
    lo = np.maximum(lo, aos)
    hi = np.where(fall_k >= 0, track.t[np.maximum(fall_k, 0)], los)
    hi = np.minimum(hi, los)
    batch = _Batch(track, s, track.interval(0.5 * (lo + hi)), m)
    rising_lo = batch.sin_el(lo)[1] > 0.0
    falling_hi = batch.sin_el(hi)[1] <= 0.0
    inner = rising_lo & falling_hi
    tca = np.where(rising_lo, hi, lo)
    if inner.any():
        tca[inner] = batch.take(inner).bisect_extremum(lo[inner], hi[inner], tolerance_s)
    return tca


def find_contacts(
    satellites: Sequence[Satellite],
    stations: Sequence[GroundStation],
    start: TimeLike,
    end: TimeLike,
    *,
    min_elevation_deg: float | None = None,
    step_s: float | None = None,
    tolerance_s: float = 0.01,
    fine_step_s: float = 1.0,
) -> list[Pass]:
    """All passes of every satellite over every station in [start, end], sorted by AOS.

    ``min_elevation_deg`` overrides each station's own floor (its horizon profile, if
    any, still applies). ``step_s`` is the coarse grid (default: :func:`coarse_step_s`,
    120 s for LEO); it changes the speed, not the passes found, and is capped at the
    automatic step so the interpolation error bound holds. ``tolerance_s`` bounds the
    AOS/LOS/TCA refinement error. ``fine_step_s`` samples candidate intervals of
    stations with a horizon profile (terrain features crossed in less than that can be
    missed). See the module docstring for why no pass is missed on smooth masks.
    """
    sats, stas = list(satellites), list(stations)
    if not sats or not stas:
        raise UsageError("find_contacts needs at least one satellite and one station.")
    if step_s is not None and not step_s > 0.0:
        raise UsageError(f"step_s must be > 0 seconds (or None for automatic), got {step_s}.")
    if not tolerance_s > 0.0:
        raise UsageError(f"tolerance_s must be > 0 seconds, got {tolerance_s}.")
    if not fine_step_s > 0.0:
        raise UsageError(f"fine_step_s must be > 0 seconds, got {fine_step_s}.")
    epoch = Epoch.of(start)
    span = float(epoch.seconds(end))
    if not span > 0.0:
        raise UsageError(f"end ({end}) must be after start ({start}).")
    if min_elevation_deg is not None and not -90.0 < min_elevation_deg < 90.0:
        raise UsageError(f"min_elevation_deg must be in (-90, 90), got {min_elevation_deg}.")
    floors = np.array(
        [s.min_elevation_deg if min_elevation_deg is None else min_elevation_deg for s in stas]
    )
    lowest = np.array(
        [
            float(np.min(st.mask_deg(np.array([a for a, _ in st.horizon]), float(fl))))
            if st.horizon
            else float(fl)
            for st, fl in zip(stas, floors, strict=True)
        ]
    )
    auto = coarse_step_s(sats)
    step = auto if step_s is None else min(step_s, auto)
    n_steps = max(1, math.ceil(span / step))
    t_grid = np.linspace(0.0, span, n_steps + 1)
    h = span / n_steps
    gmst = gmst_rad(epoch.julian_centuries_j2000(t_grid))

    passes: list[Pass] = []
    group = max(1, _CHUNK_ELEMENTS // (t_grid.size * max(len(stas), 4)))
    for first in range(0, len(sats), group):
        chunk = sats[first : first + group]
        r, v = propagate_teme(chunk, epoch, t_grid)
        r, v = teme_to_ecef(r, v, gmst)
        track = _Track(r, v, t_grid, stas, floors)
        s_c, i_c, m_c = _screen(r, chunk, stas, lowest, h)
        # Visible at the span's ends? Only a candidate interval can be (stage 2).
        open_first = np.zeros((len(chunk), len(stas)), dtype=bool)
        open_last = np.zeros_like(open_first)
        for flags, at, t_at in ((open_first, i_c == 0, 0.0), (open_last, i_c == n_steps - 1, span)):
            if at.any():
                b = _Batch(track, s_c[at], i_c[at], m_c[at])
                vis = b.margin(np.full(b.s.size, t_at)) >= 0.0
                flags[b.s[vis], b.m[vis]] = True
        w_s, w_m, aos, los, aos_clip, los_clip = _windows(
            *_crossings(track, s_c, i_c, m_c, fine_step_s, tolerance_s),
            open_first,
            open_last,
            span,
        )
        if not w_s.size:
            continue
        tca = _tca(track, w_s, w_m, aos, los, tolerance_s)
        az_a, _, rng_a = _Batch(track, w_s, track.interval(aos), w_m).look(aos)
        az_t, el_t, rng_t = _Batch(track, w_s, track.interval(tca), w_m).look(tca)
        az_l, _, rng_l = _Batch(track, w_s, track.interval(los), w_m).look(los)
        names = [chunk[j].name for j in w_s.tolist()]
        labels = [st.label() for st in stas]
        rows = zip(
            names,
            w_s.tolist(),
            w_m.tolist(),
            aos.tolist(),
            tca.tolist(),
            los.tolist(),
            el_t.tolist(),
            az_a.tolist(),
            az_t.tolist(),
            az_l.tolist(),
            rng_t.tolist(),
            rng_a.tolist(),
            rng_l.tolist(),
            aos_clip.tolist(),
            los_clip.tolist(),
            strict=True,
        )
        # A frozen dataclass's __init__ costs ~3 us (one object.__setattr__ per field),
        # a fifth of a 100-satellite plan; these values need no checking, so fill the
        # instance dict directly.
        new = object.__new__
        for name, s_i, m_i, t_a, t_c, t_l, el_c, a_a, a_t, a_l, r_t, r_a, r_l, c_a, c_l in rows:
            item = new(Pass)
            item.__dict__.update(
                satellite=name,
                station=labels[m_i],
                epoch=epoch,
                aos_s=t_a,
                tca_s=t_c,
                los_s=t_l,
                max_elevation_deg=el_c,
                aos_azimuth_deg=a_a,
                tca_azimuth_deg=a_t,
                los_azimuth_deg=a_l,
                tca_range_m=r_t,
                aos_range_m=r_a,
                los_range_m=r_l,
                satellite_index=first + s_i,
                station_index=m_i,
                aos_clipped=c_a,
                los_clipped=c_l,
            )
            passes.append(item)
    passes.sort(key=lambda p: (p.aos_s, p.satellite_index, p.station_index))
    return passes


def find_passes(
    satellite: Satellite,
    station: GroundStation,
    start: TimeLike,
    end: TimeLike,
    min_elevation_deg: float | None = None,
    *,
    step_s: float | None = None,
    tolerance_s: float = 0.01,
) -> list[Pass]:
    """Passes of one satellite over one station in [start, end] (see :func:`find_contacts`)."""
    return find_contacts(
        [satellite],
        [station],
        start,
        end,
        min_elevation_deg=min_elevation_deg,
        step_s=step_s,
        tolerance_s=tolerance_s,
    )
