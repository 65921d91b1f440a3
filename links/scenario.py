"""Link-emulation scenarios: TOML files read into typed, frozen config values.

A scenario names one satellite, one or more ground stations, the link (RF or optical)
with its budget parameters, the carrier tracker, the frame format carried (TM frames
in Reed-Solomon CADUs, 131.0-B-5 / 132.0-B-3) and extra channel impairments. Layout::

    name = "dawn-dusk node over Beijing, X band"
    start = "2025-03-20T00:00:00"      # UTC; the pass search starts here
    hours = 24.0                        # and spans this long
    seed = 1                            # one seed: the same file gives the same report

    [satellite]                         # sso_altitude_km + ltan_hours, or tle = [L1, L2]
    [[satellites]]                      # or several: one table each, names unique
    [[stations]]                        # name, lat_deg, lon_deg, alt_m, min_elevation_deg
    [link]                              # type = "rf" | "optical", data_rate_bps, station...
    [link.rf] / [link.optical]          # the budget of the link type chosen
    [link.uplink]                       # the uplink (TC) budget, for EmulatedLink
    [tracker]                           # carrier acquisition and tracking
    [frames]                            # CADU and virtual channel parameters
    [channel]                           # bursts, erasures, delay, duplication, reordering

Every key has a default (see each class) except the satellite and the stations. An
unknown key, a value of the wrong type or out of range raises :class:`UsageError`
whose message starts with the key's dotted name (``link.rf.freq_hz``) and says what
was expected. :func:`scenario_to_toml` writes a scenario back out; reading that text
gives an equal value.

``link.data_rate_bps`` is the rate the emulator moves frames at; the budget is computed
at ``link.rf.link_rate_bps`` / ``link.optical.link_rate_bps`` (the real link's rate).
Emulating a 500 Mbit/s link at 2 Mbit/s samples every 250th frame of the real stream:
each emulated frame meets the channel state of its instant.

One pass (``link.station``, ``link.pass_index``) or, with ``link.all_passes``, every
whole pass of every satellite over every station in the span
(:class:`links.emulator.MultiPassEmulator`). ``[[satellites]]`` replaces ``[satellite]``
for several spacecraft; ``scenario.satellite`` is then the first of them and
``scenario.fleet`` all of them.

Left out: a schedule that picks one station per satellite when passes overlap (every
pass runs as its own link) and uplink frames in :class:`~links.emulator.PassEmulator`
(the uplink channel serves the socket forwarder).
"""

from __future__ import annotations

import json
import math
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from comms.errors import UsageError

__all__ = [
    "ChannelConfig",
    "FrameConfig",
    "LinkConfig",
    "OpticalConfig",
    "RfConfig",
    "SatelliteConfig",
    "Scenario",
    "StationConfig",
    "TrackerConfig",
    "UplinkConfig",
    "load_scenario",
    "parse_scenario",
    "scenario_to_toml",
]


def _rule(
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
) -> dict[str, Any]:
    return {"gt": gt, "ge": ge, "le": le, "lt": lt, "choices": choices}


def _describe(meta: Any) -> str:
    parts = []
    if meta.get("gt") is not None:
        parts.append(f"> {meta['gt']:g}")
    if meta.get("ge") is not None:
        parts.append(f">= {meta['ge']:g}")
    if meta.get("lt") is not None:
        parts.append(f"< {meta['lt']:g}")
    if meta.get("le") is not None:
        parts.append(f"<= {meta['le']:g}")
    return " and ".join(parts)


def _validate(obj: Any, section: str) -> None:
    """Check every field of ``obj`` against its metadata rule; errors name the key."""
    for f in fields(obj):
        if f.name.startswith("_"):
            continue
        value = getattr(obj, f.name)
        meta = f.metadata
        if value is None or not meta:
            continue
        key = f"{section}.{f.name}" if section else f.name
        choices = meta.get("choices")
        if choices is not None and value not in choices:
            raise UsageError(
                f"{key} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}."
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            bad = not math.isfinite(value)
            bad |= meta.get("gt") is not None and not value > meta["gt"]
            bad |= meta.get("ge") is not None and not value >= meta["ge"]
            bad |= meta.get("lt") is not None and not value < meta["lt"]
            bad |= meta.get("le") is not None and not value <= meta["le"]
            if bad:
                raise UsageError(f"{key} must be a finite number {_describe(meta)}; got {value!r}.")


class _Section:
    section: ClassVar[str]

    def __post_init__(self) -> None:
        _validate(self, self.section)


@dataclass(frozen=True)
class SatelliteConfig(_Section):
    """The spacecraft: a sun-synchronous circular orbit built at ``start`` (default: the
    750 km dawn-dusk orbit of the mission, LTAN 18:00), or a two-line element set."""

    section: ClassVar[str] = "satellite"
    name: str = "DAWN-1"
    sso_altitude_km: float | None = field(default=750.0, metadata=_rule(gt=100.0, lt=5900.0))
    ltan_hours: float = field(default=18.0, metadata=_rule(ge=0.0, lt=24.0))
    # Where along its orbit the satellite is at ``start`` (deg from the ascending node).
    arg_latitude_deg: float = field(default=0.0, metadata=_rule(ge=-360.0, le=360.0))
    tle: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.sso_altitude_km is None) == (self.tle is None):
            raise UsageError(
                "satellite needs exactly one of sso_altitude_km (with ltan_hours) or "
                "tle = [LINE1, LINE2]."
            )
        if self.tle is not None and (
            len(self.tle) != 2
            or not self.tle[0].startswith("1 ")
            or not self.tle[1].startswith("2 ")
        ):
            raise UsageError(
                "satellite.tle must be two strings, line 1 (starting '1 ') and line 2 "
                "(starting '2 ') of a two-line element set."
            )


@dataclass(frozen=True)
class StationConfig(_Section):
    """A ground station (WGS-84); ``min_elevation_deg`` is its elevation mask."""

    section: ClassVar[str] = "stations"
    name: str = ""
    lat_deg: float = field(default=0.0, metadata=_rule(ge=-90.0, le=90.0))
    lon_deg: float = field(default=0.0, metadata=_rule(ge=-180.0, le=360.0))
    alt_m: float = field(default=0.0, metadata=_rule(ge=-500.0, le=10_000.0))
    min_elevation_deg: float = field(default=10.0, metadata=_rule(ge=0.0, lt=90.0))

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.name:
            raise UsageError("stations.name is required (the link names its station by it).")


@dataclass(frozen=True)
class RfConfig(_Section):
    """An RF downlink budget (see :class:`links.budget.RfLink`). Defaults: the
    ``dawnlink-x`` preset of ``dawnlink link budget`` (X band 8.2 GHz, 17 dBW EIRP less
    1 dB, G/T 31 dB/K) carrying RS(255,223) I=5 outside a rate-1/2 convolutional code,
    the code the CADUs here really use; 150 Mbit/s, the low end of REFERENCES.md's X-band
    downlinks. ``atmosphere`` "none" is free space; "itur" needs the itur package and
    then, with ``sky_noise``, the sky-noise rise of rain, clouds and gases degrades the
    G/T against a clear-sky system temperature ``clear_sky_noise_temp_k`` (150 K, an
    uncooled X-band station; ITU-R P.618 section 7, :mod:`links.budget`)."""

    section: ClassVar[str] = "link.rf"
    freq_hz: float = field(default=8.2e9, metadata=_rule(gt=0.0))
    modcod: str = "QPSK RS(255,223)+conv(7,1/2) I=5"
    eirp_dbw: float = field(default=16.0, metadata=_rule(ge=-50.0, le=100.0))
    g_over_t_db_k: float = field(default=31.0, metadata=_rule(ge=-50.0, le=80.0))
    link_rate_bps: float = field(default=150e6, metadata=_rule(gt=0.0))
    polarization_loss_db: float = field(default=0.2, metadata=_rule(ge=0.0))
    pointing_loss_db: float = field(default=0.3, metadata=_rule(ge=0.0))
    implementation_loss_db: float = field(default=1.0, metadata=_rule(ge=0.0))
    atmosphere: str = field(default="none", metadata=_rule(choices=("none", "itur")))
    rain_p_percent: float = field(default=0.1, metadata=_rule(ge=0.001, le=50.0))
    sky_noise: bool = True
    clear_sky_noise_temp_k: float = field(default=150.0, metadata=_rule(gt=0.0))


@dataclass(frozen=True)
class OpticalConfig(_Section):
    """An optical downlink (see :class:`links.optical.OpticalLink`; TBIRD-like defaults,
    REFERENCES.md) and its cloud process. ``sample_s`` is the fade sampling step: 1 ms
    resolves the ~1 ms fades of a LEO pass coarsely and keeps a 10-minute pass at
    600k samples; pass 1e-4 for finer fades at 10x the memory. ``scintillation_model``
    defaults to "lognormal", the weak-fluctuation law that fits an aperture-averaged
    downlink (and the one whose sampler copes with the near-zero scintillation at high
    elevation); "gamma-gamma" is the moderate-to-strong law. ``cloud_correlation_length_m``
    0 draws each pass's clouds alone (a two-state Markov process); above 0 one cloud
    field covers every station over the whole span, correlated between stations as
    exp(-distance / L) (:class:`links.fading.CorrelatedClouds`), so a multi-pass run
    sees nearby stations clouded together."""

    section: ClassVar[str] = "link.optical"
    wavelength_m: float = field(default=1550e-9, metadata=_rule(gt=0.0))
    tx_power_w: float = field(default=1.0, metadata=_rule(gt=0.0))
    divergence_rad: float = field(default=20e-6, metadata=_rule(gt=0.0))
    aperture_diameter_m: float = field(default=0.4, metadata=_rule(gt=0.0))
    jitter_sigma_rad: float = field(default=1e-6, metadata=_rule(ge=0.0))
    jitter_correlation_s: float = field(default=0.01, metadata=_rule(ge=0.0))
    link_rate_bps: float = field(default=10e9, metadata=_rule(gt=0.0))
    cloud_free_probability: float = field(default=1.0, metadata=_rule(ge=0.0, le=1.0))
    mean_cloud_duration_s: float = field(default=600.0, metadata=_rule(gt=0.0))
    cloud_correlation_length_m: float = field(default=0.0, metadata=_rule(ge=0.0))
    sample_s: float = field(default=1e-3, metadata=_rule(gt=0.0, le=1.0))
    scintillation_model: str = field(
        default="lognormal", metadata=_rule(choices=("lognormal", "gamma-gamma"))
    )


@dataclass(frozen=True)
class UplinkConfig(_Section):
    """The uplink (telecommand) budget: ground EIRP to the spacecraft receiver at the
    uplink frequency, uncoded BPSK (PCM/PSK/PM as 231.0-B-4's CLTUs are sent; the BCH
    code inside the CLTU is the only code). Defaults: S band 2.05 GHz (the 2025-2110 MHz
    space operations band), a 200 W amplifier on a 33 dBi dish less 1 dB (55 dBW), a
    spacecraft G/T of -25 dB/K (a near-omni patch looking at the 290 K Earth) and
    64 kbit/s, a common TC rate. The spacecraft receiver acquires and tracks as
    ``[tracker]`` says, with its own C/N0 floor ``min_cn0_dbhz`` (none by default)."""

    section: ClassVar[str] = "link.uplink"
    freq_hz: float = field(default=2.05e9, metadata=_rule(gt=0.0))
    eirp_dbw: float = field(default=55.0, metadata=_rule(ge=-50.0, le=120.0))
    g_over_t_db_k: float = field(default=-25.0, metadata=_rule(ge=-80.0, le=60.0))
    data_rate_bps: float = field(default=64e3, metadata=_rule(gt=0.0))
    polarization_loss_db: float = field(default=0.2, metadata=_rule(ge=0.0))
    pointing_loss_db: float = field(default=0.3, metadata=_rule(ge=0.0))
    implementation_loss_db: float = field(default=1.0, metadata=_rule(ge=0.0))
    min_cn0_dbhz: float | None = None


@dataclass(frozen=True)
class LinkConfig(_Section):
    """Which link, at what emulated rate, over which station's ``pass_index``-th pass.
    ``step_s``: the link state (geometry, Doppler, budget, lock) sampling step;
    ``interval_s``: the width of the per-interval statistics. ``all_passes``: run every
    whole pass of the span in AOS order instead (``station`` and ``pass_index`` are
    then ignored)."""

    section: ClassVar[str] = "link"
    type: str = field(default="rf", metadata=_rule(choices=("rf", "optical")))
    data_rate_bps: float = field(default=1e6, metadata=_rule(gt=0.0, le=10e9))
    station: str = ""
    pass_index: int = field(default=0, metadata=_rule(ge=0))
    step_s: float = field(default=1.0, metadata=_rule(gt=0.0, le=60.0))
    interval_s: float = field(default=10.0, metadata=_rule(gt=0.0))
    all_passes: bool = False
    rf: RfConfig = RfConfig()
    optical: OpticalConfig = OpticalConfig()
    uplink: UplinkConfig = UplinkConfig()


@dataclass(frozen=True)
class TrackerConfig(_Section):
    """The ground receiver's carrier loop (:class:`links.doppler.CarrierTracker`).

    With ``precompensation`` the station tunes to the predicted Doppler, and what is
    left is the error of a prediction ``prediction_error_s`` late along track (TLE
    errors are mostly along track): residual(t) = D(t) - D(t - e). Without it the loop
    must follow the whole Doppler. Defaults: a 20 kHz pull-in range and 2 kHz/s
    (an X-band loop that tracks the ~1.85 kHz/s of REFERENCES.md), 2 s to acquire.
    """

    section: ClassVar[str] = "tracker"
    pull_in_range_hz: float = field(default=20e3, metadata=_rule(gt=0.0))
    max_rate_hz_s: float = field(default=2e3, metadata=_rule(gt=0.0))
    acquisition_time_s: float = field(default=2.0, metadata=_rule(ge=0.0))
    tracking_range_hz: float | None = field(default=None, metadata=_rule(gt=0.0))
    min_cn0_dbhz: float | None = None
    precompensation: bool = True
    prediction_error_s: float = field(default=1.0, metadata=_rule(ge=0.0, le=600.0))


@dataclass(frozen=True)
class FrameConfig(_Section):
    """What the link carries: Space Packets of ``packet_length`` octets (``apid``) in
    TM frames of virtual channel ``vcid``, in CADUs. Default: 1115-octet frames in
    RS(255,223) interleave 5 codeblocks, randomized (131.0-B-5's usual TM channel);
    ``rs_e`` 0 sends frames without Reed-Solomon (the FECF is then the only check)."""

    section: ClassVar[str] = "frames"
    frame_length: int = field(default=1115, metadata=_rule(ge=16, le=2048))
    rs_e: int = field(default=16, metadata=_rule(choices=(0, 8, 16)))
    interleave: int = field(default=5, metadata=_rule(choices=(1, 2, 3, 4, 5, 8)))
    randomize: bool = True
    scid: int = field(default=0x2A, metadata=_rule(ge=0, le=1023))
    vcid: int = field(default=1, metadata=_rule(ge=0, le=7))
    apid: int = field(default=0x100, metadata=_rule(ge=0, le=0x7FE))
    packet_length: int = field(default=1024, metadata=_rule(ge=16, le=65542))


@dataclass(frozen=True)
class ChannelConfig(_Section):
    """Impairments on top of the pass (:class:`links.impairments.ChannelModel`): a
    Gilbert burst-loss process (mean loss rate and burst length, 0 for none), an
    independent erasure probability, a fixed extra delay, duplication, reordering."""

    section: ClassVar[str] = "channel"
    burst_loss_rate: float = field(default=0.0, metadata=_rule(ge=0.0, lt=1.0))
    burst_length: float = field(default=1.0, metadata=_rule(ge=1.0))
    erasure_probability: float = field(default=0.0, metadata=_rule(ge=0.0, le=1.0))
    delay_s: float = field(default=0.0, metadata=_rule(ge=0.0))
    duplicate_probability: float = field(default=0.0, metadata=_rule(ge=0.0, le=1.0))
    reorder_probability: float = field(default=0.0, metadata=_rule(ge=0.0, le=1.0))
    reorder_delay_s: float = field(default=0.0, metadata=_rule(ge=0.0))


@dataclass(frozen=True)
class Scenario(_Section):
    """One scenario: see the module docstring for the file layout."""

    section: ClassVar[str] = ""
    satellite: SatelliteConfig
    stations: tuple[StationConfig, ...]
    name: str = "scenario"
    start: str = "2025-03-20T00:00:00"
    hours: float = field(default=24.0, metadata=_rule(gt=0.0, le=24.0 * 30))
    seed: int = field(default=1, metadata=_rule(ge=0))
    link: LinkConfig = LinkConfig()
    tracker: TrackerConfig = TrackerConfig()
    frames: FrameConfig = FrameConfig()
    channel: ChannelConfig = ChannelConfig()
    satellites: tuple[SatelliteConfig, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        import numpy as np

        if self.satellites:
            sat_names = [s.name for s in self.satellites]
            if len(set(sat_names)) != len(sat_names):
                raise UsageError(f"satellites.name must be unique; got {sat_names}.")
            if self.satellite != self.satellites[0]:
                # [[satellites]] is the whole fleet; ``satellite`` names its first
                object.__setattr__(self, "satellite", self.satellites[0])

        try:
            np.datetime64(self.start.rstrip("Z"), "us")
        except ValueError:
            raise UsageError(
                f"start must be an ISO 8601 UTC time like '2025-03-20T00:00:00'; got "
                f"{self.start!r}."
            ) from None
        if not self.stations:
            raise UsageError("stations: give at least one [[stations]] table.")
        names = [s.name for s in self.stations]
        if len(set(names)) != len(names):
            raise UsageError(f"stations.name must be unique; got {names}.")
        if self.link.station and self.link.station not in names:
            raise UsageError(
                f"link.station {self.link.station!r} is not a station of this scenario; "
                f"use one of {', '.join(repr(n) for n in names)}."
            )
        fr = self.frames
        if fr.rs_e and fr.frame_length > fr.interleave * (255 - 2 * fr.rs_e):
            raise UsageError(
                f"frames.frame_length {fr.frame_length} does not fit RS E={fr.rs_e} at "
                f"interleave {fr.interleave} (at most {fr.interleave * (255 - 2 * fr.rs_e)} "
                "octets); lower it or raise frames.interleave."
            )
        if not fr.rs_e and fr.interleave != 1:
            raise UsageError("frames.interleave must be 1 when frames.rs_e is 0 (no RS).")
        if self.channel.reorder_probability > 0 and self.channel.reorder_delay_s == 0:
            raise UsageError(
                "channel.reorder_delay_s must be > 0 when channel.reorder_probability is."
            )

    @property
    def fleet(self) -> tuple[SatelliteConfig, ...]:
        """Every satellite: ``[[satellites]]``, or the one ``[satellite]``."""
        return self.satellites if self.satellites else (self.satellite,)

    @property
    def station_config(self) -> StationConfig:
        """The station the link runs to (``link.station``, else the first)."""
        for s in self.stations:
            if s.name == self.link.station:
                return s
        return self.stations[0]


# --- reading -------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    names = {float: "a number", int: "an integer", bool: "true or false", str: "a string"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(value, args[0], key)
    if origin is tuple:
        (item,) = {a for a in typing.get_args(tp) if a is not Ellipsis}
        if not isinstance(value, list):
            raise UsageError(f"{key} must be an array of {_type_name(item)}s; got {value!r}.")
        return tuple(_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UsageError(f"{key} must be a number; got {value!r}.")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{key} must be an integer; got {value!r}.")
        return value
    if tp is bool or tp is str:
        if not isinstance(value, tp):
            raise UsageError(f"{key} must be {_type_name(tp)}; got {value!r}.")
        return value
    if isinstance(tp, type) and issubclass(tp, _Section):
        return _build(tp, value, key)
    raise AssertionError(f"unhandled scenario type {tp!r}")  # pragma: no cover


def _build(cls: type[Any], table: Any, key: str) -> Any:
    if not isinstance(table, dict):
        raise UsageError(f"{key} must be a table ([{key}]); got {table!r}.")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise UsageError(
            f"{key + '.' if key else ''}{unknown[0]} is not a scenario key; "
            f"{key or 'the top level'} takes {', '.join(sorted(known))}."
        )
    values: dict[str, Any] = {}
    if cls is Scenario and "satellites" in table:
        if "satellite" in table:
            raise UsageError("Give one [satellite] table or [[satellites]] tables, not both.")
        sats = _array_of(SatelliteConfig, table["satellites"], "satellites")
        if not sats:
            raise UsageError("satellites: give at least one [[satellites]] table.")
        values["satellites"] = sats
        values["satellite"] = sats[0]
    if cls is SatelliteConfig and "tle" in table:
        values["sso_altitude_km"] = None  # an element set replaces the default orbit
    for name, f in known.items():
        sub = f"{key}.{name}" if key else name
        if name in values:
            continue
        if name in table:
            if name == "stations":
                values[name] = _stations(table[name])
            else:
                values[name] = _convert(table[name], hints[name], sub)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise UsageError(f"{sub} is required.")
    return cls(**values)


def _stations(value: Any) -> tuple[StationConfig, ...]:
    return _array_of(StationConfig, value, "stations")


def _array_of(cls: type[Any], value: Any, key: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{key} must be an array of tables ([[{key}]]).")
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_build(cls, item, key))
        except UsageError as exc:
            text = str(exc)
            section = cls.section
            if text.startswith(f"{key}."):
                text = f"{key}[{i}]." + text[len(key) + 1 :]
            elif text.startswith(f"{section}."):
                text = f"{key}[{i}]." + text[len(section) + 1 :]
            elif text.startswith(f"{section} "):
                text = f"{key}[{i}] " + text[len(section) + 1 :]
            raise UsageError(text) from None
    return tuple(out)


def parse_scenario(text: str, *, source: str = "scenario") -> Scenario:
    """A scenario from TOML text; ``source`` names the file in syntax errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source} is not valid TOML: {exc}.") from None
    scenario: Scenario = _build(Scenario, data, "")
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot read the scenario {str(p)!r}: {exc.strerror}.") from None
    return parse_scenario(text, source=str(p))


# --- writing -------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        # JSON's escapes are TOML's; raw non-ASCII is fine in TOML (JSON's surrogate
        # pairs are not), and TOML also forbids a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise AssertionError(f"unhandled scenario value {value!r}")  # pragma: no cover


def _toml_table(obj: Any, header: str, lines: list[str]) -> None:
    nested = []
    body = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, _Section):
            nested.append((f.name, value))
        elif f.name not in ("stations", "satellites") and value is not None:
            body.append(f"{f.name} = {_toml_value(value)}")
    if header:
        lines.append(f"\n{header}")
    lines.extend(body)
    for name, value in nested:
        _toml_table(value, f"[{header.strip('[]') + '.' if header else ''}{name}]", lines)


def scenario_to_toml(scenario: Scenario) -> str:
    """The scenario as TOML text that :func:`parse_scenario` reads back equal."""
    lines: list[str] = []
    top = [f for f in fields(scenario) if not isinstance(getattr(scenario, f.name), _Section)]
    for f in top:
        if f.name not in ("stations", "satellites"):
            lines.append(f"{f.name} = {_toml_value(getattr(scenario, f.name))}")
    if scenario.satellites:
        for sat in scenario.satellites:
            _toml_table(sat, "[[satellites]]", lines)
    else:
        _toml_table(scenario.satellite, "[satellite]", lines)
    for station in scenario.stations:
        _toml_table(station, "[[stations]]", lines)
    for name in ("link", "tracker", "frames", "channel"):
        _toml_table(getattr(scenario, name), f"[{name}]", lines)
    return "\n".join(lines) + "\n"
