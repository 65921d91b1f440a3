"""Several passes emulated one after another: every pass of a scenario's span.

:class:`MultiPassEmulator` runs every whole pass of every satellite over every station
in the scenario's span (:func:`~links.span.scenario_passes`) one after another in AOS
order on the same scenario time, each as its own
:class:`~links.pass_emulator.PassEmulator` with randomness streams of its own;
:class:`MultiPassReport` holds each pass's report and the totals. With correlated
clouds (optical) one cloud field covers every station for the whole span
(:func:`~links.span.scenario_cloud_field`), so passes see a consistent sky.

Left out: one transmitter serving two stations at once (overlapping passes run as
separate links; the report counts them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comms.errors import UsageError
from links.pass_emulator import DEFAULT_BATCH_FRAMES, EmulationReport, PassEmulator, _Source
from links.passes import Pass
from links.scenario import Scenario
from links.span import scenario_cloud_field, scenario_passes

__all__ = ["MultiPassEmulator", "MultiPassReport"]

# Totals a multi-pass report sums over its passes (EmulationReport field names).
_TOTALS = (
    "frames_sent",
    "frames_lost",
    "frames_lost_unlocked",
    "frames_lost_channel",
    "frames_delivered",
    "frames_corrupted",
    "frames_rs_corrected",
    "frames_uncorrectable",
    "frames_fecf_failed",
    "frames_decoded",
    "frame_gaps",
    "packets_sent",
    "packets_delivered",
    "packets_damaged",
    "lock_losses",
    "bit_errors",
)


@dataclass(frozen=True)
class MultiPassReport:
    """Every pass of a span, in AOS order, and the totals.

    ``passes[k]`` is pass k's :class:`EmulationReport`; ``aos_s[k]`` its AOS in seconds
    since the scenario start. ``totals`` sums the frame, packet, lock-loss and bit-error
    counts over the passes; ``contact_s`` is the summed pass time and ``locked_s`` the
    summed lock time; ``throughput_bps`` is the intact packet bits per second of
    contact; ``overlapping`` counts passes that begin before an earlier pass of the
    same satellite ended (its transmitter would serve two stations at once: each pass
    runs as its own link here).
    """

    scenario: str
    seed: int
    passes: tuple[EmulationReport, ...]
    aos_s: tuple[float, ...]
    totals: dict[str, int]
    contact_s: float
    locked_s: float
    overlapping: int

    @property
    def throughput_bps(self) -> float:
        bits = sum(r.throughput_bps * r.duration_s for r in self.passes)
        return bits / self.contact_s if self.contact_s > 0 else 0.0

    def to_dict(self, *, intervals: bool = False) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "passes": [r.to_dict(intervals=intervals) for r in self.passes],
            "aos_s": [round(a, 3) for a in self.aos_s],
            "totals": dict(self.totals),
            "contact_s": round(self.contact_s, 6),
            "locked_s": round(self.locked_s, 6),
            "throughput_bps": round(self.throughput_bps, 6),
            "overlapping": self.overlapping,
        }

    def summary(self) -> str:
        """One line per pass, then the totals."""
        t = self.totals
        lines = [
            f"{self.scenario}: {len(self.passes)} pass(es), seed {self.seed}",
            "   #  satellite     station       AOS (UTC)             dur s  max el"
            "      sent  delivered     lost  corrupted  packets ok",
        ]
        for k, r in enumerate(self.passes):
            lines.append(
                f"{k:4d}  {r.satellite[:12]:<12}  {r.station[:12]:<12}  {r.aos_utc:<20}"
                f"  {r.duration_s:5.0f}  {r.max_elevation_deg:6.1f}  {r.frames_sent:8d}"
                f"  {r.frames_delivered:9d}  {r.frames_lost:7d}  {r.frames_corrupted:9d}"
                f"  {r.packets_delivered:10d}"
            )
        sent = t.get("frames_sent", 0)
        lost = t.get("frames_lost", 0)
        pct = f"{100.0 * lost / sent:.2f} %" if sent else "-"
        lines += [
            f"  total       contact {self.contact_s:.0f} s, locked {self.locked_s:.0f} s, "
            f"{self.overlapping} overlapping pass(es)",
            f"  frames      sent {sent}, delivered {t.get('frames_delivered', 0)}, lost {lost} "
            f"({pct}: {t.get('frames_lost_unlocked', 0)} unlocked, "
            f"{t.get('frames_lost_channel', 0)} channel)",
            f"  corrupted   {t.get('frames_corrupted', 0)}: {t.get('frames_rs_corrected', 0)} "
            f"RS-corrected, {t.get('frames_uncorrectable', 0)} uncorrectable",
            f"  packets     sent {t.get('packets_sent', 0)}, delivered intact "
            f"{t.get('packets_delivered', 0)}, damaged {t.get('packets_damaged', 0)}",
            f"  throughput  {self.throughput_bps / 1e6:.3f} Mbit/s of packets per second of "
            "contact",
        ]
        return "\n".join(lines)


class MultiPassEmulator:
    """Every whole pass of every satellite over every station of the scenario's span,
    emulated one after another in AOS order on scenario time (see the module docstring).

    ``contacts`` lists the passes (:func:`scenario_passes`). Pass k runs as a
    :class:`PassEmulator` with ``stream=k + 1``: its channel and fades draw from their
    own seeded streams, so the whole run is reproducible and passes are independent.
    Each pass's emulator is built when its turn comes and dropped after, so memory
    stays that of one pass (an optical pass holds its fade series).
    """

    def __init__(self, scenario: Scenario, *, batch_frames: int = DEFAULT_BATCH_FRAMES) -> None:
        if batch_frames < 1:
            raise UsageError(f"batch_frames must be >= 1, got {batch_frames}.")
        self.scenario = scenario
        self.batch_frames = batch_frames
        self.contacts = scenario_passes(scenario)
        if not self.contacts:
            raise UsageError(
                f"No whole pass of {', '.join(s.name for s in scenario.fleet)} over "
                f"{', '.join(s.name for s in scenario.stations)} in the {scenario.hours:g} h "
                f"from {scenario.start}; raise hours or lower the stations' "
                "min_elevation_deg."
            )
        cadu_length = _Source(scenario).cadu.cadu_length
        self.frame_duration_s = 8.0 * cadu_length / scenario.link.data_rate_bps
        self.cloud_field = scenario_cloud_field(scenario)

    def frames_per_pass(self) -> list[int]:
        """How many frames each pass sends (AOS to LOS, back to back)."""
        return [int(c.duration_s / self.frame_duration_s) for c in self.contacts]

    def emulator(self, index: int) -> PassEmulator:
        """The :class:`PassEmulator` of pass ``index`` (seeded as :meth:`run` seeds it)."""
        return PassEmulator(
            self.scenario,
            batch_frames=self.batch_frames,
            contact=self.contacts[index],
            stream=index + 1,
            cloud_field=self.cloud_field,
        )

    def run(
        self,
        progress: Callable[[float], None] | None = None,
        *,
        on_pass: Callable[[int, Pass], None] | None = None,
    ) -> MultiPassReport:
        """Emulate every pass in order. ``on_pass(k, contact)`` is called as pass k
        starts; ``progress(fraction)`` after every batch, over the frames of all passes."""
        counts = self.frames_per_pass()
        total = max(sum(counts), 1)
        done = 0
        reports: list[EmulationReport] = []
        for k, contact in enumerate(self.contacts):
            if on_pass is not None:
                on_pass(k, contact)
            emu = self.emulator(k)
            inner = None
            if progress is not None:
                n_k, base = counts[k], done

                def inner(f: float, n_k: int = n_k, base: int = base) -> None:
                    progress((base + f * n_k) / total)

            reports.append(emu.run(inner))
            done += counts[k]
        totals = {name: sum(int(getattr(r, name)) for r in reports) for name in _TOTALS}
        last_los: dict[str, float] = {}
        overlapping = 0
        for c in self.contacts:
            if c.aos_s < last_los.get(c.satellite, -math.inf):
                overlapping += 1
            last_los[c.satellite] = max(c.los_s, last_los.get(c.satellite, -math.inf))
        return MultiPassReport(
            scenario=self.scenario.name,
            seed=self.scenario.seed,
            passes=tuple(reports),
            aos_s=tuple(c.aos_s for c in self.contacts),
            totals=totals,
            contact_s=sum(c.duration_s for c in self.contacts),
            locked_s=sum(r.locked_s for r in reports),
            overlapping=overlapping,
        )
