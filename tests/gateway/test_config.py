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
