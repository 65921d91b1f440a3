"""Pieces every ``dawnlink`` subcommand shares: exit codes, argument types, messages,
input reading, and the ``dawnlink NOUN ACTION`` parser shape.

Exit codes follow one rule across the tool: 0 done, 1 the input held bad data (reported
with its offset), 2 the command was used wrongly (bad option, missing file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from comms.errors import DecodeError
from comms.spp import PRIMARY_HEADER_LENGTH, DiscardReason, PacketExtractor, SpacePacket

__all__ = [
    "EXIT_BAD_DATA",
    "EXIT_OK",
    "EXIT_USAGE",
    "LocatedPacket",
    "add_command",
    "error",
    "extract_packets",
    "integer",
    "note",
    "parse_hex",
    "port",
    "read_chunks",
]

EXIT_OK = 0
EXIT_BAD_DATA = 1
EXIT_USAGE = 2

_CHUNK = 64 * 1024


def add_command(
    sub: argparse._SubParsersAction[Any],
    name: str,
    *,
    help: str,
    description: str,
    epilog: str,
) -> argparse._SubParsersAction[Any]:
    """Add ``dawnlink NAME`` (which prints its help when given no action) and return
    the sub-parsers its actions are added to."""
    parser = sub.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    def usage(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    parser.set_defaults(func=usage)
    actions: argparse._SubParsersAction[Any] = parser.add_subparsers(
        title="actions", metavar="ACTION"
    )
    return actions


def integer(text: str) -> int:
    """An argparse type: an integer, ``0x`` for hex."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def port(text: str) -> int:
    """An argparse type: a UDP or TCP port number."""
    value = integer(text)
    if not 0 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"a UDP port is 0 to 65535, not {value}")
    return value


def note(message: str) -> None:
    """A line on stderr, after whatever stdout holds so far."""
    # Flush first so that with `2>&1` the note lands after the rows it follows.
    sys.stdout.flush()
    print(message, file=sys.stderr)


def error(message: object) -> None:
    note(f"error: {message}")


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


def parse_hex(text: str) -> bytes:
    """Octets from hex text; whitespace between digits and a ``0x`` per word are allowed.

    Raises :class:`DecodeError` whose ``offset`` is the octet the bad digit falls in.
    """
    words = text.split()
    digits = "".join(w[2:] if w[:2] in ("0x", "0X") else w for w in words)
    try:
        return bytes.fromhex(digits)
    except ValueError:
        pass
    for index, char in enumerate(digits):
        if char not in "0123456789abcdefABCDEF":
            raise DecodeError(
                "bad hex digit",
                offset=index // 2,
                expected="0-9 or a-f",
                got=repr(char),
            ) from None
    raise DecodeError(
        "odd number of hex digits",
        offset=len(digits) // 2,
        expected="two digits per octet",
        got="one",
    ) from None


@dataclass(frozen=True)
class LocatedPacket:
    """A decoded packet and where it was: its octet offset and the capture frame."""

    offset: int
    packet: SpacePacket
    frame: int | None = None


def extract_packets(chunks: Iterable[bytes], frame: int | None = None) -> Iterator[LocatedPacket]:
    """The packets of one stream, fed in chunks through :class:`PacketExtractor`.

    Raises :class:`DecodeError` (after yielding every packet before it) where the
    extractor lost sync on a bad header, or for a partial packet left at the end. A
    file has no first header pointer to resync on, so nothing after a bad header can be
    trusted to be aligned and the stream ends there.
    """
    # Idle packets are kept: they are counted and may be shown, and their lengths are
    # needed to give the offsets of the packets after them.
    extractor = PacketExtractor(skip_idle=False)
    offset = 0  # where the next packet starts: the extractor hands packets out in order
    fed = 0
    head = b""  # the first octets of the partial packet the extractor holds
    for chunk in chunks:
        for packet in extractor.feed(chunk):
            yield LocatedPacket(offset, packet, frame)
            offset += len(packet)
        fed += len(chunk)
        for event in extractor.events():
            # Only a bad version can lose sync here: there are no gap() calls and the
            # length limit is the protocol's own, which every length field satisfies.
            if event.reason is DiscardReason.BAD_VERSION:
                raise DecodeError(
                    "unsupported packet version number",
                    offset=offset,
                    expected=0,
                    got=event.data[0] >> 5,
                )
            raise DecodeError(f"packet extraction stopped ({event.reason.value})", offset=offset)
        # The partial packet starts at ``offset``: in this chunk, or in an earlier one
        # whose tail gave the first octets of ``head``.
        pending = extractor.pending
        if not pending:
            head = b""
        elif offset >= fed - len(chunk):
            head = bytes(chunk[len(chunk) - pending :][:PRIMARY_HEADER_LENGTH])
        elif len(head) < PRIMARY_HEADER_LENGTH:
            head += bytes(chunk[: PRIMARY_HEADER_LENGTH - len(head)])
    if extractor.pending:
        got = f"{extractor.pending} octets"
        if len(head) < PRIMARY_HEADER_LENGTH:
            expected = f"a {PRIMARY_HEADER_LENGTH}-octet primary header"
        else:
            data_length = int.from_bytes(head[4:6], "big")
            expected = (
                f"{PRIMARY_HEADER_LENGTH + data_length + 1} octets (data_length {data_length})"
            )
        raise DecodeError("trailing partial packet", offset=offset, expected=expected, got=got)
