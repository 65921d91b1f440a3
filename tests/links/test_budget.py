"""The RF link budget: hand arithmetic, pass vectorization, the CLI action and the doc."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from comms.errors import UsageError
from links.budget import (
    BOLTZMANN_DBW_PER_K_HZ,
    RfLink,
    link_budget,
    slant_range_from_elevation_m,
)
from links.budget_cli import add_budget_parser
from links.modcod import TURBO_8920_R12, ModCod, Modulation, modcod_by_name
from links.propagation import AtmosphereTable, NoAtmosphere

DOC = Path(__file__).resolve().parents[2] / "docs" / "link-budget.md"
TURBO = ModCod(Modulation.QPSK, TURBO_8920_R12)


def hand_link(**kw: object) -> RfLink:
    args: dict[str, object] = dict(
        freq_hz=8.2e9,
        data_rate_bps=100e6,
        modcod=TURBO,
        eirp_dbw=20.0,
        g_over_t_db_k=30.0,
        polarization_loss_db=0.5,
        pointing_loss_db=0.5,
        implementation_loss_db=1.0,
    )
    args.update(kw)
    return RfLink(**args)  # type: ignore[arg-type]


def test_arithmetic_by_hand() -> None:
    # One case worked on paper: 2262 km at 8.2 GHz (REFERENCES.md: FSPL 177.8 dB),
    # EIRP 20 dBW, G/T 30 dB/K, 1 dB of polarization + pointing loss, 100 Mbit/s.
    b = link_budget(hand_link(), 10.0, 2262e3, atmosphere=NoAtmosphere())
    fspl = 20 * math.log10(4 * math.pi * 2262e3 * 8.2e9 / 299_792_458.0)
    assert float(b.fspl_db) == pytest.approx(fspl) and fspl == pytest.approx(177.81, abs=0.01)
    assert abs(BOLTZMANN_DBW_PER_K_HZ + 228.5991) < 1e-4
    cn0 = 20.0 - (fspl + 1.0) + 30.0 + 228.5991
    assert float(b.cn0_dbhz) == pytest.approx(cn0, abs=1e-4)
    assert float(b.cn0_dbhz) == pytest.approx(99.79, abs=0.01)
    assert float(b.ebn0_db) == pytest.approx(cn0 - 80.0, abs=1e-4)
    assert float(b.esn0_db) == pytest.approx(cn0 - 80.0 + 10 * math.log10(1.0), abs=1e-4)
    req = TURBO.required_ebn0_db(target_fer=1e-4)
    assert float(b.margin_db) == pytest.approx(cn0 - 80.0 - req - 1.0, abs=1e-4)
    assert float(b.total_path_loss_db) == pytest.approx(fspl + 1.0)


def test_tx_power_and_gt_from_parts() -> None:
    link = hand_link(
        eirp_dbw=None,
        tx_power_dbw=10.0,
        tx_antenna_gain_dbi=12.0,
        tx_losses_db=2.0,
        g_over_t_db_k=None,
        rx_antenna_gain_dbi=54.0,
        rx_losses_db=0.5,
        system_noise_temp_k=200.0,
    )
    assert link.eirp == pytest.approx(20.0)
    assert link.g_over_t == pytest.approx(54.0 - 0.5 - 10 * math.log10(200.0))
    table = link_budget(link, 30.0, 1300e3, atmosphere=NoAtmosphere()).table()
    for term in ("Tx power", "Rx antenna gain", "System noise temperature", "Margin"):
        assert term in table


@pytest.mark.parametrize(
    "kw",
    [
        {"eirp_dbw": None},
        {"tx_power_dbw": 3.0},
        {"g_over_t_db_k": None},
        {"rx_antenna_gain_dbi": 40.0},
        {"pointing_loss_db": -1.0},
        {"target_fer": 1e-4, "target_ber": 1e-6},
        {"rain_p_percent": 99.9},
        {"data_rate_bps": 0.0},
    ],
)
def test_link_validation(kw: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        hand_link(**kw)


def test_slant_range_references() -> None:
    # REFERENCES.md, 750 km SSO: 3183 / 2675 / 2262 / 1677 / 750 km at 0/5/10/20/90 deg.
    got = slant_range_from_elevation_m([0.0, 5.0, 10.0, 20.0, 90.0], 750e3) / 1e3
    np.testing.assert_allclose(got, [3183, 2675, 2262, 1677, 750], atol=2.0)


def test_vectorized_over_a_pass() -> None:
    el = np.linspace(10.0, 85.0, 40)
    rng = slant_range_from_elevation_m(el, 750e3)
    b = link_budget(hand_link(), el, rng, atmosphere=NoAtmosphere())
    assert b.margin_db.shape == el.shape and np.all(np.diff(b.margin_db) > 0)
    assert float(b.worst().elevation_deg) == 10.0 and float(b.best().elevation_deg) == 85.0
    one = link_budget(hand_link(), el[7], rng[7], atmosphere=NoAtmosphere())
    assert float(b.at(7).margin_db) == pytest.approx(float(one.margin_db))
    with pytest.raises(UsageError, match="pick one"):
        b.table()
    d = b.to_dict()
    assert len(d["margin_db"]) == 40 and d["modcod"] == TURBO.name
    json.dumps(d)


def test_target_ber_changes_requirement() -> None:
    b = link_budget(hand_link(target_ber=1e-6), 20.0, 1677e3, atmosphere=NoAtmosphere())
    assert float(b.required_ebn0_db) == pytest.approx(
        TURBO_8920_R12.required_ebn0_db(target_ber=1e-6)
    )
    assert "BER 1e-06" in b.table()


def test_itur_budget_terms() -> None:
    pytest.importorskip("itur")
    link = hand_link(station_lat_deg=40.0, station_lon_deg=116.3, station_alt_m=50.0)
    el = np.array([10.0, 45.0])
    b = link_budget(link, el, slant_range_from_elevation_m(el, 750e3))
    assert np.all(b.rain_db > 0) and np.all(b.gases_db > 0) and np.all(b.clouds_db > 0)
    assert b.rain_db[0] > b.rain_db[1]
    # A prebuilt table gives the same budget (the fast path reused across passes).
    table = AtmosphereTable.from_itur(40.0, 116.3, 50.0, 8.2e9, 0.1, 3.7)
    again = link_budget(link, el, b.range_m, atmosphere=table)
    np.testing.assert_allclose(again.margin_db, b.margin_db)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="dawnlink link")
    add_budget_parser(parser.add_subparsers())
    args = parser.parse_args(["budget", *argv])
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = args.func(args)
    return code, out.getvalue(), err.getvalue()


def test_cli_free_space_table_and_json() -> None:
    code, out, _ = run_cli(["--no-atmosphere", "--elevation", "10"])
    assert code == 0
    assert re.search(r"Free-space path loss\s+-177\.8\d\s+dB", out)
    assert re.search(r"EIRP\s+16\.00\s+dBW", out)
    code, out, _ = run_cli(["--no-atmosphere", "--json", "--data-rate-bps", "250e6"])
    doc = json.loads(out)
    assert code == 0 and doc["data_rate_bps"] == 250e6 and doc["rain_db"] == 0.0
    code, out, _ = run_cli(["--no-atmosphere", "--pass", "--json"])
    doc = json.loads(out)
    assert doc["worst"]["elevation_deg"] == 10.0 and doc["best"]["elevation_deg"] == 90.0


def test_cli_usage_errors() -> None:
    assert run_cli(["--no-atmosphere", "--modcod", "16QAM"])[0] == 2
    assert run_cli(["--no-atmosphere", "--availability", "100"])[0] == 2
    code, _, err = run_cli(["--no-atmosphere", "--pass", "--range-km", "900"])
    assert code == 2 and "--range-km" in err


def test_cli_mission_preset_with_itur() -> None:
    pytest.importorskip("itur")
    code, out, _ = run_cli(["--json"])
    doc = json.loads(out)
    assert code == 0 and doc["modcod"] == modcod_by_name("QPSK LDPC C2 (8160,7136)").name
    assert 1.5 < doc["rain_db"] < 4.0 and doc["range_m"] == pytest.approx(2261.5e3, abs=1e3)


def test_doc_examples_run() -> None:
    pytest.importorskip("itur")  # the doc shows the ITU-R path
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 3
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    assert "Margin" in out.getvalue()
