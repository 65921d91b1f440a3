"""Contact plans: dawnlink's screened, vectorized pass search against skyfield's find_events.

The issue's target: a 24 h contact plan for 100 satellites x 10 stations, no pass longer
than ~1 s missed, times refined to 0.1 s, in under a minute on one core, and >= 50x
skyfield per pair. skyfield is not vectorized over satellites or stations (REFERENCES.md,
Peers), so it is timed on a sample of pairs from the same constellation and stations
(``find_events`` with its default settings: it refines events to about a millisecond);
the ratio is per pair (ops/s = pairs/s). dawnlink runs its default search (central-angle
screen on an automatic ~515 s grid, septic Hermite interpolant, vectorized false-position
refinement; see links/passes.py for why that misses nothing a 1 s grid finds) and, for
comparison, the same search forced onto a 10 s grid.

Both sides run on one core: dawnlink's search keeps its BLAS products in blocks that
OpenBLAS runs on one thread (before that, OpenBLAS spread two thin products over all
cores, which on a busy machine cost more wall time than the whole rest of the search).
Timings are wall-clock best-of-3 (tools.bench.measure): on a shared machine, run twice.

``python -m tools.bench passes --min-time 0.1`` runs all cases.
``python -m tools.bench.bench_passes`` times one full plan and checks it against a
brute-force 1 s elevation grid on a few pairs.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from links import GroundStation, Pass, Satellite, find_contacts, sso_constellation
from tools.bench import Case

START = datetime(2025, 3, 20, tzinfo=UTC)
END = START + timedelta(days=1)
TOLERANCE_S = 0.1
SAMPLE_PAIRS = 5

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
        tolerance_s=TOLERANCE_S,
    )


def _sample(sats: list[Satellite], stas: list[GroundStation]) -> list[tuple[int, GroundStation]]:
    """SAMPLE_PAIRS (satellite index, station) pairs spread over both lists."""
    return [(k * 37 % len(sats), stas[k * 3 % len(stas)]) for k in range(SAMPLE_PAIRS)]


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
        for i, st in _sample(sats, stas)
    ]

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
    sample = [(sats[i], st) for i, st in _sample(sats, stas)]

    def dawnlink_sample() -> int:
        return sum(
            len(find_contacts([s], [g], START, END, tolerance_s=TOLERANCE_S)) for s, g in sample
        )

    group = "24 h passes, refined to 0.1 s (per pair)"
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
            lambda: find_contacts(sats, stas, START, END, tolerance_s=TOLERANCE_S),
            items=len(sats) * len(stas),
            peer="skyfield find_events",
            note="the whole plan in one call, automatic grid",
        ),
        Case(
            group,
            "dawnlink 100x10, 10 s grid",
            lambda: find_contacts(sats, stas, START, END, step_s=10.0, tolerance_s=TOLERANCE_S),
            items=len(sats) * len(stas),
            peer="skyfield find_events",
            note="same passes, finer screening grid",
        ),
    ]


def _brute_check(plan: list[Pass], sats: list[Satellite], stas: list[GroundStation]) -> str:
    """Compare a few pairs of ``plan`` with elevation sampled every second."""
    import numpy as np

    from links import Epoch, look_angles

    epoch = Epoch.of(START)
    t = np.arange(0.0, 86400.5, 1.0)
    worst, pairs = 0.0, 0
    for i, st in _sample(sats, stas):
        j = stas.index(st)
        f = look_angles(sats[i], st, t, epoch=epoch).elevation_deg[0, 0] - st.min_elevation_deg
        up = f >= 0.0
        k = np.nonzero(up[1:] != up[:-1])[0]
        brute = t[k] - f[k] / (f[k + 1] - f[k])
        ours = sorted(
            x
            for p in plan
            if (p.satellite_index, p.station_index) == (i, j)
            for x, clipped in ((p.aos_s, p.aos_clipped), (p.los_s, p.los_clipped))
            if not clipped
        )
        if len(ours) != brute.size:
            return f"pair {i}x{st.name}: {len(ours)} crossings, brute force {brute.size}"
        worst = max(worst, float(np.max(np.abs(np.array(ours) - brute), initial=0.0)))
        pairs += 1
    return f"{pairs} pairs match a brute-force 1 s grid, worst AOS/LOS difference {worst:.3f} s"


if __name__ == "__main__":
    began = time.perf_counter()
    plan = full_plan()
    took = time.perf_counter() - began
    print(f"{len(plan)} passes, 100 sats x 10 stations, 24 h, 0.1 s: {took:.3f} s wall")
    print(_brute_check(plan, constellation(), stations()))
