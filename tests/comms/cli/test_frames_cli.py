"""``dawnlink frames encode/decode`` through :func:`comms.cli.main`, with real files.

Streams are made by the CLI's own encoder and by :mod:`comms.coding`/:mod:`comms.frames`
directly, then damaged (bit errors, a dropped frame, a truncated tail) to check that each
fault is reported with its offset and the exit status says so.
"""

from __future__ import annotations

import dataclasses
import io
import json
import random
from pathlib import Path

import pytest

from comms.cli import main
from comms.coding import CaduEncoder, CaduParams, cltu_encode
from comms.crc import crc16_ccitt
from comms.frames import (
    TcFrame,
    TcParams,
    TfdzConstructionRule,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from comms.spp import PacketType, SequenceFlags, SpacePacket
from comms.vc import (
    FrameGap,
    FrameRejected,
    MapSender,
    MasterChannelReceiver,
    PacketDiscarded,
    VcPacketSender,
)


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
    # Summary from the receiver's counters: one VC, one frame, one packet (the idle fill
    # is not counted), then the master channel's counters.
    assert out.splitlines()[-2].split() == ["42", "1", "1", "0", "0", "0", "0", "1"]
    assert out.splitlines()[-1] == (
        "master channel 42: frames 1, crc_failures 0, rejected 0, idle_frames 0, "
        "unknown_vcid 0, unknown_scid 0, mc_gaps 0"
    )


def test_cadu_file_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cadus = _frames_file(tmp_path, capsys, "--cadu")
    assert cadus.stat().st_size == 4 * 1279
    code, out, _ = _run(["frames", "decode", "--file", str(cadus), "--cadu", "--json"], capsys)
    assert code == 0
    summary = _summary(out)
    # The receiver's VcCounters and MasterChannelCounters, field for field.
    assert summary["virtual_channels"] == [
        {
            "scid": 42,
            "vcid": 3,
            "frames": 4,
            "idle_frames": 0,
            "packets": 6,
            "idle_packets": 1,  # the fill closing the last frame
            "gaps": 0,
            "frames_missing": 0,
            "partials_discarded": 0,
            "octets_discarded": 0,
        }
    ]
    assert summary["master_channels"] == [
        {
            "scid": 42,
            "frames": 4,
            "crc_failures": 0,
            "rejected": 0,
            "idle_frames": 0,
            "unknown_vcid": 0,
            "unknown_scid": 0,
            "mc_gaps": 0,
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
    # The receiver refused frame 2, so to it frames 1 and 2 (VC counts 1, 2) are lost:
    # one gap of 2 frames, reported where frame 4 (count 3) arrived, with the partial
    # packet it dropped and the tail of a packet before frame 4's first header pointer.
    assert lines[3:6] == [
        "-- gap: scid 42, vcid 3, expected 1, got 3, missing 2",
        "-- discarded: scid 42, vcid 3, reason lost frame, octets 401",
        "-- discarded: scid 42, vcid 3, reason no header, octets 209",
    ]
    assert lines[6].split()[:5] == ["3", "2230", "42", "3", "3"] and lines[6].endswith("ok")
    assert "frame 2 at offset 1115: TM frame FECF mismatch" in err
    assert "trailing partial frame at offset 3345" in err
    # 2 frames accepted on the VC, 1 gap of 2 frames, 1 partial dropped, two whole
    # packets out; the CRC failure and the master channel count skip are the master
    # channel's.
    assert lines[-2].split() == ["42", "3", "2", "0", "1", "2", "1", "2"]
    assert lines[-1] == (
        "master channel 42: frames 3, crc_failures 1, rejected 0, idle_frames 0, "
        "unknown_vcid 0, unknown_scid 0, mc_gaps 1"
    )


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
    # The receiver was built for VC 2 only: the frames of VC 3 are its unknown VCs.
    masters = summary["master_channels"]
    assert isinstance(masters, list)
    (master,) = masters
    assert master["frames"] == 4 and master["unknown_vcid"] == 4
    assert not any('"event"' in line for line in out.splitlines())
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
    assert out.splitlines()[-3].split() == ["42", "1", "1", "0", "0", "0", "0", "1"]
    # With one confirming marker required, a lone CADU never locks.
    code, out, _ = _run(
        ["frames", "decode", "--file", str(cadu), "--cadu", "--sync-check", "1"], capsys
    )
    assert code == 0 and "10232 bits skipped" in out
    code, _, err = _run(
        ["frames", "decode", "--file", str(cadu), "--cadu", "--sync-check", "-1"], capsys
    )
    assert code == 2 and "never negative" in err


def test_reports_exactly_what_the_receiver_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two virtual channels, a lost frame on each, a CRC failure and a malformed frame:
    # the CLI's events and counters must be the ones an embedder's receiver gives.
    params = TmParams(1115)
    senders = {vcid: VcPacketSender(params, 42, vcid) for vcid in (1, 2)}
    frames: list[bytes] = []
    for n, packet in enumerate(_packet(5, i, 300) for i in range(60)):
        frames += senders[1 + n % 2].add_packet(packet)
    frames[3] = frames[3][:100] + bytes([frames[3][100] ^ 0x10]) + frames[3][101:]
    body = bytes([frames[6][0] | 0xC0]) + frames[6][1:-2]  # version 3, a valid FECF
    frames[6] = body + crc16_ccitt(body).to_bytes(2, "big")
    del frames[8]
    path = tmp_path / "two.bin"
    path.write_bytes(b"".join(frames))
    receiver = MasterChannelReceiver(params, 42)
    expected_events = []
    for frame in frames:
        receiver.receive_bytes(frame)
        expected_events += receiver.events()
    code, out, _ = _run(["frames", "decode", "--file", str(path), "--json"], capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    summary = records[-1]["summary"]
    assert summary["master_channels"] == [{"scid": 42, **dataclasses.asdict(receiver.counters)}]
    assert summary["virtual_channels"] == [
        {"scid": 42, "vcid": v, **dataclasses.asdict(receiver.vc_counters(v))} for v in (1, 2)
    ]
    gaps = [e for e in expected_events if isinstance(e, FrameGap)]
    discards = [e for e in expected_events if isinstance(e, PacketDiscarded)]
    assert len(gaps) == 2 and discards
    assert [
        (r["vcid"], r["expected"], r["got"], r["missing"])
        for r in records
        if r.get("event") == "gap"
    ] == [(g.vcid, g.expected, g.got, g.missing) for g in gaps]
    assert [
        (r["vcid"], r["reason"], r["octets"]) for r in records if r.get("event") == "discarded"
    ] == [(d.vcid, d.reason.value, d.octets) for d in discards]
    rejected = [e for e in expected_events if isinstance(e, FrameRejected)]
    rows = [r for r in records if "status" in r]
    assert [(r["frame"], r["status"], r["reason"]) for r in rows if "reason" in r] == [
        (4, "crc", rejected[0].reason.value),
        (7, "bad", rejected[1].reason.value),
    ]
    assert summary["crc_failures"] == 1 and summary["bad_frames"] == 1


def test_receiver_rejection_of_a_decodable_frame_is_the_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A USLP frame of construction rule 001 decodes as a frame, but the packet service
    # refuses it: the line says so, as the receiver does.
    params = UslpParams(frame_length=64)
    frame = UslpFrame(
        scid=42,
        vcid=1,
        map_id=0,
        construction_rule=TfdzConstructionRule.MAPA_SDU_START,
        upid=5,
        data_zone=bytes(64 - 7 - 3 - 2),
        pointer=0,
        vcf_count_length=0,
    ).encode()
    UslpFrame.decode(frame, params)
    path = tmp_path / "uslp.bin"
    path.write_bytes(frame)
    code, out, err = _run(
        ["frames", "decode", "--file", str(path), "--kind", "uslp", "--frame-length", "64"],
        capsys,
    )
    assert code == 1
    assert "bad: USLP frame with construction rule 001 and UPID 5 is not the packet service" in out
    assert "rejected 1" in out.splitlines()[-1]
    assert "frame 1 at offset 0: USLP frame with construction rule 001" in err


# -- TC frames and CLTUs ----------------------------------------------------------------------

TC_PARAMS = TcParams(has_segment_header=True)


def _tc_frames() -> list[bytes]:
    """A short packet, one segmented into three frames, another short one, an Unlock."""
    sender = MapSender(TC_PARAMS, 42, 1, map_id=3, max_frame_length=256)
    frames: list[TcFrame] = []
    for count, size in enumerate((20, 600, 30)):
        frames += sender.add_packet(_packet(5, count, size))
    frames.append(TcFrame.unlock(42, 1))
    return [f.encode() for f in frames]


def test_tc_frame_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tc.bin"
    path.write_bytes(b"".join(_tc_frames()))
    code, out, _ = _run(
        ["frames", "decode", "--file", str(path), "--kind", "tc", "--segment-header"], capsys
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        *("frame", "offset", "scid", "vcid", "type", "fsn", "length", "map", "seq", "bch"),
        "status",
    ]
    assert lines[1].split() == ["1", "0", "42", "1", "AD", "0", "34", "3", "whole", "ok"]
    assert lines[2] == "-- packet: scid 42, vcid 1, map_id 3, apid 5, sequence_count 0, octets 26"
    # The 606-octet packet: first, continuation, last segment, then reassembled.
    assert [line.split()[-2] for line in lines[3:6]] == ["first", "cont", "last"]
    assert lines[6] == "-- packet: scid 42, vcid 1, map_id 3, apid 5, sequence_count 1, octets 606"
    assert lines[9].split()[4] == "BC" and lines[9].endswith("ok (unlock)")
    assert lines[-2].split() == ["42", "1", "6", "1", "3", "0"]
    assert lines[-1] == (
        "MAP reassembler 42: frames 6, crc_failures 0, rejected 0, packets 3, aborted 0, "
        "open_units 0"
    )


def test_tc_lost_segment_crc_and_partial_frame(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames = _tc_frames()
    frames[2] = bytes([*frames[2][:-1], frames[2][-1] ^ 1])  # continuation: FECF mismatch
    path = tmp_path / "tc.bin"
    path.write_bytes(b"".join(frames) + frames[0][:3])  # and a partial frame at the end
    code, out, err = _run(
        ["frames", "decode", "--file", str(path), "--kind", "tc", "--segment-header", "--json"],
        capsys,
    )
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    rows = [r for r in records if "status" in r]
    assert [r["status"] for r in rows] == ["ok", "ok", "crc", "ok", "ok", "ok"]
    assert rows[2]["reason"] == "FECF mismatch" and rows[2]["sequence"] == "cont"
    # The unit stays open without its continuation and ends short of its packet
    # length at the last segment, so the reassembler aborts it rather than glue.
    aborted = [r for r in records if r.get("event") == "aborted"]
    assert [(a["vcid"], a["map_id"], a["reason"]) for a in aborted] == [(1, 3, "missing segment")]
    packets = [r["sequence_count"] for r in records if r.get("event") == "packet"]
    assert packets == [0, 2]
    summary = records[-1]["summary"]
    assert summary["crc_failures"] == 1
    assert summary["reassemblers"][0]["aborted"] == 1
    assert "frame 3 at offset 290: TC frame FECF mismatch" in err
    assert "trailing partial frame at offset 716: expected a 5-octet TC primary header" in err


def test_tc_cltus_with_randomizer_bit_errors_and_garbage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cltus = [cltu_encode(frame, randomize=True) for frame in _tc_frames()]
    hit = bytearray(cltus[1])
    hit[2 + 8 * 5 + 3] ^= 0x04  # one bit in codeblock 5: BCH corrects it
    cltus[1] = bytes(hit)
    path = tmp_path / "uplink.bin"
    # Acquisition octets before the first CLTU, idle octets between two others.
    path.write_bytes(b"\x55" * 4 + cltus[0] + cltus[1] + b"\xaa\x55" + b"".join(cltus[2:]))
    argv = ["frames", "decode", "--file", str(path), "--kind", "tc", "--segment-header"]
    code, out, _ = _run([*argv, "--cltu", "--tc-randomizer"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "-- skipped: offset 0, octets 4"
    assert lines[4].split()[:2] == ["2", str(4 + len(cltus[0]))]
    assert lines[4].split()[-2:] == ["1", "ok"]  # one codeblock corrected
    assert "-- skipped: offset" in out and "octets 2" in out
    assert out.count("-- packet:") == 3
    assert lines[-1] == (
        "CLTUs: 6, codeblocks 105, BCH corrected 1, uncorrectable 0, without tail 0, "
        "6 octets skipped"
    )
    # Without the derandomizer the frames are noise: reported, exit status 1.
    code, _, err = _run([*argv, "--cltu"], capsys)
    assert code == 1 and "error: frame 1 at offset 4" in err


def test_tc_damaged_and_truncated_cltus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = _tc_frames()
    cltus = [cltu_encode(frame) for frame in frames]
    wrecked = bytearray(cltus[1])
    wrecked[2 + 8 * 2] ^= 0x03  # two bits in codeblock 2: the CLTU ends there
    cltus[1] = bytes(wrecked)
    path = tmp_path / "uplink.bin"
    path.write_bytes(b"".join(cltus) + cltus[0][:20])  # a CLTU cut short at the end
    code, out, err = _run(
        [
            *("frames", "decode", "--file", str(path), "--kind", "tc"),
            *("--segment-header", "--cltu", "--json"),
        ],
        capsys,
    )
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    rows = [r for r in records if "status" in r]
    assert [r["status"] for r in rows] == ["ok", "bad", "ok", "ok", "ok", "ok", "bad"]
    assert rows[1]["cltu_end"] == "uncorrectable" and rows[-1]["cltu_end"] == "truncated"
    assert f"uncorrectable BCH codeblock at offset {len(cltus[0]) + 2 + 16}" in err
    # The rest of the wrecked CLTU is skipped up to the next start sequence, and the
    # octets of the cut CLTU that make no whole codeblock at the end.
    skipped = [r for r in records if r.get("event") == "skipped"]
    assert [s["offset"] for s in skipped] == [len(cltus[0]) + 2 + 24, len(b"".join(cltus)) + 18]
    summary = records[-1]["summary"]
    assert summary["cltu"]["uncorrectable"] == 1 and summary["cltu"]["without_tail"] == 1
    # The first segment was lost with its CLTU: the reassembler drops the orphans.
    assert summary["reassemblers"][0]["aborted"] == 2
    assert summary["bad_frames"] == 2


def test_tc_pcap_one_cltu_per_datagram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scapy")
    from comms.scapy.spp import write_pcap

    capture = tmp_path / "tc.pcap"
    write_pcap(capture, [cltu_encode(f) for f in _tc_frames()], dport=10026)
    code, out, _ = _run(
        [
            *("frames", "decode", "--pcap", str(capture), "--kind", "tc"),
            *("--segment-header", "--cltu", "--vcid", "1", "--json"),
        ],
        capsys,
    )
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["datagram"] for r in records if "status" in r] == [1, 2, 3, 4, 5, 6]
    assert _summary(out)["virtual_channels"] == [
        {"scid": 42, "vcid": 1, "frames": 6, "control": 1, "packets": 3, "aborted": 0}
    ]
    code, out, _ = _run(
        [*("frames", "decode", "--pcap", str(capture), "--kind", "tc", "--cltu"), "--scid", "7"],
        capsys,
    )
    assert code == 0 and "frames: 6 filtered out" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--kind", "tc", "--cadu"], "--cadu does not apply to TC frames"),
        (["--kind", "tc", "--frame-length", "64"], "--frame-length does not apply"),
        (["--kind", "tc", "--tc-randomizer"], "add --cltu"),
        (["--cltu"], "--cltu is a TC option; add --kind tc"),
        (["--segment-header"], "--segment-header is a TC option"),
    ],
)
def test_tc_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["frames", "decode", *argv], capsys, stdin="")
    assert code == 2 and message in err


class _Recorder:
    """Stands in for the CLI's TC decoder behind the CLTU splitter."""

    derandomize = False

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, object]] = []

    def skipped(self, offset: int, octets: int, datagram: int | None) -> None:
        self.seen.append(("skipped", offset, octets))

    def cltu(self, result: object, offset: int, datagram: int | None) -> None:
        self.seen.append(("cltu", offset, result))


def _split_cltus(stream: bytes, step: int) -> list[tuple[str, int, object]]:
    from comms.cli.frames_uplink import CltuSplitter

    recorder = _Recorder()
    splitter = CltuSplitter(recorder)  # type: ignore[arg-type]
    for i in range(0, len(stream), step):
        splitter.feed(stream[i : i + step])
    splitter.close()
    return recorder.seen


def test_cltu_splitting_does_not_depend_on_the_chunks() -> None:
    cltus = [cltu_encode(frame) for frame in _tc_frames()]
    stream = b"\xeb" + cltus[0] + b"\x55\xeb\x55" + b"".join(cltus[1:]) + cltus[0][:13]
    whole = _split_cltus(stream, len(stream))
    assert [kind for kind, _, _ in whole] == [
        *("skipped", "cltu", "skipped"),
        *("cltu",) * 5,
        *("cltu", "skipped"),  # the cut CLTU: 1 whole codeblock, 3 octets left over
    ]
    for step in (1, 2, 7, 100):
        assert _split_cltus(stream, step) == whole, step


def test_tc_streams_across_read_chunks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # More than one 64 KiB read: frames and CLTUs straddle the chunk boundaries.
    sender = MapSender(TC_PARAMS, 42, 1, map_id=3, max_frame_length=251)
    frames = [f.encode() for i in range(100) for f in sender.add_packet(_packet(5, i, 600 + i))]
    plain = tmp_path / "tc.bin"
    plain.write_bytes(b"".join(frames))
    cltus = tmp_path / "tc.cltu"
    cltus.write_bytes(b"".join(cltu_encode(f) for f in frames))
    assert cltus.stat().st_size > 1 << 16
    for path, extra in ((plain, []), (cltus, ["--cltu"])):
        code, out, _ = _run(
            [
                *("frames", "decode", "--file", str(path), "--kind", "tc"),
                *("--segment-header", "--summary-only", "--json", *extra),
            ],
            capsys,
        )
        assert code == 0, extra
        assert _summary(out)["virtual_channels"] == [
            {
                "scid": 42,
                "vcid": 1,
                "frames": len(frames),
                "control": 0,
                "packets": 100,
                "aborted": 0,
            }
        ]
