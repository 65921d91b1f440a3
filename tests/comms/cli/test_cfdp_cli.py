"""``dawnlink cfdp``: serve and put over real UDP loopback, config parsing, usage errors."""

from __future__ import annotations

import argparse
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from comms.cfdp import ChecksumType, NakMode, TransmissionMode
from comms.cli import cfdp as cli
from comms.cli import common
from comms.errors import UsageError


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dawnlink")
    cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("cfdp_class", "checksum"), [("1", "crc32"), ("2", "modular"), ("2", "crc32c")]
)
def test_serve_and_put(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    cfdp_class: str,
    checksum: str,
) -> None:
    # Class 1 has no retransmission: put only once the server's socket is bound, which
    # it says on stderr ("listening on").
    listening = threading.Event()
    note = common.note

    def spy(message: str) -> None:
        note(message)
        if "listening on" in message:
            listening.set()

    monkeypatch.setattr("comms.cli.cfdp.note", spy)
    inbox = tmp_path / "in"
    inbox.mkdir()
    src = tmp_path / "results.bin"
    data = bytes(range(256)) * 400
    src.write_bytes(data)
    config = tmp_path / "mib.toml"
    config.write_text(
        "[local]\nsend_burst = 16\n[entity]\nburst_interval_s = 0.005\n"
        "[remote]\nack_timer_interval = 0.5\nnak_timer_interval = 0.5\n"
        "check_timer_interval = 0.5\ninactivity_timer_interval = 20.0\n"
    )
    a, b = free_port(), free_port()
    results: list[int] = []
    server = threading.Thread(
        target=lambda: results.append(
            run(
                [
                    "cfdp",
                    "serve",
                    "--entity-id",
                    "1",
                    "--bind",
                    f"127.0.0.1:{a}",
                    "--peer",
                    f"2=127.0.0.1:{b}",
                    "--root",
                    str(inbox),
                    "--count",
                    "1",
                    "--config",
                    str(config),
                ]
            )
        )
    )
    server.start()
    assert listening.wait(30)
    try:
        code = run(
            [
                "cfdp",
                "put",
                "--entity-id",
                "2",
                "--bind",
                f"127.0.0.1:{b}",
                "--peer",
                f"1=127.0.0.1:{a}",
                "--class",
                cfdp_class,
                "--checksum",
                checksum,
                "--config",
                str(config),
                "--timeout",
                "20",
                str(src),
                "sub.bin",
            ]
        )
    finally:
        server.join(30)
    assert not server.is_alive()
    assert code == 0
    assert results == [0]
    assert (inbox / "sub.bin").read_bytes() == data
    out, err = capsys.readouterr()
    assert f"NO_ERROR sub.bin {len(data)} from 2" in out
    assert f"{len(data)} octets in" in err and "NO_ERROR" in err and "retransmitted" in err


def test_put_fails_without_peer_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "x.bin"
    src.write_bytes(b"hello")
    config = tmp_path / "mib.toml"
    config.write_text("[remote]\nack_timer_interval = 0.05\nack_limit = 1\n")
    # Nobody listens at the peer's port: class 2 runs out of positive ACK retries.
    code = run(
        [
            "cfdp",
            "put",
            "--entity-id",
            "2",
            "--bind",
            "127.0.0.1:0",
            "--peer",
            f"1=127.0.0.1:{free_port()}",
            "--config",
            str(config),
            "--timeout",
            "20",
            str(src),
            "x.bin",
        ]
    )
    assert code == 1
    assert "POSITIVE_ACK_LIMIT_REACHED" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--peer", "1=127.0.0.1:9", "missing.bin", "x"], "is not a file"),
        (["missing.bin", "x"], "exactly one --peer"),
    ],
)
def test_put_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = run(["cfdp", "put", "--entity-id", "2", "--bind", "127.0.0.1:0", *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_bad_addresses() -> None:
    with pytest.raises(SystemExit):
        run(["cfdp", "serve", "--entity-id", "1", "--bind", "nohost", "--root", "."])
    with pytest.raises(SystemExit):
        run(["cfdp", "serve", "--entity-id", "1", "--bind", "h:1", "--peer", "x", "--root", "."])


def test_load_config() -> None:
    data: dict[str, Any] = {
        "local": {"send_burst": 8},
        "entity": {"burst_interval_s": 0.01},
        "remote": {"checksum_type": "crc32c", "max_pdu_length": 512},
        "remotes": {"7": {"default_transmission_mode": 1, "nak_mode": "immediate"}},
    }
    mib, burst = cli.load_config(data, 3, [5], {"crc": True})
    assert burst == 0.01
    assert mib.local.entity_id == 3 and mib.local.send_burst == 8
    assert set(mib.remotes) == {5, 7}
    assert mib.remotes[5].checksum_type is ChecksumType.CRC32C
    assert mib.remotes[5].crc and mib.remotes[7].crc
    assert mib.remotes[7].default_transmission_mode is TransmissionMode.UNACKNOWLEDGED
    assert mib.remotes[7].nak_mode is NakMode.IMMEDIATE
    assert mib.remotes[7].max_pdu_length == 512


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bogus": {}}, r"unknown table \[bogus\]"),
        ({"remote": {"ack_timer": 1}}, "unknown key remote.ack_timer"),
        ({"local": {"entity": 1}}, "unknown key local.entity"),
        ({"remote": {"checksum_type": "md5"}}, "checksum_type 'md5'"),
        ({"remote": {"ack_limit": 0}}, "ack_limit"),
        ({"remotes": {"x": {}}}, "entity id"),
        ({"entity": {"burst_interval_s": -1}}, "burst_interval_s"),
        ({"remote": {"nak_mode": "eager"}}, "nak_mode"),
        ({"remote": {"default_transmission_mode": 3}}, "the class, 1 or 2"),
    ],
)
def test_load_config_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        cli.load_config(data, 1, [2])


def test_bad_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mib.toml"
    config.write_text("[remote\n")
    code = run(
        [
            "cfdp",
            "serve",
            "--entity-id",
            "1",
            "--bind",
            "127.0.0.1:0",
            "--root",
            str(tmp_path),
            "--config",
            str(config),
        ]
    )
    assert code == 2
    assert "cannot read config" in capsys.readouterr().err


def test_registered_with_dawnlink(capsys: pytest.CaptureFixture[str]) -> None:
    """Through ``comms.cli.main`` once the entry point is installed (pyproject.toml)."""
    from importlib.metadata import entry_points

    from comms.cli import main

    if not any(ep.name == "cfdp" for ep in entry_points(group="dawnlink.commands")):
        pytest.skip("the dawnlink.commands entry point 'cfdp' is not installed yet")
    with pytest.raises(SystemExit) as exc:
        main(["cfdp", "put", "--help"])
    assert exc.value.code == 0
    assert "--checksum" in capsys.readouterr().out
