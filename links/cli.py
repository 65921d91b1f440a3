"""``dawnlink link``: pass predictions, Doppler profiles and contact plans from the shell.

Actions: ``passes`` (when can a satellite talk to a station), ``doppler`` (the carrier
shift and rate over each pass) and ``contact-plan`` (many satellites x stations as a
table, JSON or ION ``ionrc`` lines). Satellites come from a TLE file, one ``--tle`` or a
sun-synchronous builder (``--sso``); stations from ``--station LAT,LON,ALT[,NAME]`` or a
preset name (see ``--help``).

The command line is the edge of the system: ``--start`` defaults to the current UTC time,
read through :func:`links.clock.utc_now`, the one calendar clock read :mod:`links` allows
(ARCHITECTURE.md rule 2). Every core function called here takes its times explicitly.

Exit status: 0 done, 2 usage error (bad option, bad TLE, unknown station). ``budget``
(links.budget_cli) and ``run`` (links.run_cli) are added the same way: each action is
one registering function in :data:`_ACTIONS`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from comms.cli.common import EXIT_OK, EXIT_USAGE, add_command
from comms.errors import UsageError
from links.budget_cli import add_budget_parser
from links.clock import utc_now
from links.contact_plan import passes_to_csv, passes_to_ion, passes_to_rows
from links.doppler import DopplerProfile, pass_doppler
from links.orbit import Satellite
from links.passes import Pass, find_contacts
from links.run_cli import add_run_parser
from links.sso import sso_constellation
from links.stations import GroundStation
from links.times import Epoch

__all__ = ["STATION_PRESETS", "parse_station", "read_tles", "register"]


# Well-known ground-station sites (lat, lon deg; alt m): public positions of the named
# facilities to ~0.01 deg, good enough for pass planning (not for antenna pointing).
STATION_PRESETS: dict[str, tuple[float, float, float, str]] = {
    "beijing": (40.0, 116.3, 50.0, "Beijing"),
    "svalbard": (78.23, 15.39, 500.0, "Svalbard"),
    "kiruna": (67.86, 20.96, 400.0, "Kiruna"),
    "fairbanks": (64.86, -147.85, 300.0, "Fairbanks"),
    "hartebeesthoek": (-25.89, 27.69, 1400.0, "Hartebeesthoek"),
    "santiago": (-33.15, -70.67, 700.0, "Santiago"),
    "troll": (-72.01, 2.53, 1300.0, "Troll"),
    "kashi": (39.47, 75.99, 1300.0, "Kashi"),
    "sanya": (18.25, 109.5, 50.0, "Sanya"),
    "wallops": (37.94, -75.46, 10.0, "Wallops"),
}

_SOURCE_HELP = """\
satellites (one of):
  --tle-file PATH          a file of two- or three-line element sets ('-': stdin)
  --tle L1 L2              one element set, its two lines quoted
  --sso ALT_KM             a sun-synchronous satellite at ALT_KM (with --ltan, default
                           18 h; --planes/--per-plane for a Walker-style constellation)

stations: --station LAT,LON,ALT_M[,NAME] or a preset name, repeatable. Presets:
  {presets}
"""

_PASSES_EPILOG = """\
examples:
  dawnlink link passes --sso 750 --ltan 18 --station beijing --start 2025-03-20T00:00
  dawnlink link passes --tle-file stations.tle --station 78.23,15.39,500,SvalSat \\
      --start 2025-03-20 --hours 48 --min-elevation 5 --csv > passes.csv
  dawnlink link passes --tle "$L1" "$L2" --station svalbard --start 2025-03-20 --json

Times are UTC (ISO 8601). The table shows AOS, TCA and LOS to the second, the duration,
the maximum elevation and the AOS/LOS azimuths; '<' / '>' mark passes cut by the span.
"""

_DOPPLER_EPILOG = """\
examples:
  dawnlink link doppler --sso 750 --station beijing --start 2025-03-20 --freq-hz 8.2e9
  dawnlink link doppler --tle "$L1" "$L2" --station svalbard --start 2025-03-20 \\
      --freq-hz 26e9 --step 1 --json > doppler.json
  dawnlink link doppler --sso 750 --station kiruna --start 2025-03-20 --summary

Doppler is -f * range_rate / c (approaching: positive), its rate -f * range_accel / c.
Each pass prints samples every --step seconds, then its maximum shift and rate.
"""

_PLAN_EPILOG = """\
examples:
  dawnlink link contact-plan --sso 750 --planes 10 --per-plane 10 \\
      --station beijing --station svalbard --station kiruna --start 2025-03-20
  dawnlink link contact-plan --tle-file fleet.tle --station svalbard --start 2025-03-20 \\
      --ion --downlink-rate 18750000 --uplink-rate 32000 > contacts.ionrc

--ion writes ionrc(5) 'a contact' / 'a range' lines; node numbers come from --node
NAME=NUMBER, else stations are numbered 1, 2, ... and satellites 101, 102, ... in order.
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``dawnlink link`` (passes, doppler, contact-plan) to ``sub``."""
    actions = add_command(
        sub,
        "link",
        help="predict passes, Doppler, contact plans and link budgets; emulate a pass",
        description="Link simulation tools: pass prediction, Doppler, contact plans, RF "
        "link budgets, and emulation of a pass carrying real frames.",
        epilog="examples:\n  dawnlink link passes --sso 750 --station beijing "
        "--start 2025-03-20\n  dawnlink link budget --pass\n"
        "  dawnlink link run scenarios/beijing-x.toml --plot pass.png\n\n"
        "See `dawnlink link ACTION --help`.",
    )
    for add in _ACTIONS:
        add(actions)


def _add_common(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("satellites")
    one = source.add_mutually_exclusive_group(required=True)
    one.add_argument("--tle-file", metavar="PATH", help="two/three-line element sets")
    one.add_argument("--tle", nargs=2, metavar=("L1", "L2"), help="one element set")
    one.add_argument("--sso", type=float, metavar="ALT_KM", help="sun-synchronous altitude")
    source.add_argument(
        "--ltan", type=float, default=18.0, metavar="H", help="with --sso: LTAN (default 18)"
    )
    source.add_argument("--planes", type=int, default=1, metavar="N", help="with --sso")
    source.add_argument("--per-plane", type=int, default=1, metavar="N", help="with --sso")
    source.add_argument(
        "--phasing", type=int, default=0, metavar="F", help="with --sso: Walker F (default 0)"
    )
    where = parser.add_argument_group("stations and time")
    where.add_argument(
        "--station",
        action="append",
        required=True,
        metavar="SPEC",
        help="LAT,LON,ALT_M[,NAME] or a preset name (repeatable)",
    )
    where.add_argument(
        "--start",
        metavar="UTC",
        help="span start, ISO 8601 UTC (default: now, to the second)",
    )
    where.add_argument(
        "--hours", type=float, default=24.0, metavar="H", help="span length (default 24)"
    )
    where.add_argument(
        "--min-elevation",
        type=float,
        default=10.0,
        metavar="DEG",
        help="elevation mask (default 10)",
    )


def _new_parser(
    actions: argparse._SubParsersAction[Any], name: str, help_: str, epilog: str
) -> argparse.ArgumentParser:
    presets = ", ".join(sorted(STATION_PRESETS))
    parser: argparse.ArgumentParser = actions.add_parser(
        name,
        help=help_,
        description=help_[0].upper() + help_[1:] + ".\n\n" + _SOURCE_HELP.format(presets=presets),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser)
    return parser


def _register_passes(actions: argparse._SubParsersAction[Any]) -> None:
    parser = _new_parser(actions, "passes", "list the passes over the stations", _PASSES_EPILOG)
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="a JSON array of passes")
    out.add_argument("--csv", action="store_true", help="CSV with a header line")
    parser.add_argument(
        "--plot", metavar="PNG", default=None, help="draw the passes to this image (matplotlib)"
    )
    parser.set_defaults(func=_passes)


def _register_doppler(actions: argparse._SubParsersAction[Any]) -> None:
    parser = _new_parser(
        actions, "doppler", "print the Doppler profile of each pass", _DOPPLER_EPILOG
    )
    parser.add_argument(
        "--freq-hz",
        type=float,
        default=8.2e9,
        metavar="HZ",
        help="carrier frequency (default 8.2e9, X band)",
    )
    parser.add_argument(
        "--step", type=float, default=10.0, metavar="S", help="sample spacing (default 10 s)"
    )
    parser.add_argument("--summary", action="store_true", help="only the per-pass maxima")
    parser.add_argument("--json", action="store_true", help="one JSON array, samples included")
    parser.add_argument(
        "--plot", metavar="PNG", default=None, help="draw the profiles to this image (matplotlib)"
    )
    parser.set_defaults(func=_doppler)


def _register_contact_plan(actions: argparse._SubParsersAction[Any]) -> None:
    parser = _new_parser(
        actions, "contact-plan", "build a contact plan for satellites x stations", _PLAN_EPILOG
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="a JSON array of passes")
    out.add_argument("--csv", action="store_true", help="CSV with a header line")
    out.add_argument("--ion", action="store_true", help="ION ionrc contact and range lines")
    parser.add_argument(
        "--node",
        action="append",
        default=[],
        metavar="NAME=N",
        help="with --ion: the ION node number of a satellite or station (repeatable)",
    )
    parser.add_argument(
        "--downlink-rate",
        type=float,
        default=18_750_000.0,
        metavar="BYTES_S",
        help="with --ion: downlink rate in bytes/s (default 18750000 = 150 Mbit/s)",
    )
    parser.add_argument(
        "--uplink-rate",
        type=float,
        default=None,
        metavar="BYTES_S",
        help="with --ion: also write uplink contacts at this rate",
    )
    parser.set_defaults(func=_contact_plan)


# One registrar per action; `budget` and `run` (link budget, link emulator) go here.
_ACTIONS: list[Callable[[argparse._SubParsersAction[Any]], object]] = [
    _register_passes,
    _register_doppler,
    _register_contact_plan,
    add_budget_parser,
    add_run_parser,
]


def parse_station(spec: str, min_elevation_deg: float = 10.0) -> GroundStation:
    """A station from ``LAT,LON,ALT_M[,NAME]`` or a preset name (case-insensitive)."""
    preset = STATION_PRESETS.get(spec.strip().lower())
    if preset is not None:
        lat, lon, alt, name = preset
        return GroundStation(lat, lon, alt, name=name, min_elevation_deg=min_elevation_deg)
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) not in (3, 4):
        raise UsageError(
            f"Station {spec!r} is neither LAT,LON,ALT_M[,NAME] nor a preset; presets are "
            f"{', '.join(sorted(STATION_PRESETS))}."
        )
    try:
        lat, lon, alt = (float(p) for p in parts[:3])
    except ValueError:
        raise UsageError(
            f"Station {spec!r}: latitude, longitude and altitude must be numbers "
            "(degrees, degrees, metres)."
        ) from None
    name = parts[3] if len(parts) == 4 else ""
    return GroundStation(lat, lon, alt, name=name, min_elevation_deg=min_elevation_deg)


def read_tles(text: str) -> list[Satellite]:
    """Satellites from two-line (or three-line, with a name line) element sets."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    sats: list[Satellite] = []
    name = ""
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("1 ") and k + 1 < len(lines) and lines[k + 1].startswith("2 "):
            sats.append(Satellite.from_tle(line, lines[k + 1], name=name))
            name, k = "", k + 2
        elif line.startswith(("1 ", "2 ")):
            raise UsageError(
                f"TLE line {k + 1} ({line[:20]!r}...) is not part of a line-1/line-2 pair."
            )
        else:
            name, k = line.removeprefix("0 ").strip(), k + 1
    if not sats:
        raise UsageError("No two-line element set found (lines starting '1 ' and '2 ').")
    return sats


def _satellites(args: argparse.Namespace, start: Epoch) -> list[Satellite]:
    if args.tle_file is not None:
        if args.tle_file == "-":
            return read_tles(sys.stdin.read())
        try:
            text = Path(args.tle_file).read_text()
        except OSError as exc:
            raise UsageError(
                f"Cannot read the TLE file {args.tle_file!r}: {exc.strerror}."
            ) from None
        return read_tles(text)
    if args.tle is not None:
        return [Satellite.from_tle(args.tle[0], args.tle[1])]
    return sso_constellation(
        args.sso, args.planes, args.per_plane, args.ltan, args.phasing, epoch=start.utc
    )


def _setup(
    args: argparse.Namespace,
) -> tuple[Epoch, _dt.datetime, list[Satellite], list[GroundStation]]:
    try:
        start = Epoch.of(args.start if args.start is not None else utc_now())
    except ValueError:
        raise UsageError(
            f"--start {args.start!r} is not an ISO 8601 UTC time; use e.g. 2025-03-20T06:00."
        ) from None
    if not args.hours > 0:
        raise UsageError(f"--hours must be > 0, got {args.hours}.")
    end = start.datetime(args.hours * 3600.0)
    stations = [parse_station(s, args.min_elevation) for s in args.station]
    return start, end, _satellites(args, start), stations


def _run(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UsageError as exc:
            print(f"dawnlink link: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return wrapped


def _stamp(p: Pass, t_s: float) -> str:
    return p.epoch.datetime(t_s).strftime("%Y-%m-%d %H:%M:%S")


def _print_table(passes: Sequence[Pass], out: TextIO) -> None:
    header = (
        f"{'satellite':<16} {'station':<14} {'AOS (UTC)':<20} {'TCA':<9} {'LOS':<9} "
        f"{'dur s':>6} {'max el':>6} {'az aos':>6} {'az los':>6}"
    )
    print(header, file=out)
    for p in passes:
        mark = ("<" if p.aos_clipped else "") + (">" if p.los_clipped else "")
        print(
            f"{p.satellite[:16]:<16} {p.station[:14]:<14} {_stamp(p, p.aos_s):<20} "
            f"{_stamp(p, p.tca_s)[11:]:<9} {_stamp(p, p.los_s)[11:]:<9} "
            f"{p.duration_s:6.0f} {p.max_elevation_deg:6.1f} {p.aos_azimuth_deg:6.1f} "
            f"{p.los_azimuth_deg:6.1f}{' ' + mark if mark else ''}",
            file=out,
        )
    print(f"{len(passes)} passes", file=out)


def _emit_passes(args: argparse.Namespace, passes: list[Pass]) -> None:
    if args.json:
        print(json.dumps(passes_to_rows(passes), indent=1))
    elif args.csv:
        sys.stdout.write(passes_to_csv(passes))
    else:
        _print_table(passes, sys.stdout)


@_run
def _passes(args: argparse.Namespace) -> int:
    start, end, sats, stations = _setup(args)
    passes = find_contacts(sats, stations, start.utc, end)
    _emit_passes(args, passes)
    if args.plot:
        from links.plots import plot_passes

        profiles = [
            pass_doppler(
                sats[p.satellite_index], stations[p.station_index], p, freq_hz=8.2e9, step_s=10.0
            )
            for p in passes
        ]
        plot_passes(passes, args.plot, profiles)
    return EXIT_OK


def _profile_json(profile: DopplerProfile, p: Pass) -> dict[str, Any]:
    row = passes_to_rows([p])[0]
    row.update(
        freq_hz=profile.freq_hz,
        max_doppler_hz=round(profile.max_doppler_hz, 1),
        max_doppler_rate_hz_s=round(profile.max_doppler_rate_hz_s, 2),
        samples={
            "t_s": np.round(profile.t_s - p.aos_s, 3).tolist(),
            "elevation_deg": np.round(profile.elevation_deg, 3).tolist(),
            "range_m": np.round(profile.range_m, 1).tolist(),
            "range_rate_m_s": np.round(profile.range_rate_m_s, 2).tolist(),
            "doppler_hz": np.round(profile.doppler_hz, 1).tolist(),
            "doppler_rate_hz_s": np.round(profile.doppler_rate_hz_s, 2).tolist(),
        },
    )
    return row


@_run
def _doppler(args: argparse.Namespace) -> int:
    start, end, sats, stations = _setup(args)
    if not args.freq_hz > 0:
        raise UsageError(f"--freq-hz must be a carrier frequency > 0 Hz, got {args.freq_hz}.")
    if not args.step > 0:
        raise UsageError(f"--step must be > 0 seconds, got {args.step}.")
    passes = find_contacts(sats, stations, start.utc, end)
    rows: list[dict[str, Any]] = []
    profiles_drawn: list[DopplerProfile] = []
    for p in passes:
        profile = pass_doppler(
            sats[p.satellite_index],
            stations[p.station_index],
            p,
            freq_hz=args.freq_hz,
            step_s=args.step,
        )
        profiles_drawn.append(profile)
        if args.json:
            rows.append(_profile_json(profile, p))
            continue
        print(
            f"{p.satellite} over {p.station}: AOS {_stamp(p, p.aos_s)} UTC, "
            f"{p.duration_s:.0f} s, max elevation {p.max_elevation_deg:.1f} deg, "
            f"carrier {args.freq_hz:.6g} Hz"
        )
        if not args.summary:
            print(
                f"  {'time':>8} {'el deg':>7} {'range km':>9} {'rdot m/s':>9} "
                f"{'doppler Hz':>12} {'rate Hz/s':>10}"
            )
            for k in range(profile.t_s.size):
                print(
                    f"  {_stamp(p, float(profile.t_s[k]))[11:]:>8} "
                    f"{profile.elevation_deg[k]:7.2f} {profile.range_m[k] / 1e3:9.1f} "
                    f"{profile.range_rate_m_s[k]:9.1f} {profile.doppler_hz[k]:12.1f} "
                    f"{profile.doppler_rate_hz_s[k]:10.2f}"
                )
        print(
            f"  max shift {profile.max_doppler_hz:+.1f} Hz, "
            f"max rate {profile.max_doppler_rate_hz_s:+.2f} Hz/s"
        )
    if args.json:
        print(json.dumps(rows))
    elif not passes:
        print("no passes")
    if args.plot and passes:
        from links.plots import plot_doppler

        plot_doppler(profiles_drawn, passes, args.plot)
    return EXIT_OK


def _nodes(args: argparse.Namespace, passes: Sequence[Pass]) -> dict[str, int]:
    nodes: dict[str, int] = {}
    for item in args.node:
        name, sep, number = item.rpartition("=")
        if not sep or not name:
            raise UsageError(f"--node takes NAME=NUMBER, got {item!r}.")
        try:
            nodes[name] = int(number)
        except ValueError:
            raise UsageError(f"--node {item!r}: the node number must be an integer.") from None
    stations = dict.fromkeys(p.station for p in sorted(passes, key=lambda q: q.station_index))
    satellites = dict.fromkeys(p.satellite for p in sorted(passes, key=lambda q: q.satellite_index))
    used = set(nodes.values())
    for first, names in ((1, stations), (101, satellites)):
        number = first
        for name in names:
            if name in nodes:
                continue
            while number in used:  # never hand out a number given with --node
                number += 1
            nodes[name] = number
            used.add(number)
    return nodes


@_run
def _contact_plan(args: argparse.Namespace) -> int:
    start, end, sats, stations = _setup(args)
    passes = find_contacts(sats, stations, start.utc, end)
    if not args.ion:
        _emit_passes(args, passes)
        return EXIT_OK
    text = passes_to_ion(
        passes,
        _nodes(args, passes),
        downlink_rate_bytes_per_s=args.downlink_rate,
        uplink_rate_bytes_per_s=args.uplink_rate,
        reference=start,
    )
    sys.stdout.write(text or f"@ {start.datetime(0.0):%Y/%m/%d-%H:%M:%S}\n")
    return EXIT_OK
