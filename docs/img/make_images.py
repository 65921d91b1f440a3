"""Regenerate the pictures of the docs/link-*.md pages (needs matplotlib).

    python docs/img/make_images.py

Budget and emulator pictures come from the commands' own ``--plot``; the pass and
Doppler pictures from :func:`links.plots.plot_passes` and :func:`links.plots.plot_doppler`
(the functions a ``--plot`` of ``dawnlink link passes``/``doppler`` would call). Every
input is fixed (start times, seeds), so the pictures are reproducible; figures are drawn
at 80 dpi to keep each PNG well under 150 KB.
"""

from __future__ import annotations

import sys
from pathlib import Path

from comms.cli import main
from links.doppler import pass_doppler
from links.passes import find_contacts
from links.plots import plot_doppler, plot_passes
from links.sso import sso_satellite
from links.stations import GroundStation
from links.times import Epoch

ROOT = Path(__file__).resolve().parents[2]
IMG = ROOT / "docs" / "img"
START = "2025-03-20T00:00:00"


def passes_and_doppler() -> None:
    epoch = Epoch.of(START)
    sat = sso_satellite(750.0, 18.0, epoch.utc, name="DAWN-1")
    stations = [
        GroundStation(40.0, 116.3, 50.0, name="Beijing", min_elevation_deg=10.0),
        GroundStation(78.23, 15.39, 500.0, name="Svalbard", min_elevation_deg=10.0),
    ]
    end = epoch.utc + _hours(12)
    passes = find_contacts([sat], stations, epoch.utc, end)
    profiles = [
        pass_doppler(sat, stations[p.station_index], p, freq_hz=8.2e9, step_s=5.0) for p in passes
    ]
    plot_passes(passes, IMG / "link-passes.png", profiles)
    beijing = [(p, d) for p, d in zip(passes, profiles, strict=True) if p.station == "Beijing"]
    plot_doppler([d for _, d in beijing], [p for p, _ in beijing], IMG / "link-doppler.png")


def _hours(h: float):  # type: ignore[no-untyped-def]
    import numpy as np

    return np.timedelta64(round(h * 3600e6), "us")


def run(argv: list[str]) -> None:
    print("$ dawnlink " + " ".join(argv), file=sys.stderr)
    code = main(argv)
    if code != 0:
        raise SystemExit(code)


if __name__ == "__main__":
    passes_and_doppler()
    run(["link", "budget", "--pass", "--plot", str(IMG / "link-budget.png")])
    run(
        [
            "link",
            "run",
            "scenarios/beijing-x.toml",
            "--quiet",
            "--plot",
            str(IMG / "link-run-x.png"),
        ]
    )
    run(
        [
            "link",
            "run",
            "scenarios/svalbard-optical.toml",
            "--quiet",
            "--plot",
            str(IMG / "link-run-optical.png"),
        ]
    )
    run(["link", "run", "scenarios/fleet-x.toml", "--quiet", "--plot", str(IMG / "link-fleet.png")])
    run(
        [
            "link",
            "run",
            "scenarios/network-optical.toml",
            "--quiet",
            "--plot",
            str(IMG / "link-network-optical.png"),
        ]
    )
    for png in sorted(IMG.glob("*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KB", file=sys.stderr)
