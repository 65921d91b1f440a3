"""Plots of an emulated pass (matplotlib, the optional ``plot`` extra).

matplotlib is imported inside the functions, with the non-interactive Agg backend, so
importing this module costs nothing and needs nothing; calling a plot without
matplotlib raises :class:`UsageError` saying how to install it.

:func:`plot_emulation` draws one figure: elevation, range and Doppler against time;
the RF margin (or the optical received power against the detector threshold, the
fades) against time with the carrier-lock spans; frames sent, lost and corrupted per
interval; and the timeline of every pass of the scenario across its stations.
:func:`plot_multipass` draws a multi-pass run: the schedule across stations and
satellites, and what each pass delivered. :func:`plot_budget` draws a budget over
elevation (margin, C/N0, the atmospheric and sky-noise terms); :func:`plot_passes`
a pass timeline with each pass's elevation profile; :func:`plot_doppler` Doppler and
its rate against time for each pass.

Figures are sized and saved at 80 dpi so that a docs page's PNGs stay small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from comms.errors import UsageError
from links.budget import LinkBudget
from links.doppler import DopplerProfile
from links.geometry import SPEED_OF_LIGHT_M_S
from links.multipass import MultiPassEmulator, MultiPassReport
from links.pass_emulator import EmulationReport, PassEmulator
from links.passes import Pass
from links.span import scenario_passes

__all__ = ["plot_budget", "plot_doppler", "plot_emulation", "plot_multipass", "plot_passes"]

_DPI = 80

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
    # optical carriers shift by GHz, RF ones by kHz: label in the unit that reads
    scale, unit = (1e9, "GHz") if np.max(np.abs(tl.doppler_hz)) > 1e8 else (1e3, "kHz")
    ax.plot(t, tl.doppler_hz / scale, label="Doppler")
    ax.plot(t, tl.residual_hz / scale, label="residual after pre-compensation")
    ax.set_ylabel(unit)
    ax.set_xlabel("time since AOS (s)")
    carrier = (
        f"{SPEED_OF_LIGHT_M_S / tl.freq_hz * 1e9:.0f} nm"
        if tl.optical is not None
        else f"{tl.freq_hz / 1e9:.4g} GHz"
    )
    ax.set_title(f"Doppler at {carrier}")
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
    fig.savefig(str(path), dpi=_DPI)
    plt.close(fig)


def _station_rows(passes: list[Pass]) -> list[str]:
    names: list[str] = []
    for p in passes:
        if p.station not in names:
            names.append(p.station)
    return names


def plot_multipass(emulator: MultiPassEmulator, report: MultiPassReport, path: str | Path) -> None:
    """Draw a multi-pass run: every pass on a timeline (a row per station, a colour per
    satellite) and, per pass, the share of frames delivered, lost and corrupted."""
    plt = _pyplot()
    contacts = emulator.contacts
    fig, axes = plt.subplots(2, 1, figsize=(10, 7.5), constrained_layout=True)
    fig.suptitle(
        f"{report.scenario}: {len(report.passes)} passes from {emulator.scenario.start} UTC"
    )
    names = [s.name for s in emulator.scenario.stations]
    sats = [s.name for s in emulator.scenario.fleet]
    colors = plt.get_cmap("tab10")
    ax = axes[0]
    for number, p in enumerate(contacts):
        row = names.index(p.station)
        ax.broken_barh(
            [(p.aos_s / 3600.0, p.duration_s / 3600.0)],
            (row - 0.35, 0.7),
            color=colors(sats.index(p.satellite) % 10),
        )
        ax.text(p.aos_s / 3600.0, row + 0.4, str(number), fontsize=7)
    for i, name in enumerate(sats):
        ax.plot([], [], color=colors(i % 10), linewidth=6, label=name)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.6, len(names) - 0.2)
    ax.set_xlabel(f"hours since {emulator.scenario.start} UTC (labels: pass number)")
    ax.set_title("schedule: every whole pass, each run as its own link")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1]
    k = np.arange(len(report.passes))
    sent = np.array([max(r.frames_sent, 1) for r in report.passes], dtype=np.float64)
    unlocked = np.array([r.frames_lost_unlocked for r in report.passes]) / sent
    channel = np.array([r.frames_lost_channel for r in report.passes]) / sent
    corrupted = np.array([r.frames_corrupted for r in report.passes]) / sent
    clean = 1.0 - unlocked - channel - corrupted
    ax.bar(k, clean, color="tab:green", label="delivered clean")
    ax.bar(k, corrupted, bottom=clean, color="tab:orange", label="delivered corrupted")
    ax.bar(k, channel, bottom=clean + corrupted, color="tab:red", label="lost (channel)")
    ax.bar(k, unlocked, bottom=clean + corrupted + channel, color="black", label="lost (no lock)")
    every = max(1, len(k) // 25)  # keep the pass numbers legible on long runs
    ax.set_xticks(k[::every], [str(i) for i in k[::every]])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("pass")
    ax.set_ylabel("share of frames sent")
    t = report.totals
    ax.set_title(
        f"frames: {t['frames_sent']} sent, {t['frames_lost']} lost, "
        f"{t['frames_corrupted']} corrupted; {t['packets_delivered']} packets intact"
    )
    ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
    fig.savefig(str(path), dpi=_DPI)
    plt.close(fig)


def plot_budget(budget: LinkBudget, path: str | Path) -> None:
    """Draw a budget computed over several elevations: margin and C/N0, and the
    atmospheric losses with the sky-noise G/T degradation, against elevation."""
    plt = _pyplot()
    if budget.size < 2:
        raise UsageError("plot_budget needs a budget over several elevations (e.g. --pass).")
    el = np.ravel(budget.elevation_deg)
    order = np.argsort(el)
    el = el[order]

    def y(a: np.ndarray) -> np.ndarray:
        return np.asarray(np.ravel(a)[order])

    link = budget.link
    fig, axes = plt.subplots(2, 1, figsize=(9, 7.5), constrained_layout=True)
    fig.suptitle(
        f"{link.freq_hz / 1e9:.4g} GHz, {link.data_rate_bps / 1e6:g} Mbit/s, {link.modcod.name}"
    )
    ax = axes[0]
    ax.plot(el, y(budget.margin_db), color="tab:green", label="margin")
    ax.plot(
        el,
        y(budget.margin_db + budget.sky_noise_db),
        color="tab:green",
        linestyle="--",
        label="margin without the sky-noise rise",
    )
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel("margin (dB)")
    ax.set_xlabel("elevation (deg)")
    ax.legend(loc="lower right", fontsize=8)
    twin = ax.twinx()
    twin.plot(el, y(budget.range_m) / 1e3, color="tab:gray", linewidth=0.8)
    twin.set_ylabel("slant range (km)", color="tab:gray")
    cn0 = y(budget.cn0_dbhz)
    ax.set_title(f"margin over a pass's elevations (C/N0 {cn0.min():.1f} to {cn0.max():.1f} dBHz)")

    ax = axes[1]
    drawn = False
    for name, label in (
        ("gases_db", "gases (P.676)"),
        ("clouds_db", "clouds (P.840)"),
        ("rain_db", f"rain (P.618, {link.rain_p_percent:g} %)"),
        ("scintillation_db", "scintillation (P.618)"),
        ("atmospheric_db", "atmospheric total"),
        ("sky_noise_db", "sky-noise G/T loss (P.618 s.7)"),
    ):
        values = y(getattr(budget, name))
        if np.any(values > 0):
            ax.plot(el, values, label=label)
            drawn = True
    ax.set_xlabel("elevation (deg)")
    ax.set_ylabel("dB")
    if drawn:
        ax.set_yscale("log")
        ax.set_title("atmosphere: losses and the sky-noise rise")
    else:
        ax.set_title("atmosphere: none (free space)")
    if drawn:
        ax.legend(loc="upper right", fontsize=8)
    fig.savefig(str(path), dpi=_DPI)
    plt.close(fig)


def plot_passes(
    passes: list[Pass], path: str | Path, profiles: list[DopplerProfile] | None = None
) -> None:
    """Draw passes on a timeline (a row per station, hours since the search start) and,
    with their ``profiles`` (:func:`links.doppler.pass_doppler`), each pass's elevation
    against time since AOS."""
    plt = _pyplot()
    if not passes:
        raise UsageError("No passes to plot; widen the span or lower the elevation mask.")
    rows = 2 if profiles else 1
    fig, axes = plt.subplots(rows, 1, figsize=(10, 3.5 * rows + 0.5), constrained_layout=True)
    axes = np.atleast_1d(axes)
    names = _station_rows(passes)
    sats = sorted({p.satellite for p in passes})
    colors = plt.get_cmap("tab10")
    ax = axes[0]
    for p in passes:
        ax.broken_barh(
            [(p.aos_s / 3600.0, p.duration_s / 3600.0)],
            (names.index(p.station) - 0.35, 0.7),
            color=colors(sats.index(p.satellite) % 10),
        )
    if len(sats) <= 10:
        for i, name in enumerate(sats):
            ax.plot([], [], color=colors(i), linewidth=6, label=name)
        ax.legend(loc="upper right", fontsize=8)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(f"hours since {np.datetime_as_string(passes[0].epoch.utc, unit='s')} UTC")
    ax.set_title(f"{len(passes)} passes")
    if profiles:
        ax = axes[1]
        for prof, p in zip(profiles, passes, strict=True):
            ax.plot(
                prof.t_s - p.aos_s,
                prof.elevation_deg,
                label=f"{p.satellite} / {p.station} {p.aos:%H:%M}",
            )
        ax.set_xlabel("time since AOS (s)")
        ax.set_ylabel("elevation (deg)")
        ax.set_title("elevation profiles")
        if len(profiles) <= 12:
            ax.legend(loc="upper right", fontsize=7)
    fig.savefig(str(path), dpi=_DPI)
    plt.close(fig)


def plot_doppler(profiles: list[DopplerProfile], passes: list[Pass], path: str | Path) -> None:
    """Draw each pass's Doppler shift and Doppler rate against time since AOS."""
    plt = _pyplot()
    if not profiles:
        raise UsageError("No passes to plot; widen the span or lower the elevation mask.")
    fig, axes = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    fig.suptitle(f"Doppler at {profiles[0].freq_hz / 1e9:.4g} GHz")
    for prof, p in zip(profiles, passes, strict=True):
        label = f"{p.satellite} / {p.station} {p.aos:%H:%M}, max el {p.max_elevation_deg:.0f}"
        axes[0].plot(prof.t_s - p.aos_s, prof.doppler_hz / 1e3, label=label)
        axes[1].plot(prof.t_s - p.aos_s, prof.doppler_rate_hz_s, label=label)
    axes[0].set_ylabel("Doppler shift (kHz)")
    axes[1].set_ylabel("Doppler rate (Hz/s)")
    for ax in axes:
        ax.set_xlabel("time since AOS (s)")
        ax.axhline(0.0, color="black", linewidth=0.6)
    if len(profiles) <= 12:
        axes[0].legend(loc="upper right", fontsize=7)
    fig.savefig(str(path), dpi=_DPI)
    plt.close(fig)
