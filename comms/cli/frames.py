"""``dawnlink frames``: transfer frames and CADUs from the shell (132.0-B-3, 732.0-B-4,
732.1-B-2 frames; 131.0-B-5 CADUs).

``decode`` reads a stream of fixed-length TM, AOS or USLP frames -- or, with ``--cadu``,
a CADU stream (ASM, randomizer, Reed-Solomon) at any bit offset -- from a file, standard
input or the UDP payloads of a capture, and prints one line per frame, then a summary per
virtual channel: frames, idle frames, frame count gaps, CRC failures, Reed-Solomon
corrections and the packets the virtual channel layer extracted. ``--json`` prints the
same as JSON lines. ``encode`` packs Space Packets into frames (first header pointers,
idle fill) and, with ``--cadu``, codes them into CADUs.

Exit status: 0 when everything decoded, 1 when the input held bad data (a malformed
frame, a CRC failure, an uncorrectable codeblock, a partial frame at the end; reported
with its offset, and the frames around it are still printed), 2 for a usage error.

Left out: TC frames (variable length; see ``dawnlink`` COP-1 tools), insert zones and
secondary headers (the frames decode, those fields are not shown), SDLS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from comms.cli import common
from comms.cli.common import (
    EXIT_BAD_DATA,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    extract_packets,
    integer,
    note,
    parse_hex,
    read_chunks,
)
from comms.coding import (
    CaduDecoder,
    CaduEncoder,
    CaduFrame,
    CaduParams,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    UncorrectableCodeblock,
)
from comms.errors import DecodeError, UsageError
from comms.frames import (
    AOS_IDLE_VCID,
    FHP_IDLE,
    AosFrame,
    AosParams,
    FecfError,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)

__all__ = ["register"]


_CHUNK = 1 << 16  # octets read per step, so a large file streams
_DEFAULT_FRAME_LENGTH = 1115  # RS(255,223) I=5 carries 1115 octets: the common TM choice

_DECODE_EPILOG = """\
input (one of):
  (nothing)        hex read from standard input, so `encode ... | decode` works
  --file PATH      a binary file: frames back to back, or a CADU stream with --cadu
                   ('-' for binary standard input)
  --pcap FILE      UDP payloads in a pcap/pcapng capture: one frame per datagram
                   (with --cadu, the datagrams in order form the CADU stream)

examples:
  dawnlink frames decode --file frames.bin --frame-length 1115
  dawnlink frames decode --file pass.cadu --cadu --interleave 5 --summary-only
  dawnlink frames decode --file pass.cadu --cadu --rs-e 0 --frame-length 892 --vcid 1
  dawnlink frames decode --pcap tm.pcap --port 10025 --kind aos --frame-length 892 --json
  dawnlink packet encode --apid 5 --text hi | dawnlink frames encode --cadu \\
      | dawnlink frames decode --cadu

The frame line shows where the frame started (octets; +Nb for a CADU found N bits
into an octet), the header fields, the symbols Reed-Solomon corrected and a status: ok,
idle, crc (FECF mismatch), bad (malformed), uncorrectable (Reed-Solomon gave up), plus a
'gap' line where a virtual channel's frame count skipped. The summary counts per
virtual channel (scid/vcid). Defaults: TM, 1115-octet frames with a FECF; with --cadu,
RS(255,223), interleave 5, randomizer on.

exit status: 0 all decoded, 1 bad data (reported with its offset), 2 usage error.
"""

_ENCODE_EPILOG = """\
input (one of):
  (nothing)        Space Packets as hex on standard input
  --file PATH      a binary file of concatenated Space Packets ('-': standard input)

examples:
  dawnlink packet encode --apid 5 --text hello | dawnlink frames encode --scid 42
  dawnlink frames encode --file packets.bin --kind aos --frame-length 892 --out frames.bin
  dawnlink frames encode --file packets.bin --cadu --interleave 5 --out pass.cadu
  dawnlink frames encode --file packets.bin --cadu --rs-e 8 --interleave 1 \\
      --frame-length 200 --no-randomize

Packets are packed back to back into the frames of one virtual channel (packets span
frames; the last frame is filled with an idle packet). Output: one frame (or CADU) per
line in hex, or the octets back to back in --out FILE.

exit status: 0 written, 1 bad packet data (reported with its offset), 2 usage error.
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``dawnlink frames`` (with ``decode`` and ``encode``) to ``sub``."""
    actions = add_command(
        sub,
        "frames",
        help="decode and encode TM/AOS/USLP frames and CADU streams",
        description="Decode and encode transfer frames (TM 132.0-B-3, AOS 732.0-B-4, USLP "
        "732.1-B-2) and CADU streams (131.0-B-5: ASM, randomizer, Reed-Solomon).",
        epilog="examples:\n  dawnlink packet encode --apid 5 --text hi | dawnlink frames "
        "encode --cadu | dawnlink frames decode --cadu\n\nSee `dawnlink frames decode "
        "--help` and `dawnlink frames encode --help`.",
    )
    _register_decode(actions)
    _register_encode(actions)


def _channel_options(parser: argparse.ArgumentParser) -> None:
    frames = parser.add_argument_group("frames")
    frames.add_argument(
        "--kind", choices=["tm", "aos", "uslp"], default="tm", help="frame type (default: tm)"
    )
    frames.add_argument(
        "--frame-length",
        type=integer,
        metavar="N",
        help="octets per frame (default: what the code carries with --cadu, else 1115)",
    )
    frames.add_argument("--no-fecf", action="store_true", help="frames carry no FECF")
    frames.add_argument(
        "--ocf", action="store_true", help="AOS: frames carry an OCF (TM and USLP: per header)"
    )
    frames.add_argument("--fhec", action="store_true", help="AOS: frames carry the FHEC")
    coding = parser.add_argument_group("coding (131.0-B-5)")
    coding.add_argument("--cadu", action="store_true", help="CADUs: ASM, randomizer, RS")
    coding.add_argument(
        "--rs-e",
        type=int,
        choices=[16, 8, 0],
        default=16,
        help="Reed-Solomon E: 16 = RS(255,223), 8 = RS(255,239), 0 = none (default: 16)",
    )
    coding.add_argument(
        "--interleave",
        type=int,
        choices=[1, 2, 3, 4, 5, 8],
        default=5,
        help="interleave depth I (default: 5)",
    )
    coding.add_argument("--no-randomize", action="store_true", help="randomizer off")


def _register_decode(actions: argparse._SubParsersAction[Any]) -> None:
    parser = actions.add_parser(
        "decode",
        help="print frames, gaps, CRC failures and packets of a frame or CADU stream",
        description="Decode a stream of transfer frames or CADUs and print what it holds.",
        epilog=_DECODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", metavar="PATH", help="binary input file ('-': stdin)")
    source.add_argument("--pcap", metavar="FILE", help="pcap/pcapng capture (needs scapy)")
    parser.add_argument(
        "--port", type=integer, metavar="N", help="with --pcap: only UDP datagrams to or from N"
    )
    _channel_options(parser)
    parser.add_argument(
        "--sync-check",
        type=integer,
        default=0,
        metavar="N",
        help="with --cadu: markers that must follow the first before lock is declared "
        "(default 0, so a file of one CADU decodes; ground stations use 1 or more)",
    )
    filters = parser.add_argument_group("filters and output")
    filters.add_argument("--scid", type=integer, metavar="N", help="only this spacecraft id")
    filters.add_argument("--vcid", type=integer, metavar="N", help="only this virtual channel")
    filters.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    filters.add_argument("--summary-only", action="store_true", help="no per-frame lines")
    parser.set_defaults(func=_decode, parser=parser)


def _register_encode(actions: argparse._SubParsersAction[Any]) -> None:
    parser = actions.add_parser(
        "encode",
        help="pack Space Packets into frames (and CADUs)",
        description="Pack Space Packets into transfer frames of one virtual channel, "
        "optionally coded into CADUs.",
        epilog=_ENCODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--file", metavar="PATH", help="binary file of packets ('-': stdin)")
    parser.add_argument("--scid", type=integer, default=0, metavar="N", help="default 0")
    parser.add_argument("--vcid", type=integer, default=0, metavar="N", help="default 0")
    _channel_options(parser)
    parser.add_argument("--out", metavar="FILE", help="write the octets to FILE")
    parser.set_defaults(func=_encode, parser=parser)


# -- channel set-up -------------------------------------------------------------------------

FrameParams = TmParams | AosParams | UslpParams


@dataclass(frozen=True)
class _Channel:
    kind: str
    params: FrameParams
    cadu: CaduParams | None


def _channel(args: argparse.Namespace) -> _Channel:
    """The frame and coding parameters the options describe (UsageError if they clash)."""
    rs_e = args.rs_e or None
    length = args.frame_length
    if length is None:
        length = args.interleave * (255 - 2 * rs_e) if args.cadu and rs_e else _DEFAULT_FRAME_LENGTH
    cadu = None
    if args.cadu:
        if rs_e is None:
            cadu = CaduParams(length, rs_e=None, randomize=not args.no_randomize)
        else:
            cadu = CaduParams.shortened(
                length, rs_e=rs_e, interleave=args.interleave, randomize=not args.no_randomize
            )
    fecf = not args.no_fecf
    params: FrameParams
    if args.kind == "tm":
        if args.fhec:
            raise UsageError("--fhec is an AOS option.")
        params = TmParams(length, has_ocf=True if args.ocf else None, has_fecf=fecf)
    elif args.kind == "aos":
        params = AosParams(length, has_fhec=args.fhec, has_ocf=args.ocf, has_fecf=fecf)
    else:
        if args.fhec:
            raise UsageError("--fhec is an AOS option.")
        params = UslpParams(
            frame_length=length, has_ocf=True if args.ocf else None, fecf_length=2 * fecf
        )
    return _Channel(args.kind, params, cadu)


# -- decode ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """One frame's octets and where they came from."""

    data: bytes
    bit_offset: int
    corrected: int = 0
    uncorrectable: bool = False
    datagram: int | None = None


@dataclass
class _VcStats:
    frames: int = 0
    idle: int = 0
    gaps: int = 0
    missing: int = 0
    crc: int = 0
    packets: int = 0


@dataclass
class _Report:
    """Collects what the decode saw and prints it as lines or JSON."""

    as_json: bool
    lines: bool
    frames: int = 0
    bad: int = 0
    crc: int = 0
    uncorrectable: int = 0
    filtered: int = 0
    vcs: dict[tuple[int, int], _VcStats] = field(default_factory=dict)
    header_printed: bool = False

    _COLUMNS = (
        ("frame", 6),
        ("offset", 10),
        ("scid", 5),
        ("vcid", 4),
        ("vc count", 8),
        ("mc", 3),
        ("fhp", 5),
        ("rs", 3),
    )

    def row(self, cells: dict[str, Any]) -> None:
        if not self.lines:
            return
        if self.as_json:
            print(json.dumps(cells))
            return
        if not self.header_printed:
            heads = [name.rjust(width) for name, width in self._COLUMNS]
            print("  ".join([*heads, "status"]))
            self.header_printed = True
        values = [
            str(cells.get("frame", "")),
            _offset_text(cells.get("bit_offset", 0)),
            _text(cells.get("scid")),
            _text(cells.get("vcid")),
            _text(cells.get("vc_frame_count")),
            _text(cells.get("mc_frame_count")),
            _hex(cells.get("first_header_pointer")),
            _text(cells.get("rs_corrected")),
        ]
        aligned = [v.rjust(w) for v, (_, w) in zip(values, self._COLUMNS, strict=True)]
        status = cells["status"]
        if "error" in cells:
            status += f": {cells['error']}"
        print("  ".join([*aligned, status]))

    def event(self, record: dict[str, Any]) -> None:
        if not self.lines:
            return
        if self.as_json:
            print(json.dumps(record))
            return
        text = ", ".join(f"{k} {v}" for k, v in record.items() if k != "event")
        print(f"-- {record['event']}: {text}")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _hex(value: object) -> str:
    return "" if value is None else f"{value:#x}"


def _offset_text(bit_offset: int) -> str:
    octets, bits = divmod(bit_offset, 8)
    return str(octets) if not bits else f"{octets}+{bits}b"


def _decode(args: argparse.Namespace) -> int:
    if args.port is not None and not args.pcap:
        args.parser.error("--port filters a capture: use it with --pcap")
    try:
        channel = _channel(args)
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    report = _Report(as_json=args.json, lines=not args.summary_only)
    decoder = _FrameDecoder(channel, report, args.scid, args.vcid)
    try:
        status = _run_decode(args, channel, decoder)
    except _InputError as exc:
        common.error(exc.message)
        return exc.status
    _summary(report, decoder)
    if report.bad or report.crc or report.uncorrectable:
        status = EXIT_BAD_DATA
    return status


class _InputError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _chunks(args: argparse.Namespace) -> Iterator[tuple[int | None, bytes]]:
    """(datagram number or None, octets) pieces of the input."""
    if args.pcap:
        try:
            from comms.scapy.spp import read_pcap_datagrams
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != "scapy":
                raise
            raise _InputError(
                "reading a capture needs scapy: pip install 'dawnlink[scapy]'", EXIT_USAGE
            ) from None
        try:
            yield from read_pcap_datagrams(args.pcap, args.port)
        except DecodeError as exc:
            raise _InputError(f"{args.pcap}: {exc}", EXIT_BAD_DATA) from None
        except OSError as exc:
            raise _InputError(f"cannot read {args.pcap}: {exc.strerror}", EXIT_USAGE) from None
        return
    if args.file == "-":
        yield from ((None, c) for c in read_chunks(sys.stdin.buffer))
        return
    if args.file:
        try:
            stream = open(args.file, "rb")  # noqa: SIM115 -- closed below
        except OSError as exc:
            raise _InputError(f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE) from None
        with stream:
            yield from ((None, c) for c in read_chunks(stream))
        return
    if sys.stdin.isatty():
        note("reading hex from standard input (end with Ctrl-D)...")
    try:
        yield None, parse_hex(sys.stdin.read())
    except DecodeError as exc:
        raise _InputError(str(exc), EXIT_BAD_DATA) from None


def _run_decode(args: argparse.Namespace, channel: _Channel, decoder: _FrameDecoder) -> int:
    status = EXIT_OK
    if channel.cadu is not None:
        try:
            cadu = CaduDecoder(channel.cadu, check_count=args.sync_check)
        except UsageError as exc:
            raise _InputError(str(exc), EXIT_USAGE) from None
        for _, chunk in _chunks(args):
            decoder.cadu_events(cadu.feed(chunk))
        decoder.cadu_events(cadu.close())
        decoder.cadu_counters = cadu.counters
        return status
    length = _frame_length(channel)
    pending = b""
    offset = 0
    for datagram, chunk in _chunks(args):
        if datagram is not None:
            # One frame per datagram: a datagram of another length is a bad frame.
            decoder.frame(_Raw(chunk, 0, datagram=datagram))
            continue
        buf = pending + chunk
        whole = len(buf) - len(buf) % length
        for start in range(0, whole, length):
            decoder.frame(_Raw(buf[start : start + length], 8 * (offset + start)))
        offset += whole
        pending = buf[whole:]
    if pending:
        common.error(
            DecodeError(
                "trailing partial frame",
                offset=offset,
                expected=f"{length} octets",
                got=f"{len(pending)} octets",
            )
        )
        status = EXIT_BAD_DATA
    return status


def _frame_length(channel: _Channel) -> int:
    length = channel.params.frame_length
    assert length is not None  # _channel always sets one
    return length


class _FrameDecoder:
    """Decodes frames, filters them, tracks gaps and feeds the VC layer for packets."""

    def __init__(
        self, channel: _Channel, report: _Report, scid: int | None, vcid: int | None
    ) -> None:
        self.channel = channel
        self.report = report
        self.scid = scid
        self.vcid = vcid
        self.number = 0
        self.last_count: dict[tuple[int, int], int] = {}
        self.receivers: dict[int, Any] = {}
        self.packets_available = True
        self.cadu_counters: Any = None
        self.sync_events: list[dict[str, Any]] = []

    def cadu_events(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, CaduFrame):
                self.frame(_Raw(event.data, event.bit_offset, event.corrected))
            elif isinstance(event, UncorrectableCodeblock):
                self.frame(_Raw(event.data, event.bit_offset, uncorrectable=True))
            elif isinstance(event, LockAcquired):
                self._sync("lock", bit_offset=event.bit_offset, inverted=event.inverted)
            elif isinstance(event, LockLost):
                self._sync("lock lost", bit_offset=event.bit_offset)
            elif isinstance(event, SlipDetected):
                self._sync("slip", bit_offset=event.bit_offset, bits=event.bits)
            elif isinstance(event, GarbageSkipped):
                self._sync("skipped", bit_offset=event.bit_offset, bits=event.bits)

    def _sync(self, what: str, **fields: Any) -> None:
        # Lock and skipped bits are the normal start of a stream: shown in JSON, and in
        # the table only when something unusual happened (lost lock, slips).
        record = {"event": what, **fields}
        if self.report.as_json or what in ("lock lost", "slip"):
            self.report.event(record)

    def frame(self, raw: _Raw) -> None:
        self.number += 1
        report = self.report
        cells: dict[str, Any] = {"frame": self.number, "bit_offset": raw.bit_offset}
        if raw.datagram is not None:
            cells["datagram"] = raw.datagram
        if self.channel.cadu is not None and self.channel.cadu.rs_e is not None:
            cells["rs_corrected"] = raw.corrected
        if raw.uncorrectable:
            report.uncorrectable += 1
            cells.update(status="uncorrectable")
            report.row(cells)
            common.error(f"uncorrectable Reed-Solomon codeblock at offset {raw.bit_offset // 8}")
            return
        crc_failed = False
        try:
            frame = self._decode(raw.data)
        except FecfError as exc:
            crc_failed = True
            error: DecodeError = exc
            try:
                frame = self._decode(raw.data, verify_fecf=False)
            except DecodeError as inner:
                error = inner
                frame = None
        except DecodeError as exc:
            error = exc
            frame = None
        if frame is None:
            report.bad += 1
            cells.update(status="bad", error=str(error))
            report.row(cells)
            common.error(f"frame {self.number} at offset {raw.bit_offset // 8}: {error}")
            return
        fields = _fields(frame)
        if (self.scid is not None and fields["scid"] != self.scid) or (
            self.vcid is not None and fields["vcid"] != self.vcid
        ):
            report.filtered += 1
            return
        idle = fields.pop("idle")
        modulus = fields.pop("modulus")
        cells.update(fields)
        key = (fields["scid"], fields["vcid"])
        stats = report.vcs.setdefault(key, _VcStats())
        stats.frames += 1
        stats.idle += idle
        self._gap(key, fields["vc_frame_count"], modulus, stats)
        if crc_failed:
            stats.crc += 1
            report.crc += 1
            cells.update(status="crc", error=str(error))
            report.row(cells)
            common.error(f"frame {self.number} at offset {raw.bit_offset // 8}: {error}")
            self._to_vc(key, raw.data, error)
            return
        report.frames += 1
        cells["status"] = "idle" if idle else "ok"
        report.row(cells)
        self._to_vc(key, raw.data, None)

    def _decode(self, data: bytes, verify_fecf: bool = True) -> TmFrame | AosFrame | UslpFrame:
        params = self.channel.params
        if isinstance(params, TmParams):
            return TmFrame.decode(data, params, verify_fecf=verify_fecf)
        if isinstance(params, AosParams):
            return AosFrame.decode(data, params, verify_fecf=verify_fecf)
        return UslpFrame.decode(data, params, verify_fecf=verify_fecf)

    def _gap(
        self, key: tuple[int, int], count: int | None, modulus: int | None, stats: _VcStats
    ) -> None:
        if count is None or modulus is None:
            return
        previous = self.last_count.get(key)
        self.last_count[key] = count
        if previous is None:
            return
        missing = (count - previous - 1) % modulus
        if missing:
            stats.gaps += 1
            stats.missing += missing
            self.report.event(
                {
                    "event": "gap",
                    "scid": key[0],
                    "vcid": key[1],
                    "expected": (previous + 1) % modulus,
                    "got": count,
                    "missing": missing,
                }
            )

    def _to_vc(self, key: tuple[int, int], data: bytes, error: DecodeError | None) -> None:
        """Hand the frame to the virtual channel layer for packet extraction."""
        if not self.packets_available:
            return
        scid = key[0]
        receiver = self.receivers.get(scid)
        if receiver is None:
            try:
                from comms.vc import MasterChannelReceiver
            except ImportError:
                self.packets_available = False
                return
            vcids = None if self.vcid is None else [self.vcid]
            receiver = MasterChannelReceiver(self.channel.params, scid, vcids=vcids)
            self.receivers[scid] = receiver
        if error is None:
            receiver.receive_bytes(data)
        else:
            receiver.receive_error(error)
        for _ in receiver.events():
            pass  # gaps are reported from the frame counts above
        # The packets drained now are the ones the frame just fed completed.
        self.report.vcs[key].packets += len(receiver.packets())


def _fields(frame: TmFrame | AosFrame | UslpFrame) -> dict[str, Any]:
    if isinstance(frame, TmFrame):
        return {
            "scid": frame.scid,
            "vcid": frame.vcid,
            "vc_frame_count": frame.vc_frame_count,
            "mc_frame_count": frame.mc_frame_count,
            "first_header_pointer": frame.first_header_pointer,
            "idle": frame.first_header_pointer == FHP_IDLE,
            "modulus": 256,
        }
    if isinstance(frame, AosFrame):
        return {
            "scid": frame.scid,
            "vcid": frame.vcid,
            "vc_frame_count": frame.vc_frame_count,
            "first_header_pointer": frame.first_header_pointer,
            "idle": frame.vcid == AOS_IDLE_VCID,
            # Idle frames (VCID 63) need not count (732.0-B-4 4.1.2.4).
            "modulus": None if frame.vcid == AOS_IDLE_VCID else 1 << 24,
        }
    return {
        "scid": frame.scid,
        "vcid": frame.vcid,
        "vc_frame_count": frame.vcf_count if frame.vcf_count_length else None,
        "first_header_pointer": frame.pointer,
        "idle": frame.upid == 0x1F,
        "modulus": (1 << (8 * frame.vcf_count_length)) if frame.vcf_count_length else None,
    }


def _summary(report: _Report, decoder: _FrameDecoder) -> None:
    counters = decoder.cadu_counters
    if report.as_json:
        summary: dict[str, Any] = {
            "frames_ok": report.frames,
            "crc_failures": report.crc,
            "bad_frames": report.bad,
            "uncorrectable": report.uncorrectable,
            "filtered_out": report.filtered,
            "virtual_channels": [
                {"scid": s, "vcid": v, **vars(stats)}
                for (s, v), stats in sorted(report.vcs.items())
            ],
        }
        if not decoder.packets_available:
            summary["packets_unavailable"] = True
        if counters is not None:
            summary["cadu"] = dataclasses.asdict(counters)
        print(json.dumps({"summary": summary}))
        return
    if report.lines and report.header_printed:
        print()
    heads = ("scid", "vcid", "frames", "idle", "gaps", "missing", "crc", "packets")
    print("  ".join(h.rjust(7) for h in heads))
    total = _VcStats()
    for (s, v), stats in sorted(report.vcs.items()):
        values = [s, v, stats.frames, stats.idle, stats.gaps, stats.missing, stats.crc]
        values.append(stats.packets)
        print("  ".join(str(x).rjust(7) for x in values))
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
    if len(report.vcs) != 1:
        values = [total.frames, total.idle, total.gaps, total.missing, total.crc, total.packets]
        print("  ".join(["total".rjust(7), "".rjust(7), *(str(x).rjust(7) for x in values)]))
    extra = []
    if report.bad:
        extra.append(f"{report.bad} malformed")
    if report.filtered:
        extra.append(f"{report.filtered} filtered out")
    if not decoder.packets_available:
        extra.append("packet extraction unavailable")
    if extra:
        print("frames: " + ", ".join(extra))
    if counters is not None:
        print(
            f"CADUs: {counters.cadus}, RS corrected {counters.rs_corrected_symbols} symbols "
            f"in {counters.rs_corrected_cadus}, uncorrectable {counters.uncorrectable}; "
            f"sync: {counters.locks_acquired} lock, {counters.locks_lost} lost, "
            f"{counters.slips} slips, {counters.garbage_bits} bits skipped"
        )


# -- encode ---------------------------------------------------------------------------------


def _encode(args: argparse.Namespace) -> int:
    try:
        channel = _channel(args)
        if args.file == "-":
            buf = sys.stdin.buffer.read()
        elif args.file:
            buf = Path(args.file).read_bytes()
        else:
            if sys.stdin.isatty():
                note("reading hex packets from standard input (end with Ctrl-D)...")
            buf = parse_hex(sys.stdin.read())
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    except OSError as exc:
        common.error(f"cannot read {args.file}: {exc.strerror}")
        return EXIT_USAGE
    except DecodeError as exc:
        common.error(exc)
        return EXIT_BAD_DATA
    try:
        packets = [located.packet for located in extract_packets([buf])]
    except DecodeError as exc:
        common.error(exc)
        return EXIT_BAD_DATA
    try:
        from comms.vc import VcPacketSender

        sender = VcPacketSender(channel.params, args.scid, args.vcid)
        frames = sender.add_packets(packets)
        frames += sender.flush()
        if channel.cadu is not None:
            frames = list(CaduEncoder(channel.cadu).encode_many(frames))
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    units = [bytes(f) for f in frames]
    if args.out is None:
        for unit in units:
            print(unit.hex())
        return EXIT_OK
    try:
        Path(args.out).write_bytes(b"".join(units))
    except OSError as exc:
        common.error(f"cannot write {args.out}: {exc.strerror}")
        return EXIT_USAGE
    return EXIT_OK
