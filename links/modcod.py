"""Modulations, CCSDS code performance tables and adaptive coding and modulation (ACM).

Coded performance is the required Eb/N0 on the AWGN channel with coherent BPSK/QPSK
(Gray QPSK is two BPSK rails, so the curves are the same per information bit), read from
the curves of CCSDS 130.1-G-2 (TM Synchronization and Channel Coding -- Summary of
Concept and Rationale, Green Book, November 2012) and its companion CCSDS 131.0-B-3:

- convolutional (7,1/2), soft-decision Viterbi: 130.1-G-2 section 4 (BER curve);
- Reed-Solomon (255,223) E=16, I=5, outer to the (7,1/2) code: 130.1-G-2 figure 6-11
  (WER, I=5) and its BER companion, figure 6-10;
- turbo codes, 8920-bit blocks, rates 1/2, 1/3, 1/4, 1/6 (10 iterations): figure 7-9
  (measured on the JPL DSN turbo decoder) and figure 7-13;
- AR4JA LDPC, k = 1024 and 4096, rates 1/2, 2/3, 4/5, and the C2 (8160,7136) LDPC code:
  130.1-G-2 section 8 (FER/BER curves, belief propagation, 50-200 iterations).

Provenance, honestly: the coded tables are NOT digitized from 130.1-G-2. The figures
could not be read when this module was written (only their captions and axes were at
hand), so each table is a handful of (Eb/N0, error rate) points set from the commonly
quoted values of those curves, believed good to a few tenths of a dB but UNVERIFIED.
Treat link margins computed from them accordingly. The uncoded curves are exact
(links.ber). Replace a table with digitized points when the figures are at hand: every
consumer goes through :meth:`CodePerformance.required_ebn0_db`.

Interpolation is linear in log10(error rate) against Eb/N0 in dB (waterfall curves are
close to straight lines there). Outside a table the end segments are extrapolated, which
ignores error floors below the last tabulated point (LDPC/turbo floors lie below 1e-7
FER for these codes). Higher-order modulations: a Gray 8-PSK carrying a code loses
against QPSK by the gap DVB-S2 tabulates for the same code rate (ETSI EN 302 307-1,
table 13: 1.8 dB at rate 2/3 to 2.4 dB at 5/6); that gap is added to the BPSK/QPSK curve.

Left out: phase noise, non-linear amplifiers, imperfect carrier and symbol tracking (put
them in an implementation loss), and the frame-length dependence of the convolutional
code's frame error rate.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from comms.errors import UsageError
from links.ber import ber_8psk, ber_bpsk
from links.times import FloatArray

__all__ = [
    "AR4JA_1024_R12",
    "AR4JA_1024_R23",
    "AR4JA_1024_R45",
    "AR4JA_4096_R12",
    "AR4JA_4096_R23",
    "AR4JA_4096_R45",
    "CODES",
    "CONV_7_12",
    "LDPC_C2",
    "RS_CONV_I5",
    "STANDARD_MODCODS",
    "TURBO_8920_R12",
    "TURBO_8920_R13",
    "TURBO_8920_R14",
    "TURBO_8920_R16",
    "UNCODED",
    "AcmResult",
    "CodePerformance",
    "ModCod",
    "Modulation",
    "modcod_by_name",
    "select_modcods",
]


class Modulation(enum.Enum):
    """Coherent PSK modulations of the CCSDS 401.0 / 131.2 toolbox (value: bits/symbol)."""

    BPSK = 1
    QPSK = 2
    PSK8 = 3

    @property
    def bits_per_symbol(self) -> int:
        return self.value

    @property
    def label(self) -> str:
        return "8PSK" if self is Modulation.PSK8 else self.name


# DVB-S2 (EN 302 307-1 table 13) 8PSK-minus-QPSK Eb/N0 gaps at equal LDPC rates:
# rate 3/5: 5.50-2.23 Es/N0 ... expressed per information bit, the gap grows with rate.
_PSK8_GAP_RATE = (0.6, 2.0 / 3.0, 0.75, 5.0 / 6.0, 0.9)
_PSK8_GAP_DB = (1.7, 1.8, 2.1, 2.4, 2.6)


@dataclass(frozen=True)
class CodePerformance:
    """A code's error rates against Eb/N0 (dB, per information bit) on BPSK/QPSK AWGN.

    ``ebn0_db`` rises; ``fer`` and ``ber`` (same length, or empty when not tabulated)
    fall. ``info_bits`` is the information block (frame) length the FER refers to.
    """

    name: str
    rate: float
    info_bits: int
    ebn0_db: tuple[float, ...]
    fer: tuple[float, ...]
    ber: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        if not 0.0 < self.rate <= 1.0:
            raise UsageError(f"Code {self.name!r}: rate must be in (0, 1], got {self.rate}.")
        n = len(self.ebn0_db)
        if n < 2 or any(b <= a for a, b in itertools.pairwise(self.ebn0_db)):
            raise UsageError(f"Code {self.name!r}: ebn0_db needs >= 2 strictly rising points.")
        for label, table in (("fer", self.fer), ("ber", self.ber)):
            if not table:
                continue
            if len(table) != n:
                raise UsageError(f"Code {self.name!r}: {label} needs {n} points, one per Eb/N0.")
            if any(not 0.0 < v <= 1.0 for v in table) or any(
                b >= a for a, b in itertools.pairwise(table)
            ):
                raise UsageError(
                    f"Code {self.name!r}: {label} must fall strictly and lie in (0, 1]."
                )
        if not self.fer and not self.ber:
            raise UsageError(f"Code {self.name!r}: tabulate fer, ber or both.")

    def _table(self, kind: str) -> tuple[FloatArray, FloatArray]:
        table = self.fer if kind == "fer" else self.ber
        if not table:
            raise UsageError(
                f"Code {self.name!r} has no {kind.upper()} table; ask for "
                f"{'ber' if kind == 'fer' else 'fer'} instead."
            )
        return np.asarray(self.ebn0_db), np.log10(np.asarray(table))

    def _rate_at(self, kind: str, ebn0_db: npt.ArrayLike, ceiling: float) -> FloatArray:
        x, logy = self._table(kind)
        e = np.asarray(ebn0_db, dtype=np.float64)
        out = np.interp(e, x, logy)
        # Extend the end segments instead of clamping: a waterfall keeps falling.
        lo = (logy[1] - logy[0]) / (x[1] - x[0])
        hi = (logy[-1] - logy[-2]) / (x[-1] - x[-2])
        out = np.where(e < x[0], logy[0] + lo * (e - x[0]), out)
        out = np.where(e > x[-1], logy[-1] + hi * (e - x[-1]), out)
        return np.asarray(np.minimum(10.0**out, ceiling))

    def fer_at(self, ebn0_db: npt.ArrayLike) -> FloatArray:
        """Frame (codeword) error rate at ``ebn0_db``; arrays in, arrays out."""
        return self._rate_at("fer", ebn0_db, 1.0)

    def ber_at(self, ebn0_db: npt.ArrayLike) -> FloatArray:
        """Bit error rate at ``ebn0_db``; arrays in, arrays out."""
        return self._rate_at("ber", ebn0_db, 0.5)

    def required_ebn0_db(
        self, *, target_fer: float | None = None, target_ber: float | None = None
    ) -> float:
        """Eb/N0 (dB) at which the FER (or BER) falls to the target."""
        if (target_fer is None) == (target_ber is None):
            raise UsageError("Pass exactly one of target_fer= or target_ber=.")
        kind, target = ("fer", target_fer) if target_fer is not None else ("ber", target_ber)
        assert target is not None
        if not 0.0 < target < 1.0:
            raise UsageError(f"target_{kind} must be in (0, 1), got {target}.")
        x, logy = self._table(kind)
        t = math.log10(target)
        if t > logy[0]:
            k = 0
        elif t < logy[-1]:
            k = len(x) - 2
        else:
            # logy falls: interpolate x against reversed logy.
            return float(np.interp(t, logy[::-1], x[::-1]))
        slope = (logy[k + 1] - logy[k]) / (x[k + 1] - x[k])
        return float(x[k] + (t - logy[k]) / slope)


def _uncoded(info_bits: int) -> CodePerformance:
    # Exact BPSK/QPSK BER; FER of an uncoded frame of info_bits independent bits. The
    # grid starts where an 8920-bit frame's FER first drops below 1 in double precision.
    ebn0 = np.arange(7.0, 14.01, 0.25)
    ber = ber_bpsk(ebn0)
    fer = -np.expm1(info_bits * np.log1p(-ber))
    return CodePerformance(
        "uncoded",
        1.0,
        info_bits,
        tuple(float(v) for v in ebn0),
        tuple(float(v) for v in fer),
        tuple(float(v) for v in ber),
        "closed form, links.ber (Q(sqrt(2 Eb/N0)))",
    )


UNCODED = _uncoded(8920)

CONV_7_12 = CodePerformance(
    "conv(7,1/2)",
    0.5,
    8920,
    (1.0, 2.0, 3.0, 4.0, 4.4, 5.0, 5.6, 6.0),
    (),
    (4e-2, 7e-3, 8e-4, 5e-5, 1e-5, 1.2e-6, 1e-7, 2e-8),
    "CCSDS 130.1-G-2 section 4, soft-decision Viterbi BER curve (not digitized)",
)

RS_CONV_I5 = CodePerformance(
    "RS(255,223)+conv(7,1/2) I=5",
    0.5 * 223.0 / 255.0,
    8920,
    (1.8, 2.0, 2.2, 2.4, 2.5, 2.6, 2.8),
    (3e-1, 5e-2, 3e-3, 1e-4, 1e-5, 1e-6, 2e-8),
    (1e-2, 2e-3, 1e-4, 4e-6, 4e-7, 4e-8, 8e-10),
    "CCSDS 130.1-G-2 figures 6-10 (BER) and 6-11 (WER), I=5 (not digitized)",
)


def _turbo(rate: float, label: str, fer_1e4_db: float) -> CodePerformance:
    # Figure 7-9: the 8920-bit curves are parallel waterfalls ~0.35 dB from FER 1e-1 to
    # 1e-4; BER sits ~1.5 decades under the FER there.
    x = tuple(round(fer_1e4_db + d, 3) for d in (-0.35, -0.2, -0.1, 0.0, 0.1, 0.25))
    return CodePerformance(
        f"turbo 8920 r{label}",
        rate,
        8920,
        x,
        (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
        (3e-3, 3e-4, 3e-5, 3e-6, 3e-7, 3e-8),
        "CCSDS 130.1-G-2 figures 7-9 and 7-13, 10 iterations (not digitized)",
    )


TURBO_8920_R12 = _turbo(1.0 / 2.0, "1/2", 1.05)
TURBO_8920_R13 = _turbo(1.0 / 3.0, "1/3", 0.55)
TURBO_8920_R14 = _turbo(1.0 / 4.0, "1/4", 0.35)
TURBO_8920_R16 = _turbo(1.0 / 6.0, "1/6", 0.15)


def _ldpc(name: str, rate: float, k: int, fer_1e4_db: float, decade_db: float) -> CodePerformance:
    # AR4JA/C2 waterfalls: one FER decade per `decade_db` around 1e-4 (shorter blocks
    # fall more slowly); BER ~1 decade under FER in the waterfall.
    x = tuple(round(fer_1e4_db + d * decade_db, 3) for d in (-3, -2, -1, 0, 1, 2, 3))
    return CodePerformance(
        name,
        rate,
        k,
        x,
        (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7),
        (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
        "CCSDS 130.1-G-2 section 8, AR4JA/C2 FER curves (not digitized)",
    )


AR4JA_1024_R12 = _ldpc("AR4JA k=1024 r1/2", 1.0 / 2.0, 1024, 1.75, 0.2)
AR4JA_1024_R23 = _ldpc("AR4JA k=1024 r2/3", 2.0 / 3.0, 1024, 2.55, 0.2)
AR4JA_1024_R45 = _ldpc("AR4JA k=1024 r4/5", 4.0 / 5.0, 1024, 3.45, 0.2)
AR4JA_4096_R12 = _ldpc("AR4JA k=4096 r1/2", 1.0 / 2.0, 4096, 1.25, 0.12)
AR4JA_4096_R23 = _ldpc("AR4JA k=4096 r2/3", 2.0 / 3.0, 4096, 2.0, 0.12)
AR4JA_4096_R45 = _ldpc("AR4JA k=4096 r4/5", 4.0 / 5.0, 4096, 2.95, 0.12)
LDPC_C2 = _ldpc("LDPC C2 (8160,7136)", 7136.0 / 8160.0, 7136, 3.95, 0.12)

CODES: tuple[CodePerformance, ...] = (
    UNCODED,
    CONV_7_12,
    RS_CONV_I5,
    TURBO_8920_R12,
    TURBO_8920_R13,
    TURBO_8920_R14,
    TURBO_8920_R16,
    AR4JA_1024_R12,
    AR4JA_1024_R23,
    AR4JA_1024_R45,
    AR4JA_4096_R12,
    AR4JA_4096_R23,
    AR4JA_4096_R45,
    LDPC_C2,
)


@dataclass(frozen=True)
class ModCod:
    """A modulation carrying a code: spectral efficiency and required Eb/N0."""

    modulation: Modulation
    code: CodePerformance
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", f"{self.modulation.label} {self.code.name}")

    @property
    def spectral_efficiency(self) -> float:
        """Information bits per channel symbol: log2(M) x code rate."""
        return self.modulation.bits_per_symbol * self.code.rate

    @property
    def modulation_loss_db(self) -> float:
        """Eb/N0 this modulation loses against BPSK/QPSK with the same code."""
        if self.modulation is not Modulation.PSK8:
            return 0.0
        if self.code is UNCODED:
            # Exact uncoded gap at BER 1e-5 (links.ber closed forms).
            return _uncoded_8psk_gap_db()
        return float(np.interp(self.code.rate, _PSK8_GAP_RATE, _PSK8_GAP_DB))

    def required_ebn0_db(
        self, *, target_fer: float | None = None, target_ber: float | None = None
    ) -> float:
        base = self.code.required_ebn0_db(target_fer=target_fer, target_ber=target_ber)
        return base + self.modulation_loss_db

    def required_esn0_db(
        self, *, target_fer: float | None = None, target_ber: float | None = None
    ) -> float:
        """Es/N0 (dB) = required Eb/N0 + 10 log10(information bits per symbol)."""
        eb = self.required_ebn0_db(target_fer=target_fer, target_ber=target_ber)
        return eb + 10.0 * math.log10(self.spectral_efficiency)

    def info_rate_bps(self, symbol_rate_baud: float) -> float:
        return symbol_rate_baud * self.spectral_efficiency


def _uncoded_8psk_gap_db() -> float:
    grid = np.linspace(8.0, 16.0, 801)
    at = float(np.interp(-5.0, np.log10(ber_8psk(grid))[::-1], grid[::-1]))
    return at - UNCODED.required_ebn0_db(target_ber=1e-5)


STANDARD_MODCODS: tuple[ModCod, ...] = (
    ModCod(Modulation.BPSK, TURBO_8920_R16),
    ModCod(Modulation.BPSK, TURBO_8920_R14),
    ModCod(Modulation.QPSK, TURBO_8920_R16),
    ModCod(Modulation.QPSK, TURBO_8920_R14),
    ModCod(Modulation.QPSK, TURBO_8920_R13),
    ModCod(Modulation.QPSK, TURBO_8920_R12),
    ModCod(Modulation.QPSK, AR4JA_4096_R23),
    ModCod(Modulation.QPSK, AR4JA_4096_R45),
    ModCod(Modulation.QPSK, LDPC_C2),
    ModCod(Modulation.PSK8, AR4JA_4096_R23),
    ModCod(Modulation.PSK8, AR4JA_4096_R45),
    ModCod(Modulation.PSK8, LDPC_C2),
)
"""A CCSDS-flavoured ACM ladder, low to high spectral efficiency. Dominated entries are
left out (RS+conv and AR4JA r1/2 need more Es/N0 than turbo r1/2 for no more rate);
131.2-B SCCC is left out: its tables are not in 130.1-G-2."""


def modcod_by_name(name: str, modcods: Sequence[ModCod] = STANDARD_MODCODS) -> ModCod:
    """The modcod whose name matches ``name`` (case and spaces ignored)."""

    def key(s: str) -> str:
        return "".join(s.lower().split())

    for mc in modcods:
        if key(mc.name) == key(name):
            return mc
    for mc in (ModCod(m, c) for m in Modulation for c in CODES):
        if key(mc.name) == key(name):
            return mc
    raise UsageError(
        f"Unknown modcod {name!r}; use one of: " + ", ".join(mc.name for mc in modcods) + "."
    )


@dataclass(frozen=True)
class AcmResult:
    """Per-step ACM choice: ``index`` into the modcod list (-1: none closes the link),
    ``data_rate_bps`` (0 when none), and the information bits delivered in total."""

    modcods: tuple[ModCod, ...]
    index: npt.NDArray[np.intp]
    data_rate_bps: FloatArray
    margin_db: FloatArray
    bits_delivered: float


def select_modcods(
    *,
    symbol_rate_baud: float,
    step_s: float,
    esn0_db: npt.ArrayLike | None = None,
    cn0_dbhz: npt.ArrayLike | None = None,
    modcods: Sequence[ModCod] = STANDARD_MODCODS,
    target_fer: float = 1e-4,
    margin_db: float = 3.0,
) -> AcmResult:
    """Pick, at each step, the modcod with the highest information rate that closes.

    The channel is given as Es/N0 at ``symbol_rate_baud`` or as C/N0 (then Es/N0 =
    C/N0 - 10 log10(Rs)); with a fixed symbol rate the Eb/N0 each modcod sees is
    Es/N0 - 10 log10(its spectral efficiency), so a modcod closes when Es/N0 reaches its
    required Es/N0 + ``margin_db``. Each step lasts ``step_s`` (a piecewise-constant rate).
    """
    if (esn0_db is None) == (cn0_dbhz is None):
        raise UsageError("Pass exactly one of esn0_db= or cn0_dbhz= (arrays along the pass).")
    if not symbol_rate_baud > 0 or not step_s > 0:
        raise UsageError("symbol_rate_baud and step_s must both be > 0 (baud, seconds).")
    if not modcods:
        raise UsageError("select_modcods needs at least one modcod.")
    if esn0_db is not None:
        es = np.atleast_1d(np.asarray(esn0_db, dtype=np.float64))
    else:
        es = np.atleast_1d(np.asarray(cn0_dbhz, dtype=np.float64)) - 10.0 * math.log10(
            symbol_rate_baud
        )
    mcs = tuple(modcods)
    need = np.array([mc.required_esn0_db(target_fer=target_fer) for mc in mcs]) + margin_db
    eff = np.array([mc.spectral_efficiency for mc in mcs])
    ok = es[:, None] >= need[None, :]
    # Highest efficiency among those that close; ties go to the lower requirement.
    score = np.where(ok, eff[None, :] * 1e6 - need[None, :], -np.inf)
    best = np.argmax(score, axis=1)
    any_ok = ok.any(axis=1)
    index = np.where(any_ok, best, -1).astype(np.intp)
    rate = np.where(any_ok, eff[best] * symbol_rate_baud, 0.0)
    margin = np.where(any_ok, es - need[best] + margin_db, np.nan)
    return AcmResult(mcs, index, rate.astype(np.float64), margin, float(np.sum(rate) * step_s))
