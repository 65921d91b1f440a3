"""gateway.config: every bad key is named with what was expected; secrets stay hidden."""

from __future__ import annotations

import io
import logging
import tomllib
from pathlib import Path

import pytest

from gateway.cli import check_config, main, summary
from gateway.config import (
    ConfigError,
    Decoder,
    GatewayConfig,
    OverflowPolicy,
    Secret,
    StationKind,
    load_config,
    parse_config,
)
from gateway.logs import configure_logging

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway.toml"
HMAC_KEY = "00112233445566778899aabbccddeeff"


def test_defaults() -> None:
    config = parse_config({}, base=Path("/srv"))
    assert config == GatewayConfig(outbox=config.outbox)
    assert config.mqtt.port == 1883 and config.mqtt.protocol == 5 and config.mqtt.qos == 1
    assert config.outbox.path == Path("/srv/dawnlink-outbox.sqlite3")
    assert config.outbox.overflow is OverflowPolicy.REJECT_NEW


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.spacecraft.name == "dawn-1"
    assert [s.kind for s in config.stations] == [StationKind.TCP_CADU, StationKind.UDP_FRAMES]
    health = config.route_for(101)
    assert health is not None and health.decoder is Decoder.STRUCT
    assert health.fields == ("node", "temperature_cdeg", "uptime_s")
    assert config.route_for(7) is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[mqtt]\nport = "abc"', "mqtt.port: expected an integer 1..65535, got 'abc'"),
        ("[mqtt]\nport = 0", "mqtt.port: expected an integer 1..65535, got 0"),
        ("[mqtt]\nport = true", "mqtt.port: expected an integer 1..65535, got True"),
        ("[mqtt]\nprot = 5", "mqtt.prot: unknown key"),
        ('[mqtt]\nprotocol = "4"', 'mqtt.protocol: expected "5" or "3.1.1", got \'4\''),
        ("[mqtt]\nqos = 3", "mqtt.qos: expected an integer 0..2, got 3"),
        ('[mqtt]\ntopic_prefix = "a/b"', "mqtt.topic_prefix: expected letters"),
        ('[mqtt]\npassword = "x"', "mqtt.username: is required when a password is given"),
        ("[mqtt.tls]\ncert = 'c.pem'", "mqtt.tls.key: expected cert and key together"),
        ("[mqtt.tls]\ncaa = 'c.pem'", "mqtt.tls.caa: unknown key"),
        ("[mqtt]\nreconnect_initial_s = -1", "mqtt.reconnect_initial_s: expected a number"),
        ("mqtt = 3", "mqtt: expected a table, got 3"),
        ('[outbox]\noverflow = "drop-newest"', "outbox.overflow: expected one of reject-new"),
        ("[outbox]\nmax_rows = 0", "outbox.max_rows: expected an integer 1.."),
        ('[logging]\nlevel = "LOUD"', "logging.level: expected one of DEBUG"),
        ("[spacecraft]\nscid = 70000", "spacecraft.scid: expected an integer 0..65535"),
        ("[metrics]\nport = 70000", "metrics.port: expected an integer 0..65535"),
        ("[[stations]]\nname='a'\nhost='h'\nport=1", "stations[0].kind: is required"),
        (
            "[[stations]]\nname='a'\nkind='serial'\nhost='h'\nport=1",
            "stations[0].kind: expected one of tcp-cadu, udp-frames, got 'serial'",
        ),
        (
            "[[stations]]\nname='a'\nkind='tcp-cadu'\nhost='h'\nport=1\n"
            "[stations.frame]\nrs_interleave=6",
            "stations[0].frame.rs_interleave: expected 0 (none), 1..5 or 8, got 6",
        ),
        (
            "[[stations]]\nname='a'\nkind='tcp-cadu'\nhost='h'\nport=1\n"
            "[stations.frame]\nlength=1115\nrs_interleave=4",
            "stations[0].frame.length: expected at most 892 octets",
        ),
        (
            "[[stations]]\nname='a'\nkind='tcp-cadu'\nhost='h'\nport=1\n"
            "[[stations]]\nname='a'\nkind='tcp-cadu'\nhost='h'\nport=2",
            "stations[1].name: expected a name not used before",
        ),
        ("[[routes]]\napid = 2047\nproduct = 'x'", "routes[0].apid: expected an integer 0..2046"),
        ("[[routes]]\nproduct = 'x'", "routes[0].apid: is required"),
        (
            "[[routes]]\napid = 1\nproduct = 'x'\ndecoder = 'struct'\nformat = '>HH'\n"
            "fields = ['a']",
            "routes[0].fields: expected 2 names, one per value of '>HH'",
        ),
        (
            "[[routes]]\napid = 1\nproduct = 'x'\ndecoder = 'struct'\nformat = '>Q!'\n"
            "fields = ['a']",
            "routes[0].format: expected a struct format",
        ),
        ("[[routes]]\napid = 1\nproduct = 'x'\nformat = '>H'", "routes[0].format: is only for"),
        (
            "[[routes]]\napid = 1\nproduct = 'x'\n[[routes]]\napid = 1\nproduct = 'y'",
            "routes[1].apid: expected an APID not routed before, got 1",
        ),
        (
            "[[uplink.senders]]\nname = 'mc'\nalgorithm = 'ed25519'\nkey = 'abcd'",
            "uplink.senders[0].key: expected a 32-octet Ed25519 public key",
        ),
        (
            "[[uplink.senders]]\nname = 'mc'\nalgorithm = 'hmac-sha256'\nkey = 'zz'",
            "uplink.senders[0].key: expected hex digits, got '***'",
        ),
        ("[uplink]\nkeys = []", "uplink.keys: unknown key"),
        ("colour = 'blue'", "colour: unknown key"),
    ],
)
def test_bad_values_name_the_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(toml))
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.key == message.split(":")[0]


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a readable file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt\n")
    with pytest.raises(ConfigError, match="expected valid TOML"):
        load_config(bad)


def _secret_config(tmp_path: Path) -> tuple[Path, list[str]]:
    secrets = ["hunter2-very-secret", HMAC_KEY]
    (tmp_path / "pw").write_text(secrets[0] + "\n")
    path = tmp_path / "gw.toml"
    path.write_text(
        "[mqtt]\nusername = 'gw'\npassword_file = 'pw'\n"
        f"[[uplink.senders]]\nname = 'mc'\nalgorithm = 'hmac-sha256'\nkey = '{secrets[1]}'\n"
    )
    return path, secrets


def test_secrets_never_in_repr_str_or_summary(tmp_path: Path) -> None:
    path, secrets = _secret_config(tmp_path)
    config = load_config(path)
    assert config.mqtt.password == Secret(secrets[0])  # the file's newline is not in it
    assert config.mqtt.password is not None and config.mqtt.password.reveal() == secrets[0]
    texts = [repr(config), str(config), f"{config.mqtt.password}", summary(config)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "Secret('***')" in summary(config)


def test_secrets_never_in_log_lines(tmp_path: Path) -> None:
    path, secrets = _secret_config(tmp_path)
    config = load_config(path)
    for json_lines in (False, True):
        stream = io.StringIO()
        handler = configure_logging("DEBUG", json_lines=json_lines, stream=stream)
        try:
            log = logging.getLogger("gateway.test")
            log.info("config %s", config, extra={"fields": {"mqtt": config.mqtt}})
            log.info("password %r", config.mqtt.password)
        finally:
            logging.getLogger("gateway").removeHandler(handler)
        text = stream.getvalue()
        assert text.count("\n") == 2  # one line per event
        for secret in secrets:
            assert secret not in text


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


def test_check_config_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, secrets = _secret_config(tmp_path)
    assert main(["gateway", "check-config", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mqtt.username = 'gw'" in out and "ok: 0 stations" in out
    assert all(secret not in out for secret in secrets)
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt]\nport = 'abc'\n")
    err = io.StringIO()
    assert check_config(bad, out=io.StringIO(), err=err) == 2
    assert "mqtt.port: expected an integer 1..65535, got 'abc'" in err.getvalue()


# -- stations (mode, frame type), [merge], route time codes -----------------------------

_STATION = "[[stations]]\nname='a'\nkind='tcp-cadu'\nhost='h'\nport=1\n"
_ROUTE = "[[routes]]\napid=1\nproduct='x'\n"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (_STATION + "mode='push'", "stations[0].mode: expected one of connect, listen, got 'push'"),
        (
            "[[stations]]\nname='u'\nkind='udp-frames'\nhost='h'\nport=1\nmode='connect'",
            'stations[0].mode: expected "listen": a udp-frames station binds host:port',
        ),
        (
            _STATION + "[stations.frame]\ntype='uslp'",
            "stations[0].frame.type: expected one of tm, aos",
        ),
        (
            _STATION + "[stations.frame]\nocf=true",
            'stations[0].frame.ocf: is only for type = "aos"',
        ),
        (
            _STATION + "[stations.frame]\ninsert_zone_length=4",
            'stations[0].frame.insert_zone_length: is only for type = "aos"',
        ),
        (
            _STATION + "[stations.frame]\ntype='aos'\ninsert_zone_length=3000",
            "stations[0].frame.insert_zone_length: expected an integer 0..2000",
        ),
        (
            _STATION + "[stations.frame]\ntype='aos'\nlength=20\ninsert_zone_length=10\nocf=true",
            "stations[0].frame.length: expected a longer frame",
        ),
        (_STATION + "[merge]\nwindow=200", "merge.window: expected at most 127 for TM frames"),
        (
            _STATION + "[[stations]]\nname='b'\nkind='tcp-cadu'\nhost='h'\nport=2\n"
            "[stations.frame]\nlength=892",
            "stations[1].frame: expected the same frame type, length, fecf and AOS keys",
        ),
        ("[merge]\nwindow=0", "merge.window: expected an integer 1..8388607, got 0"),
        ("[merge]\ntimeout_s=-1", "merge.timeout_s: expected a number at least 0.0"),
        ("[merge]\nstart_hold_s='soon'", "merge.start_hold_s: expected a number"),
        ("[merge]\nwindw=10", "merge.windw: unknown key"),
        (
            _ROUTE + "time_code='ascii'",
            "routes[0].time_code: expected one of cuc, cds, got 'ascii'",
        ),
        (
            _ROUTE + "time_code='cds'\ncoarse_octets=4",
            'routes[0].coarse_octets: is only for time_code = "cuc"',
        ),
        (
            _ROUTE + "time_pfield=true",
            'routes[0].time_pfield: is only with time_code = "cuc" or "cds"',
        ),
        (
            _ROUTE + "time_code='cuc'\ncoarse_octets=8",
            "routes[0].coarse_octets: expected an integer 1..7",
        ),
        (
            _ROUTE + "time_code='cds'\nday_octets=4",
            "routes[0].day_octets: expected an integer 2..3",
        ),
        (
            _ROUTE + "time_code='cds'\nsubmilli_octets=3",
            "routes[0].submilli_octets: expected 0, 2 (microseconds) or 4 (picoseconds), got 3",
        ),
        (
            _ROUTE + "time_code='cuc'\ntime_pfield=true\nfine_octets=3",
            "routes[0].fine_octets: is not needed with time_pfield = true",
        ),
        (
            _ROUTE + "time_code='cuc'\nsecondary_header_length=4",
            "routes[0].secondary_header_length: expected at least 6, the time code's length, got 4",
        ),
    ],
)
def test_station_merge_and_time_code_keys_name_the_key(toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(toml))
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.key == message.split(":")[0]


def test_station_mode_frame_type_and_merge_reach_the_pipeline() -> None:
    from comms.frames import AosParams, TmParams
    from gateway.pipeline import Pipeline

    config = parse_config(
        tomllib.loads(
            _STATION + "mode='listen'\n[stations.frame]\ntype='aos'\nlength=892\nfhec=true\n"
            "insert_zone_length=4\nocf=true\nrs_interleave=4\n"
            "[merge]\nwindow=2000\ntimeout_s=2.5\nstart_hold_s=0\nidle_reset_s=30\n"
        )
    )
    (station,) = config.stations
    assert station.mode == "listen" and station.frame_type == "aos"
    params = station.frame_params()
    assert params == AosParams(892, has_fhec=True, insert_zone_length=4, has_ocf=True)
    pipeline = Pipeline.from_config(config)
    assert pipeline.params == params
    merge = pipeline.merge
    assert (merge.window, merge.timeout_s, merge.start_hold_s, merge.idle_reset_s) == (
        2000,
        2.5,
        0.0,
        30.0,
    )
    # Defaults: TM following each frame's OCF flag, the merge's own defaults, and a
    # TCP station dials out while a UDP one binds.
    plain = parse_config(
        tomllib.loads(_STATION + "[[stations]]\nname='u'\nkind='udp-frames'\nhost='h'\nport=2\n")
    )
    assert [s.mode for s in plain.stations] == ["connect", "listen"]
    assert plain.stations[0].frame_params() == TmParams(1115, has_ocf=None)
    merge = Pipeline.from_config(plain).merge
    assert (merge.window, merge.timeout_s, merge.start_hold_s) == (64, 1.0, 1.0)


@pytest.mark.parametrize("code", ["cuc", "cds"])
def test_route_time_code_fills_the_spacecraft_time(code: str) -> None:
    import json
    from datetime import UTC, datetime

    from comms.frames import TmParams
    from comms.spp import SpacePacket
    from comms.time import CdsTime, CucTime
    from comms.vc import VcPacketSender
    from gateway.pipeline import Pipeline
    from gateway.products import ProductRoute, TimeCode, TimeFormat

    when = datetime(2031, 3, 4, 5, 6, 7, 250_000, tzinfo=UTC)
    if code == "cuc":
        keys = "time_code='cuc'\ncoarse_octets=4\nfine_octets=3\nsecondary_header_length=10\n"
        octets = CucTime.from_datetime(when, fine_octets=3, with_pfield=False).encode()
        expected = TimeCode(TimeFormat.CUC, fine_octets=3)
    else:
        keys = "time_code='cds'\nday_octets=2\nsubmilli_octets=2\nsecondary_header_length=11\n"
        octets = CdsTime.from_datetime(when, submilli_octets=2, with_pfield=False).encode()
        expected = TimeCode(TimeFormat.CDS, submilli_octets=2)
    config = parse_config(
        tomllib.loads("[spacecraft]\nscid=42\n" + _STATION + _ROUTE + "decoder='json'\n" + keys)
    )
    route = ProductRoute.from_config(config.routes[0])
    assert route.time == expected and route.secondary_header_length == len(octets) + 3
    # Three more octets of secondary header (say, a PUS-like service type) after the time.
    packet = SpacePacket(
        apid=1, data=octets + b"\x11\x01\x00" + b'{"ok": 1}', sequence_count=9, sec_header_flag=True
    )
    sender = VcPacketSender(TmParams(1115), scid=42, vcid=0)
    frames = sender.add_packets([packet]) + sender.flush()
    pipeline = Pipeline.from_config(config)
    pipeline.receive("a", frames, 1.9e9)
    pipeline.flush()
    (message,) = pipeline.messages()
    body = json.loads(message.payload)
    assert body["sct"] == when.timestamp() and body["data"] == {"ok": 1}


def test_example_config_annotates_the_operation_keys() -> None:
    config = load_config(EXAMPLE)
    assert [s.mode for s in config.stations] == ["connect", "listen"]
    assert {s.frame_type for s in config.stations} == {"tm"}
    assert config.merge.timeout_s == 1.0
    timed = [r for r in config.routes if r.time_code is not None]
    assert timed, "the example shows a route with a spacecraft time code"
