"""``dawnlink frames decode --kind tc`` for the uplink: TC frames (232.0-B-4), back to
back or in CLTUs (231.0-B-4: start sequence, BCH codeblocks, tail sequence; optionally
pseudo-randomized).

Each frame's TC header and segment header are shown, and the packets a
:class:`comms.vc.MapReassembler` (one per spacecraft) rebuilt from them.

Left out: encoding TC frames (see ``dawnlink`` COP-1 tools), the COP-1 FARM (frame
sequence numbers are shown, not checked), SDLS.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from comms.cli import common
from comms.cli.common import EXIT_BAD_DATA, EXIT_OK
from comms.cli.frames_input import Raw, chunks, split_frames
from comms.cli.frames_report import (
    LEADING_COLUMNS,
    Columns,
    Report,
    SpacecraftRouter,
    decode_leniently,
    print_counts,
    print_table_row,
    rejection,
    report_failure,
)
from comms.coding import CltuEnd, CltuResult, cltu_decode
from comms.coding.cltu import CODEBLOCK_OCTETS, START_SEQUENCE, TAIL_SEQUENCE
from comms.encap import EncapsulationPacket
from comms.errors import DecodeError
from comms.frames import SetVR, TcFrame, TcParams
from comms.frames.params import TC_MAX_FRAME_LENGTH
from comms.spp import SpacePacket
from comms.vc import MapAborted, MapReassembler, VcEvent

__all__ = ["CltuSplitter", "decode"]

# The longest CLTU: start sequence, the codeblocks of a 1024-octet frame, tail.
_MAX_CLTU = (
    len(START_SEQUENCE) + CODEBLOCK_OCTETS * -(-TC_MAX_FRAME_LENGTH // 7) + len(TAIL_SEQUENCE)
)

_COLUMNS: Columns = (
    *LEADING_COLUMNS,
    ("type", "type", 4),
    ("fsn", "frame_sequence_number", 3),
    ("length", "length", 6),
    ("map", "map_id", 3),
    ("seq", "sequence", 5),
    ("bch", "bch_corrected", 3),
)

_SEQUENCE_NAMES = {0b01: "first", 0b00: "cont", 0b10: "last", 0b11: "whole"}


def decode(args: argparse.Namespace, params: TcParams) -> int:
    """Split the input into TC frames (or CLTUs), print each and the summary; the exit
    status."""
    decoder = _TcDecoder(params, Report(args.json, not args.summary_only, _COLUMNS), args)
    if args.cltu:
        cltus = CltuSplitter(decoder)
        for datagram, chunk in chunks(args):
            if datagram is not None:
                one = CltuSplitter(decoder, datagram=datagram)
                one.feed(chunk)
                one.close()
            else:
                cltus.feed(chunk)
        cltus.close()
        status = EXIT_OK
    else:
        # Each frame says how long it is; a corrupted length field misplaces the frames
        # after it (TC frames carry no marker to resynchronize on), and the damaged
        # frames then fail their FECF or header checks and are reported.
        status = split_frames(
            chunks(args),
            decoder.frame,
            length_octets=4,
            frame_length=TcFrame.frame_length,
            expected=lambda pending: (
                f"{TcFrame.frame_length(pending)} octets (its frame length field)"
                if len(pending) >= 4
                else "a 5-octet TC primary header"
            ),
        )
    decoder.summary()
    return EXIT_BAD_DATA if decoder.bad_data() else status


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


class CltuSplitter:
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

    def __init__(self, params: TcParams, report: Report, args: argparse.Namespace) -> None:
        self.params = params
        self.report = report
        self.scid: int | None = args.scid
        self.vcid: int | None = args.vcid
        self.derandomize: bool = args.tc_randomizer
        self.number = 0
        # The filters act before reassembly (see frame()), so the router never pins one
        # spacecraft.
        self.router = SpacecraftRouter(lambda _: MapReassembler(params))
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
        raw = Raw(data, 8 * offset, datagram=datagram, cltu=result)
        if length is None or length > len(data):
            # The codeblocks delivered do not hold a whole frame: nothing to decode.
            self.frameless_cltus += 1
            self.number += 1
            need = "a TC frame header" if length is None else f"a {length}-octet frame"
            text = problem or f"CLTU carries {len(data)} octets, not {need}"
            cells = raw.cells(self.number)
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

    def frame(self, raw: Raw) -> None:
        self.number += 1
        report = self.report
        cells = raw.cells(self.number)
        frame, error = decode_leniently(
            lambda verify: TcFrame.decode(raw.data, self.params, verify_fecf=verify)
        )
        if frame is not None:
            cells.update(_tc_fields(frame))
            if error is None and (
                (self.scid is not None and frame.scid != self.scid)
                or (self.vcid is not None and frame.vcid != self.vcid)
            ):
                # Demultiplexing by spacecraft and VC comes before reassembly.
                self.filtered += 1
                return
        scid = frame.scid if frame is not None else None
        reassembler = self.router.route(scid, clean=error is None)
        events: list[VcEvent] = []
        packets: list[SpacePacket | EncapsulationPacket] = []
        if reassembler is not None:
            reassembler.receive_bytes(raw.data)
            events = reassembler.events()
            packets = reassembler.packets()
        rejected = rejection(events)
        for event in events:
            if isinstance(event, MapAborted) and scid is not None:
                self.vcs.setdefault((scid, event.vcid), _TcVcStats()).aborted += 1
        report.vc_events(events, scid)
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
        report_failure(self, report, cells, raw, error, rejected)

    def bad_data(self) -> bool:
        return bool(
            self.unrouted_crc
            or self.unrouted_bad
            or self.frameless_cltus
            or (self.cltus is not None and (self.cltus.uncorrectable or self.cltus.without_tail))
            or any(r.crc_failures or r.rejected for r in self.router.receivers.values())
        )

    def summary(self) -> None:
        report = self.report
        masters = sorted(self.router.receivers.items())
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
        print_table_row(("scid", "vcid", "frames", "control", "packets", "aborted"))
        for (s, v), stats in sorted(self.vcs.items()):
            print_table_row([s, v, *dataclasses.astuple(stats)])
        for record in reassembly:
            text = ", ".join(f"{k} {v}" for k, v in record.items() if k != "scid")
            print(f"MAP reassembler {record['scid']}: {text}")
        print_counts(
            "frames",
            [
                (self.unrouted_bad + self.unrouted_crc, "unreadable"),
                (self.frameless_cltus, "CLTUs without a whole frame"),
                (self.filtered, "filtered out"),
            ],
        )
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
