"""``dawnlink link budget``: the RF link budget table from the shell.

Prints every term (EIRP, free-space loss, ITU-R gases/clouds/rain/scintillation,
polarization and pointing losses, G/T and the sky-noise rise that rain, clouds and
gases cause (ITU-R P.618 section 7), C/N0, Eb/N0, required Eb/N0 of the modcod,
margin) at one elevation, or at the worst and best points of a pass from
``--min-elevation`` up to ``--max-elevation``. The ``dawnlink-x`` preset is the mission
downlink: X band 8.2 GHz from a 750 km dawn-dusk node to a Beijing-area station
(40.0 N 116.3 E); any option overrides the preset's value.

Registered by :mod:`links.cli` through :func:`add_budget_parser`; this module only adds
the ``budget`` action to the ``dawnlink link`` sub-parsers it is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from comms.cli.common import EXIT_OK, EXIT_USAGE
from comms.errors import UsageError
from links.budget import LinkBudget, RfLink, link_budget, slant_range_from_elevation_m
from links.modcod import STANDARD_MODCODS, modcod_by_name
from links.propagation import AtmosphereModel, NoAtmosphere

__all__ = ["PRESETS", "add_budget_parser"]

# The dawnlink X-band downlink. Reasons beside each value: 5 W SSPA and a 10 dBi
# steered patch array with 1 dB of harness/filter loss (a small-satellite X-band
# terminal); a 7.3 m station dish with G/T 31 dB/K (typical of X-band EO stations);
# 500 Mbit/s QPSK on the C2 (8160,7136) LDPC code fills ~340 MHz of the 375 MHz
# 8025-8400 MHz EESS band at roll-off 0.2; 99.9 % availability (p = 0.1 %).
PRESETS: dict[str, dict[str, Any]] = {
    "dawnlink-x": {
        "freq_hz": 8.2e9,
        "tx_power_dbw": 7.0,
        "tx_gain_dbi": 10.0,
        "tx_loss_db": 1.0,
        "g_over_t": 31.0,
        "data_rate_bps": 500e6,
        "modcod": "QPSK LDPC C2 (8160,7136)",
        "polarization_loss_db": 0.2,
        "pointing_loss_db": 0.3,
        "implementation_loss_db": 1.0,
        "target_fer": 1e-4,
        "station": "40.0,116.3,50",
        "dish_m": 7.3,
        "availability": 99.9,
        "altitude_km": 750.0,
    },
}

_EPILOG = """\
examples:
  dawnlink link budget                          # dawnlink-x preset at 10 deg
  dawnlink link budget --elevation 30 --json
  dawnlink link budget --pass --min-elevation 10 --data-rate-bps 300e6
  dawnlink link budget --modcod "8PSK AR4JA k=4096 r4/5" --no-atmosphere
  dawnlink link budget --pass --plot budget.png

Losses print as negative dB. Without --range-km the slant range follows from the
elevation and --altitude-km (spherical Earth). ITU-R terms need the 'itur' package;
--no-atmosphere budgets free space only. Modcods: {modcods}.
"""


def add_budget_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the ``budget`` action to ``subparsers`` (the ``dawnlink link`` actions)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "budget",
        help="print the RF link budget",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog=_EPILOG.format(modcods="; ".join(mc.name for mc in STANDARD_MODCODS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--preset", default="dawnlink-x", choices=sorted(PRESETS))
    link = parser.add_argument_group("link (defaults from the preset)")
    link.add_argument("--freq-hz", type=float, metavar="HZ")
    link.add_argument("--eirp-dbw", type=float, metavar="DBW", help="instead of tx power/gain")
    link.add_argument("--tx-power-dbw", type=float, metavar="DBW")
    link.add_argument("--tx-gain-dbi", type=float, metavar="DBI")
    link.add_argument("--tx-loss-db", type=float, metavar="DB")
    link.add_argument("--g-over-t", type=float, metavar="DB_K", help="station G/T")
    link.add_argument("--data-rate-bps", type=float, metavar="BPS")
    link.add_argument("--modcod", metavar="NAME")
    link.add_argument("--target-fer", type=float, metavar="FER")
    link.add_argument("--polarization-loss-db", type=float, metavar="DB")
    link.add_argument("--pointing-loss-db", type=float, metavar="DB")
    link.add_argument("--implementation-loss-db", type=float, metavar="DB")
    link.add_argument("--station", metavar="SPEC", help="LAT,LON,ALT_M or a preset name")
    link.add_argument("--dish-m", type=float, metavar="M", help="station antenna diameter")
    link.add_argument(
        "--availability", type=float, metavar="PCT", help="rain availability (default 99.9)"
    )
    geo = parser.add_argument_group("geometry")
    geo.add_argument("--altitude-km", type=float, metavar="KM")
    geo.add_argument("--elevation", type=float, default=10.0, metavar="DEG")
    geo.add_argument("--range-km", type=float, metavar="KM", help="override the slant range")
    geo.add_argument(
        "--pass",
        dest="over_pass",
        action="store_true",
        help="worst and best over elevations --min-elevation..--max-elevation",
    )
    geo.add_argument("--min-elevation", type=float, default=10.0, metavar="DEG")
    geo.add_argument("--max-elevation", type=float, default=90.0, metavar="DEG")
    link.add_argument(
        "--clear-sky-temp-k",
        type=float,
        metavar="K",
        help="station clear-sky system noise temperature behind --g-over-t (default 150)",
    )
    parser.add_argument(
        "--no-sky-noise",
        action="store_true",
        help="leave out the sky-noise rise of rain, clouds and gases (P.618 section 7)",
    )
    parser.add_argument(
        "--no-atmosphere", action="store_true", help="free space only (no itur needed)"
    )
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")
    parser.add_argument(
        "--plot",
        metavar="PNG",
        default=None,
        help="draw margin, C/N0 and the atmospheric terms over --min-elevation.."
        "--max-elevation to this image (matplotlib)",
    )
    parser.set_defaults(func=_guarded(_budget))
    return parser


def _guarded(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UsageError as exc:
            print(f"dawnlink link budget: {exc}", file=sys.stderr)
            return EXIT_USAGE

    return wrapped


def _pick(args: argparse.Namespace, preset: dict[str, Any], name: str) -> Any:
    value = getattr(args, name, None)
    return preset.get(name) if value is None else value


def _station(spec: str) -> tuple[float, float, float]:
    from links.cli import parse_station  # lazy: links.cli registers this module

    gs = parse_station(spec)
    return gs.lat_deg, gs.lon_deg, gs.alt_m


def build_link(args: argparse.Namespace) -> tuple[RfLink, float]:
    """The :class:`RfLink` and satellite altitude (m) the options describe."""
    preset = PRESETS[args.preset]
    lat, lon, alt = _station(_pick(args, preset, "station"))
    availability = float(_pick(args, preset, "availability"))
    if not 50.0 <= availability < 100.0:
        raise UsageError(f"--availability is a percentage in [50, 100), got {availability}.")
    eirp = args.eirp_dbw
    tx = (
        {}
        if eirp is not None
        else {
            "tx_power_dbw": _pick(args, preset, "tx_power_dbw"),
            "tx_antenna_gain_dbi": _pick(args, preset, "tx_gain_dbi"),
            "tx_losses_db": _pick(args, preset, "tx_loss_db"),
        }
    )
    link = RfLink(
        freq_hz=_pick(args, preset, "freq_hz"),
        data_rate_bps=_pick(args, preset, "data_rate_bps"),
        modcod=modcod_by_name(_pick(args, preset, "modcod")),
        eirp_dbw=eirp,
        g_over_t_db_k=_pick(args, preset, "g_over_t"),
        polarization_loss_db=_pick(args, preset, "polarization_loss_db"),
        pointing_loss_db=_pick(args, preset, "pointing_loss_db"),
        implementation_loss_db=_pick(args, preset, "implementation_loss_db"),
        target_fer=_pick(args, preset, "target_fer"),
        station_lat_deg=lat,
        station_lon_deg=lon,
        station_alt_m=alt,
        rx_antenna_diameter_m=_pick(args, preset, "dish_m"),
        rain_p_percent=round(100.0 - availability, 9),
        sky_noise=not getattr(args, "no_sky_noise", False),
        clear_sky_noise_temp_k=getattr(args, "clear_sky_temp_k", None),
        **tx,
    )
    return link, float(_pick(args, preset, "altitude_km")) * 1e3


def _budget(args: argparse.Namespace) -> int:
    link, altitude_m = build_link(args)
    if args.over_pass:
        if not 0 < args.min_elevation < args.max_elevation <= 90:
            raise UsageError("--pass needs 0 < --min-elevation < --max-elevation <= 90.")
        el = np.linspace(args.min_elevation, args.max_elevation, 91)
    else:
        el = np.array([args.elevation])
    if args.range_km is not None:
        if args.over_pass:
            raise UsageError("--range-km fixes one geometry; it cannot go with --pass.")
        rng = np.array([args.range_km * 1e3])
    else:
        rng = slant_range_from_elevation_m(el, altitude_m, link.station_alt_m)
    atmosphere: AtmosphereModel | None = NoAtmosphere() if args.no_atmosphere else None
    budget = link_budget(link, el, rng, atmosphere=atmosphere)
    picks: list[tuple[str, LinkBudget]] = (
        [("worst", budget.worst()), ("best", budget.best())]
        if args.over_pass
        else [("at", budget.at(0))]
    )
    if args.plot:
        from links.plots import plot_budget

        if args.over_pass:
            sweep = budget
        else:
            if not 0 < args.min_elevation < args.max_elevation <= 90:
                raise UsageError("--plot needs 0 < --min-elevation < --max-elevation <= 90.")
            el_s = np.linspace(args.min_elevation, args.max_elevation, 91)
            rng_s = slant_range_from_elevation_m(el_s, altitude_m, link.station_alt_m)
            sweep = link_budget(link, el_s, rng_s, atmosphere=atmosphere)
        plot_budget(sweep, args.plot)
    if args.json:
        doc = {name: b.to_dict() for name, b in picks}
        print(json.dumps(doc if args.over_pass else doc["at"], indent=1))
        return EXIT_OK
    for k, (name, b) in enumerate(picks):
        if args.over_pass:
            print(("\n" if k else "") + f"{name} point of the pass:")
        print(b.table())
    return EXIT_OK
