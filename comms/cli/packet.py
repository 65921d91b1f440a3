"""``dawnlink packet``: encode and decode CCSDS Space Packets (133.0-B-2) by hand.

``decode`` reads a stream of concatenated packets (hex text, a binary file or the UDP
payloads of a capture) and prints each packet's primary-header fields as a table or as
JSON lines; ``encode`` builds one packet from command-line fields and prints it as hex,
so ``dawnlink packet encode ... | dawnlink packet decode`` round-trips.

Exit status: 0 when everything decoded, 1 when the input held bad data (the good packets
before it are still printed), 2 for a usage error (bad option, bad field value, missing
file). scapy, needed only for ``--pcap``, is imported when that option is used.

Left out: secondary headers (mission-defined) are shown as part of the data field.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from comms.cli.common import (
    EXIT_BAD_DATA,
    EXIT_OK,
    EXIT_USAGE,
    LocatedPacket,
    add_command,
    error,
    extract_packets,
    integer,
    note,
    parse_hex,
    port,
    read_chunks,
)
from comms.errors import DecodeError, UsageError
from comms.spp import (
    IDLE_APID,
    PacketType,
    SequenceFlags,
    SpacePacket,
)

__all__ = ["parse_hex", "register"]


PREVIEW_OCTETS = 16  # data octets shown in the table; --json always carries all of them
_CHUNK = 1 << 16  # octets read from a file per step, so a large file streams

_TYPE_NAMES = {PacketType.TM: "tm", PacketType.TC: "tc"}
_FLAG_NAMES = {
    SequenceFlags.CONTINUATION: "continuation",
    SequenceFlags.FIRST: "first",
    SequenceFlags.LAST: "last",
    SequenceFlags.UNSEGMENTED: "unsegmented",
}

_DECODE_EPILOG = """\
input (one of):
  HEX ...          hex octets as arguments; spaces and a 0x prefix are fine
  (nothing)        hex read from standard input, so `encode ... | decode` works
  --file PATH      a binary file of concatenated packets ('-' for standard input)
  --pcap FILE      UDP payloads in a pcap/pcapng capture, each a stream of packets

examples:
  dawnlink packet decode 18 02 40 34 00 16 $(printf '00 %.0s' $(seq 23))
  dawnlink packet encode --apid 100 --text hello | dawnlink packet decode
  dawnlink packet decode --file downlink.bin --json | jq .apid
  dawnlink packet decode --pcap pass.pcap --port 10015 --show-idle

The table shows each packet's offset in its stream (octets), the primary-header
fields and the first 16 data octets; 'data len' counts data octets (the header's
data_length field is one less). --json prints one object per line with every field and
the whole data field as hex. Idle packets (APID 2047) are hidden unless --show-idle.

exit status: 0 all decoded, 1 bad data (reported with its offset; packets before it
are printed), 2 usage error.
"""

_ENCODE_EPILOG = """\
examples:
  dawnlink packet encode --apid 100 --data 68656c6c6f
  dawnlink packet encode --apid 0x64 --type tc --sec-header --count 7 --text hello
  dawnlink packet encode --apid 5 --seq-flags first --data-file chunk.bin --out p.bin
  dawnlink packet encode --apid 100 --data 68656c6c6f | dawnlink packet decode

Numbers take a 0x prefix for hex. The data field must hold 1 to 65536 octets; the
header's data_length is computed from it. Output is one line of hex unless --out.

exit status: 0 written, 2 bad field value or usage error.
"""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``dawnlink packet`` (with ``decode`` and ``encode``) to ``sub``."""
    actions = add_command(
        sub,
        "packet",
        help="encode and decode CCSDS Space Packets",
        description="Encode and decode CCSDS Space Packets (CCSDS 133.0-B-2).",
        epilog="examples:\n  dawnlink packet encode --apid 100 --text hello "
        "| dawnlink packet decode\n\nSee `dawnlink packet decode --help` and "
        "`dawnlink packet encode --help`.",
    )
    _register_decode(actions)
    _register_encode(actions)


def _register_decode(actions: argparse._SubParsersAction[Any]) -> None:
    parser = actions.add_parser(
        "decode",
        help="print the fields of each packet in hex, a binary file or a capture",
        description="Decode a stream of concatenated Space Packets and print their fields.",
        epilog=_DECODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("hex", nargs="*", metavar="HEX", help="packet octets in hex")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", metavar="PATH", help="binary file of packets ('-': stdin)")
    source.add_argument("--pcap", metavar="FILE", help="pcap/pcapng capture (needs scapy)")
    parser.add_argument(
        "--port", type=port, metavar="N", help="with --pcap: only UDP datagrams to or from N"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per packet per line")
    parser.add_argument("--show-idle", action="store_true", help="include idle packets")
    parser.set_defaults(func=_decode, parser=parser)


def _register_encode(actions: argparse._SubParsersAction[Any]) -> None:
    parser = actions.add_parser(
        "encode",
        help="build one packet from fields and print it as hex",
        description="Build one Space Packet and print it as hex (or write it with --out).",
        epilog=_ENCODE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--apid", type=integer, required=True, metavar="N", help="0 to 2047")
    parser.add_argument(
        "--type", choices=["tm", "tc"], default="tm", help="packet type (default: tm)"
    )
    parser.add_argument("--sec-header", action="store_true", help="set the secondary header flag")
    parser.add_argument(
        "--seq-flags",
        choices=["unsegmented", "first", "continuation", "last"],
        default="unsegmented",
        help="sequence flags (default: unsegmented)",
    )
    parser.add_argument(
        "--count", type=integer, default=0, metavar="N", help="sequence count, 0 to 16383"
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", metavar="HEX", help="data field in hex")
    data.add_argument("--data-file", metavar="PATH", help="data field from a file ('-': stdin)")
    data.add_argument("--text", metavar="STRING", help="data field as UTF-8 text")
    parser.add_argument("--out", metavar="FILE", help="write the packet's octets to FILE")
    parser.set_defaults(func=_encode, parser=parser)


class _Printer:
    """Writes packets as an aligned table or JSON lines, and counts hidden idle packets."""

    # (heading, width, left-aligned). Fixed widths, so rows print as they are decoded
    # rather than after the whole stream is read; they fit every header field value and
    # offsets below 10**8 (a longer offset only pushes its row right).
    _COLUMNS = (
        ("frame", 6, False),
        ("offset", 8, False),
        ("ver", 3, False),
        ("type", 4, True),
        ("sec", 3, True),
        ("apid", 4, False),
        ("seq flags", 12, True),
        ("count", 5, False),
        ("data len", 8, False),
    )

    def __init__(self, *, as_json: bool, show_idle: bool, with_frame: bool) -> None:
        self.as_json = as_json
        self.show_idle = show_idle
        self.columns = self._COLUMNS if with_frame else self._COLUMNS[1:]
        self.printed = 0
        self.hidden_idle = 0

    def _line(self, cells: list[str], last: str) -> str:
        aligned = [
            cell.ljust(width) if left else cell.rjust(width)
            for cell, (_, width, left) in zip(cells, self.columns, strict=True)
        ]
        return "  ".join([*aligned, last])

    def emit(self, located: LocatedPacket) -> None:
        packet = located.packet
        if packet.apid == IDLE_APID and not self.show_idle:
            self.hidden_idle += 1
            return
        data = bytes(packet.data)
        packet_type = _TYPE_NAMES[PacketType(packet.packet_type)]
        sequence_flags = _FLAG_NAMES[SequenceFlags(packet.sequence_flags)]
        if self.as_json:
            record: dict[str, object] = {} if located.frame is None else {"frame": located.frame}
            record.update(
                offset=located.offset,
                version=int(packet.version),
                packet_type=packet_type,
                sec_header_flag=bool(packet.sec_header_flag),
                apid=int(packet.apid),
                sequence_flags=sequence_flags,
                sequence_count=int(packet.sequence_count),
                data_length=len(data) - 1,
                data=data.hex(),
            )
            print(json.dumps(record))
        else:
            if self.printed == 0:
                print(self._line([name for name, _, _ in self.columns], "data"))
            preview = data[:PREVIEW_OCTETS].hex() + ("..." if len(data) > PREVIEW_OCTETS else "")
            cells = [
                str(located.offset),
                str(packet.version),
                packet_type.upper(),
                "yes" if packet.sec_header_flag else "no",
                str(packet.apid),
                sequence_flags,
                str(packet.sequence_count),
                str(len(data)),
            ]
            if located.frame is not None:
                cells.insert(0, str(located.frame))
            print(self._line(cells, preview))
        self.printed += 1


def _decode(args: argparse.Namespace) -> int:
    sources = sum(bool(x) for x in (args.hex, args.file, args.pcap))
    if sources > 1:
        args.parser.error("give hex arguments, --file or --pcap, not several")
    if args.port is not None and not args.pcap:
        args.parser.error("--port filters a capture: use it with --pcap")
    printer = _Printer(as_json=args.json, show_idle=args.show_idle, with_frame=bool(args.pcap))
    if args.pcap:
        status = _decode_pcap(args.pcap, args.port, printer)
    elif args.file:
        status = _decode_file(args.file, printer)
    else:
        status = _decode_hex(args.hex, printer)
    if printer.hidden_idle:
        note(
            f"({printer.hidden_idle} idle packet{'' if printer.hidden_idle == 1 else 's'} "
            "hidden; --show-idle shows them)"
        )
    if status == EXIT_OK and printer.printed == 0 and printer.hidden_idle == 0:
        note("no packets in the input")
    return status


def _emit_all(packets: Iterable[LocatedPacket], printer: _Printer, suffix: str = "") -> int:
    try:
        for located in packets:
            printer.emit(located)
    except DecodeError as exc:
        error(f"{exc}{suffix}")
        return EXIT_BAD_DATA
    return EXIT_OK


def _decode_hex(words: list[str], printer: _Printer) -> int:
    if words:
        text = " ".join(words)
    else:
        if sys.stdin.isatty():
            note("reading hex from standard input (end with Ctrl-D)...")
        text = sys.stdin.read()
    try:
        buf = parse_hex(text)
    except DecodeError as exc:
        error(exc)
        return EXIT_BAD_DATA
    return _emit_all(extract_packets([buf]), printer)


def _decode_file(path: str, printer: _Printer) -> int:
    if path == "-":
        return _emit_all(extract_packets(read_chunks(sys.stdin.buffer)), printer)
    try:
        stream = open(path, "rb")  # noqa: SIM115 -- closed below, after the generator is done
    except OSError as exc:
        error(f"cannot read {path}: {exc.strerror}")
        return EXIT_USAGE
    with stream:
        return _emit_all(extract_packets(read_chunks(stream)), printer)


def _decode_pcap(path: str, port: int | None, printer: _Printer) -> int:
    try:
        from comms.scapy.spp import read_pcap_datagrams
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "scapy":
            raise
        error("reading a capture needs scapy: pip install 'dawnlink[scapy]'")
        return EXIT_USAGE
    status = EXIT_OK
    try:
        for frame, payload in read_pcap_datagrams(path, port):
            # Each datagram is its own stream: a bad one is reported and the next read.
            packets = extract_packets([payload], frame)
            if _emit_all(packets, printer, f" (capture frame {frame})") != EXIT_OK:
                status = EXIT_BAD_DATA
    except DecodeError as exc:  # the file is not a capture
        error(f"{path}: {exc}")
        return EXIT_BAD_DATA
    except OSError as exc:
        error(f"cannot read {path}: {exc.strerror}")
        return EXIT_USAGE
    return status


def _encode(args: argparse.Namespace) -> int:
    try:
        data = _encode_data(args)
        packet = SpacePacket(
            version=0,
            packet_type=PacketType.TC if args.type == "tc" else PacketType.TM,
            sec_header_flag=args.sec_header,
            apid=args.apid,
            sequence_flags=SequenceFlags[args.seq_flags.upper()],
            sequence_count=args.count,
            data=data,
        )
        octets = packet.encode()
    except (UsageError, DecodeError) as exc:
        error(exc)
        return EXIT_USAGE
    except OSError as exc:
        error(f"cannot read {args.data_file}: {exc.strerror}")
        return EXIT_USAGE
    if args.out is None:
        print(octets.hex())
        return EXIT_OK
    try:
        Path(args.out).write_bytes(octets)
    except OSError as exc:
        error(f"cannot write {args.out}: {exc.strerror}")
        return EXIT_USAGE
    return EXIT_OK


def _encode_data(args: argparse.Namespace) -> bytes:
    if args.data is not None:
        try:
            return parse_hex(args.data)
        except DecodeError as exc:
            raise UsageError(f"--data: {exc}") from exc
    if args.text is not None:
        return str(args.text).encode("utf-8")
    if args.data_file == "-":
        return sys.stdin.buffer.read()
    return Path(args.data_file).read_bytes()
