"""Doppler shift and rate, residual Doppler after pre-compensation, carrier lock.

Reference figures are REFERENCES.md's "Orbit and link facts" for a 750 km dawn-dusk
orbit (max range-rate ~6.77 km/s; +-185 kHz at 8.2 GHz, +-587 kHz at 26 GHz, +-4.4 GHz
at 1550 nm; ~1.85 kHz/s at X band overhead), plus closed forms derived in each test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from comms.errors import UsageError
from links import (
    SPEED_OF_LIGHT_M_S,
    CarrierTracker,
    GroundStation,
    Satellite,
    doppler_rate_hz_s,
    doppler_shift_hz,
    find_contacts,
    find_passes,
    isl_doppler,
    pass_doppler,
    residual_doppler,
    sso_satellite,
    wavelength_to_frequency_hz,
)

X_BAND_HZ = 8.2e9
KA_BAND_HZ = 26e9
MU_M3_S2 = 398600.4418e9
R_EARTH_M = 6378.137e3
ALT_M = 750e3


@pytest.fixture(scope="module")
def dawn() -> Satellite:
    return sso_satellite(750.0, 18.0, "2025-03-20T00:00", name="DAWN")


@pytest.fixture(scope="module")
def stations() -> list[GroundStation]:
    # Equatorial, mid-latitude and polar stations on the same meridian, 0 deg mask: the
    # largest range-rates come at the horizon.
    return [
        GroundStation(lat, 116.3, 0.0, name=f"LAT{lat:g}", min_elevation_deg=0.0)
        for lat in (0.0, 40.0, 78.0)
    ]


@pytest.fixture(scope="module")
def passes(dawn: Satellite, stations: list[GroundStation]):  # type: ignore[no-untyped-def]
    plan = find_contacts([dawn], stations, "2025-03-20T00:00", "2025-03-22T00:00")
    return [p for p in plan if not (p.aos_clipped or p.los_clipped)]


def test_closed_form_and_sign() -> None:
    # Approaching (range shrinking, range-rate < 0) raises the received frequency.
    assert doppler_shift_hz(-1000.0, 1e9) > 0 > doppler_shift_hz(1000.0, 1e9)
    rr = np.array([-6770.0, 0.0, 6770.0])
    np.testing.assert_allclose(doppler_shift_hz(rr, X_BAND_HZ), -X_BAND_HZ * rr / 299_792_458.0)
    np.testing.assert_allclose(doppler_rate_hz_s(np.array([66.7]), X_BAND_HZ), [-1824.4], rtol=1e-4)
    with pytest.raises(UsageError, match="freq_hz"):
        doppler_shift_hz(1.0, 0.0)


def test_reference_maxima(dawn: Satellite, stations: list[GroundStation], passes) -> None:  # type: ignore[no-untyped-def]
    # REFERENCES.md: max range-rate about 6.77 km/s at 750 km. Closed form on a
    # non-rotating sphere: v R / (R + h) = 6.69 km/s; Earth rotation adds up to ~0.1.
    v = math.sqrt(MU_M3_S2 / (R_EARTH_M + ALT_M))
    assert v * R_EARTH_M / (R_EARTH_M + ALT_M) == pytest.approx(6691.0, abs=2.0)
    optical_hz = float(wavelength_to_frequency_hz(1550e-9))
    top_rr = 0.0
    top = {X_BAND_HZ: 0.0, KA_BAND_HZ: 0.0, optical_hz: 0.0}
    for p in passes:
        prof = pass_doppler(dawn, stations[p.station_index], p, freq_hz=X_BAND_HZ)
        top_rr = max(top_rr, float(np.max(np.abs(prof.range_rate_m_s))))
        for f in top:
            top[f] = max(top[f], abs(prof.max_doppler_hz) * f / X_BAND_HZ)
    assert top_rr == pytest.approx(6770.0, rel=0.01)
    assert top[X_BAND_HZ] == pytest.approx(185e3, rel=0.01)
    assert top[KA_BAND_HZ] == pytest.approx(587e3, rel=0.01)
    assert top[optical_hz] == pytest.approx(4.4e9, rel=0.01)


def test_overhead_rate_matches_closed_form(dawn: Satellite, stations, passes) -> None:  # type: ignore[no-untyped-def]
    # At TCA of an overhead pass the range acceleration is v^2 / h - g(h) (the line of
    # sight is vertical: transverse speed squared over range, minus gravity along it):
    # 7478^2 / 750e3 - 7.84 = 66.7 m/s^2, i.e. 1.82 kHz/s at 8.2 GHz (REFERENCES: ~1.85).
    v = math.sqrt(MU_M3_S2 / (R_EARTH_M + ALT_M))
    accel = v * v / ALT_M - MU_M3_S2 / (R_EARTH_M + ALT_M) ** 2
    closed = X_BAND_HZ * accel / SPEED_OF_LIGHT_M_S
    best = max(passes, key=lambda p: p.max_elevation_deg)
    assert best.max_elevation_deg > 85.0
    prof = pass_doppler(dawn, stations[best.station_index], best, freq_hz=X_BAND_HZ)
    assert abs(prof.max_doppler_rate_hz_s) == pytest.approx(closed, rel=0.02)
    assert abs(prof.max_doppler_rate_hz_s) == pytest.approx(1850.0, rel=0.03)
    # The shift falls through zero at TCA: the rate's extreme is negative.
    assert prof.max_doppler_rate_hz_s < 0


def test_profile_is_consistent(dawn: Satellite, stations, passes) -> None:  # type: ignore[no-untyped-def]
    p = passes[0]
    prof = pass_doppler(dawn, stations[p.station_index], p, freq_hz=X_BAND_HZ, step_s=1.0)
    assert prof.t_s[0] == p.aos_s and prof.t_s[-1] == p.los_s
    # Approaching before TCA (positive shift), receding after.
    assert np.all(prof.doppler_hz[prof.t_s < p.tca_s - 5.0] > 0)
    assert np.all(prof.doppler_hz[prof.t_s > p.tca_s + 5.0] < 0)
    # The rate is the derivative of the shift (central differences agree to ~1e-3).
    inner = slice(1, -2)
    numeric = np.gradient(prof.doppler_hz, prof.t_s)[inner]
    np.testing.assert_allclose(prof.doppler_rate_hz_s[inner], numeric, rtol=0, atol=2.0)
    np.testing.assert_allclose(
        prof.elevation_deg[0], stations[p.station_index].min_elevation_deg, atol=1e-3
    )
    assert prof.datetimes.shape == prof.t_s.shape


def test_isl_same_orbit_has_no_doppler_and_crossing_planes_do() -> None:
    epoch = "2025-03-20T00:00"
    a = sso_satellite(750.0, 18.0, epoch, arg_latitude_deg=0.0, satnum=1)
    b = sso_satellite(750.0, 18.0, epoch, arg_latitude_deg=20.0, satnum=2)
    times = np.arange(0.0, 6000.0, 60.0)
    from links import Epoch

    same = isl_doppler(a, b, times, freq_hz=KA_BAND_HZ, epoch=Epoch.of(epoch))
    # Same circular orbit, fixed phase: the chord length 2 r sin(10 deg) stays put.
    assert np.max(np.abs(same.range_m - same.range_m.mean())) < 20e3
    assert np.max(np.abs(same.doppler_hz)) < 0.02 * 7.5e3 / SPEED_OF_LIGHT_M_S * KA_BAND_HZ
    c = sso_satellite(750.0, 6.0, epoch, satnum=3)  # the opposite plane: head-on passes
    cross = isl_doppler(a, c, times, freq_hz=KA_BAND_HZ, epoch=Epoch.of(epoch))
    # Closing speed is bounded by twice the orbital speed.
    assert 1e3 < np.max(np.abs(cross.range_rate_m_s)) <= 2 * 7.5e3
    fine = np.arange(0.0, 6000.0, 0.5)
    near = isl_doppler(a, c, fine, freq_hz=KA_BAND_HZ, epoch=Epoch.of(epoch))
    numeric = np.gradient(near.range_m, fine)
    np.testing.assert_allclose(near.range_rate_m_s[1:-1], numeric[1:-1], atol=5.0)
    np.testing.assert_allclose(
        near.doppler_hz, -KA_BAND_HZ * near.range_rate_m_s / SPEED_OF_LIGHT_M_S
    )


def _drag_free(sat: Satellite) -> Satellite:
    """The same element set with drag switched off: a prediction that ages badly."""
    s = sat.satrec
    pred = Satrec()
    pred.sgp4init(
        WGS72, "i", s.satnum, s.jdsatepoch + s.jdsatepochF - 2433281.5, 0.0, 0.0, 0.0,
        s.ecco, s.argpo, s.inclo, s.mo, s.no_kozai, s.nodeo,
    )  # fmt: skip
    return Satellite(pred, name=sat.name + " (no drag)")


def test_residual_zero_for_identical_orbits(iss: Satellite, beijing: GroundStation) -> None:
    p = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00")[0]
    t = np.linspace(p.aos_s, p.los_s, 50)
    res = residual_doppler(iss, iss, beijing, t, freq_hz=X_BAND_HZ, epoch=p.epoch)
    assert np.all(res.residual_hz == 0.0) and np.all(res.residual_rate_hz_s == 0.0)
    assert np.max(np.abs(res.true_hz)) > 100e3


def test_residual_grows_with_element_set_age(iss: Satellite, beijing: GroundStation) -> None:
    # ISS (high drag, bstar 1.8e-4) against its own TLE propagated without drag: the
    # along-track error grows roughly with the square of the time since the TLE epoch.
    stale = _drag_free(iss)
    worst = []
    for day in ("2014-01-21", "2014-01-23", "2014-01-26"):
        passes = find_passes(iss, beijing, f"{day}T00:00", f"{day}T23:59")
        p = max(passes, key=lambda q: q.max_elevation_deg)
        t = np.linspace(p.aos_s, p.los_s, 200)
        res = residual_doppler(iss, stale, beijing, t, freq_hz=X_BAND_HZ, epoch=p.epoch)
        worst.append(float(np.max(np.abs(res.residual_hz))))
    assert worst[0] < worst[1] < worst[2]
    assert worst[0] > 1.0  # a real effect, not rounding noise


def _ramp(t: np.ndarray) -> np.ndarray:
    return np.zeros_like(t)


def test_tracker_acquires_after_the_acquisition_time() -> None:
    t = np.arange(0.0, 100.0, 1.0)
    residual = np.where(t < 10.0, 50e3, 1e3)  # enters the 5 kHz pull-in range at t = 10
    lock = CarrierTracker(5e3, 500.0, acquisition_time_s=4.0).track(t, residual, _ramp(t))
    assert lock.first_lock_s == 14.0
    assert lock.intervals == ((14.0, 99.0),)
    assert lock.acquisitions == 1 and lock.losses == 0
    assert lock.locked.sum() == 86 and not lock.locked[13] and lock.locked[14]
    assert lock.locked_time_s == 85.0


def test_tracker_loses_lock_on_rate_and_range_and_reacquires() -> None:
    t = np.arange(0.0, 100.0, 1.0)
    rate = np.where((t >= 30.0) & (t < 33.0), 900.0, 10.0)  # a rate spike past 500 Hz/s
    residual = np.where(t >= 80.0, 8e3, 1e3)  # leaves the 6 kHz tracking range at t = 80
    tracker = CarrierTracker(5e3, 500.0, acquisition_time_s=2.0, tracking_range_hz=6e3)
    lock = tracker.track(t, residual, rate)
    assert lock.intervals == ((2.0, 30.0), (35.0, 80.0))
    assert lock.acquisitions == 2 and lock.losses == 2
    # Between pull-in and tracking range: held once locked, never acquired from.
    held = tracker.track(t, np.where(t < 20.0, 1e3, 5.5e3), _ramp(t))
    assert held.intervals == ((2.0, 99.0),)
    cold = tracker.track(t, np.full(t.shape, 5.5e3), _ramp(t))
    assert cold.intervals == () and cold.first_lock_s is None and not cold.locked.any()


def test_tracker_signal_thresholds() -> None:
    t = np.arange(0.0, 60.0, 1.0)
    cn0 = np.where(t < 20.0, 30.0, 50.0)
    tracker = CarrierTracker(5e3, 500.0, acquisition_time_s=5.0, min_cn0_dbhz=40.0)
    assert tracker.track(t, 0.0, 0.0, cn0_dbhz=cn0).intervals == ((25.0, 59.0),)
    with pytest.raises(UsageError, match="cn0_dbhz"):
        tracker.track(t, 0.0, 0.0)
    by_el = CarrierTracker(5e3, 500.0, min_elevation_deg=10.0)
    el = np.where(t < 40.0, 20.0, 5.0)
    assert by_el.track(t, 0.0, 0.0, elevation_deg=el).intervals == ((0.0, 40.0),)
    with pytest.raises(UsageError, match="elevation_deg"):
        by_el.track(t, 0.0, 0.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pull_in_range_hz": 0.0, "max_rate_hz_s": 1.0},
        {"pull_in_range_hz": 1.0, "max_rate_hz_s": -1.0},
        {"pull_in_range_hz": 1.0, "max_rate_hz_s": 1.0, "acquisition_time_s": -1.0},
        {"pull_in_range_hz": 10.0, "max_rate_hz_s": 1.0, "tracking_range_hz": 5.0},
    ],
)
def test_tracker_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        CarrierTracker(**kwargs)


def test_tracker_rejects_unordered_times() -> None:
    with pytest.raises(UsageError, match="increasing"):
        CarrierTracker(1.0, 1.0).track([0.0, 2.0, 1.0], 0.0, 0.0)


def test_pre_compensation_decides_lock_on_a_pass(iss: Satellite, beijing: GroundStation) -> None:
    # An X-band receiver with a 20 kHz pull-in range and a 500 Hz/s rate limit (a narrow
    # loop) cannot follow the raw Doppler (up to ~+-200 kHz, ~2 kHz/s) of a high ISS pass,
    # but locks within seconds of AOS on the residual of a one-day-old prediction.
    passes = find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00")
    p = max(passes, key=lambda q: q.max_elevation_deg)
    t = np.arange(p.aos_s, p.los_s, 1.0)
    res = residual_doppler(iss, _drag_free(iss), beijing, t, freq_hz=X_BAND_HZ, epoch=p.epoch)
    tracker = CarrierTracker(20e3, 500.0, acquisition_time_s=3.0, min_elevation_deg=10.0)
    raw = tracker.track(
        t, res.true_hz, np.gradient(res.true_hz, t), elevation_deg=res.elevation_deg
    )
    comp = tracker.track(
        t, res.residual_hz, res.residual_rate_hz_s, elevation_deg=res.elevation_deg
    )
    assert raw.locked_time_s < 0.5 * comp.locked_time_s
    assert comp.first_lock_s is not None and comp.first_lock_s - p.aos_s <= 4.0
    assert comp.locked_time_s > 0.95 * (p.los_s - p.aos_s - 4.0)
