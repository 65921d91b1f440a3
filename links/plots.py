"""Plots of an emulated pass (matplotlib, the optional ``plot`` extra).

matplotlib is imported inside the functions, with the non-interactive Agg backend, so
importing this module costs nothing and needs nothing; calling a plot without
matplotlib raises :class:`UsageError` saying how to install it.

:func:`plot_emulation` draws one figure: elevation, range and Doppler against time;
the RF margin (or the optical received power against the detector threshold, the
fades) against time with the carrier-lock spans; frames sent, lost and corrupted per
interval; and the timeline of every pass of the scenario across its stations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from comms.errors import UsageError
from links.emulator import EmulationReport, PassEmulator, scenario_passes

__all__ = ["plot_emulation"]

# Points per drawn curve: the optical series holds ~1000 samples a second; a PNG a
# few thousand pixels wide shows no more than this, so draw per-bin minima and maxima.
_MAX_POINTS = 4000


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "Plots need matplotlib: pip install 'dawnlink[plot]' (or matplotlib)."
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _envelope(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, min, max) over at most _MAX_POINTS bins, so deep short fades stay visible."""
    if t.size <= _MAX_POINTS:
        return t, y, y
    k = t.size // _MAX_POINTS
    n = k * _MAX_POINTS
    yy = y[:n].reshape(_MAX_POINTS, k)
    return t[:n:k], yy.min(axis=1), yy.max(axis=1)


def plot_emulation(emulator: PassEmulator, report: EmulationReport, path: str | Path) -> None:
    """Draw the pass of ``emulator`` and its ``report`` to the image file ``path``."""
    plt = _pyplot()
    tl = emulator.timeline
    aos = tl.contact.aos_s
    t = tl.t_s - aos
    fig, axes = plt.subplots(5, 1, figsize=(10, 15), constrained_layout=True)
    fig.suptitle(f"{report.scenario}: AOS {report.aos_utc}")

    ax = axes[0]
    ax.plot(t, tl.elevation_deg, color="tab:blue")
    ax.set_ylabel("elevation (deg)", color="tab:blue")
    ax.set_xlabel("time since AOS (s)")
    twin = ax.twinx()
    twin.plot(t, tl.range_m / 1e3, color="tab:orange")
    twin.set_ylabel("range (km)", color="tab:orange")
    ax.set_title("geometry")

    ax = axes[1]
    ax.plot(t, tl.doppler_hz / 1e3, label="Doppler")
    ax.plot(t, tl.residual_hz / 1e3, label="residual after pre-compensation")
    ax.set_ylabel("kHz")
    ax.set_xlabel("time since AOS (s)")
    ax.set_title(f"Doppler at {tl.freq_hz / 1e9:.4g} GHz")
    ax.legend(loc="best")

    ax = axes[2]
    if tl.optical is None:
        ax.plot(t, tl.margin_db, color="tab:green")
        ax.axhline(0.0, color="black", linewidth=0.8)
        ax.set_ylabel("margin (dB)")
        ax.set_title("RF link margin")
    else:
        s = tl.optical
        ts, lo, hi = _envelope(s.t_s - aos, 10.0 * np.log10(np.maximum(s.power_w, 1e-30) / 1e-3))
        ax.fill_between(ts, lo, hi, color="tab:purple", alpha=0.6, label="received power")
        ax.plot(
            s.t_s[:: max(1, s.t_s.size // _MAX_POINTS)] - aos,
            10.0 * np.log10(s.mean_power_w[:: max(1, s.t_s.size // _MAX_POINTS)] / 1e-3),
            color="black",
            linewidth=0.8,
            label="mean (no fades)",
        )
        thr = 10.0 * np.log10(tl.optical_threshold_w / 1e-3)
        ax.axhline(thr, color="tab:red", linestyle="--", label="detector sensitivity")
        ax.set_ylim(max(float(np.min(lo)), thr - 30.0), float(np.max(hi)) + 3.0)
        ax.set_ylabel("power (dBm)")
        ax.set_title("optical fades")
        ax.legend(loc="best")
    for a, b in tl.lock.intervals:
        ax.axvspan(a - aos, b - aos, color="tab:green", alpha=0.08)
    ax.set_xlabel("time since AOS (s) (shaded: carrier locked)")

    ax = axes[3]
    iv = report.intervals
    width = float(iv.start_s[1] - iv.start_s[0]) if iv.start_s.size > 1 else 1.0
    ax.bar(iv.start_s, iv.sent, width=width, align="edge", color="lightgray", label="sent")
    ax.bar(iv.start_s, iv.lost, width=width, align="edge", color="tab:red", label="lost")
    ax.bar(
        iv.start_s,
        iv.corrupted,
        width=width,
        align="edge",
        bottom=iv.lost,
        color="tab:orange",
        label="corrupted",
    )
    ax.bar(
        iv.start_s,
        iv.uncorrectable,
        width=width,
        align="edge",
        bottom=iv.lost,
        color="black",
        label="uncorrectable",
    )
    ax.set_ylabel("frames per interval")
    ax.set_xlabel("time since AOS (s)")
    ax.set_title(
        f"frames: {report.frames_sent} sent, {report.frames_lost} lost, "
        f"{report.frames_corrupted} corrupted, {report.frames_uncorrectable} uncorrectable"
    )
    ax.legend(loc="best")

    ax = axes[4]
    passes = scenario_passes(emulator.scenario)
    names = [s.name for s in emulator.scenario.stations]
    for p in passes:
        row = names.index(p.station) if p.station in names else 0
        mine = p.aos_s == tl.contact.aos_s and p.station == tl.contact.station
        ax.broken_barh(
            [(p.aos_s / 3600.0, p.duration_s / 3600.0)],
            (row - 0.35, 0.7),
            color="tab:red" if mine else "tab:blue",
        )
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(f"hours since {emulator.scenario.start} UTC (red: the emulated pass)")
    ax.set_title("pass timeline across stations")
    fig.savefig(str(path), dpi=80)
    plt.close(fig)
