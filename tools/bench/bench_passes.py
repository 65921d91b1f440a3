"""Contact plans: dawnlink's vectorized pass search against skyfield's find_events.

The issue's target: a 24 h contact plan for 100 satellites x 10 stations on a 1 s grid,
refined to 0.1 s, in under a minute on one core, and >= 50x skyfield per pair. skyfield
is not vectorized over satellites or stations (REFERENCES.md, Peers), so it is timed on
a sample of pairs from the same constellation and stations; the ratio is per pair.

``python -m tools.bench passes --min-time 0.1`` runs all cases (the full plan is one
call of several seconds per timing; the runner does a warm-up plus three repeats).
``python -m tools.bench.bench_passes`` times one full plan and prints its size.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from links import GroundStation, Pass, Satellite, find_contacts, sso_constellation
from tools.bench import Case

START = datetime(2025, 3, 20, tzinfo=UTC)
END = START + timedelta(days=1)
STEP_S = 1.0
TOLERANCE_S = 0.1
SAMPLE_PAIRS = 3

_SITES = [
    ("Beijing", 40.0, 116.3),
    ("Svalbard", 78.23, 15.39),
    ("Kiruna", 67.86, 20.96),
    ("Fairbanks", 64.86, -147.85),
    ("Hartebeesthoek", -25.89, 27.69),
    ("Santiago", -33.15, -70.67),
    ("Troll", -72.01, 2.53),
    ("Kashi", 39.47, 75.99),
    ("Sanya", 18.25, 109.5),
    ("Wallops", 37.94, -75.46),
]


def constellation(n_sats: int = 100) -> list[Satellite]:
    planes = 10 if n_sats % 10 == 0 else 1
    return sso_constellation(750.0, planes, n_sats // planes, 18.0, 1, epoch=START)


def stations(n_stations: int = 10) -> list[GroundStation]:
    return [
        GroundStation(lat, lon, 0.0, name=name, min_elevation_deg=10.0)
        for name, lat, lon in _SITES[:n_stations]
    ]


def full_plan(n_sats: int = 100, n_stations: int = 10) -> list[Pass]:
    """The benchmarked work: every pass of the constellation over the stations in 24 h."""
    return find_contacts(
        constellation(n_sats),
        stations(n_stations),
        START,
        END,
        step_s=STEP_S,
        tolerance_s=TOLERANCE_S,
    )


def _skyfield_runner(sats: list[Satellite], stas: list[GroundStation]):  # type: ignore[no-untyped-def]
    from skyfield.api import EarthSatellite, load, wgs84

    ts = load.timescale(builtin=True)
    t0, t1 = ts.from_datetime(START), ts.from_datetime(END)
    pairs = [
        (
            EarthSatellite.from_satrec(sats[i].satrec, ts),
            wgs84.latlon(st.lat_deg, st.lon_deg, st.alt_m),
            st,
        )
        for i, st in zip(range(0, len(sats), 37), stas[:SAMPLE_PAIRS], strict=False)
    ][:SAMPLE_PAIRS]

    def run() -> int:
        found = 0
        for sat, topo, st in pairs:
            _, events = sat.find_events(topo, t0, t1, altitude_degrees=st.min_elevation_deg)
            found += len(events)
        return found

    return run, len(pairs)


def cases() -> list[Case]:
    sats, stas = constellation(), stations()
    sky, n_pairs = _skyfield_runner(sats, stas)
    sample = [(sats[i], st) for i, st in zip(range(0, len(sats), 37), stas, strict=False)][:n_pairs]

    def dawnlink_sample() -> int:
        return sum(
            len(find_contacts([s], [g], START, END, step_s=STEP_S, tolerance_s=TOLERANCE_S))
            for s, g in sample
        )

    group = "24 h passes, 1 s grid -> 0.1 s (per pair)"
    return [
        Case(group, "skyfield find_events", sky, items=n_pairs, note="sample of pairs"),
        Case(
            group,
            "dawnlink, same pairs",
            dawnlink_sample,
            items=n_pairs,
            peer="skyfield find_events",
            note="one pair per call",
        ),
        Case(
            group,
            "dawnlink 100 sats x 10 stations",
            lambda: find_contacts(sats, stas, START, END, step_s=STEP_S, tolerance_s=TOLERANCE_S),
            items=len(sats) * len(stas),
            peer="skyfield find_events",
            note="the whole plan in one call",
        ),
        Case(
            group,
            "dawnlink 100x10, 30 s grid",
            lambda: find_contacts(sats, stas, START, END, step_s=30.0, tolerance_s=TOLERANCE_S),
            items=len(sats) * len(stas),
            peer="skyfield find_events",
            note="coarse grid + short-pass search, same passes",
        ),
    ]


if __name__ == "__main__":
    began = time.perf_counter()
    plan = full_plan()
    took = time.perf_counter() - began
    print(f"{len(plan)} passes, 100 sats x 10 stations, 24 h, 1 s grid: {took:.2f} s wall")
    began = time.perf_counter()
    coarse = find_contacts(constellation(), stations(), START, END, step_s=30.0, tolerance_s=0.1)
    took = time.perf_counter() - began

    def key(p: Pass) -> tuple[int, int, float]:
        return (p.satellite_index, p.station_index, p.aos_s)

    same = len(coarse) == len(plan) and all(
        a.satellite_index == b.satellite_index
        and a.station_index == b.station_index
        and abs(a.aos_s - b.aos_s) < 0.2
        and abs(a.los_s - b.los_s) < 0.2
        for a, b in zip(sorted(coarse, key=key), sorted(plan, key=key), strict=True)
    )
    print(f"{len(coarse)} passes on a 30 s grid: {took:.2f} s wall, same passes: {same}")
