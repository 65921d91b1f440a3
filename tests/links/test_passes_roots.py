"""The vectorized root finder behind pass refinement (links.roots.illinois_roots).

References: a dense grid (1e-4 of the bracket) with the sign change located by linear
interpolation, and scipy's brentq as an independent solver.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from comms.errors import UsageError
from links.roots import illinois_roots

TOLERANCE = 0.1


def _grid_root(f, lo: float, hi: float) -> float:  # type: ignore[no-untyped-def]
    """The first sign change of f on a dense grid, linearly interpolated."""
    t = np.linspace(lo, hi, 20_001)
    y = f(t)
    k = int(np.nonzero((y[:-1] < 0.0) != (y[1:] < 0.0))[0][0])
    return float(t[k] - y[k] * (t[k + 1] - t[k]) / (y[k + 1] - y[k]))


# Monotone test functions f(t) = slope (t - root) + wiggle sin(w t + phase) with
# |wiggle w| < |slope|: exactly one root in any bracket, curved like an elevation crossing.
rows_strategy = st.lists(
    st.tuples(
        st.floats(0.0, 500.0),  # root
        st.floats(1e-4, 1e-2),  # slope (sin elevation per second, roughly)
        st.floats(0.0, 0.9),  # wiggle as a fraction of what keeps f monotone
        st.floats(1e-3, 3e-2),  # w (rad/s)
        st.floats(0.0, 6.3),  # phase
        st.booleans(),  # rising or falling
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(rows_strategy)
def test_roots_match_a_dense_grid_and_brentq(rows: list[tuple[float, ...]]) -> None:
    root, slope, frac, w, phase, rising = (
        np.array(c, dtype=float) for c in zip(*rows, strict=True)
    )
    sign = np.where(rising > 0.5, 1.0, -1.0)
    wiggle = frac * slope / w

    def f_rows(t: np.ndarray, k: np.ndarray | slice) -> np.ndarray:
        return np.asarray(
            sign[k]
            * (
                slope[k] * (t - root[k])
                + wiggle[k] * (np.sin(w[k] * t + phase[k]) - np.sin(w[k] * root[k] + phase[k]))
            )
        )

    calls = []

    def fn(t: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
        calls.append(t.size)
        return f_rows(t, slice(None) if sub is None else sub)

    lo, hi = np.full(root.size, -10.0), np.full(root.size, 510.0)
    everything = slice(None)
    found = illinois_roots(fn, lo, hi, f_rows(lo, everything), f_rows(hi, everything), TOLERANCE)
    for j in range(root.size):

        def f(t, j=j):  # type: ignore[no-untyped-def]
            return f_rows(np.asarray(t, dtype=float), j)

        reference = brentq(f, -10.0, 510.0, xtol=1e-12)
        assert abs(reference - root[j]) < 1e-6  # the test function's own root
        assert abs(found[j] - _grid_root(f, -10.0, 510.0)) <= TOLERANCE / 2 + 1e-3
        assert abs(found[j] - reference) <= TOLERANCE / 2 + 1e-9
    # Never more evaluations than bisection (13 for 520 s to 0.1 s) needs.
    assert len(calls) <= 13


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=7),
    st.floats(0.001, 1.0),
)
# Found by Hypothesis: a subnormal f made the false-position step overflow.
@example([0.0, 2.2250738585e-313], 1.0)
def test_any_root_of_a_polynomial_is_bracketed_within_tolerance(
    coefficients: list[float], tolerance: float
) -> None:
    # Several roots may lie in the bracket: whichever is returned, f changes sign (or
    # is zero) within tolerance / 2 of it.
    poly = np.polynomial.Polynomial(coefficients)
    lo, hi = -3.0, 3.0
    f_lo, f_hi = float(poly(lo)), float(poly(hi))
    assume(not (f_lo < 0.0 and f_hi < 0.0) and not (f_lo > 0.0 and f_hi > 0.0))
    x = illinois_roots(lambda t, _: poly(t), [lo], [hi], [f_lo], [f_hi], tolerance)[0]
    assert lo <= x <= hi
    grid = np.linspace(max(lo, x - tolerance / 2), min(hi, x + tolerance / 2), 2001)
    y = poly(grid)
    assert np.any(y == 0.0) or np.any(np.sign(y[:-1]) != np.sign(y[1:]))


def test_derivatives_or_a_guess_only_change_the_work() -> None:
    root = np.linspace(10.0, 480.0, 50)

    def f(t: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
        r = root if sub is None else root[sub]
        return np.tanh((t - r) / 60.0)

    lo, hi = np.zeros(50), np.full(50, 490.0)
    f_lo, f_hi = f(lo, None), f(hi, None)
    counts = {}
    for name, kwargs in {
        "plain": {},
        "slopes": {"d_lo": (1 - f_lo**2) / 60.0, "d_hi": (1 - f_hi**2) / 60.0},
        "guess": {"guess": root + 0.3},
    }.items():
        n = []

        def counted(t: np.ndarray, sub: np.ndarray | None, n: list[int] = n) -> np.ndarray:
            n.append(1)
            return f(t, sub)

        x = illinois_roots(counted, lo, hi, f_lo, f_hi, 0.01, **kwargs)  # type: ignore[arg-type]
        np.testing.assert_allclose(x, root, atol=0.005)
        counts[name] = len(n)
    assert counts["guess"] <= counts["slopes"] <= counts["plain"]


def test_a_discontinuous_function_falls_back_to_bisection() -> None:
    # A step (no slope information at all): false position stalls, bisection steps in.
    jump = np.array([3.3, 250.0, 489.9])

    def step(t: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
        return np.where(t < (jump if sub is None else jump[sub]), -1.0, 1.0)

    x = illinois_roots(step, np.zeros(3), np.full(3, 490.0), -np.ones(3), np.ones(3), 0.1)
    assert np.all(np.abs(x - jump) <= 0.05 + 1e-12)


def test_zero_ends_and_narrow_brackets_need_no_evaluation() -> None:
    def never(t: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
        raise AssertionError("evaluated")

    x = illinois_roots(
        never, [0.0, 5.0, 7.0], [1.0, 6.0, 7.05], [0.0, -1.0, -1.0], [2.0, 0.0, 1.0], 0.1
    )
    np.testing.assert_allclose(x, [0.0, 6.0, 7.025])


@pytest.mark.parametrize(
    ("lo", "hi", "f_lo", "f_hi", "tolerance", "match"),
    [
        ([0.0], [1.0], [1.0], [2.0], 0.1, "opposite signs"),
        ([1.0], [0.0], [-1.0], [1.0], 0.1, "lo <= hi"),
        ([0.0], [1.0], [-1.0], [1.0], 0.0, "tolerance"),
        ([0.0, 1.0], [1.0], [-1.0], [1.0], 0.1, "one length"),
    ],
)
def test_bad_brackets_are_usage_errors(
    lo: list[float],
    hi: list[float],
    f_lo: list[float],
    f_hi: list[float],
    tolerance: float,
    match: str,
) -> None:
    with pytest.raises(UsageError, match=match):
        illinois_roots(lambda t, _: t, lo, hi, f_lo, f_hi, tolerance)


def test_a_tolerance_below_float_spacing_still_ends() -> None:
    # Near t = 86400 s floats are 1.5e-11 s apart: a 1e-13 s tolerance cannot be met,
    # and the bracket shrinks to adjacent floats instead of looping.
    root = 86399.123456789

    def f(t: np.ndarray, sub: np.ndarray | None) -> np.ndarray:
        return np.where(t < root, -1.0, 1.0)  # never exactly zero

    x = illinois_roots(f, [86000.0], [86400.0], [-1.0], [1.0], 1e-13)[0]
    assert abs(x - root) < 1e-10
