"""Contact plans from passes: a table (rows / CSV), JSON, and ION ``ionrc`` commands.

The ION form follows the ``ionrc(5)`` man page of NASA-JPL's Interplanetary Overlay
Network (ION-DTN, ``ici/doc/pod5/ionrc.pod``):

    @ yyyy/mm/dd-hh:mm:ss                            reference time for "+ss" times
    a contact +start +stop source_node dest_node xmit_data_rate    (bytes per second)
    a range +start +stop one_node the_other_node distance          (light seconds)

Times are whole seconds relative to the reference line. A contact is shrunk to whole
seconds inside the pass (start rounded up, stop down) so it never promises time the
geometry does not give. ionadmin reads the range as a whole number of light seconds,
so the one-way light time is rounded *up* (a LEO pass becomes 1 s) unless
``owlt_decimals`` asks for fractions (for tools that accept them). ION reads a range
whose first node number is the lower one as holding in both directions; we always
write it that way.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from comms.errors import UsageError
from links.geometry import SPEED_OF_LIGHT_M_S
from links.passes import Pass
from links.times import Epoch

__all__ = ["COLUMNS", "passes_to_csv", "passes_to_ion", "passes_to_json", "passes_to_rows"]

COLUMNS = (
    "satellite",
    "station",
    "aos",
    "tca",
    "los",
    "duration_s",
    "max_elevation_deg",
    "aos_azimuth_deg",
    "tca_azimuth_deg",
    "los_azimuth_deg",
    "tca_range_m",
    "tca_owlt_s",
    "aos_clipped",
    "los_clipped",
)


def _iso(p: Pass, t_s: float) -> str:
    return p.epoch.datetime(t_s).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def passes_to_rows(passes: Iterable[Pass]) -> list[dict[str, Any]]:
    """One dict per pass with the :data:`COLUMNS` keys (ISO 8601 UTC times)."""
    rows = []
    for p in passes:
        rows.append(
            {
                "satellite": p.satellite,
                "station": p.station,
                "aos": _iso(p, p.aos_s),
                "tca": _iso(p, p.tca_s),
                "los": _iso(p, p.los_s),
                "duration_s": round(p.duration_s, 3),
                "max_elevation_deg": round(p.max_elevation_deg, 4),
                "aos_azimuth_deg": round(p.aos_azimuth_deg, 3),
                "tca_azimuth_deg": round(p.tca_azimuth_deg, 3),
                "los_azimuth_deg": round(p.los_azimuth_deg, 3),
                "tca_range_m": round(p.tca_range_m, 1),
                "tca_owlt_s": round(p.tca_range_m / SPEED_OF_LIGHT_M_S, 6),
                "aos_clipped": p.aos_clipped,
                "los_clipped": p.los_clipped,
            }
        )
    return rows


def passes_to_csv(passes: Iterable[Pass]) -> str:
    """The table as CSV text with a header line."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(passes_to_rows(passes))
    return out.getvalue()


def passes_to_json(passes: Iterable[Pass], *, indent: int | None = None) -> str:
    """The table as a JSON array of objects."""
    return json.dumps(passes_to_rows(passes), indent=indent)


def _node(nodes: Mapping[str, int], name: str) -> int:
    try:
        number = nodes[name]
    except KeyError:
        raise UsageError(
            f"No ION node number for {name!r}; pass nodes={{{name!r}: <number>, ...}}."
        ) from None
    if not isinstance(number, int) or number < 1:
        raise UsageError(f"ION node numbers are positive integers, got {number!r} for {name!r}.")
    return number


def passes_to_ion(
    passes: Sequence[Pass],
    nodes: Mapping[str, int],
    *,
    downlink_rate_bytes_per_s: float | Callable[[Pass], float],
    uplink_rate_bytes_per_s: float | Callable[[Pass], float] | None = None,
    reference: Epoch | None = None,
    owlt_decimals: int = 0,
) -> str:
    """ION ``ionrc`` contact-plan lines for ``passes``.

    ``nodes`` maps satellite and station names (as in the passes) to ION node numbers.
    Each pass gives a downlink contact (satellite -> station), an optional uplink contact
    (station -> satellite) and one range line. ``reference`` defaults to the epoch of
    the first pass (the search start).
    """
    if not passes:
        return ""
    if owlt_decimals < 0:
        raise UsageError(f"owlt_decimals must be >= 0, got {owlt_decimals}.")
    ref = reference if reference is not None else passes[0].epoch
    stamp = ref.datetime(0.0).strftime("%Y/%m/%d-%H:%M:%S")
    lines = [f"@ {stamp}"]

    def rate(value: float | Callable[[Pass], float], p: Pass) -> int:
        r = value(p) if callable(value) else value
        if not r > 0:
            raise UsageError(f"Contact rates must be > 0 bytes per second, got {r}.")
        return round(r)

    for p in sorted(passes, key=lambda q: (q.aos_s, q.satellite, q.station)):
        shift = float(ref.seconds(p.epoch.utc))
        t0 = math.ceil(p.aos_s + shift - 1e-6)
        t1 = math.floor(p.los_s + shift + 1e-6)
        if t1 <= t0:
            continue  # shorter than a whole second once rounded inward
        sat, sta = _node(nodes, p.satellite), _node(nodes, p.station)
        lines.append(f"a contact +{t0} +{t1} {sat} {sta} {rate(downlink_rate_bytes_per_s, p)}")
        if uplink_rate_bytes_per_s is not None:
            lines.append(f"a contact +{t0} +{t1} {sta} {sat} {rate(uplink_rate_bytes_per_s, p)}")
        # The longest light time of a pass is at one of its ends (lowest elevation).
        owlt = max(p.aos_range_m, p.los_range_m) / SPEED_OF_LIGHT_M_S
        if owlt_decimals == 0:
            distance = str(max(1, math.ceil(owlt)))
        else:
            scale = 10**owlt_decimals
            distance = f"{math.ceil(owlt * scale) / scale:.{owlt_decimals}f}"
        lo, hi = sorted((sat, sta))
        lines.append(f"a range +{t0} +{t1} {lo} {hi} {distance}")
    return "\n".join(lines) + "\n"
