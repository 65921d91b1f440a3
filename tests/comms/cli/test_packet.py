"""``dawnlink packet decode`` and ``encode``, driven through ``comms.cli.main``.

The reference vector is the TC header of shared/REFERENCES.md (``18 02 40 34 00 16``:
APID 2, secondary header, first segment, count 0x34, 23 data octets); the other packets
here are built with :class:`comms.spp.SpacePacket`, whose own tests check it against
spacepackets.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import comms.cli.packet as packet_cli
from comms.cli import main
from comms.spp import IDLE_APID, PacketType, SequenceFlags, SpacePacket

REFERENCE_HEX = "18 02 40 34 00 16" + " 00" * 23
REFERENCE = bytes.fromhex(REFERENCE_HEX)


def run(argv: list[str], stdin: str | bytes | None = None) -> tuple[int, str, str]:
    """``main(argv)`` with stdin given and stdout/stderr captured, for use under @given
    (where the function-scoped capsys fixture would be shared between examples)."""
    out, err = io.StringIO(), io.StringIO()
    raw = stdin.encode() if isinstance(stdin, str) else (stdin or b"")
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(raw))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = saved
    return code, out.getvalue(), err.getvalue()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def packet(apid: int = 100, count: int = 0, data: bytes = b"hello") -> SpacePacket:
    return SpacePacket(apid=apid, sequence_count=count, data=data)


# -- decode: the reference vector ----------------------------------------------------


def test_decode_reference_vector_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", REFERENCE_HEX]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == [
        "offset", "ver", "type", "sec", "apid", "seq", "flags", "count", "data", "len", "data"
    ]  # fmt: skip
    assert out[1].split() == ["0", "0", "TC", "yes", "2", "first", "52", "23", "00" * 16 + "..."]
    # The columns line up: every row is as wide as the header up to the data column.
    assert out[1].index("first") == out[0].index("seq flags")


def test_decode_reference_vector_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "--json", *REFERENCE_HEX.split()]) == 0
    assert json_lines(capsys.readouterr().out) == [
        {
            "offset": 0,
            "version": 0,
            "packet_type": "tc",
            "sec_header_flag": True,
            "apid": 2,
            "sequence_flags": "first",
            "sequence_count": 0x34,
            "data_length": 22,
            "data": "00" * 23,
        }
    ]


def test_encode_reference_vector(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["packet", "encode", "--apid", "2", "--type", "tc", "--sec-header"]
    argv += ["--seq-flags", "first", "--count", "0x34", "--data", "00" * 23]
    assert main(argv) == 0
    assert capsys.readouterr().out == REFERENCE.hex() + "\n"


# -- decode: input forms -------------------------------------------------------------


def test_encode_output_decodes_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["packet", "encode", "--apid", "100", "--data", "68656c6c6f"]) == 0
    encoded = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(encoded))
    assert main(["packet", "decode", "--json"]) == 0
    [record] = json_lines(capsys.readouterr().out)
    assert record["apid"] == 100 and record["data"] == b"hello".hex()
    assert record["packet_type"] == "tm" and record["sequence_flags"] == "unsegmented"


def test_hex_tolerates_whitespace_0x_and_case() -> None:
    text = "0x1802 4034\n\t0016" + "00" * 22 + "\n0X00\n"
    assert packet_cli.parse_hex(text) == REFERENCE
    assert packet_cli.parse_hex(REFERENCE.hex().upper()) == REFERENCE


def test_hex_stream_of_several_packets_gives_offsets() -> None:
    stream = b"".join(packet(count=n, data=bytes(n + 1)).encode() for n in range(4))
    code, out, err = run(["packet", "decode", "--json", stream.hex()])
    assert (code, err) == (0, "")
    records = json_lines(out)
    assert [r["offset"] for r in records] == [0, 7, 15, 24]
    assert [r["sequence_count"] for r in records] == [0, 1, 2, 3]


def test_file_of_many_packets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # More octets than one read chunk, so packets straddle chunk boundaries.
    packets = [packet(apid=n % 2000, count=n, data=bytes([n % 256]) * 97) for n in range(1000)]
    path = tmp_path / "stream.bin"
    path.write_bytes(b"".join(p.encode() for p in packets))
    assert path.stat().st_size > packet_cli._CHUNK
    assert main(["packet", "decode", "--file", str(path), "--json"]) == 0
    records = json_lines(capsys.readouterr().out)
    assert [r["offset"] for r in records] == [103 * n for n in range(1000)]
    assert [bytes.fromhex(str(r["data"])) for r in records] == [p.data for p in packets]


@pytest.mark.parametrize(
    ("tail", "status"),
    [
        (b"", 0),
        (REFERENCE[:4], 1),  # a partial header
        (REFERENCE[:9], 1),  # a whole header, part of the data
        (b"\x20" + REFERENCE[1:], 1),  # version 1
    ],
)
def test_file_read_byte_by_byte_gives_the_same_result(
    tail: bytes,
    status: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "stream.bin"
    stream = b"".join(packet(count=n, data=bytes(n + 1)).encode() for n in range(6))
    path.write_bytes(stream + tail)
    assert main(["packet", "decode", "--file", str(path), "--json"]) == status
    whole = capsys.readouterr()
    assert len(whole.out.splitlines()) == 6
    for chunk in (1, 2, 5):
        monkeypatch.setattr(packet_cli, "_CHUNK", chunk)
        assert main(["packet", "decode", "--file", str(path), "--json"]) == status
        assert capsys.readouterr() == whole


def test_file_from_stdin() -> None:
    code, out, _ = run(["packet", "decode", "--file", "-", "--json"], stdin=REFERENCE * 2)
    assert code == 0
    assert [r["offset"] for r in json_lines(out)] == [0, 29]


def test_idle_packets_hidden_unless_asked() -> None:
    stream = packet().encode() + packet(apid=IDLE_APID, data=b"\xff" * 4).encode()
    code, out, err = run(["packet", "decode", "--json", stream.hex()])
    assert code == 0
    assert [r["apid"] for r in json_lines(out)] == [100]
    assert "1 idle packet hidden" in err
    code, out, err = run(["packet", "decode", "--json", "--show-idle", stream.hex()])
    assert [r["apid"] for r in json_lines(out)] == [100, IDLE_APID]
    assert err == ""


def test_empty_input_says_so() -> None:
    assert run(["packet", "decode"], stdin="  \n") == (0, "", "no packets in the input\n")


def test_table_long_data_is_previewed(capsys: pytest.CaptureFixture[str]) -> None:
    short, long = packet(data=bytes(range(16))), packet(data=bytes(range(17)))
    assert main(["packet", "decode", (short.encode() + long.encode()).hex()]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert rows[0].endswith(" " + bytes(range(16)).hex())
    assert rows[1].endswith(" " + bytes(range(16)).hex() + "...")


# -- decode: bad data (exit 1) -------------------------------------------------------


def test_bad_hex_digit_names_the_octet(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "18 02 4z"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: bad hex digit at offset 2: expected 0-9 or a-f, got 'z'\n"


def test_odd_number_of_hex_digits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "18 02 4"]) == 1
    assert capsys.readouterr().err == (
        "error: odd number of hex digits at offset 2: expected two digits per octet, got one\n"
    )


def test_truncated_packet_is_reported_after_the_good_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = packet().encode()
    assert main(["packet", "decode", "--json", (good + REFERENCE[:-3]).hex()]) == 1
    captured = capsys.readouterr()
    assert [r["offset"] for r in json_lines(captured.out)] == [0]
    assert captured.err == (
        "error: trailing partial packet at offset 11: expected 29 octets (data_length 22), "
        "got 26 octets\n"
    )


def test_partial_header_at_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(REFERENCE + REFERENCE[:4])
    assert main(["packet", "decode", "--file", str(path)]) == 1
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2  # header line and the whole packet
    assert captured.err == (
        "error: trailing partial packet at offset 29: expected a 6-octet primary header, "
        "got 4 octets\n"
    )


def test_bad_version_names_the_offset(capsys: pytest.CaptureFixture[str]) -> None:
    bad = bytes([REFERENCE[0] | 0x20]) + REFERENCE[1:]  # version 1
    assert main(["packet", "decode", (REFERENCE + bad).hex()]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unsupported packet version number at offset 29: expected 0")
    assert "got 1" in err


@given(st.binary(min_size=1, max_size=200))
def test_any_bytes_decode_or_report_an_offset(data: bytes) -> None:
    code, _, err = run(["packet", "decode", "--json", "--show-idle", data.hex()])
    assert code in (0, 1)
    if code == 1:
        assert err.startswith("error: ") and " at offset " in err
        assert err.count("\n") == 1


# -- decode: usage errors (exit 2) ---------------------------------------------------


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "decode", "--file", str(tmp_path / "nope.bin")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'nope.bin'}")


@pytest.mark.parametrize(
    "argv",
    [
        ["packet", "decode", "00", "--file", "x.bin"],
        ["packet", "decode", "--file", "x.bin", "--pcap", "x.pcap"],
        ["packet", "decode", "--port", "10015", "00"],
        ["packet", "decode", "--pcap", "x.pcap", "--port", "70000"],
        ["packet", "encode", "--data", "00"],
        ["packet", "encode", "--apid", "1"],
        ["packet", "encode", "--apid", "1", "--data", "00", "--text", "x"],
        ["packet", "encode", "--apid", "one", "--data", "00"],
        ["packet", "encode", "--apid", "1", "--type", "xx", "--data", "00"],
        ["packet", "frobnicate"],
    ],
)
def test_argument_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_packet_without_an_action_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet"]) == 2
    err = capsys.readouterr().err
    assert "decode" in err and "encode" in err


@pytest.mark.parametrize("action", ["decode", "encode"])
def test_help_has_examples(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["packet", action, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"dawnlink packet {action}" in out and "exit status" in out


# -- encode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--apid", "3000", "--text", "x"], "apid must be an integer from 0 to 2047"),
        (["--apid", "1", "--count", "16384", "--text", "x"], "sequence_count"),
        (["--apid", "1", "--data", ""], "data field holds 1 to 65536 octets"),
        (["--apid", "1", "--text", ""], "data field holds 1 to 65536 octets"),
        (["--apid", "1", "--data", "0g"], "--data: bad hex digit at offset 0"),
    ],
)
def test_field_errors_exit_2_with_the_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["packet", "encode", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and message in captured.err


def test_encode_text_and_fields(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["packet", "encode", "--apid", "0x7fe", "--type", "tc", "--seq-flags", "last"]
    assert main([*argv, "--count", "16383", "--text", "hé"]) == 0
    expected = SpacePacket(
        apid=0x7FE,
        packet_type=PacketType.TC,
        sequence_flags=SequenceFlags.LAST,
        sequence_count=16383,
        data="hé".encode(),
    )
    assert capsys.readouterr().out == expected.encode().hex() + "\n"


def test_encode_data_file_to_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "data.bin").write_bytes(bytes(range(256)) * 3)
    out = tmp_path / "packet.bin"
    argv = ["packet", "encode", "--apid", "5", "--data-file", str(tmp_path / "data.bin")]
    assert main([*argv, "--out", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert SpacePacket.decode(out.read_bytes()) == packet(apid=5, data=bytes(range(256)) * 3)
    assert main(["packet", "decode", "--file", str(out), "--json"]) == 0
    assert json_lines(capsys.readouterr().out)[0]["apid"] == 5


def test_encode_missing_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packet", "encode", "--apid", "5", "--data-file", str(tmp_path / "no")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read")


@given(
    packet_type=st.sampled_from(["tm", "tc"]),
    sec_header=st.booleans(),
    apid=st.integers(0, 2047),
    seq_flags=st.sampled_from(["unsegmented", "first", "continuation", "last"]),
    count=st.integers(0, 16383),
    data=st.binary(min_size=1, max_size=64),
)
def test_json_round_trip(
    packet_type: str, sec_header: bool, apid: int, seq_flags: str, count: int, data: bytes
) -> None:
    argv = ["packet", "encode", "--apid", str(apid), "--type", packet_type]
    argv += ["--seq-flags", seq_flags, "--count", str(count), "--data", data.hex()]
    argv += ["--sec-header"] if sec_header else []
    code, encoded, _ = run(argv)
    assert code == 0
    code, out, _ = run(["packet", "decode", "--json", "--show-idle"], stdin=encoded)
    assert code == 0
    [record] = json_lines(out)
    # Every field the decoder prints feeds straight back into encode.
    again = [
        "packet",
        "encode",
        "--apid",
        str(record["apid"]),
        "--type",
        str(record["packet_type"]),
    ]
    again += ["--seq-flags", str(record["sequence_flags"])]
    again += ["--count", str(record["sequence_count"]), "--data", str(record["data"])]
    again += ["--sec-header"] if record["sec_header_flag"] else []
    assert run(again) == (0, encoded, "")
    assert record["data_length"] == len(data) - 1


# -- the installed command -----------------------------------------------------------


def _dawnlink_script() -> str | None:
    beside = Path(sys.executable).with_name("dawnlink")
    return str(beside) if beside.exists() else shutil.which("dawnlink")


@pytest.mark.parametrize("entry", ["script", "module"])
def test_encode_pipe_decode_in_a_subprocess(entry: str) -> None:
    if entry == "script":
        script = _dawnlink_script()
        if script is None:
            pytest.skip("the dawnlink console script is not installed")
        command = [script]
    else:
        command = [sys.executable, "-m", "comms"]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    encode = subprocess.run(
        [*command, "packet", "encode", "--apid", "100", "--data", "68656c6c6f"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    decode = subprocess.run(
        [*command, "packet", "decode"],
        input=encode.stdout,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert decode.stderr == ""
    _header, row = decode.stdout.splitlines()
    assert row.split() == ["0", "0", "TM", "no", "100", "unsegmented", "0", "5", "68656c6c6f"]
    bad = subprocess.run(
        [*command, "packet", "decode"], input="0064c0", capture_output=True, text=True, env=env
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: trailing partial packet at offset 0")


def test_cli_does_not_import_scapy() -> None:
    # scapy is optional and slow to import: only --pcap may load it.
    code = "import sys, comms.cli; comms.cli.build_parser(); print('scapy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (0, "False\n")
