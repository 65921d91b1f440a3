"""ITU-R slant-path terms (against ITU's validation examples) and the fast time series.

Validation rows: ITU-Rpy's copies of the ITU-R Study Group 3 validation spreadsheets,
test/test_data/618/ITURP618-13_A_rain.csv and ITURP618-13_A_sci.csv (first row, London
51.5 N -0.14 E, 14.25 GHz, el 31.077 deg, tau 0, D 1 m, eta 0.65) and
test/test_data/676/ITURP676-12_A_gas.csv (first row, same site). Tests needing itur skip
without it.
"""

from __future__ import annotations

import numpy as np
import pytest

from comms.errors import UsageError
from links.propagation import (
    ITUR_VERSIONS,
    AtmosphereTable,
    NoAtmosphere,
    RainFadeModel,
    ScintillationModel,
    fit_rain_lognormal,
    gauss_markov,
    scintillation_series,
    slant_path_attenuation,
)

LONDON = (51.5, -0.14, 0.031382984e3)  # lat, lon, hs (m) as in the validation rows
EL_LONDON = 31.07699124
BEIJING = (40.0, 116.3, 50.0)


@pytest.fixture(scope="module")
def itur() -> object:
    return pytest.importorskip("itur")


@pytest.mark.parametrize(
    ("freq_ghz", "p", "rain_db", "sci_db"),
    [
        (14.25, 1.0, 0.495317069, 0.261931889),
        (14.25, 0.01, 6.798072267, 0.628287291),
        (14.25, 0.001, 14.89982248, 0.910213314),
    ],
)
def test_p618_validation_rows(
    itur: object, freq_ghz: float, p: float, rain_db: float, sci_db: float
) -> None:
    a = slant_path_attenuation(
        *LONDON,
        freq_ghz * 1e9,
        EL_LONDON,
        p,
        1.0,
        antenna_efficiency=0.65,
        polarization_tilt_deg=0.0,
    )
    assert float(a.rain_db) == pytest.approx(rain_db, rel=1e-6)
    assert float(a.scintillation_db) == pytest.approx(sci_db, rel=1e-6)


def test_p676_validation_row(itur: object) -> None:
    # ITURP676-12_A_gas.csv row 1: 0.226874038 dB; the row's rho/T/P/V_t are what
    # itur derives from P.836/P.1510/P.835 for that site, so the full chain matches.
    a = slant_path_attenuation(*LONDON, 14.25e9, EL_LONDON, 1.0, 1.0)
    assert float(a.gases_db) == pytest.approx(0.226874038, rel=1e-5)
    assert a.total_db == pytest.approx(
        a.gases_db + np.sqrt((a.rain_db + a.clouds_db) ** 2 + a.scintillation_db**2)
    )


def test_versions_are_pinned(itur: object) -> None:
    from itur.models import itu618, itu676, itu840

    slant_path_attenuation(*BEIJING, 8.2e9, 20.0, 0.1, 3.7)
    assert itu618.get_version() == ITUR_VERSIONS["itu618"] == 13
    assert itu676.get_version() == 12 and itu840.get_version() == 8


def test_fast_table_matches_itur(itur: object) -> None:
    table = AtmosphereTable.from_itur(*BEIJING, 8.2e9, 0.1, 3.7)
    el = np.array([5.0, 8.5, 12.0, 25.0, 38.0, 55.0, 80.0])
    direct = slant_path_attenuation(*BEIJING, 8.2e9, el, 0.1, 3.7)
    fast = table.attenuation(el)
    for name in ("gases_db", "clouds_db", "rain_db", "scintillation_db"):
        np.testing.assert_allclose(getattr(fast, name), getattr(direct, name), rtol=0.03)
    np.testing.assert_allclose(fast.total_db, direct.total_db, atol=0.05)
    assert fast.total_db.shape == el.shape


def test_validation_of_arguments() -> None:
    with pytest.raises(UsageError, match="1-100 GHz"):
        slant_path_attenuation(*BEIJING, 193e12, 10.0, 0.1, 1.0)
    with pytest.raises(UsageError, match="Elevations"):
        slant_path_attenuation(*BEIJING, 8.2e9, 0.0, 0.1, 1.0)
    with pytest.raises(UsageError, match="p_percent"):
        slant_path_attenuation(*BEIJING, 8.2e9, 10.0, 60.0, 1.0)
    zero = NoAtmosphere().attenuation(np.array([10.0, 20.0]))
    assert zero.total_db.tolist() == [0.0, 0.0]


def test_gauss_markov_matches_the_recursion() -> None:
    signal = pytest.importorskip("scipy.signal")
    for beta, step in ((2e-4, 1.0), (2e-4, 500.0), (0.5, 1.0), (50.0, 1.0)):
        x = gauss_markov(5000, step, beta, np.random.default_rng(7))
        rng = np.random.default_rng(7)
        rho = np.exp(-beta * step)
        x0 = rng.standard_normal()
        w = np.sqrt(1 - rho**2) * rng.standard_normal(5000)
        ref = signal.lfilter([1.0], [1.0, -rho], w, zi=[rho * x0])[0]
        np.testing.assert_allclose(x, ref, atol=1e-9)


def test_gauss_markov_statistics() -> None:
    rho = np.exp(-0.1)
    x = gauss_markov(400_000, 1.0, 0.1, np.random.default_rng(1))
    assert x.mean() == pytest.approx(0.0, abs=0.03)
    assert x.var() == pytest.approx(1.0, abs=0.03)
    for lag in (1, 5, 10):
        r = np.mean(x[:-lag] * x[lag:])
        assert r == pytest.approx(rho**lag, abs=0.03)


def test_lognormal_fit_recovers_parameters() -> None:
    from statistics import NormalDist

    p = np.array([0.01, 0.03, 0.1, 0.3, 1.0])
    q = np.array([NormalDist().inv_cdf(1 - v / 100) for v in p])
    a = np.exp(-1.0 + 0.8 * q)
    m, s = fit_rain_lognormal(p, a, 3.0, offset_corrected=False)
    assert (m, s) == pytest.approx((-1.0, 0.8))
    # With the offset correction, exp(m + s q) - offset reproduces the points exactly
    # when they are a shifted log-normal.
    off = np.exp(-1.0 + 0.8 * NormalDist().inv_cdf(1 - 0.03))
    m, s = fit_rain_lognormal(p, a - off, 3.0)
    assert (m, s) == pytest.approx((-1.0, 0.8), abs=1e-6)
    with pytest.raises(UsageError):
        fit_rain_lognormal(p, a, 0.02)


def test_rain_series_statistics_without_itur() -> None:
    model = RainFadeModel((10.0, 30.0), (-1.0, -2.0), (1.2, 1.3), 3.0)
    x = model.series(1_000_000, 250.0, np.random.default_rng(11), 10.0)
    # Monte-Carlo: rho = exp(-0.05): ~25 000 independent samples.
    assert np.mean(x > 0) == pytest.approx(0.03, rel=0.12)
    for p in (0.1, 0.3, 1.0):
        assert np.quantile(x, 1 - p / 100) == pytest.approx(
            float(model.exceedance_db(p, 10.0)), rel=0.08
        )
    # Same seed, same series; a pass's elevation profile interpolates the parameters.
    assert np.array_equal(x, model.series(1_000_000, 250.0, np.random.default_rng(11), 10.0))
    m, s = model.parameters(np.array([10.0, 30.0, 90.0]))
    assert m.tolist() == [-1.0, -2.0, -2.0] and s.tolist() == [1.2, 1.3, 1.3]


def test_rain_series_matches_p618_percentiles(itur: object) -> None:
    from itur.models import itu618

    model = RainFadeModel.from_itur(*BEIJING, 8.2e9)
    assert model.p_rain_percent == pytest.approx(1.85, abs=0.05)  # P.837-7 P0 at Beijing
    el = 20.0
    x = model.series(2_000_000, 200.0, np.random.default_rng(5), el)
    assert np.mean(x > 0) == pytest.approx(model.p_rain_percent / 100, rel=0.12)
    for p in (0.03, 0.1, 0.3, 1.0):
        p618 = float(itu618.rain_attenuation(40.0, 116.3, 8.2, el, hs=0.05, p=p).value)
        got = float(np.quantile(x, 1 - p / 100))
        # Within Monte-Carlo error of the synthesis' own law...
        assert got == pytest.approx(float(model.exceedance_db(p, el)), rel=0.1)
        # ...which is a log-normal fit to P.618: within 0.2 dB of it over 0.03-1 %.
        assert got == pytest.approx(p618, abs=0.2)


def test_scintillation_sigma_and_spectrum() -> None:
    x = scintillation_series(2**18, 0.1, np.random.default_rng(3), 0.4, corner_hz=0.1)
    assert x.std() == pytest.approx(0.4, rel=0.05)
    assert abs(x.mean()) < 0.05
    # Averaged periodogram: flat below the corner, f^(-8/3) well above it.
    segs = x.reshape(64, -1)
    psd = np.mean(np.abs(np.fft.rfft(segs, axis=1)) ** 2, axis=0)
    f = np.fft.rfftfreq(segs.shape[1], 0.1)
    hi = (f > 1.0) & (f < 4.0)
    slope = np.polyfit(np.log(f[hi]), np.log(psd[hi]), 1)[0]
    assert slope == pytest.approx(-8 / 3, abs=0.25)
    lo = (f > 0) & (f < 0.02)
    assert np.polyfit(np.log(f[lo]), np.log(psd[lo]), 1)[0] == pytest.approx(0.0, abs=0.5)


def test_scintillation_model_from_itur(itur: object) -> None:
    model = ScintillationModel.from_itur(40.0, 116.3, 8.2e9, 3.7)
    from itur.models import itu618

    ref = float(
        itu618.scintillation_attenuation_sigma(40.0, 116.3, 8.2, 20.0, 1, 3.7, eta=0.65).value
    )
    assert float(model.sigma_at(20.0)) == pytest.approx(ref, rel=0.02)
    el = np.linspace(10.0, 60.0, 20_000)
    x = model.series(el.size, 0.05, np.random.default_rng(2), el)
    # Lower elevations scintillate more (sigma ~ sin(el)^-1.2).
    assert x[:2000].std() > 2 * x[-2000:].std()
