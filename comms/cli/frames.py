"""``dawnlink frames``: transfer frames, CADUs and CLTUs from the shell (132.0-B-3,
732.0-B-4, 732.1-B-2 and 232.0-B-4 frames; 131.0-B-5 CADUs; 231.0-B-4 CLTUs).

``decode`` reads a stream of fixed-length TM, AOS or USLP frames -- or, with ``--cadu``,
a CADU stream (ASM, randomizer, Reed-Solomon) at any bit offset -- from a file, standard
input or the UDP payloads of a capture, hands every frame to
:class:`comms.vc.MasterChannelReceiver` and prints one line per frame, the receiver's
events (frame count gaps, discarded partial packets, unknown virtual channels; a
rejected frame is its line's status), then a summary per virtual channel and per master
channel from the receiver's own counters: the CLI shows what an embedder of
:mod:`comms.vc` sees. With ``--kind tc`` it reads TC frames back to back (variable
length, split by their frame length field) or, with ``--cltu``, CLTUs (231.0-B-4: BCH
decoding, fill stripped by the frame length), prints the TC header and segment header
of each frame and the packets :class:`comms.vc.MapReassembler` rebuilt from them.
``--json`` prints the same as JSON lines. ``encode`` packs Space Packets into frames
(first header pointers, idle fill) and, with ``--cadu``, codes them into CADUs.

Exit status: 0 when everything decoded, 1 when the input held bad data (a malformed
frame, a CRC failure, an uncorrectable codeblock, a partial frame or CLTU at the end;
reported with its offset, and the frames around it are still printed), 2 for a usage
error.

Left out: encoding TC frames (see ``dawnlink`` COP-1 tools), the COP-1 FARM (TC frame
sequence numbers are shown, not checked), insert zones and secondary headers (the frames
decode, those fields are not shown), SDLS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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
    CltuEnd,
    CltuResult,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    UncorrectableCodeblock,
    cltu_decode,
)
from comms.coding.cltu import CODEBLOCK_OCTETS, START_SEQUENCE, TAIL_SEQUENCE
from comms.encap import EncapsulationPacket
from comms.errors import DecodeError, UsageError
from comms.frames import (
    AOS_IDLE_VCID,
    FHP_IDLE,
    AosFrame,
    AosParams,
    FecfError,
    SetVR,
    TcFrame,
    TcParams,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from comms.frames.params import TC_MAX_FRAME_LENGTH
from comms.spp import SpacePacket
from comms.vc import (
    FrameGap,
    FrameRejected,
    MapAborted,
    MapReassembler,
    MasterChannelReceiver,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcEvent,
    VcPacketSender,
)

__all__ = ["register"]


_CHUNK = 1 << 16  # octets read per step, so a large file streams
_DEFAULT_FRAME_LENGTH = 1115  # RS(255,223) I=5 carries 1115 octets: the common TM choice
# The longest CLTU: start sequence, the codeblocks of a 1024-octet frame, tail.
_MAX_CLTU = (
    len(START_SEQUENCE) + CODEBLOCK_OCTETS * -(-TC_MAX_FRAME_LENGTH // 7) + len(TAIL_SEQUENCE)
)

_DECODE_EPILOG = """\
input (one of):
  (nothing)        hex read from standard input, so `encode ... | decode` works
  --file PATH      a binary file: frames back to back, a CADU stream with --cadu,
                   CLTUs with --cltu ('-' for binary standard input)
  --pcap FILE      UDP payloads in a pcap/pcapng capture: one frame (or CLTU) per
                   datagram (with --cadu, the datagrams in order form the CADU stream)

examples:
  dawnlink frames decode --file frames.bin --frame-length 1115
  dawnlink frames decode --file pass.cadu --cadu --interleave 5 --summary-only
  dawnlink frames decode --file pass.cadu --cadu --rs-e 0 --frame-length 892 --vcid 1
  dawnlink frames decode --pcap tm.pcap --port 10025 --kind aos --frame-length 892 --json
  dawnlink frames decode --file uplink.bin --kind tc --cltu --segment-header
  dawnlink packet encode --apid 5 --text hi | dawnlink frames encode --cadu \\
      | dawnlink frames decode --cadu

The frame line shows where the frame started (octets; +Nb for a CADU found N bits
into an octet), the header fields, the symbols Reed-Solomon corrected and a status: ok,
idle, crc (FECF mismatch), bad (malformed or refused by the virtual channel layer),
uncorrectable (Reed-Solomon gave up). Lines starting with '--' are the virtual channel
receiver's events: 'gap' where a virtual channel's frame count skipped, 'discarded'
where a partial packet was dropped, 'unknown vcid'. The summary counts per virtual
channel (scid/vcid) and per master channel, from the receiver's counters. Defaults:
TM, 1115-octet frames with a FECF; with --cadu, RS(255,223), interleave 5, randomizer on.

With --kind tc the line shows the TC header (type AD/BD/BC, frame sequence number,
length), the segment header (MAP id, sequence flags: first, cont, last, whole) and,
with --cltu, the codeblocks BCH corrected; '-- packet' lines list the packets the MAP
reassembler completed, '-- aborted' a segmented packet it had to drop.

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
        help="decode and encode TM/AOS/USLP frames and CADU streams; decode TC frames",
        description="Decode and encode transfer frames (TM 132.0-B-3, AOS 732.0-B-4, USLP "
        "732.1-B-2) and CADU streams (131.0-B-5: ASM, randomizer, Reed-Solomon); decode TC "
        "frames (232.0-B-4) and CLTUs (231.0-B-4).",
        epilog="examples:\n  dawnlink packet encode --apid 5 --text hi | dawnlink frames "
        "encode --cadu | dawnlink frames decode --cadu\n\nSee `dawnlink frames decode "
        "--help` and `dawnlink frames encode --help`.",
    )
    _register_decode(actions)
    _register_encode(actions)


def _channel_options(parser: argparse.ArgumentParser, kinds: list[str]) -> None:
    frames = parser.add_argument_group("frames")
    frames.add_argument("--kind", choices=kinds, default="tm", help="frame type (default: tm)")
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
        help="print frames, gaps, CRC failures and packets of a frame, CADU or CLTU stream",
        description="Decode a stream of transfer frames, CADUs or CLTUs and print what it holds.",
        epilog=_DECODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", metavar="PATH", help="binary input file ('-': stdin)")
    source.add_argument("--pcap", metavar="FILE", help="pcap/pcapng capture (needs scapy)")
    parser.add_argument(
        "--port", type=integer, metavar="N", help="with --pcap: only UDP datagrams to or from N"
    )
    _channel_options(parser, ["tm", "aos", "uslp", "tc"])
    parser.add_argument(
        "--sync-check",
        type=integer,
        default=0,
        metavar="N",
        help="with --cadu: markers that must follow the first before lock is declared "
        "(default 0, so a file of one CADU decodes; ground stations use 1 or more)",
    )
    tc = parser.add_argument_group("TC (232.0-B-4, 231.0-B-4; with --kind tc)")
    tc.add_argument(
        "--segment-header",
        action="store_true",
        help="frames carry the segment header (MAP id, sequence flags)",
    )
    tc.add_argument("--cltu", action="store_true", help="CLTUs: start sequence, BCH, tail")
    tc.add_argument(
        "--tc-randomizer",
        action="store_true",
        help="with --cltu: the frames were pseudo-randomized (231.0-B-4 section 6)",
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
    _channel_options(parser, ["tm", "aos", "uslp"])
    parser.add_argument("--out", metavar="FILE", help="write the octets to FILE")
    parser.set_defaults(func=_encode, parser=parser)


# -- channel set-up -------------------------------------------------------------------------

FrameParams = TmParams | AosParams | UslpParams | TcParams


@dataclass(frozen=True)
class _Channel:
    kind: str
    params: FrameParams
    cadu: CaduParams | None


def _channel(args: argparse.Namespace) -> _Channel:
    """The frame and coding parameters the options describe (UsageError if they clash)."""
    tc_only = [
        name for name in ("segment_header", "cltu", "tc_randomizer") if getattr(args, name, False)
    ]
    if args.kind == "tc":
        return _tc_channel(args)
    if tc_only:
        option = "--" + tc_only[0].replace("_", "-")
        raise UsageError(f"{option} is a TC option; add --kind tc.")
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


def _tc_channel(args: argparse.Namespace) -> _Channel:
    for name, option in (
        ("cadu", "--cadu"),
        ("frame_length", "--frame-length"),
        ("ocf", "--ocf"),
        ("fhec", "--fhec"),
    ):
        if getattr(args, name):
            raise UsageError(
                f"{option} does not apply to TC frames: they carry their own length; "
                "use --cltu for CLTUs."
            )
    if args.tc_randomizer and not args.cltu:
        raise UsageError("--tc-randomizer belongs to the CLTU layer; add --cltu.")
    params = TcParams(has_fecf=not args.no_fecf, has_segment_header=args.segment_header)
    return _Channel("tc", params, None)


# -- decode ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """One frame's octets and where they came from."""

    data: bytes
    bit_offset: int
    corrected: int = 0
    uncorrectable: bool = False
    datagram: int | None = None
    cltu: CltuResult | None = None


# (heading, key of the row record, width); the offset column is bit_offset shown in octets.
_Columns = tuple[tuple[str, str, int], ...]

_TM_COLUMNS: _Columns = (
    ("frame", "frame", 6),
    ("offset", "bit_offset", 10),
    ("scid", "scid", 5),
    ("vcid", "vcid", 4),
    ("vc count", "vc_frame_count", 8),
    ("mc", "mc_frame_count", 3),
    ("fhp", "first_header_pointer", 5),
    ("rs", "rs_corrected", 3),
)

_TC_COLUMNS: _Columns = (
    ("frame", "frame", 6),
    ("offset", "bit_offset", 10),
    ("scid", "scid", 5),
    ("vcid", "vcid", 4),
    ("type", "type", 4),
    ("fsn", "frame_sequence_number", 3),
    ("length", "length", 6),
    ("map", "map_id", 3),
    ("seq", "sequence", 5),
    ("bch", "bch_corrected", 3),
)


@dataclass
class _Report:
    """Prints rows and events as a table or JSON lines."""

    as_json: bool
    lines: bool
    columns: _Columns
    header_printed: bool = False

    def row(self, cells: dict[str, Any]) -> None:
        if not self.lines:
            return
        if self.as_json:
            print(json.dumps(cells))
            return
        if not self.header_printed:
            heads = [name.rjust(width) for name, _, width in self.columns]
            print("  ".join([*heads, "status"]))
            self.header_printed = True
        aligned = [_cell(key, cells.get(key)).rjust(width) for _, key, width in self.columns]
        status = cells["status"]
        if "control_command" in cells:
            status += f" ({cells['control_command']})"
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

    def end_rows(self) -> None:
        """A blank line between the rows and the summary table."""
        if self.lines and self.header_printed and not self.as_json:
            print()


def _cell(key: str, value: object) -> str:
    if value is None:
        return ""
    if key == "bit_offset":
        assert isinstance(value, int)
        octets, bits = divmod(value, 8)
        return str(octets) if not bits else f"{octets}+{bits}b"
    if key == "first_header_pointer":
        return f"{value:#x}"
    return str(value)


def _event_record(event: VcEvent, scid: int | None) -> dict[str, Any] | None:
    """A virtual channel event as a printable record (None: a rejection, the row's status)."""
    if isinstance(event, FrameGap):
        return {
            "event": "gap",
            "scid": scid,
            "vcid": event.vcid,
            "expected": event.expected,
            "got": event.got,
            "missing": event.missing,
        }
    if isinstance(event, PacketDiscarded):
        return {
            "event": "discarded",
            "scid": scid,
            "vcid": event.vcid,
            "reason": event.reason.value,
            "octets": event.octets,
        }
    if isinstance(event, UnknownVirtualChannel):
        return {"event": "unknown vcid", "scid": event.scid, "vcid": event.vcid}
    if isinstance(event, UnknownSpacecraft):
        return {"event": "unknown scid", "scid": event.scid}
    if isinstance(event, MapAborted):
        return {
            "event": "aborted",
            "scid": scid,
            "vcid": event.vcid,
            "map_id": event.map_id,
            "reason": event.reason.value,
            "octets": event.octets,
        }
    return None


def _decode(args: argparse.Namespace) -> int:
    if args.port is not None and not args.pcap:
        args.parser.error("--port filters a capture: use it with --pcap")
    try:
        channel = _channel(args)
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    lines = not args.summary_only
    try:
        if isinstance(channel.params, TcParams):
            tc = _TcDecoder(channel.params, _Report(args.json, lines, _TC_COLUMNS), args)
            status = _run_tc(args, tc)
            tc.summary()
            bad = tc.bad_data()
        else:
            decoder = _FrameDecoder(channel, _Report(args.json, lines, _TM_COLUMNS), args)
            status = _run_decode(args, channel, decoder)
            decoder.summary()
            bad = decoder.bad_data()
    except _InputError as exc:
        common.error(exc.message)
        return exc.status
    return EXIT_BAD_DATA if bad else status


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
    assert not isinstance(channel.params, TcParams)
    length = channel.params.frame_length
    assert length is not None  # _channel always sets one for TM, AOS and USLP
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


def _rejection(events: list[VcEvent]) -> FrameRejected | None:
    for event in events:
        if isinstance(event, FrameRejected):
            return event
    return None


class _FailureCounts(Protocol):
    number: int
    unrouted_crc: int
    unrouted_bad: int


def _report_failure(
    decoder: _FailureCounts,
    report: _Report,
    cells: dict[str, Any],
    raw: _Raw,
    error: DecodeError | None,
    rejected: FrameRejected | None,
) -> None:
    """Show a frame the decoder or the receiver refused, and count what nobody routed."""
    crc = isinstance(error, FecfError) or (
        rejected is not None and rejected.reason is RejectReason.FECF
    )
    # The decoder's own message says more (offsets, expected and got values) than the
    # receiver's one-line detail; the receiver's reason goes with it in JSON.
    text = str(error) if error is not None else rejected.detail  # type: ignore[union-attr]
    cells.update(status="crc" if crc else "bad", error=text)
    if rejected is not None:
        cells["reason"] = rejected.reason.value
    elif crc:
        decoder.unrouted_crc += 1
    else:
        decoder.unrouted_bad += 1
    report.row(cells)
    common.error(f"frame {decoder.number} at offset {raw.bit_offset // 8}: {text}")


class _FrameDecoder:
    """Shows each TM/AOS/USLP frame and what :class:`MasterChannelReceiver` made of it.

    The CLI decodes a frame only to show its header fields; whether the frame is good,
    the gaps, the discarded packets and every count are the receiver's. One receiver per
    spacecraft id, as an embedder would have.
    """

    def __init__(self, channel: _Channel, report: _Report, args: argparse.Namespace) -> None:
        self.channel = channel
        self.report = report
        self.scid: int | None = args.scid
        self.vcid: int | None = args.vcid
        self.number = 0
        self.receivers: dict[int, MasterChannelReceiver] = {}
        self.last: MasterChannelReceiver | None = None
        self.cadu_counters: Any = None
        self.frames_ok = 0
        self.uncorrectable = 0
        self.filtered = 0
        # Frames no receiver could take: unreadable before any spacecraft was seen.
        self.unrouted_crc = 0
        self.unrouted_bad = 0

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
            # Not a frame: nothing goes to the receiver, whose frame counts show the loss.
            self.uncorrectable += 1
            cells.update(status="uncorrectable")
            report.row(cells)
            common.error(f"uncorrectable Reed-Solomon codeblock at offset {raw.bit_offset // 8}")
            return
        fields, error = self._show(raw.data)
        receiver = self._route(fields, error)
        events: list[VcEvent] = []
        if receiver is not None:
            receiver.receive_bytes(raw.data)
            events = receiver.events()
            receiver.packets()  # counted by the receiver; the summary shows the counts
        rejected = _rejection(events)
        idle = False
        if fields is not None:
            idle = fields.pop("idle")
            cells.update(fields)
            if rejected is None and error is None and self._filtered_out(fields):
                # The receiver's UnknownSpacecraft/UnknownVirtualChannel for a frame the
                # filters leave out is the filter at work, not news.
                self.filtered += 1
                return
        scid = receiver.scid if receiver is not None else None
        for event in events:
            record = _event_record(event, scid)
            if record is not None:
                report.event(record)
        if rejected is None and error is None:
            self.frames_ok += 1
            cells["status"] = "idle" if idle else "ok"
            report.row(cells)
            return
        _report_failure(self, report, cells, raw, error, rejected)

    def _show(self, data: bytes) -> tuple[dict[str, Any] | None, DecodeError | None]:
        """The header fields to show (None if unreadable) and the decoder's complaint."""
        try:
            return _fields(self._decode(data)), None
        except FecfError as exc:
            error: DecodeError = exc
        except DecodeError as exc:
            return None, exc
        try:
            return _fields(self._decode(data, verify_fecf=False)), error
        except DecodeError as inner:
            return None, inner

    def _decode(self, data: bytes, verify_fecf: bool = True) -> TmFrame | AosFrame | UslpFrame:
        params = self.channel.params
        if isinstance(params, TmParams):
            return TmFrame.decode(data, params, verify_fecf=verify_fecf)
        if isinstance(params, AosParams):
            return AosFrame.decode(data, params, verify_fecf=verify_fecf)
        assert isinstance(params, UslpParams)
        return UslpFrame.decode(data, params, verify_fecf=verify_fecf)

    def _filtered_out(self, fields: dict[str, Any]) -> bool:
        return (self.scid is not None and fields["scid"] != self.scid) or (
            self.vcid is not None and fields["vcid"] != self.vcid
        )

    def _route(
        self, fields: dict[str, Any] | None, error: DecodeError | None
    ) -> MasterChannelReceiver | None:
        """The receiver of the frame's spacecraft, as an embedder would pick it.

        With ``--scid`` there is one receiver and every frame goes to it (frames of other
        spacecraft become its UnknownSpacecraft). Otherwise a frame that decoded cleanly
        names its spacecraft; a damaged one goes to the receiver of the scid it shows if
        there is one (a corrupted header must not invent a spacecraft), else to the
        receiver of the frame before.
        """
        scid = self.scid
        if (
            scid is None
            and fields is not None
            and (error is None or fields["scid"] in self.receivers)
        ):
            scid = fields["scid"]
        if scid is None:
            return self.last
        receiver = self.receivers.get(scid)
        if receiver is None:
            params = self.channel.params
            assert not isinstance(params, TcParams)
            try:
                receiver = MasterChannelReceiver(
                    params, scid, vcids=None if self.vcid is None else [self.vcid]
                )
            except UsageError as exc:
                raise _InputError(str(exc), EXIT_USAGE) from None
            self.receivers[scid] = receiver
        self.last = receiver
        return receiver

    def bad_data(self) -> bool:
        counters = [r.counters for r in self.receivers.values()]
        return bool(
            self.uncorrectable
            or self.unrouted_crc
            or self.unrouted_bad
            or any(c.crc_failures or c.rejected for c in counters)
        )

    def summary(self) -> None:
        report = self.report
        vcs = [
            (scid, vcid, receiver.vc_counters(vcid))
            for scid, receiver in sorted(self.receivers.items())
            for vcid in receiver.vcids
            if receiver.vc_counters(vcid).frames
        ]
        masters = sorted(self.receivers.items())
        crc = self.unrouted_crc + sum(r.counters.crc_failures for _, r in masters)
        bad = self.unrouted_bad + sum(r.counters.rejected for _, r in masters)
        counters = self.cadu_counters
        if report.as_json:
            summary: dict[str, Any] = {
                "frames_ok": self.frames_ok,
                "crc_failures": crc,
                "bad_frames": bad,
                "uncorrectable": self.uncorrectable,
                "filtered_out": self.filtered,
                "virtual_channels": [
                    {"scid": s, "vcid": v, **dataclasses.asdict(c)} for s, v, c in vcs
                ],
                "master_channels": [
                    {"scid": s, **dataclasses.asdict(r.counters)} for s, r in masters
                ],
            }
            if counters is not None:
                summary["cadu"] = dataclasses.asdict(counters)
            print(json.dumps({"summary": summary}))
            return
        report.end_rows()
        heads = ("scid", "vcid", "frames", "idle", "gaps", "missing", "dropped", "packets")
        print("  ".join(h.rjust(7) for h in heads))
        names = ("frames", "idle_frames", "gaps", "frames_missing", "partials_discarded")
        totals = [0] * (len(names) + 1)
        for s, v, c in vcs:
            values = [getattr(c, name) for name in names] + [c.packets]
            totals = [a + b for a, b in zip(totals, values, strict=True)]
            print("  ".join(str(x).rjust(7) for x in [s, v, *values]))
        if len(vcs) > 1:
            print("  ".join(["total".rjust(7), "".rjust(7), *(str(x).rjust(7) for x in totals)]))
        for s, r in masters:
            text = ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(r.counters).items())
            print(f"master channel {s}: {text}")
        extra = []
        if self.unrouted_bad or self.unrouted_crc:
            extra.append(f"{self.unrouted_bad + self.unrouted_crc} unreadable")
        if self.filtered:
            extra.append(f"{self.filtered} filtered out")
        if extra:
            print("frames: " + ", ".join(extra))
        if counters is not None:
            print(
                f"CADUs: {counters.cadus}, RS corrected {counters.rs_corrected_symbols} symbols "
                f"in {counters.rs_corrected_cadus}, uncorrectable {counters.uncorrectable}; "
                f"sync: {counters.locks_acquired} lock, {counters.locks_lost} lost, "
                f"{counters.slips} slips, {counters.garbage_bits} bits skipped"
            )


def _fields(frame: TmFrame | AosFrame | UslpFrame) -> dict[str, Any]:
    if isinstance(frame, TmFrame):
        return {
            "scid": frame.scid,
            "vcid": frame.vcid,
            "vc_frame_count": frame.vc_frame_count,
            "mc_frame_count": frame.mc_frame_count,
            "first_header_pointer": frame.first_header_pointer,
            "idle": frame.first_header_pointer == FHP_IDLE,
        }
    if isinstance(frame, AosFrame):
        return {
            "scid": frame.scid,
            "vcid": frame.vcid,
            "vc_frame_count": frame.vc_frame_count,
            "first_header_pointer": frame.first_header_pointer,
            "idle": frame.vcid == AOS_IDLE_VCID,
        }
    return {
        "scid": frame.scid,
        "vcid": frame.vcid,
        "vc_frame_count": frame.vcf_count if frame.vcf_count_length else None,
        "first_header_pointer": frame.pointer,
        "idle": frame.upid == 0x1F,
    }


# -- decode: TC frames and CLTUs ------------------------------------------------------------

_SEQUENCE_NAMES = {0b01: "first", 0b00: "cont", 0b10: "last", 0b11: "whole"}


@dataclass
class _TcVcStats:
    frames: int = 0
    control: int = 0
    packets: int = 0
    aborted: int = 0


@dataclass
class _CltuStats:
    cltus: int = 0
    codeblocks: int = 0
    corrected_codeblocks: int = 0
    uncorrectable: int = 0
    without_tail: int = 0
    skipped_octets: int = 0


def _run_tc(args: argparse.Namespace, decoder: _TcDecoder) -> int:
    """Split the input into TC frames (or CLTUs) and hand each to ``decoder``."""
    if args.cltu:
        cltus = _CltuSplitter(decoder)
        for datagram, chunk in _chunks(args):
            if datagram is not None:
                one = _CltuSplitter(decoder, datagram=datagram)
                one.feed(chunk)
                one.close()
            else:
                cltus.feed(chunk)
        cltus.close()
        return EXIT_OK
    status = EXIT_OK
    pending = b""
    offset = 0
    for datagram, chunk in _chunks(args):
        if datagram is not None:
            decoder.frame(_Raw(chunk, 0, datagram=datagram))
            continue
        buf = pending + chunk
        pos = 0
        # Each frame says how long it is; a corrupted length field misplaces the frames
        # after it (TC frames carry no marker to resynchronize on), and the damaged
        # frames then fail their FECF or header checks and are reported.
        while len(buf) - pos >= 4:
            length = TcFrame.frame_length(buf[pos : pos + 4])
            if len(buf) - pos < length:
                break
            decoder.frame(_Raw(buf[pos : pos + length], 8 * (offset + pos)))
            pos += length
        offset += pos
        pending = buf[pos:]
    if pending:
        expected = (
            f"{TcFrame.frame_length(pending)} octets (its frame length field)"
            if len(pending) >= 4
            else "a 5-octet TC primary header"
        )
        common.error(
            DecodeError(
                "trailing partial frame",
                offset=offset,
                expected=expected,
                got=f"{len(pending)} octets",
            )
        )
        status = EXIT_BAD_DATA
    return status


class _CltuSplitter:
    """CLTUs out of a stream: find the start sequence, BCH-decode up to the tail, strip
    the fill by the TC frame length, and hand the frame on. Octets between CLTUs are
    reported as skipped."""

    def __init__(self, decoder: _TcDecoder, datagram: int | None = None) -> None:
        self.decoder = decoder
        self.datagram = datagram
        self.pending = b""
        self.offset = 0  # stream offset of pending[0]
        # A run of skipped octets is reported once, when it ends, so that how the
        # stream was cut into chunks does not show in the output.
        self.skip_offset = 0
        self.skip_octets = 0

    def feed(self, chunk: bytes) -> None:
        self._run(self.pending + chunk, final=False)

    def close(self) -> None:
        self._run(self.pending, final=True)
        self._skip(self.offset, len(self.pending))
        self.offset += len(self.pending)
        self.pending = b""
        self._flush_skip()

    def _skip(self, offset: int, octets: int) -> None:
        if not octets:
            return
        if self.skip_octets and self.skip_offset + self.skip_octets != offset:
            self._flush_skip()
        if not self.skip_octets:
            self.skip_offset = offset
        self.skip_octets += octets

    def _flush_skip(self) -> None:
        if self.skip_octets:
            self.decoder.skipped(self.skip_offset, self.skip_octets, self.datagram)
            self.skip_octets = 0

    def _run(self, buf: bytes, final: bool) -> None:
        pos = 0
        while pos < len(buf):
            start = buf.find(START_SEQUENCE, pos)
            if start < 0:
                # Keep a last EB: it may be the first half of a start sequence.
                start = len(buf) - (buf.endswith(START_SEQUENCE[:1]) and not final)
                self._skip(self.offset + pos, start - pos)
                pos = start
                break
            self._skip(self.offset + pos, start - pos)
            # No CLTU is longer than _MAX_CLTU: one without a tail by then has lost it.
            piece = memoryview(buf)[start : start + _MAX_CLTU]
            result = cltu_decode(piece, derandomize=self.decoder.derandomize, correct=True)
            if result.end is CltuEnd.TRUNCATED and not final and len(buf) - start < _MAX_CLTU:
                pos = start  # the rest of this CLTU is still to come
                break
            self._flush_skip()
            self.decoder.cltu(result, self.offset + start, self.datagram)
            pos = start + result.length
        self.pending = buf[pos:]
        self.offset += pos


class _TcDecoder:
    """Shows each TC frame and what :class:`MapReassembler` made of it: one reassembler
    per spacecraft id (the reassembler keys its units by VCID and MAP id only)."""

    def __init__(self, params: TcParams, report: _Report, args: argparse.Namespace) -> None:
        self.params = params
        self.report = report
        self.scid: int | None = args.scid
        self.vcid: int | None = args.vcid
        self.derandomize: bool = args.tc_randomizer
        self.number = 0
        self.reassemblers: dict[int, MapReassembler] = {}
        self.last: MapReassembler | None = None
        self.vcs: dict[tuple[int, int], _TcVcStats] = {}
        self.cltus = _CltuStats() if args.cltu else None
        self.frames_ok = 0
        self.filtered = 0
        self.unrouted_crc = 0
        self.unrouted_bad = 0
        self.frameless_cltus = 0  # CLTUs whose codeblocks held no whole frame

    # -- CLTUs ----------------------------------------------------------------------------

    def skipped(self, offset: int, octets: int, datagram: int | None) -> None:
        assert self.cltus is not None
        self.cltus.skipped_octets += octets
        record: dict[str, Any] = {"event": "skipped", "offset": offset, "octets": octets}
        if datagram is not None:
            record["datagram"] = datagram
        self.report.event(record)

    def cltu(self, result: CltuResult, offset: int, datagram: int | None) -> None:
        stats = self.cltus
        assert stats is not None
        stats.cltus += 1
        stats.codeblocks += result.codeblocks
        stats.corrected_codeblocks += result.corrected_codeblocks
        problem = None
        if result.end is CltuEnd.UNCORRECTABLE:
            stats.uncorrectable += 1
            problem = (
                f"uncorrectable BCH codeblock at offset {offset + result.length - 8}: "
                f"the CLTU ended after {result.codeblocks} codeblocks"
            )
        elif result.end is CltuEnd.TRUNCATED:
            stats.without_tail += 1
            problem = f"CLTU at offset {offset} ends without its tail sequence"
        data = result.data
        length = TcFrame.frame_length(data) if len(data) >= 4 else None
        raw = _Raw(data, 8 * offset, datagram=datagram, cltu=result)
        if length is None or length > len(data):
            # The codeblocks delivered do not hold a whole frame: nothing to decode.
            self.frameless_cltus += 1
            self.number += 1
            need = "a TC frame header" if length is None else f"a {length}-octet frame"
            text = problem or f"CLTU carries {len(data)} octets, not {need}"
            cells = self._cells(raw)
            cells.update(status="bad", error=text)
            self.report.row(cells)
            common.error(f"frame {self.number} at offset {offset}: {text}")
            return
        if problem is not None:
            # The frame is whole (the codeblocks lost were fill or the tail): decode it,
            # but the CLTU was still damaged (counted in the CLTU summary).
            common.error(problem)
        self.frame(dataclasses.replace(raw, data=data[:length]))

    # -- frames ---------------------------------------------------------------------------

    def _cells(self, raw: _Raw) -> dict[str, Any]:
        cells: dict[str, Any] = {"frame": self.number, "bit_offset": raw.bit_offset}
        if raw.datagram is not None:
            cells["datagram"] = raw.datagram
        if raw.cltu is not None:
            cells["bch_corrected"] = raw.cltu.corrected_codeblocks
            cells["cltu_end"] = raw.cltu.end.value
        return cells

    def frame(self, raw: _Raw) -> None:
        self.number += 1
        report = self.report
        cells = self._cells(raw)
        frame, error = self._show(raw.data)
        if frame is not None:
            cells.update(_tc_fields(frame))
            if error is None and (
                (self.scid is not None and frame.scid != self.scid)
                or (self.vcid is not None and frame.vcid != self.vcid)
            ):
                # Demultiplexing by spacecraft and VC comes before reassembly.
                self.filtered += 1
                return
        reassembler = self._route(frame, error)
        events: list[VcEvent] = []
        packets: list[SpacePacket | EncapsulationPacket] = []
        if reassembler is not None:
            reassembler.receive_bytes(raw.data)
            events = reassembler.events()
            packets = reassembler.packets()
        rejected = _rejection(events)
        scid = frame.scid if frame is not None else None
        for event in events:
            if isinstance(event, MapAborted) and scid is not None:
                self.vcs.setdefault((scid, event.vcid), _TcVcStats()).aborted += 1
            record = _event_record(event, scid)
            if record is not None:
                report.event(record)
        if rejected is None and error is None and frame is not None:
            self.frames_ok += 1
            stats = self.vcs.setdefault((frame.scid, frame.vcid), _TcVcStats())
            stats.frames += 1
            stats.control += frame.control_command_flag
            stats.packets += len(packets)
            cells["status"] = "ok"
            command = _control_text(frame)
            if command:
                cells["control_command"] = command
            report.row(cells)
            for packet in packets:
                report.event(_packet_record(packet, frame))
            return
        _report_failure(self, report, cells, raw, error, rejected)

    def _show(self, data: bytes) -> tuple[TcFrame | None, DecodeError | None]:
        try:
            return TcFrame.decode(data, self.params), None
        except FecfError as exc:
            error: DecodeError = exc
        except DecodeError as exc:
            return None, exc
        try:
            return TcFrame.decode(data, self.params, verify_fecf=False), error
        except DecodeError as inner:
            return None, inner

    def _route(self, frame: TcFrame | None, error: DecodeError | None) -> MapReassembler | None:
        """The reassembler of the frame's spacecraft (see ``_FrameDecoder._route``)."""
        scid = None
        if frame is not None and (error is None or frame.scid in self.reassemblers):
            scid = frame.scid
        if scid is None:
            return self.last
        reassembler = self.reassemblers.get(scid)
        if reassembler is None:
            reassembler = self.reassemblers[scid] = MapReassembler(self.params)
        self.last = reassembler
        return reassembler

    def bad_data(self) -> bool:
        return bool(
            self.unrouted_crc
            or self.unrouted_bad
            or self.frameless_cltus
            or (self.cltus is not None and (self.cltus.uncorrectable or self.cltus.without_tail))
            or any(r.crc_failures or r.rejected for r in self.reassemblers.values())
        )

    def summary(self) -> None:
        report = self.report
        masters = sorted(self.reassemblers.items())
        crc = self.unrouted_crc + sum(r.crc_failures for _, r in masters)
        bad = self.unrouted_bad + self.frameless_cltus + sum(r.rejected for _, r in masters)
        reassembly = [
            {
                "scid": s,
                "frames": r.frames,
                "crc_failures": r.crc_failures,
                "rejected": r.rejected,
                "packets": r.packets_out,
                "aborted": r.aborted,
                "open_units": r.open_units,
            }
            for s, r in masters
        ]
        if report.as_json:
            summary: dict[str, Any] = {
                "frames_ok": self.frames_ok,
                "crc_failures": crc,
                "bad_frames": bad,
                "filtered_out": self.filtered,
                "virtual_channels": [
                    {"scid": s, "vcid": v, **dataclasses.asdict(stats)}
                    for (s, v), stats in sorted(self.vcs.items())
                ],
                "reassemblers": reassembly,
            }
            if self.cltus is not None:
                summary["cltu"] = dataclasses.asdict(self.cltus)
            print(json.dumps({"summary": summary}))
            return
        report.end_rows()
        heads = ("scid", "vcid", "frames", "control", "packets", "aborted")
        print("  ".join(h.rjust(7) for h in heads))
        for (s, v), stats in sorted(self.vcs.items()):
            values = [s, v, *dataclasses.astuple(stats)]
            print("  ".join(str(x).rjust(7) for x in values))
        for record in reassembly:
            text = ", ".join(f"{k} {v}" for k, v in record.items() if k != "scid")
            print(f"MAP reassembler {record['scid']}: {text}")
        extra = []
        if self.unrouted_bad or self.unrouted_crc:
            extra.append(f"{self.unrouted_bad + self.unrouted_crc} unreadable")
        if self.frameless_cltus:
            extra.append(f"{self.frameless_cltus} CLTUs without a whole frame")
        if self.filtered:
            extra.append(f"{self.filtered} filtered out")
        if extra:
            print("frames: " + ", ".join(extra))
        if self.cltus is not None:
            c = self.cltus
            print(
                f"CLTUs: {c.cltus}, codeblocks {c.codeblocks}, BCH corrected "
                f"{c.corrected_codeblocks}, uncorrectable {c.uncorrectable}, without tail "
                f"{c.without_tail}, {c.skipped_octets} octets skipped"
            )


def _tc_fields(frame: TcFrame) -> dict[str, Any]:
    kind = "BC" if frame.control_command_flag else "BD" if frame.bypass_flag else "AD"
    fields: dict[str, Any] = {
        "scid": frame.scid,
        "vcid": frame.vcid,
        "type": kind,
        "frame_sequence_number": frame.frame_sequence_number,
        "length": len(frame),
    }
    if frame.map_id is not None:
        fields["map_id"] = frame.map_id
        fields["sequence"] = _SEQUENCE_NAMES[frame.sequence_flags]
    return fields


def _control_text(frame: TcFrame) -> str | None:
    try:
        command = frame.control_command()
    except DecodeError:
        return "unknown control command"
    if command is None:
        return None
    if isinstance(command, SetVR):
        return f"set v(r) {command.v_r}"
    return "unlock"


def _packet_record(packet: SpacePacket | EncapsulationPacket, frame: TcFrame) -> dict[str, Any]:
    record: dict[str, Any] = {"event": "packet", "scid": frame.scid, "vcid": frame.vcid}
    if frame.map_id is not None:
        record["map_id"] = frame.map_id
    if isinstance(packet, SpacePacket):
        record.update(apid=packet.apid, sequence_count=packet.sequence_count)
        record["octets"] = len(packet)
    else:
        record.update(protocol_id=int(packet.protocol_id), octets=len(packet.encode()))
    return record


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
    assert not isinstance(channel.params, TcParams)  # encode offers no --kind tc
    try:
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
