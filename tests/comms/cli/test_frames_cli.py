"""``dawnlink frames encode/decode`` through :func:`comms.cli.main`, with real files.

Streams are made by the CLI's own encoder and by :mod:`comms.coding`/:mod:`comms.frames`
directly, then damaged (bit errors, a dropped frame, a truncated tail) to check that each
fault is reported with its offset and the exit status says so.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pytest

from comms.cli import main
from comms.coding import CaduEncoder, CaduParams
from comms.frames import TmFrame, TmParams
from comms.spp import PacketType, SequenceFlags, SpacePacket


def _packet(apid: int, count: int, size: int) -> bytes:
    return SpacePacket(
        version=0,
        packet_type=PacketType.TM,
        sec_header_flag=False,
        apid=apid,
        sequence_flags=SequenceFlags.UNSEGMENTED,
        sequence_count=count,
        data=bytes((count + i) % 256 for i in range(size)),
    ).encode()


PACKETS = [_packet(5, i, 700) for i in range(6)]  # 4242 octets: four 1115-octet frames


def _run(
    argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("sys.stdin", io.StringIO(stdin))
            code = main(argv)
    else:
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _frames_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    packets = tmp_path / "packets.bin"
    packets.write_bytes(b"".join(PACKETS))
    out = tmp_path / "out.bin"
    code, _, _ = _run(
        [
            "frames",
            "encode",
            "--file",
            str(packets),
            "--scid",
            "42",
            "--vcid",
            "3",
            "--out",
            str(out),
            *extra,
        ],
        capsys,
    )
    assert code == 0
    return out


def _summary(out: str) -> dict[str, object]:
    last = json.loads(out.splitlines()[-1])
    summary: dict[str, object] = last["summary"]
    return summary


def test_hex_pipe_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    code, frames_hex, _ = _run(
        ["frames", "encode", "--scid", "0x2a", "--vcid", "1"], capsys, stdin=PACKETS[0].hex()
    )
    assert code == 0
    (line,) = frames_hex.splitlines()
    frame = TmFrame.decode(bytes.fromhex(line), TmParams(1115))
    assert (frame.scid, frame.vcid, frame.first_header_pointer) == (42, 1, 0)
    assert frame.data_field.startswith(PACKETS[0])
    code, out, _ = _run(["frames", "decode"], capsys, stdin=frames_hex)
    assert code == 0
    assert "status" in out.splitlines()[0]
    row = out.splitlines()[1].split()
    assert row[:5] == ["1", "0", "42", "1", "0"] and row[-1] == "ok"
    # Summary: one VC, one frame, one packet (the idle fill is not counted).
    assert out.splitlines()[-1].split() == ["42", "1", "1", "0", "0", "0", "0", "1"]


def test_cadu_file_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cadus = _frames_file(tmp_path, capsys, "--cadu")
    assert cadus.stat().st_size == 4 * 1279
    code, out, _ = _run(["frames", "decode", "--file", str(cadus), "--cadu", "--json"], capsys)
    assert code == 0
    summary = _summary(out)
    assert summary["virtual_channels"] == [
        {
            "scid": 42,
            "vcid": 3,
            "frames": 4,
            "idle": 0,
            "gaps": 0,
            "missing": 0,
            "crc": 0,
            "packets": 6,
        }
    ]
    assert summary["cadu"]["cadus"] == 4  # type: ignore[index]
    records = [json.loads(line) for line in out.splitlines()[:-1]]
    assert [r["event"] for r in records if "event" in r] == ["lock"]


def test_bit_shifted_damaged_cadu_stream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = CaduParams(1115, interleave=5)
    frames = [TmFrame(7, 2, n, n, 0x7FE, bytes(1115 - 8)).encode() for n in range(5)]
    stream = bytearray(CaduEncoder(params).encode_many(frames).tobytes())
    rng = random.Random(4)
    for index in rng.sample(range(4, 1279), 20):  # 20 symbol errors in the first CADU
        stream[index] ^= 0x5A
    shifted = (int.from_bytes(stream, "big") << 5).to_bytes(len(stream) + 1, "big")
    path = tmp_path / "pass.cadu"
    path.write_bytes(b"\xa5" + shifted)  # a garbage octet, then the stream 5 bits late
    code, out, _ = _run(["frames", "decode", "--file", str(path), "--cadu"], capsys)
    assert code == 0
    rows = out.splitlines()
    assert rows[1].split()[1] == "1+3b"  # the garbage octet and 3 pad bits: 11 bits in
    assert rows[1].split()[-2:] == ["20", "idle"]
    assert "CADUs: 5, RS corrected 20 symbols in 1, uncorrectable 0" in out


def test_crc_failure_gap_and_tail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _frames_file(tmp_path, capsys)
    data = bytearray(path.read_bytes())
    data[1115 + 100] ^= 0x01  # frame 2: FECF mismatch
    del data[2 * 1115 : 3 * 1115]  # frame 3 lost: a gap in the VC frame count
    data += b"\x00" * 10  # a partial frame at the end
    path.write_bytes(bytes(data))
    code, out, err = _run(["frames", "decode", "--file", str(path)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert "crc: TM frame FECF mismatch" in lines[2]
    assert any(line.startswith("-- gap:") and "missing 1" in line for line in lines)
    assert "frame 2 at offset 1115: TM frame FECF mismatch" in err
    assert "trailing partial frame at offset 3345" in err
    # 3 frames seen, 1 gap of 1 frame, 1 CRC failure; the packets the bad frame carried
    # parts of are dropped by the VC layer, two whole ones come out.
    assert lines[-1].split() == ["42", "3", "3", "0", "1", "1", "1", "2"]


def test_uncorrectable_cadu_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _frames_file(tmp_path, capsys, "--cadu")
    data = bytearray(path.read_bytes())
    rng = random.Random(2)
    for index in range(1279 + 4, 2 * 1279, 3):
        data[index] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))
    code, out, err = _run(["frames", "decode", "--file", str(path), "--cadu"], capsys)
    assert code == 1
    assert "uncorrectable Reed-Solomon codeblock at offset 1279" in err
    assert "uncorrectable 1" in out


def test_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _frames_file(tmp_path, capsys)
    code, out, _ = _run(["frames", "decode", "--file", str(path), "--vcid", "2", "--json"], capsys)
    assert code == 0
    summary = _summary(out)
    assert summary["virtual_channels"] == [] and summary["filtered_out"] == 4
    code, out, _ = _run(
        ["frames", "decode", "--file", str(path), "--scid", "42", "--summary-only"], capsys
    )
    assert code == 0 and "status" not in out


def test_aos_and_uslp_encode_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("aos", "uslp"):
        path = _frames_file(
            tmp_path, capsys, "--kind", kind, "--frame-length", "892", "--cadu", "--interleave", "4"
        )
        code, out, _ = _run(
            [
                "frames",
                "decode",
                "--file",
                str(path),
                "--kind",
                kind,
                "--frame-length",
                "892",
                "--cadu",
                "--interleave",
                "4",
                "--json",
            ],
            capsys,
        )
        assert code == 0, kind
        (vc,) = _summary(out)["virtual_channels"]  # type: ignore[misc]
        assert vc["packets"] == 6, kind


def test_pcap_one_frame_per_datagram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scapy")
    from comms.scapy.spp import write_pcap

    frames = _frames_file(tmp_path, capsys).read_bytes()
    datagrams = [frames[i : i + 1115] for i in range(0, len(frames), 1115)]
    datagrams[1] = datagrams[1][:-1]  # one short datagram: a bad frame
    capture = tmp_path / "tm.pcap"
    write_pcap(capture, datagrams, dport=10025)
    code, out, err = _run(
        ["frames", "decode", "--pcap", str(capture), "--port", "10025", "--json"], capsys
    )
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()[:-1]]
    rows = [r for r in records if "status" in r]
    assert [r["status"] for r in rows] == ["ok", "bad", "ok", "ok"]
    assert rows[1]["datagram"] == 2
    # The bad datagram's frame is not counted, so the VC frame count shows a gap.
    assert [r["missing"] for r in records if r.get("event") == "gap"] == [1]
    assert "frame length differs" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["frames", "decode", "--cadu", "--frame-length", "1200"],
        ["frames", "decode", "--file", "/nonexistent/x.bin"],
        ["frames", "decode", "--kind", "tm", "--fhec"],
        ["frames", "encode", "--file", "/nonexistent/p.bin"],
        ["frames", "encode", "--scid", "5000"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(argv, capsys, stdin=PACKETS[0].hex())
    assert code == 2
    assert "error:" in err


def test_port_without_pcap_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frames", "decode", "--port", "5"])
    assert exc.value.code == 2


def test_bad_packets_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["frames", "encode"], capsys, stdin=PACKETS[0][:-3].hex())
    assert code == 1
    assert "trailing partial packet at offset 0" in err
    code, _, err = _run(["frames", "encode"], capsys, stdin="zz")
    assert code == 1 and "bad hex digit" in err


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("decode", "encode"):
        with pytest.raises(SystemExit):
            main(["frames", action, "--help"])
        assert "examples:" in capsys.readouterr().out
    assert main(["frames"]) == 2


def test_single_cadu_file_decodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # docs/coding.md's shell example: one packet, one frame, one CADU.
    cadu = tmp_path / "pass.cadu"
    code, _, _ = _run(
        ["frames", "encode", "--scid", "42", "--vcid", "1", "--cadu", "--out", str(cadu)],
        capsys,
        stdin=_packet(5, 0, 5).hex(),
    )
    assert code == 0 and cadu.stat().st_size == 1279
    code, out, _ = _run(["frames", "decode", "--file", str(cadu), "--cadu"], capsys)
    assert code == 0
    assert out.splitlines()[-2].split() == ["42", "1", "1", "0", "0", "0", "0", "1"]
    # With one confirming marker required, a lone CADU never locks.
    code, out, _ = _run(
        ["frames", "decode", "--file", str(cadu), "--cadu", "--sync-check", "1"], capsys
    )
    assert code == 0 and "10232 bits skipped" in out
    code, _, err = _run(
        ["frames", "decode", "--file", str(cadu), "--cadu", "--sync-check", "-1"], capsys
    )
    assert code == 2 and "never negative" in err
