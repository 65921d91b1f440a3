"""The pass search's coarse grid: the septic Hermite interpolant against dense SGP4
samples, the automatic step, SGP4's velocity mismatch, eccentric and decaying orbits.

Reference: SGP4 itself (sgp4's SatrecArray) sampled densely, and elevation sampled every
second (links.look_angles), the slow, obvious way.
"""

from __future__ import annotations

import numpy as np
import pytest

from links import Epoch, GroundStation, Satellite, coarse_step_s, find_passes, look_angles
from links.geometry import ecef_states
from links.orbit import propagate_teme
from links.passes import INTERPOLATION_ERROR_M, _Batch, _Track, _velocity_mismatch_m_s
from links.sso import sso_constellation

EPOCH = "2025-03-20T00:00"
# Measured septic-interpolation error for LEO at the automatic step (module docstring).
LEO_MEASURED_ERROR_M = 2.0
WINDOW_TOLERANCE_S = 0.1


def _orbit(a_km: float, e: float, inc: float = 63.4, w: float = 270.0) -> Satellite:
    return Satellite.from_elements(
        epoch=EPOCH,
        semi_major_axis_km=a_km,
        eccentricity=e,
        inclination_deg=inc,
        raan_deg=10.0,
        arg_perigee_deg=w,
        mean_anomaly_deg=0.0,
        name=f"a={a_km} e={e}",
    )


def _interpolation_error_m(sats: list[Satellite], epoch: Epoch, span_s: float) -> float:
    """Largest distance between the interpolant and SGP4 at 31 points per interval."""
    h = coarse_step_s(sats)
    n = int(np.ceil(span_s / h))
    t = np.linspace(0.0, span_s, n + 1)
    h = span_s / n
    r, v = ecef_states(sats, epoch, np.concatenate([[-h], t, [span_s + h]]))
    origin = GroundStation(0.0, 0.0, 0.0)
    track = _Track(r, v, t, [origin], np.zeros(1))
    x = np.linspace(0.0, 1.0, 33)[1:-1]
    s, i, xx = (
        a.ravel() for a in np.meshgrid(np.arange(len(sats)), np.arange(n), x, indexing="ij")
    )
    when = t[i] + xx * h
    ours = _Batch(track, s, i, np.zeros_like(s)).rho(when) + origin.ecef_m
    sgp4 = np.concatenate(
        [ecef_states([sat], epoch, when[s == k])[0][0] for k, sat in enumerate(sats)]
    )
    return float(np.max(np.linalg.norm(ours - sgp4, axis=1)))


def test_leo_interpolation_error_is_metres_at_a_515_s_step() -> None:
    sats = sso_constellation(750.0, 2, 2, 18.0, 1, epoch=EPOCH)
    assert 500.0 < coarse_step_s(sats) < 530.0
    assert _interpolation_error_m(sats, Epoch.of(EPOCH), 86400.0) < LEO_MEASURED_ERROR_M


def test_iss_tle_interpolation_error(iss: Satellite) -> None:
    assert 450.0 < coarse_step_s([iss]) < 530.0  # drag and a lower orbit: a shorter step
    assert _interpolation_error_m([iss], Epoch.of("2014-01-21"), 86400.0) < LEO_MEASURED_ERROR_M


@pytest.mark.parametrize(("a_km", "e"), [(12000.0, 0.3), (26600.0, 0.74)])
def test_eccentric_orbits_get_a_shorter_step_within_the_bound(a_km: float, e: float) -> None:
    sat = _orbit(a_km, e)
    assert coarse_step_s([sat]) < 0.2 * coarse_step_s(
        sso_constellation(750.0, 1, 1, 18.0, 0, epoch=EPOCH)
    )
    assert _interpolation_error_m([sat], Epoch.of(EPOCH), 43200.0) < INTERPOLATION_ERROR_M


@pytest.mark.parametrize(
    ("a_km", "e", "inc"),
    [
        (7128.0, 0.0, 30.0),
        (7128.0, 0.001, 98.0),
        (7000.0, 0.05, 30.0),
        (9000.0, 0.2, 30.0),
        (26600.0, 0.74, 98.0),
        (42164.0, 0.0, 30.0),
    ],
)
def test_sgp4_velocity_mismatch_is_inside_the_envelope(a_km: float, e: float, inc: float) -> None:
    # |v - dr/dt| by a fourth-order central difference of SGP4 positions (+-0.25, 0.5 s).
    sat = _orbit(a_km, e, inc)
    epoch = Epoch.of(EPOCH)
    t = np.arange(0.0, 43200.0, 7.0)
    d = 0.25
    r = {k: propagate_teme([sat], epoch, t + k * d)[0][0] for k in (-2, -1, 1, 2)}
    _, v = propagate_teme([sat], epoch, t)
    dr_dt = (8.0 * (r[1] - r[-1]) - (r[2] - r[-2])) / (12.0 * d)
    mismatch = float(np.max(np.linalg.norm(v[0] - dr_dt, axis=1)))
    assert mismatch <= _velocity_mismatch_m_s(sat)
    assert mismatch > 0.1 * _velocity_mismatch_m_s(sat)  # an envelope, not a blanket


def _brute_windows(sat: Satellite, st: GroundStation, epoch: Epoch, span_s: float) -> np.ndarray:
    t = np.arange(0.0, span_s + 0.5, 1.0)
    f = look_angles(sat, st, t, epoch=epoch).elevation_deg[0, 0] - st.min_elevation_deg
    up = np.nan_to_num(f, nan=-1.0) >= 0.0
    k = np.nonzero(up[1:] != up[:-1])[0]
    return np.asarray(t[k] - f[k] / (f[k + 1] - f[k]))


def test_molniya_passes_match_a_1s_grid() -> None:
    sat = _orbit(26600.0, 0.74)
    st = GroundStation(67.86, 20.96, 400.0, name="Kiruna", min_elevation_deg=10.0)
    epoch = Epoch.of(EPOCH)
    passes = find_passes(sat, st, EPOCH, "2025-03-21T00:00", tolerance_s=0.01)
    ours = np.array(
        [
            x
            for p in passes
            for x, c in ((p.aos_s, p.aos_clipped), (p.los_s, p.los_clipped))
            if not c
        ]
    )
    brute = _brute_windows(sat, st, epoch, 86400.0)
    assert len(passes) >= 2 and ours.size == brute.size
    np.testing.assert_allclose(ours, brute, atol=WINDOW_TOLERANCE_S)


def test_a_satellite_that_decays_mid_span() -> None:
    # bstar 0.02 at 250 km: SGP4 reports the decay after ~16 h and returns errors (NaN
    # states) from then on. The passes before it are still found; none after it.
    sat = Satellite.from_elements(
        epoch=EPOCH,
        semi_major_axis_km=6378.0 + 250.0,
        eccentricity=0.001,
        inclination_deg=51.6,
        raan_deg=0.0,
        arg_perigee_deg=0.0,
        mean_anomaly_deg=0.0,
        bstar=0.02,
        name="DECAYING",
    )
    epoch = Epoch.of(EPOCH)
    t = np.arange(0.0, 86400.0, 60.0)
    decay_s = float(t[np.argmax(np.isnan(propagate_teme([sat], epoch, t)[0][0, :, 0]))])
    assert 36000.0 < decay_s < 72000.0
    st = GroundStation(50.0, -120.0, 0.0, name="Under the track", min_elevation_deg=5.0)
    passes = find_passes(sat, st, EPOCH, "2025-03-21T00:00", tolerance_s=0.01)
    assert passes and all(p.los_s < decay_s for p in passes)
    # Away from the decay (two grid steps), the windows are the brute-force ones.
    early = decay_s - 2.0 * coarse_step_s([sat])
    ours = np.array([x for p in passes for x in (p.aos_s, p.los_s) if x < early])
    brute = _brute_windows(sat, st, epoch, early)
    assert ours.size == brute.size > 0
    np.testing.assert_allclose(ours, brute, atol=WINDOW_TOLERANCE_S)
