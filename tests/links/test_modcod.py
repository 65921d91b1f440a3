"""CCSDS code performance tables, modcods and ACM selection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from links.ber import ber_8psk, ber_bpsk
from links.modcod import (
    AR4JA_1024_R12,
    AR4JA_4096_R12,
    CODES,
    CONV_7_12,
    LDPC_C2,
    RS_CONV_I5,
    STANDARD_MODCODS,
    TURBO_8920_R12,
    TURBO_8920_R16,
    UNCODED,
    CodePerformance,
    ModCod,
    Modulation,
    modcod_by_name,
    select_modcods,
)


def test_uncoded_table_is_the_closed_form() -> None:
    # REFERENCES.md: BPSK/QPSK uncoded 1e-5 needs 9.59 dB; the table is links.ber's.
    assert UNCODED.required_ebn0_db(target_ber=1e-5) == pytest.approx(9.59, abs=0.02)
    for e in (7.3, 9.0, 11.1, 13.9):
        assert float(UNCODED.ber_at(e)) == pytest.approx(float(ber_bpsk(e)), rel=0.03)
    # FER of 8920 independent bits: 1 - (1 - p)^n.
    p = float(ber_bpsk(11.0))
    assert float(UNCODED.fer_at(11.0)) == pytest.approx(1 - (1 - p) ** 8920, rel=1e-6)


def test_uncoded_8psk_gap() -> None:
    # Gray 8-PSK needs ~3.4 dB more than BPSK at BER 1e-5 (links.ber closed forms).
    gap = ModCod(Modulation.PSK8, UNCODED).modulation_loss_db
    grid = np.linspace(12.0, 14.0, 2001)
    at = grid[np.argmin(np.abs(np.log10(ber_8psk(grid)) + 5))]
    assert gap == pytest.approx(at - 9.5879, abs=0.01)
    assert 3.2 < gap < 3.6


def test_known_design_points() -> None:
    # Well-known operating points (CCSDS 130.1-G-2; REFERENCES.md table of books):
    # conv (7,1/2) soft Viterbi BER 1e-5 near 4.4 dB; RS+conv I=5 BER 1e-6 near 2.5 dB;
    # turbo 8920 r1/2 about 1 dB at FER 1e-4; C2 about 4 dB.
    assert CONV_7_12.required_ebn0_db(target_ber=1e-5) == pytest.approx(4.4, abs=0.3)
    assert RS_CONV_I5.required_ebn0_db(target_ber=1e-6) == pytest.approx(2.5, abs=0.3)
    assert TURBO_8920_R12.required_ebn0_db(target_fer=1e-4) == pytest.approx(1.0, abs=0.3)
    assert LDPC_C2.required_ebn0_db(target_fer=1e-4) == pytest.approx(4.0, abs=0.3)
    # Longer blocks and lower rates need less; every code beats uncoded.
    assert AR4JA_4096_R12.required_ebn0_db(target_fer=1e-4) < AR4JA_1024_R12.required_ebn0_db(
        target_fer=1e-4
    )
    assert TURBO_8920_R16.required_ebn0_db(target_fer=1e-4) < TURBO_8920_R12.required_ebn0_db(
        target_fer=1e-4
    )
    uncoded = UNCODED.required_ebn0_db(target_ber=1e-6)
    assert all(c.required_ebn0_db(target_ber=1e-6) < uncoded for c in CODES if c is not UNCODED)


def test_tables_are_consistent() -> None:
    for code in CODES:
        x = np.linspace(code.ebn0_db[0] - 1, code.ebn0_db[-1] + 1, 200)
        for fn in (code.fer_at, code.ber_at):
            if (fn == code.fer_at and code.fer) or (fn == code.ber_at and code.ber):
                y = fn(x)
                assert y.shape == x.shape and np.all(np.diff(y) <= 0) and np.all(y > 0)
        assert np.ndim(code.ber_at(3.0)) == 0


@given(st.sampled_from([c for c in CODES if c.fer]), st.floats(-7.0, -1.0))
def test_required_ebn0_inverts_fer(code: CodePerformance, log_target: float) -> None:
    target = 10.0**log_target
    e = code.required_ebn0_db(target_fer=target)
    assert float(code.fer_at(e)) == pytest.approx(target, rel=1e-6)


def test_code_validation() -> None:
    with pytest.raises(UsageError):
        CodePerformance("x", 0.5, 100, (1.0, 0.5), (1e-1, 1e-2), (), "")
    with pytest.raises(UsageError):
        CodePerformance("x", 0.5, 100, (1.0, 2.0), (1e-2, 1e-1), (), "")
    with pytest.raises(UsageError):
        CodePerformance("x", 1.5, 100, (1.0, 2.0), (1e-1, 1e-2), (), "")
    with pytest.raises(UsageError, match="no FER"):
        CONV_7_12.required_ebn0_db(target_fer=1e-4)
    with pytest.raises(UsageError):
        LDPC_C2.required_ebn0_db(target_fer=1e-4, target_ber=1e-6)


def test_modcod_efficiency_and_names() -> None:
    mc = modcod_by_name("qpsk ldpc c2 (8160,7136)")
    assert mc.spectral_efficiency == pytest.approx(2 * 7136 / 8160)
    assert mc.required_esn0_db(target_fer=1e-4) == pytest.approx(
        mc.required_ebn0_db(target_fer=1e-4) + 10 * math.log10(2 * 7136 / 8160)
    )
    assert mc.info_rate_bps(100e6) == pytest.approx(100e6 * 2 * 7136 / 8160)
    assert modcod_by_name("BPSK conv(7,1/2)").code is CONV_7_12
    with pytest.raises(UsageError, match="Unknown modcod"):
        modcod_by_name("16QAM")
    effs = [m.spectral_efficiency for m in STANDARD_MODCODS]
    assert effs == sorted(effs)


def test_acm_picks_monotonic_modcods_as_margin_grows() -> None:
    esn0 = np.linspace(-10.0, 16.0, 300)
    previous = None
    for margin in (0.0, 1.0, 2.0, 3.0, 5.0, 8.0):
        res = select_modcods(esn0_db=esn0, symbol_rate_baud=100e6, step_s=1.0, margin_db=margin)
        # More Es/N0 never picks a slower modcod.
        assert np.all(np.diff(res.data_rate_bps) >= 0)
        if previous is not None:
            assert np.all(res.data_rate_bps <= previous)
        previous = res.data_rate_bps
        chosen = res.index >= 0
        need = np.array([m.required_esn0_db(target_fer=1e-4) for m in STANDARD_MODCODS])
        assert np.all(esn0[chosen] >= need[res.index[chosen]] + margin)
        assert np.all(res.margin_db[chosen] >= margin - 1e-12)
    assert previous is not None and previous[0] == 0.0


def test_acm_totals_and_cn0_input() -> None:
    rs = 50e6
    cn0 = np.array([70.0, 80.0, 85.0, 90.0])
    a = select_modcods(cn0_dbhz=cn0, symbol_rate_baud=rs, step_s=2.0)
    b = select_modcods(esn0_db=cn0 - 10 * math.log10(rs), symbol_rate_baud=rs, step_s=2.0)
    np.testing.assert_array_equal(a.index, b.index)
    assert a.index[0] == -1 and a.data_rate_bps[0] == 0.0
    assert a.bits_delivered == pytest.approx(2.0 * a.data_rate_bps.sum())
    top = STANDARD_MODCODS[a.index[-1]]
    assert a.data_rate_bps[-1] == pytest.approx(top.info_rate_bps(rs))
    with pytest.raises(UsageError):
        select_modcods(symbol_rate_baud=rs, step_s=1.0)
    with pytest.raises(UsageError):
        select_modcods(esn0_db=[1.0], symbol_rate_baud=0.0, step_s=1.0)
