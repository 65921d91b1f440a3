"""``dawnlink packet decode --pcap``: real capture files written with scapy."""

from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scapy")

from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap, wrpcapng

from comms.cli import main
from comms.scapy.spp import DEFAULT_UDP_PORT, write_pcap
from comms.spp import IDLE_APID, SpacePacket

# Fixed addresses: left unset, scapy would look up a route on this host.
ETHER = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def packet(apid: int, count: int = 0, data: bytes = b"hello") -> bytes:
    return SpacePacket(apid=apid, sequence_count=count, data=data).encode()


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "pass.pcap"
    write_pcap(
        path,
        [
            packet(1),  # frame 1: one packet
            packet(2, 1) + packet(3, 2, b"xy"),  # frame 2: two packets in one datagram
            packet(IDLE_APID, data=b"\xff"),  # frame 3: idle
        ],
    )
    return path


def test_pcap_round_trip(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "--pcap", str(capture), "--json", "--show-idle"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [(r["frame"], r["offset"], r["apid"]) for r in records] == [
        (1, 0, 1),
        (2, 0, 2),
        (2, 11, 3),
        (3, 0, IDLE_APID),
    ]
    assert records[2]["data"] == b"xy".hex()


def test_pcap_table_has_a_frame_column(capture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "--pcap", str(capture)]) == 0
    captured = capsys.readouterr()
    header, *rows = captured.out.splitlines()
    assert header.split()[:2] == ["frame", "offset"]
    assert [row.split()[:2] for row in rows] == [["1", "0"], ["2", "0"], ["2", "11"]]
    assert "1 idle packet hidden" in captured.err


def test_pcap_port_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mixed.pcap"
    wrpcap(
        str(path),
        [
            ETHER / IP() / UDP(sport=40000, dport=10015) / packet(1),
            ETHER / IP() / UDP(sport=40000, dport=53) / b"\x12\x34 not a space packet",
            ETHER / IP() / UDP(sport=10015, dport=40000) / packet(2),
            ETHER / IP(proto=6) / b"no UDP here at all",
        ],
    )
    assert main(["packet", "decode", "--pcap", str(path), "--port", "10015", "--json"]) == 0
    assert [(r["frame"], r["apid"]) for r in json_lines(capsys.readouterr().out)] == [
        (1, 1),
        (3, 2),
    ]


def test_pcapng_is_read_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pass.pcapng"
    wrpcapng(str(path), [ETHER / IP() / UDP(dport=DEFAULT_UDP_PORT) / packet(7)])
    assert main(["packet", "decode", "--pcap", str(path), "--json"]) == 0
    assert [r["apid"] for r in json_lines(capsys.readouterr().out)] == [7]


def test_bad_datagram_is_reported_and_the_rest_decoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.pcap"
    write_pcap(path, [packet(1), packet(2) + packet(3)[:-2], packet(4)])
    assert main(["packet", "decode", "--pcap", str(path), "--json"]) == 1
    captured = capsys.readouterr()
    assert [(r["frame"], r["apid"]) for r in json_lines(captured.out)] == [(1, 1), (2, 2), (3, 4)]
    assert captured.err == (
        "error: trailing partial packet at offset 11: expected 11 octets (data_length 4), "
        "got 9 octets (capture frame 2)\n"
    )


def test_not_a_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not packets\n")
    assert main(["packet", "decode", "--pcap", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"error: {path}: not a pcap or pcapng capture at offset 0: expected a pcap or pcapng "
        "magic number, got 74686573\n"
    )


def test_missing_capture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "--pcap", str(tmp_path / "none.pcap")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read ")


def test_without_scapy_says_how_to_install_it(
    capture: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_scapy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "scapy" or name.startswith("scapy."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "comms.scapy.spp", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_scapy)
    assert main(["packet", "decode", "--pcap", str(capture)]) == 2
    assert capsys.readouterr().err == (
        "error: reading a capture needs scapy: pip install 'dawnlink[scapy]'\n"
    )
