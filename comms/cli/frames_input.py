"""Where ``dawnlink frames decode`` gets its octets: a file, standard input (binary, or
hex), or the UDP payloads of a pcap/pcapng capture; and how a stream of frames that are
not coded into CADUs or CLTUs is cut into frames.

A frame is handed on as :class:`Raw`: its octets and where in the input it started.
Trouble with the input itself (an unreadable file, a capture without scapy) is an
:class:`InputError` carrying the exit status it deserves.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from comms.cli import common
from comms.cli.common import EXIT_BAD_DATA, EXIT_OK, EXIT_USAGE, note, parse_hex, read_chunks
from comms.coding import CltuResult
from comms.errors import DecodeError

__all__ = ["InputError", "Raw", "chunks", "split_frames"]


@dataclass(frozen=True)
class Raw:
    """One frame's octets and where they came from."""

    data: bytes
    bit_offset: int
    corrected: int = 0
    uncorrectable: bool = False
    datagram: int | None = None
    cltu: CltuResult | None = None

    def cells(self, number: int) -> dict[str, Any]:
        """The first cells of the frame's row: its number and where it came from."""
        cells: dict[str, Any] = {"frame": number, "bit_offset": self.bit_offset}
        if self.datagram is not None:
            cells["datagram"] = self.datagram
        if self.cltu is not None:
            cells["bch_corrected"] = self.cltu.corrected_codeblocks
            cells["cltu_end"] = self.cltu.end.value
        return cells


class InputError(Exception):
    """The input could not be read: ``message`` for the user, ``status`` to exit with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def chunks(args: argparse.Namespace) -> Iterator[tuple[int | None, bytes]]:
    """(datagram number or None, octets) pieces of the input ``--pcap``/``--file`` name."""
    if args.pcap:
        try:
            from comms.scapy.spp import read_pcap_datagrams
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != "scapy":
                raise
            raise InputError(
                "reading a capture needs scapy: pip install 'dawnlink[scapy]'", EXIT_USAGE
            ) from None
        try:
            yield from read_pcap_datagrams(args.pcap, args.port)
        except DecodeError as exc:
            raise InputError(f"{args.pcap}: {exc}", EXIT_BAD_DATA) from None
        except OSError as exc:
            raise InputError(f"cannot read {args.pcap}: {exc.strerror}", EXIT_USAGE) from None
        return
    if args.file == "-":
        yield from ((None, c) for c in read_chunks(sys.stdin.buffer))
        return
    if args.file:
        try:
            stream = open(args.file, "rb")  # noqa: SIM115 -- closed below
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}", EXIT_USAGE) from None
        with stream:
            yield from ((None, c) for c in read_chunks(stream))
        return
    if sys.stdin.isatty():
        note("reading hex from standard input (end with Ctrl-D)...")
    try:
        yield None, parse_hex(sys.stdin.read())
    except DecodeError as exc:
        raise InputError(str(exc), EXIT_BAD_DATA) from None


def split_frames(
    pieces: Iterable[tuple[int | None, bytes]],
    frame: Callable[[Raw], None],
    *,
    length_octets: int,
    frame_length: Callable[[bytes], int],
    expected: Callable[[bytes], str],
) -> int:
    """Cut frames that follow each other back to back out of ``pieces`` and hand each to
    ``frame``; a datagram is one frame.

    ``frame_length`` gives a frame's length from its first ``length_octets`` octets (0
    for frames of one fixed length). A partial frame left at the end is reported, with
    what ``expected`` says it lacks, and makes the status EXIT_BAD_DATA.
    """
    pending = b""
    offset = 0  # stream offset of pending[0]
    for datagram, chunk in pieces:
        if datagram is not None:
            # One frame per datagram: a datagram of another length is a bad frame.
            frame(Raw(chunk, 0, datagram=datagram))
            continue
        buf = pending + chunk
        pos = 0
        while len(buf) - pos >= length_octets:
            length = frame_length(buf[pos : pos + length_octets])
            if len(buf) - pos < length:
                break
            frame(Raw(buf[pos : pos + length], 8 * (offset + pos)))
            pos += length
        offset += pos
        pending = buf[pos:]
    if not pending:
        return EXIT_OK
    common.error(
        DecodeError(
            "trailing partial frame",
            offset=offset,
            expected=expected(pending),
            got=f"{len(pending)} octets",
        )
    )
    return EXIT_BAD_DATA
