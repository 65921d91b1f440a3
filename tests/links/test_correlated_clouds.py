"""Cloud blockage correlated between stations (links.fading.CorrelatedClouds).

Statistical checks use tolerances of about four Monte-Carlo standard errors, stated
beside each; seeds are fixed, so a run is reproducible, but the tolerances are what
any seed would pass with overwhelming probability. Sample counts keep the file near
a second.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from comms.errors import UsageError
from links.emulator import PassEmulator, scenario_cloud_field
from links.fading import CorrelatedClouds, great_circle_m, indicator_correlation
from links.optical import correlated_clouds
from links.scenario import parse_scenario
from links.stations import GroundStation

BEIJING = (40.0, 116.3)
NEAR = (40.0, 116.9)  # ~51 km east
FAR = (42.7, 116.3)  # ~300 km north
SVALBARD = (78.23, 15.39)


def clouds(**kw: object) -> CorrelatedClouds:
    args: dict[str, object] = {
        "stations": (BEIJING, NEAR, FAR, SVALBARD),
        "cloud_free_probability": 0.6,
        "mean_cloud_duration_s": 600.0,
        "correlation_length_m": 200e3,
    }
    args.update(kw)
    return CorrelatedClouds(**args)  # type: ignore[arg-type]


def test_latent_correlation_is_exponential_in_distance() -> None:
    c = clouds()
    r = c.latent_correlation()
    d_near = great_circle_m(*BEIJING, *NEAR)
    d_far = great_circle_m(*BEIJING, *FAR)
    assert d_near == pytest.approx(51.1e3, rel=0.01) and d_far == pytest.approx(300.2e3, rel=0.01)
    assert r[0, 1] == pytest.approx(math.exp(-d_near / 200e3), rel=1e-9)
    assert r[0, 2] == pytest.approx(math.exp(-d_far / 200e3), rel=1e-9)
    assert r[0, 3] < 1e-9 and np.allclose(r, r.T)
    assert np.array_equal(clouds(correlation_length_m=0.0).latent_correlation(), np.eye(4))


def test_indicator_correlation_against_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    for p, rho in [(0.6, 0.77), (0.3, 0.2), (0.5, 0.5), (0.8, -0.4)]:
        u = stats.norm.ppf(p)
        q = 1 - p
        both = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([-u, -u])
        expected = (both - q * q) / (q * (1 - q))
        assert indicator_correlation(p, rho) == pytest.approx(expected, abs=2e-5)
    assert indicator_correlation(0.4, 0.0) == pytest.approx(0.0, abs=1e-7)
    assert indicator_correlation(0.4, 1.0) == 1.0


def test_marginals_and_cross_correlation() -> None:
    c = clouds()
    # samples 8 length scales apart are nearly independent in time: m(8 l) = 9 e^-8 = 0.003
    n = 12_000
    t = 8.0 * c.length_scale_s * np.arange(n)
    b = c.blocked(t, np.random.default_rng(7)).astype(np.float64)
    assert b.shape == (4, n)
    # P(cloudy) = 1 - p = 0.4 at every station; SE sqrt(0.24 / n) = 0.0045
    np.testing.assert_allclose(b.mean(axis=1), 0.4, atol=0.018)
    r = c.latent_correlation()
    est = np.corrcoef(b)
    # SE of a correlation estimate (1 - r^2) / sqrt(n) <= 0.0092
    for i, j in [(0, 1), (0, 2), (1, 2), (0, 3)]:
        assert est[i, j] == pytest.approx(indicator_correlation(0.6, r[i, j]), abs=0.037)
    assert est[0, 1] > est[0, 2] + 0.2  # closer stations share more of their sky


def test_mean_cloud_duration_and_temporal_correlation() -> None:
    c = clouds(stations=(BEIJING,), cloud_free_probability=0.5)
    field = c.sample_span(0.0, 8e5, np.random.default_rng(3))
    step = float(field.t_s[1] - field.t_s[0])
    cloudy = field.blocked(0, field.t_s)
    starts = int(np.count_nonzero(~cloudy[:-1] & cloudy[1:]))
    assert starts > 500
    mean_spell = cloudy.sum() * step / starts
    # ~660 spells: SE of the mean ~ 4 %; the l/16 grid misses a few short excursions
    assert mean_spell == pytest.approx(600.0, rel=0.16)
    assert cloudy.mean() == pytest.approx(0.5, abs=0.05)
    # lag-l correlation of the indicator: the copula of the Matern-3/2 correlation 2/e
    lag = round(c.length_scale_s / step)
    x = cloudy.astype(np.float64)
    est = float(np.corrcoef(x[:-lag], x[lag:])[0, 1])
    m = (1 + lag * step / c.length_scale_s) * math.exp(-lag * step / c.length_scale_s)
    assert est == pytest.approx(indicator_correlation(0.5, m), abs=0.06)


def test_dense_times_interpolate_one_draw() -> None:
    c = clouds(stations=(BEIJING, BEIJING), correlation_length_m=100e3)
    t = np.arange(0.0, 3600.0, 0.5)
    a = c.blocked(t, np.random.default_rng(1))
    b = c.blocked(t, np.random.default_rng(1))
    assert np.array_equal(a, b)
    # co-located stations see one sky
    assert np.mean(a[0] == a[1]) > 0.999


def test_errors() -> None:
    with pytest.raises(UsageError, match="cloud_free_probability"):
        clouds(cloud_free_probability=1.0)
    with pytest.raises(UsageError, match="correlation_length_m"):
        clouds(correlation_length_m=-1.0)
    with pytest.raises(UsageError, match="at least one"):
        clouds(stations=())
    field = clouds().sample_span(0.0, 100.0, np.random.default_rng(0))
    with pytest.raises(UsageError, match="station index 4"):
        field.station(4)


def test_optical_builder_takes_ground_stations() -> None:
    gs = [GroundStation(*BEIJING, name="B"), GroundStation(*NEAR, name="N")]
    c = correlated_clouds(gs, cloud_free_probability=0.7, correlation_length_m=50e3)
    assert c.stations == (BEIJING, NEAR) and c.cloud_free_probability == 0.7


SCENARIO = """
name = "two optical stations"
start = "2025-03-20T00:00:00"
hours = 24.0
seed = 9

[satellite]
sso_altitude_km = 750.0

[[stations]]
name = "Beijing"
lat_deg = 40.0
lon_deg = 116.3

[[stations]]
name = "Near"
lat_deg = 40.0
lon_deg = 116.9

[link]
type = "optical"
data_rate_bps = 20e3
pass_index = 1
station = "Near"

[link.optical]
cloud_free_probability = 0.5
mean_cloud_duration_s = 120.0
cloud_correlation_length_m = 200e3
sample_s = 0.01

[tracker]
precompensation = false
pull_in_range_hz = 1e10
max_rate_hz_s = 1e9
"""


def test_emulator_uses_the_shared_field() -> None:
    s = parse_scenario(SCENARIO)
    field = scenario_cloud_field(s)
    assert field is not None and field.latent.shape[0] == 2
    # one draw for the whole span: the two stations' skies are correlated
    rows = field.latent > field.threshold
    assert np.corrcoef(rows.astype(float))[0, 1] > 0.5
    emu = PassEmulator(s)
    series = emu.timeline.optical
    assert series is not None
    assert np.array_equal(series.cloud_blocked, field.blocked(1, series.t_s))
    assert series.cloud_blocked.any()
    # correlation 0 keeps the old per-pass process (and no shared field)
    oc = dataclasses.replace(s.link.optical, cloud_correlation_length_m=0.0)
    alone = dataclasses.replace(s, link=dataclasses.replace(s.link, optical=oc))
    assert scenario_cloud_field(alone) is None
