"""Free-space path loss and uncoded BER against closed forms and REFERENCES.md."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import UsageError
from links import ber_8psk, ber_bpsk, ber_qpsk, fspl_db, q_function, wavelength_to_frequency_hz


@pytest.mark.parametrize(
    ("freq_hz", "loss_db"),
    [(2.2e9, 166.4), (8.2e9, 177.8), (26e9, 187.8), (wavelength_to_frequency_hz(1550e-9), 265.3)],
)
def test_fspl_references_at_10_deg(freq_hz: float, loss_db: float) -> None:
    # shared/REFERENCES.md: 750 km SSO at 10 deg elevation, 2262 km.
    assert float(fspl_db(2262e3, freq_hz)) == pytest.approx(loss_db, abs=0.05)


@given(st.floats(1.0, 1e12), st.floats(1e3, 1e15))
def test_fspl_closed_form(range_m: float, freq_hz: float) -> None:
    expected = (
        20 * math.log10(range_m)
        + 20 * math.log10(freq_hz)
        + 20 * math.log10(4 * math.pi / 299_792_458.0)
    )
    assert float(fspl_db(range_m, freq_hz)) == pytest.approx(expected, abs=1e-9)
    # Doubling the range costs 6.02 dB.
    assert float(fspl_db(2 * range_m, freq_hz) - fspl_db(range_m, freq_hz)) == pytest.approx(
        20 * math.log10(2), abs=1e-9
    )


def test_fspl_broadcasts_and_validates() -> None:
    out = fspl_db(np.array([1e6, 2e6, 3e6])[:, None], np.array([2.2e9, 8.2e9]))
    assert out.shape == (3, 2)
    with pytest.raises(UsageError):
        fspl_db(0.0, 8.2e9)


def test_q_function_table_values() -> None:
    # Standard normal tail values (Abramowitz & Stegun table 26.1).
    np.testing.assert_allclose(
        q_function([0.0, 1.0, 3.0]), [0.5, 0.158655254, 1.349898e-3], rtol=1e-6
    )


def test_bpsk_needs_9_59_db_for_1e_5() -> None:
    # REFERENCES: BPSK/QPSK 1e-5 at 9.59 dB.
    assert float(ber_bpsk(9.59)) == pytest.approx(1.0e-5, rel=0.02)
    assert float(ber_qpsk(9.59)) == float(ber_bpsk(9.59))
    # Closed form at 0 dB: Q(sqrt 2) = 0.0786496.
    assert float(ber_bpsk(0.0)) == pytest.approx(0.0786496, rel=1e-5)


def test_8psk_needs_about_13_db_for_1e_5() -> None:
    # Gray 8-PSK needs ~3.4 dB more than BPSK at 1e-5 (Proakis, fig. 5.2-10).
    assert 8e-6 < float(ber_8psk(13.0)) < 1.5e-5
    assert float(ber_8psk(9.59)) > float(ber_bpsk(9.59))


def test_ber_accepts_arrays_and_is_monotonic() -> None:
    ebn0 = np.linspace(-2.0, 14.0, 50)
    for fn in (ber_bpsk, ber_qpsk, ber_8psk):
        out = fn(ebn0)
        assert out.shape == ebn0.shape
        assert np.all(np.diff(out) < 0)
        assert np.ndim(fn(3.0)) == 0
