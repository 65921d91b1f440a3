"""Contact windows (passes) of many satellites over many ground stations.

Method, in three stages:

1. Coarse grid. All satellites are propagated together (``SatrecArray``) on a grid of
   ``step_s`` seconds, in chunks to bound memory. For all stations at once (one matrix
   product of ECEF positions with each station's up vector and position) we evaluate
   f = sin(elevation) - sin(mask), positive when the satellite is above the mask (sin is
   monotonic, so f has the same roots as elevation - mask). Sign changes of f between two
   grid points bracket an AOS (- to +) or LOS (+ to -).
2. Short passes. A pass shorter than the grid step can fall between two samples; then f
   shows a local maximum (f[i-1] < f[i] >= f[i+1]) just below zero instead of a sign
   change. Every negative local maximum within ``short_pass_margin_deg`` of the mask is
   searched with golden-section maximization on [t[i-1], t[i+1]]; if the true maximum
   clears the mask, the two roots either side of it are the AOS and LOS.
3. Refinement. Every bracket is bisected on a scalar (per-satellite vectorized) SGP4
   propagation to ``tolerance_s`` (0.01 s by default); TCA is the golden-section maximum
   of elevation between AOS and LOS, to the same tolerance.

A pass already in progress at ``start`` or still in progress at ``end`` is clipped to the
span and flagged (``aos_clipped`` / ``los_clipped``). Elevation is geometric (no
refraction); see :mod:`links.geometry` and :mod:`links.frames` for what the frames leave
out.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.frames import gmst_rad, teme_to_ecef
from links.orbit import Satellite, propagate_teme
from links.stations import GroundStation
from links.times import Epoch, FloatArray, TimeLike

__all__ = ["Pass", "find_contacts", "find_passes"]

_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
# Elements per coarse chunk (satellites x stations x times): ~16 MB per float array.
_CHUNK_ELEMENTS = 2_000_000


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


class _Evaluator:
    """Elevation minus mask (deg) of one satellite at arbitrary times and stations."""

    def __init__(self, epoch: Epoch, stations: Sequence[GroundStation], floors: FloatArray) -> None:
        self.epoch = epoch
        self.stations = stations
        self.floors = floors
        self.ecef = np.array([s.ecef_m for s in stations])
        self.enu = np.array([s.enu for s in stations])
        self.horizon = [k for k, s in enumerate(stations) if s.has_horizon]

    def look(
        self, sat: Satellite, t: FloatArray, k: npt.NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        r, v = sat.propagate_teme(self.epoch, t)
        r, _ = teme_to_ecef(r, v, gmst_rad(self.epoch.julian_centuries_j2000(t)))
        rho = r - self.ecef[k]
        enu = np.einsum("kij,kj->ki", self.enu[k], rho)
        el = np.degrees(np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1])))
        az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
        return az, el, np.linalg.norm(rho, axis=-1)

    def margin(self, sat: Satellite, t: FloatArray, k: npt.NDArray[np.intp]) -> FloatArray:
        az, el, _ = self.look(sat, t, k)
        mask = self.floors[k]  # fancy indexing: a fresh array we may write into
        for h in self.horizon:
            sel = k == h
            if sel.any():
                mask[sel] = self.stations[h].mask_deg(az[sel], float(self.floors[h]))
        return np.asarray(el - mask)

    def bisect(
        self,
        sat: Satellite,
        lo: FloatArray,
        hi: FloatArray,
        k: npt.NDArray[np.intp],
        tolerance_s: float,
    ) -> FloatArray:
        """Roots of margin() in [lo, hi] where the sign differs at the ends."""
        lo, hi = lo.copy(), hi.copy()
        f_lo = np.sign(self.margin(sat, lo, k))
        while lo.size and float(np.max(hi - lo)) > tolerance_s:
            mid = 0.5 * (lo + hi)
            f_mid = np.sign(self.margin(sat, mid, k))
            same = f_mid == f_lo
            lo = np.where(same, mid, lo)
            hi = np.where(same, hi, mid)
        return 0.5 * (lo + hi)

    def golden_max(
        self,
        sat: Satellite,
        lo: FloatArray,
        hi: FloatArray,
        k: npt.NDArray[np.intp],
        tolerance_s: float,
        *,
        of_margin: bool,
    ) -> tuple[FloatArray, FloatArray]:
        """(t, value) of the maximum of elevation (or margin) in [lo, hi]."""

        def value(t: FloatArray) -> FloatArray:
            return self.margin(sat, t, k) if of_margin else self.look(sat, t, k)[1]

        a, b = lo.copy(), hi.copy()
        c = b - _GOLDEN * (b - a)
        d = a + _GOLDEN * (b - a)
        fc, fd = value(c), value(d)
        while a.size and float(np.max(b - a)) > tolerance_s:
            left = fc >= fd  # the maximum lies in [a, d]: keep c as the new d
            a, b = np.where(left, a, c), np.where(left, d, b)
            new_c = np.where(left, b - _GOLDEN * (b - a), d)
            new_d = np.where(left, c, a + _GOLDEN * (b - a))
            f_new = value(np.where(left, new_c, new_d))
            fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
            c, d = new_c, new_d
        t = 0.5 * (a + b)
        # Never report a maximum below an end point (monotonic stretches, clipped passes).
        candidates = np.stack([lo, t, hi])
        values = np.stack([value(lo), value(t), value(hi)])
        best = np.argmax(values, axis=0)
        idx = np.arange(lo.size)
        return candidates[best, idx], values[best, idx]


def _coarse_events(
    sats: Sequence[Satellite],
    stations: Sequence[GroundStation],
    floors: FloatArray,
    epoch: Epoch,
    t_grid: FloatArray,
    short_pass_margin_deg: float,
) -> tuple[list[tuple[int, int, int, int]], npt.NDArray[np.bool_]]:
    """Sign changes and near-mask local maxima of f on the grid.

    Returns events (sat, station, grid index i, kind) with kind +1 rise in (i, i+1),
    -1 set in (i, i+1), 0 near-miss local maximum at i; and visibility at the first grid
    point, shape (S, M).
    """
    n_sat, n_sta, n_t = len(sats), len(stations), t_grid.size
    ups = np.array([s.enu[2] for s in stations])  # (M, 3)
    pos = np.array([s.ecef_m for s in stations])  # (M, 3)
    basis = np.concatenate([ups, pos]).T  # (3, 2M): one matmul gives r.up and r.s
    s_up = np.sum(ups * pos, axis=1)
    s_sq = np.sum(pos * pos, axis=1)
    sin_floor = np.sin(np.radians(floors))
    horizon = [k for k, s in enumerate(stations) if s.has_horizon]
    near = -math.radians(short_pass_margin_deg)

    chunk = max(16, _CHUNK_ELEMENTS // max(1, n_sat * n_sta))
    events: list[tuple[int, int, int, int]] = []
    visible_first = np.zeros((n_sat, n_sta), dtype=bool)
    start = 0
    while start < n_t - 1:
        stop = min(start + chunk, n_t - 1)
        lo = max(start - 1, 0)  # one sample of history for local maxima at `start`
        idx = np.arange(lo, stop + 1)
        t = t_grid[idx]
        r, v = propagate_teme(sats, epoch, t)
        r, _ = teme_to_ecef(r, v, gmst_rad(epoch.julian_centuries_j2000(t)))
        n_chunk = t.size
        flat = r.reshape(-1, 3)
        dots = flat @ basis  # (S*T, 2M)
        r_sq = np.einsum("ij,ij->i", flat, flat)[:, None]
        up = dots[:, :n_sta] - s_up
        rng = np.sqrt(r_sq - 2.0 * dots[:, n_sta:] + s_sq)
        sin_el = (up / rng).reshape(n_sat, n_chunk, n_sta)
        f = sin_el - sin_floor
        for k in horizon:
            rho = r - pos[k]
            enu = rho @ stations[k].enu.T
            az = np.degrees(np.arctan2(enu[..., 0], enu[..., 1]))
            mask = stations[k].mask_deg(az, float(floors[k]))
            f[:, :, k] = sin_el[:, :, k] - np.sin(np.radians(mask))
        f = np.nan_to_num(f, nan=-2.0)  # SGP4 failures never count as visible
        f = np.moveaxis(f, 1, 2)  # (S, M, T)
        if start == 0:
            visible_first = f[:, :, 0] >= 0.0
        off = start - lo  # position of grid index `start` in this chunk
        a, b = f[:, :, off:-1], f[:, :, off + 1 :]
        for kind, hit in ((1, (a < 0.0) & (b >= 0.0)), (-1, (a >= 0.0) & (b < 0.0))):
            s_i, m_i, j = np.nonzero(hit)
            events.extend(
                zip(s_i.tolist(), m_i.tolist(), (j + start).tolist(), [kind] * j.size, strict=True)
            )
        # Local maxima at interior grid points owned by this chunk (need i-1 and i+1).
        mid = f[:, :, 1:-1]
        peak = (mid < 0.0) & (mid > near) & (mid > f[:, :, :-2]) & (mid >= f[:, :, 2:])
        s_i, m_i, j = np.nonzero(peak)
        grid_i = j + lo + 1
        keep = grid_i >= max(start, 1)
        events.extend(
            zip(
                s_i[keep].tolist(),
                m_i[keep].tolist(),
                grid_i[keep].tolist(),
                [0] * int(keep.sum()),
                strict=True,
            )
        )
        start = stop
    return events, visible_first


def find_contacts(
    satellites: Sequence[Satellite],
    stations: Sequence[GroundStation],
    start: TimeLike,
    end: TimeLike,
    *,
    min_elevation_deg: float | None = None,
    step_s: float = 10.0,
    tolerance_s: float = 0.01,
    short_pass_margin_deg: float = 2.0,
) -> list[Pass]:
    """All passes of every satellite over every station in [start, end], sorted by AOS.

    ``min_elevation_deg`` overrides each station's own floor (its horizon profile, if
    any, still applies). ``step_s`` is the coarse grid: smaller finds the same passes
    with less reliance on the short-pass search (see the module docstring); 10-30 s
    suits LEO. ``tolerance_s`` bounds the AOS/LOS/TCA refinement error.
    """
    sats, stas = list(satellites), list(stations)
    if not sats or not stas:
        raise UsageError("find_contacts needs at least one satellite and one station.")
    if not step_s > 0.0:
        raise UsageError(f"step_s must be > 0 seconds, got {step_s}.")
    if not tolerance_s > 0.0:
        raise UsageError(f"tolerance_s must be > 0 seconds, got {tolerance_s}.")
    epoch = Epoch.of(start)
    span = float(epoch.seconds(end))
    if not span > 0.0:
        raise UsageError(f"end ({end}) must be after start ({start}).")
    if min_elevation_deg is not None and not -90.0 < min_elevation_deg < 90.0:
        raise UsageError(f"min_elevation_deg must be in (-90, 90), got {min_elevation_deg}.")
    floors = np.array(
        [s.min_elevation_deg if min_elevation_deg is None else min_elevation_deg for s in stas]
    )
    n_steps = max(1, math.ceil(span / step_s))
    t_grid = np.minimum(np.arange(n_steps + 1) * step_s, span)

    events, first = _coarse_events(sats, stas, floors, epoch, t_grid, short_pass_margin_deg)
    evaluator = _Evaluator(epoch, stas, floors)

    # Group brackets by satellite, refine each group in one vectorized pass.
    by_sat: dict[int, list[tuple[int, int, int]]] = {}
    for s_i, m_i, g_i, kind in events:
        by_sat.setdefault(s_i, []).append((m_i, g_i, kind))
    crossings: dict[tuple[int, int], list[tuple[float, int]]] = {}
    for s_i, items in by_sat.items():
        sat = sats[s_i]
        edges = [(m, g, kind) for m, g, kind in items if kind != 0]
        peaks = [(m, g) for m, g, kind in items if kind == 0]
        if edges:
            k = np.array([m for m, _, _ in edges], dtype=np.intp)
            g = np.array([g for _, g, _ in edges], dtype=np.intp)
            roots = evaluator.bisect(sat, t_grid[g], t_grid[g + 1], k, tolerance_s)
            for (m, _, kind), t in zip(edges, roots.tolist(), strict=True):
                crossings.setdefault((s_i, m), []).append((t, kind))
        if peaks:
            k = np.array([m for m, _ in peaks], dtype=np.intp)
            g = np.array([g for _, g in peaks], dtype=np.intp)
            lo, hi = t_grid[g - 1], t_grid[g + 1]
            t_max, f_max = evaluator.golden_max(sat, lo, hi, k, tolerance_s, of_margin=True)
            up = f_max > 0.0
            if up.any():
                rise = evaluator.bisect(sat, lo[up], t_max[up], k[up], tolerance_s)
                fall = evaluator.bisect(sat, t_max[up], hi[up], k[up], tolerance_s)
                for m, t0, t1 in zip(k[up].tolist(), rise.tolist(), fall.tolist(), strict=True):
                    crossings.setdefault((s_i, m), []).extend([(t0, 1), (t1, -1)])

    # Walk each pair's crossings in time order into windows.
    windows: list[tuple[int, int, float, float, bool, bool]] = []
    pairs = set(crossings) | {(int(s), int(m)) for s, m in zip(*np.nonzero(first), strict=True)}
    for s_i, m_i in sorted(pairs):
        is_open = bool(first[s_i, m_i])
        t_open, clipped = (0.0, True) if is_open else (0.0, False)
        for t, kind in sorted(crossings.get((s_i, m_i), [])):
            if kind == 1 and not is_open:
                is_open, t_open, clipped = True, t, False
            elif kind == -1 and is_open:
                windows.append((s_i, m_i, t_open, t, clipped, False))
                is_open = False
        if is_open:
            windows.append((s_i, m_i, t_open, span, clipped, True))

    passes: list[Pass] = []
    by_sat_w: dict[int, list[tuple[int, int, float, float, bool, bool]]] = {}
    for w in windows:
        by_sat_w.setdefault(w[0], []).append(w)
    for s_i, ws in by_sat_w.items():
        sat = sats[s_i]
        k = np.array([w[1] for w in ws], dtype=np.intp)
        aos = np.array([w[2] for w in ws])
        los = np.array([w[3] for w in ws])
        tca, max_el = evaluator.golden_max(sat, aos, los, k, tolerance_s, of_margin=False)
        az_aos, _, rng_aos = evaluator.look(sat, aos, k)
        az_los, _, rng_los = evaluator.look(sat, los, k)
        az_tca, _, rng_tca = evaluator.look(sat, tca, k)
        for j, w in enumerate(ws):
            passes.append(
                Pass(
                    satellite=sat.name,
                    station=stas[w[1]].label(),
                    epoch=epoch,
                    aos_s=w[2],
                    tca_s=float(tca[j]),
                    los_s=w[3],
                    max_elevation_deg=float(max_el[j]),
                    aos_azimuth_deg=float(az_aos[j]),
                    tca_azimuth_deg=float(az_tca[j]),
                    los_azimuth_deg=float(az_los[j]),
                    tca_range_m=float(rng_tca[j]),
                    aos_range_m=float(rng_aos[j]),
                    los_range_m=float(rng_los[j]),
                    satellite_index=s_i,
                    station_index=w[1],
                    aos_clipped=w[4],
                    los_clipped=w[5],
                )
            )
    passes.sort(key=lambda p: (p.aos_s, p.satellite_index, p.station_index))
    return passes


def find_passes(
    satellite: Satellite,
    station: GroundStation,
    start: TimeLike,
    end: TimeLike,
    min_elevation_deg: float | None = None,
    *,
    step_s: float = 10.0,
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
