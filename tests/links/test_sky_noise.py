"""The sky-noise rise of ITU-R P.618-13 section 7 in the RF link budget.

Closed form: an absorbing medium at T_m with attenuation A dB raises the antenna noise
temperature by dT = T_m (1 - 10^(-A/10)); the G/T of a receiver with clear-sky system
temperature T_sys falls by 10 log10(1 + dT / T_sys). The atmosphere below is a fixed
set of attenuations (an AtmosphereModel like NoAtmosphere), so every expected value is
the closed form evaluated by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from comms.errors import UsageError
from links.budget import (
    DEFAULT_CLEAR_SKY_NOISE_TEMP_K,
    MEDIUM_TEMP_K,
    RfLink,
    link_budget,
    sky_noise_temp_k,
)
from links.budget_cli import add_budget_parser
from links.modcod import modcod_by_name
from links.propagation import AtmosphericAttenuation, NoAtmosphere

MODCOD = modcod_by_name("QPSK LDPC C2 (8160,7136)")


@dataclass(frozen=True)
class FixedAtmosphere:
    """The same attenuation terms at every elevation (dB)."""

    gases_db: float = 0.4
    clouds_db: float = 0.8
    rain_db: float = 2.3
    scintillation_db: float = 0.7

    def attenuation(self, elevation_deg: npt.ArrayLike) -> AtmosphericAttenuation:
        ones = np.ones(np.shape(elevation_deg))
        return AtmosphericAttenuation(
            self.gases_db * ones,
            self.clouds_db * ones,
            self.rain_db * ones,
            self.scintillation_db * ones,
        )


def link(**kw: object) -> RfLink:
    args: dict[str, object] = {
        "freq_hz": 8.2e9,
        "data_rate_bps": 150e6,
        "modcod": MODCOD,
        "eirp_dbw": 16.0,
        "g_over_t_db_k": 31.0,
    }
    args.update(kw)
    return RfLink(**args)  # type: ignore[arg-type]


def test_closed_form() -> None:
    assert MEDIUM_TEMP_K == 275.0
    assert float(sky_noise_temp_k(0.0)) == 0.0
    # 3 dB absorbs half the power: half of T_m comes back as noise (10^-0.3 = 0.50119)
    assert float(sky_noise_temp_k(3.0)) == pytest.approx(275.0 * (1 - 10**-0.3), rel=1e-12)
    assert float(sky_noise_temp_k(3.0)) == pytest.approx(137.17, abs=0.01)
    a = np.array([0.1, 1.0, 10.0, 60.0])
    np.testing.assert_allclose(sky_noise_temp_k(a, 290.0), 290.0 * (1 - 10 ** (-a / 10)))
    assert float(sky_noise_temp_k(60.0)) == pytest.approx(275.0, rel=1e-6)


def test_budget_applies_it_to_g_over_t() -> None:
    atm = FixedAtmosphere()
    b = link_budget(link(), [10.0, 40.0], [2262e3, 1100e3], atmosphere=atm)
    # Rain and clouds: the gases are in the clear-sky G/T; scintillation absorbs nothing.
    absorbed = 0.8 + 2.3
    dt = 275.0 * (1 - 10 ** (-absorbed / 10))
    loss = 10 * math.log10(1 + dt / DEFAULT_CLEAR_SKY_NOISE_TEMP_K)
    np.testing.assert_allclose(b.sky_noise_temp_k, dt, rtol=1e-12)
    np.testing.assert_allclose(b.sky_noise_db, loss, rtol=1e-12)
    np.testing.assert_allclose(b.clear_sky_g_over_t_db_k, 31.0)
    np.testing.assert_allclose(b.g_over_t_db_k, 31.0 - loss, rtol=1e-12)
    # the same budget without the rise differs by exactly that much C/N0 and margin
    off = link_budget(link(sky_noise=False), [10.0, 40.0], [2262e3, 1100e3], atmosphere=atm)
    np.testing.assert_allclose(off.sky_noise_db, 0.0)
    np.testing.assert_allclose(off.cn0_dbhz - b.cn0_dbhz, loss, rtol=1e-12)
    np.testing.assert_allclose(off.margin_db - b.margin_db, loss, rtol=1e-12)


def test_reference_temperature() -> None:
    atm = FixedAtmosphere(rain_db=6.0)
    dt = 275.0 * (1 - 10 ** (-(0.8 + 6.0) / 10))
    # receiver given as gain + temperature: that temperature is the reference
    rx = link(g_over_t_db_k=None, rx_antenna_gain_dbi=54.0, system_noise_temp_k=80.0)
    b = link_budget(rx, 20.0, 1600e3, atmosphere=atm)
    assert float(b.sky_noise_db) == pytest.approx(10 * math.log10(1 + dt / 80.0))
    # a cold receiver suffers more from the same rain than a warm one
    warm = link_budget(link(clear_sky_noise_temp_k=400.0), 20.0, 1600e3, atmosphere=atm)
    assert float(warm.sky_noise_db) == pytest.approx(10 * math.log10(1 + dt / 400.0))
    assert float(b.sky_noise_db) > float(warm.sky_noise_db)
    # other medium temperatures scale the rise
    hot = link_budget(link(medium_temp_k=290.0), 20.0, 1600e3, atmosphere=atm)
    assert float(hot.sky_noise_temp_k) == pytest.approx(dt * 290.0 / 275.0)


def test_free_space_has_no_rise_and_the_table_shows_the_term() -> None:
    b = link_budget(link(), 10.0, 2262e3, atmosphere=NoAtmosphere())
    assert float(b.sky_noise_db) == 0.0 and float(b.g_over_t_db_k) == 31.0
    table = link_budget(link(), 10.0, 2262e3, atmosphere=FixedAtmosphere()).table()
    lines = table.splitlines()
    names = [line.split("  ")[0] for line in lines]
    sky = next(i for i, n in enumerate(names) if n.startswith("Sky noise (P.618 s.7, +"))
    assert names[sky - 1].startswith("Rx G/T (clear sky)") and names[sky + 1].startswith("Rx G/T")
    assert re.search(r"\+\d+\.\d K on 150 K\)\s+-\d+\.\d\d\s+dB", lines[sky])


def test_bad_values_are_rejected() -> None:
    with pytest.raises(UsageError, match="medium_temp_k"):
        link(medium_temp_k=-1.0)
    with pytest.raises(UsageError, match="clear_sky_noise_temp_k must be > 0"):
        link(clear_sky_noise_temp_k=0.0)
    with pytest.raises(UsageError, match="system_noise_temp_k already"):
        link(
            g_over_t_db_k=None,
            rx_antenna_gain_dbi=54.0,
            system_noise_temp_k=80.0,
            clear_sky_noise_temp_k=100.0,
        )


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="dawnlink link")
    add_budget_parser(parser.add_subparsers())
    args = parser.parse_args(["budget", *argv])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    return code, out.getvalue(), err.getvalue()


def test_cli_options(tmp_path: Path) -> None:
    code, out, _ = run_cli(["--no-atmosphere", "--clear-sky-temp-k", "90"])
    assert code == 0 and re.search(r"Sky noise \(P\.618 s\.7, \+0\.0 K on 90 K\)\s+-0\.00", out)
    code, out, _ = run_cli(["--no-atmosphere", "--no-sky-noise", "--json"])
    assert code == 0 and '"sky_noise_db": 0.0' in out
    code, _, err = run_cli(["--no-atmosphere", "--clear-sky-temp-k", "-3"])
    assert code == 2 and "clear_sky_noise_temp_k" in err


def test_cli_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "budget.png"
    code, _, _ = run_cli(["--no-atmosphere", "--plot", str(png)])
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
