"""``dawnlink frames`` for the downlink: TM (132.0-B-3), AOS (732.0-B-4) and USLP
(732.1-B-2) frames, bare or coded into CADUs (131.0-B-5).

:func:`decode` hands every frame to a :class:`comms.vc.MasterChannelReceiver` (one per
spacecraft) and shows what it made of it; :func:`encode` packs Space Packets into the
frames of one virtual channel with :class:`comms.vc.VcPacketSender` and optionally codes
them with :class:`comms.coding.CaduEncoder`.

Left out: insert zones and secondary headers (the frames decode, those fields are not
shown).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from comms.cli import common
from comms.cli.common import EXIT_BAD_DATA, EXIT_OK, EXIT_USAGE, extract_packets, note, parse_hex
from comms.cli.frames_input import InputError, Raw, chunks, split_frames
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
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from comms.vc import MasterChannelReceiver, VcEvent, VcPacketSender

__all__ = ["DownlinkParams", "decode", "encode"]

DownlinkParams = TmParams | AosParams | UslpParams

_COLUMNS: Columns = (
    *LEADING_COLUMNS,
    ("vc count", "vc_frame_count", 8),
    ("mc", "mc_frame_count", 3),
    ("fhp", "first_header_pointer", 5),
    ("rs", "rs_corrected", 3),
)


def decode(args: argparse.Namespace, params: DownlinkParams, cadu: CaduParams | None) -> int:
    """Decode the input's frames (or CADUs), print them and the summary; the exit status."""
    decoder = _FrameDecoder(params, cadu, Report(args.json, not args.summary_only, _COLUMNS), args)
    if cadu is None:
        length = params.frame_length
        assert length is not None  # the options always set one for TM, AOS and USLP
        status = split_frames(
            chunks(args),
            decoder.frame,
            length_octets=0,
            frame_length=lambda _: length,
            expected=lambda _: f"{length} octets",
        )
    else:
        try:
            cadus = CaduDecoder(cadu, check_count=args.sync_check)
        except UsageError as exc:
            raise InputError(str(exc), EXIT_USAGE) from None
        for _, chunk in chunks(args):
            decoder.cadu_events(cadus.feed(chunk))
        decoder.cadu_events(cadus.close())
        decoder.cadu_counters = cadus.counters
        status = EXIT_OK
    decoder.summary()
    return EXIT_BAD_DATA if decoder.bad_data() else status


class _FrameDecoder:
    """Shows each TM/AOS/USLP frame and what :class:`MasterChannelReceiver` made of it.

    The CLI decodes a frame only to show its header fields; whether the frame is good,
    the gaps, the discarded packets and every count are the receiver's. One receiver per
    spacecraft id, as an embedder would have.
    """

    def __init__(
        self,
        params: DownlinkParams,
        cadu: CaduParams | None,
        report: Report,
        args: argparse.Namespace,
    ) -> None:
        self.params = params
        self.cadu = cadu
        self.report = report
        self.scid: int | None = args.scid
        self.vcid: int | None = args.vcid
        self.number = 0
        self.router = SpacecraftRouter(self._receiver, only=args.scid)
        self.cadu_counters: Any = None
        self.frames_ok = 0
        self.uncorrectable = 0
        self.filtered = 0
        # Frames no receiver could take: unreadable before any spacecraft was seen.
        self.unrouted_crc = 0
        self.unrouted_bad = 0

    def _receiver(self, scid: int) -> MasterChannelReceiver:
        try:
            return MasterChannelReceiver(
                self.params, scid, vcids=None if self.vcid is None else [self.vcid]
            )
        except UsageError as exc:
            raise InputError(str(exc), EXIT_USAGE) from None

    def cadu_events(self, events: Iterable[object]) -> None:
        for event in events:
            if isinstance(event, CaduFrame):
                self.frame(Raw(event.data, event.bit_offset, event.corrected))
            elif isinstance(event, UncorrectableCodeblock):
                self.frame(Raw(event.data, event.bit_offset, uncorrectable=True))
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

    def frame(self, raw: Raw) -> None:
        self.number += 1
        report = self.report
        cells = raw.cells(self.number)
        if self.cadu is not None and self.cadu.rs_e is not None:
            cells["rs_corrected"] = raw.corrected
        if raw.uncorrectable:
            # Not a frame: nothing goes to the receiver, whose frame counts show the loss.
            self.uncorrectable += 1
            cells.update(status="uncorrectable")
            report.row(cells)
            common.error(f"uncorrectable Reed-Solomon codeblock at offset {raw.bit_offset // 8}")
            return
        frame, error = decode_leniently(lambda verify: self._decode(raw.data, verify))
        fields = _fields(frame) if frame is not None else None
        receiver = self.router.route(
            fields["scid"] if fields is not None else None, clean=error is None
        )
        events: list[VcEvent] = []
        if receiver is not None:
            receiver.receive_bytes(raw.data)
            events = receiver.events()
            receiver.packets()  # counted by the receiver; the summary shows the counts
        rejected = rejection(events)
        idle = False
        if fields is not None:
            idle = fields.pop("idle")
            cells.update(fields)
            if rejected is None and error is None and self._filtered_out(fields):
                # The receiver's UnknownSpacecraft/UnknownVirtualChannel for a frame the
                # filters leave out is the filter at work, not news.
                self.filtered += 1
                return
        report.vc_events(events, receiver.scid if receiver is not None else None)
        if rejected is None and error is None:
            self.frames_ok += 1
            cells["status"] = "idle" if idle else "ok"
            report.row(cells)
            return
        report_failure(self, report, cells, raw, error, rejected)

    def _decode(self, data: bytes, verify_fecf: bool) -> TmFrame | AosFrame | UslpFrame:
        params = self.params
        if isinstance(params, TmParams):
            return TmFrame.decode(data, params, verify_fecf=verify_fecf)
        if isinstance(params, AosParams):
            return AosFrame.decode(data, params, verify_fecf=verify_fecf)
        return UslpFrame.decode(data, params, verify_fecf=verify_fecf)

    def _filtered_out(self, fields: dict[str, Any]) -> bool:
        return (self.scid is not None and fields["scid"] != self.scid) or (
            self.vcid is not None and fields["vcid"] != self.vcid
        )

    def bad_data(self) -> bool:
        counters = [r.counters for r in self.router.receivers.values()]
        return bool(
            self.uncorrectable
            or self.unrouted_crc
            or self.unrouted_bad
            or any(c.crc_failures or c.rejected for c in counters)
        )

    def summary(self) -> None:
        report = self.report
        masters = sorted(self.router.receivers.items())
        vcs = [
            (scid, vcid, receiver.vc_counters(vcid))
            for scid, receiver in masters
            for vcid in receiver.vcids
            if receiver.vc_counters(vcid).frames
        ]
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
        print_table_row(("scid", "vcid", "frames", "idle", "gaps", "missing", "dropped", "packets"))
        names = ("frames", "idle_frames", "gaps", "frames_missing", "partials_discarded")
        totals = [0] * (len(names) + 1)
        for s, v, c in vcs:
            values = [getattr(c, name) for name in names] + [c.packets]
            totals = [a + b for a, b in zip(totals, values, strict=True)]
            print_table_row([s, v, *values])
        if len(vcs) > 1:
            print_table_row(["total", "", *totals])
        for s, r in masters:
            text = ", ".join(f"{k} {v}" for k, v in dataclasses.asdict(r.counters).items())
            print(f"master channel {s}: {text}")
        print_counts(
            "frames",
            [
                (self.unrouted_bad + self.unrouted_crc, "unreadable"),
                (self.filtered, "filtered out"),
            ],
        )
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


def encode(args: argparse.Namespace, params: DownlinkParams, cadu: CaduParams | None) -> int:
    """Pack the input's Space Packets into frames (or CADUs) and write them out."""
    try:
        if args.file == "-":
            buf = sys.stdin.buffer.read()
        elif args.file:
            buf = Path(args.file).read_bytes()
        else:
            if sys.stdin.isatty():
                note("reading hex packets from standard input (end with Ctrl-D)...")
            buf = parse_hex(sys.stdin.read())
        packets = [located.packet for located in extract_packets([buf])]
    except OSError as exc:
        common.error(f"cannot read {args.file}: {exc.strerror}")
        return EXIT_USAGE
    except DecodeError as exc:
        common.error(exc)
        return EXIT_BAD_DATA
    try:
        sender = VcPacketSender(params, args.scid, args.vcid)
        frames = sender.add_packets(packets)
        frames += sender.flush()
        if cadu is not None:
            frames = list(CaduEncoder(cadu).encode_many(frames))
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
