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

This module holds the command line itself: the parser, the options both actions share
and what they mean together (:func:`_channel`). The work is done by
:mod:`comms.cli.frames_downlink` (TM, AOS, USLP, CADUs: decode and encode) and
:mod:`comms.cli.frames_uplink` (TC frames, CLTUs: decode), which read their input
through :mod:`comms.cli.frames_input` and print through :mod:`comms.cli.frames_report`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from comms.cli import common, frames_downlink, frames_uplink
from comms.cli.common import EXIT_USAGE, add_command, integer
from comms.cli.frames_input import InputError
from comms.coding import CaduParams
from comms.errors import UsageError
from comms.frames import AosParams, TcParams, TmParams, UslpParams

__all__ = ["register"]

_DEFAULT_FRAME_LENGTH = 1115  # RS(255,223) I=5 carries 1115 octets: the common TM choice

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

FrameParams = frames_downlink.DownlinkParams | TcParams


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
    if args.fhec and args.kind != "aos":
        raise UsageError("--fhec is an AOS option.")
    fecf = not args.no_fecf
    params: FrameParams
    if args.kind == "tm":
        params = TmParams(length, has_ocf=True if args.ocf else None, has_fecf=fecf)
    elif args.kind == "aos":
        params = AosParams(length, has_fhec=args.fhec, has_ocf=args.ocf, has_fecf=fecf)
    else:
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


# -- the actions ----------------------------------------------------------------------------


def _decode(args: argparse.Namespace) -> int:
    if args.port is not None and not args.pcap:
        args.parser.error("--port filters a capture: use it with --pcap")
    try:
        channel = _channel(args)
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    try:
        if isinstance(channel.params, TcParams):
            return frames_uplink.decode(args, channel.params)
        return frames_downlink.decode(args, channel.params, channel.cadu)
    except InputError as exc:
        common.error(exc.message)
        return exc.status


def _encode(args: argparse.Namespace) -> int:
    try:
        channel = _channel(args)
    except UsageError as exc:
        common.error(exc)
        return EXIT_USAGE
    assert not isinstance(channel.params, TcParams)  # encode offers no --kind tc
    return frames_downlink.encode(args, channel.params, channel.cadu)
