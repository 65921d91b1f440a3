"""What ``dawnlink frames decode`` prints, for downlink and uplink frames alike: one row
per frame (a table, or JSON lines), the virtual channel layer's events (132.0-B-3,
732.0-B-4, 732.1-B-2 and 232.0-B-4 receivers, as :mod:`comms.vc` reports them), the
frame a decoder or receiver refused, and the summary tables.

Also the two choices both decoders make the same way: decoding a frame that failed only
its FECF to show its header (:func:`decode_leniently`), and which spacecraft's receiver
a frame goes to (:class:`SpacecraftRouter`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from comms.cli import common
from comms.cli.frames_input import Raw
from comms.errors import DecodeError
from comms.frames import FecfError
from comms.vc import (
    FrameGap,
    FrameRejected,
    MapAborted,
    PacketDiscarded,
    RejectReason,
    UnknownSpacecraft,
    UnknownVirtualChannel,
    VcEvent,
)

__all__ = [
    "LEADING_COLUMNS",
    "Columns",
    "FailureCounts",
    "Report",
    "SpacecraftRouter",
    "decode_leniently",
    "print_counts",
    "print_table_row",
    "rejection",
    "report_failure",
]

T = TypeVar("T")

# (heading, key of the row record, width); the offset column is bit_offset shown in octets.
Columns = tuple[tuple[str, str, int], ...]

# Every frame row starts with where the frame was and whose it is.
LEADING_COLUMNS: Columns = (
    ("frame", "frame", 6),
    ("offset", "bit_offset", 10),
    ("scid", "scid", 5),
    ("vcid", "vcid", 4),
)


@dataclass
class Report:
    """Prints rows and events as a table or JSON lines."""

    as_json: bool
    lines: bool
    columns: Columns
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

    def vc_events(self, events: Iterable[VcEvent], scid: int | None) -> None:
        """The virtual channel layer's events but rejections (those are the row's status)."""
        for event in events:
            record = _event_record(event, scid)
            if record is not None:
                self.event(record)

    def end_rows(self) -> None:
        """A blank line between the rows and the summary table."""
        if self.lines and self.header_printed and not self.as_json:
            print()


def print_table_row(values: Iterable[object]) -> None:
    """A line of the summary table: every column seven wide."""
    print("  ".join(str(x).rjust(7) for x in values))


def print_counts(label: str, counts: Iterable[tuple[int, str]]) -> None:
    """``label: N what, ...`` for the counts that are not zero; nothing if all are."""
    text = ", ".join(f"{n} {what}" for n, what in counts if n)
    if text:
        print(f"{label}: {text}")


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


def rejection(events: list[VcEvent]) -> FrameRejected | None:
    for event in events:
        if isinstance(event, FrameRejected):
            return event
    return None


def decode_leniently(decode: Callable[[bool], T]) -> tuple[T | None, DecodeError | None]:
    """What ``decode(verify_fecf)`` made of a frame (None if unreadable) and the
    decoder's complaint. A frame that fails only its FECF is decoded again without the
    check, so that its row can show the header fields it claims."""
    try:
        return decode(True), None
    except FecfError as exc:
        error: DecodeError = exc
    except DecodeError as exc:
        return None, exc
    try:
        return decode(False), error
    except DecodeError as inner:
        return None, inner


@dataclass
class SpacecraftRouter(Generic[T]):
    """One receiver per spacecraft id, picked as an embedder would pick it.

    With ``only`` set (``--scid`` for TM/AOS/USLP) there is one receiver and every frame
    goes to it (frames of other spacecraft become its UnknownSpacecraft). Otherwise a
    frame that decoded cleanly names its spacecraft; a damaged one goes to the receiver
    of the scid it shows if there is one (a corrupted header must not invent a
    spacecraft), else to the receiver of the frame before.
    """

    make: Callable[[int], T]
    only: int | None = None
    receivers: dict[int, T] = field(default_factory=dict)
    last: T | None = None

    def route(self, scid: int | None, clean: bool) -> T | None:
        """The receiver for a frame that shows ``scid`` (None: unreadable header) and
        decoded ``clean``ly, or None while no receiver exists to take it."""
        if self.only is not None:
            scid = self.only
        elif scid is not None and not clean and scid not in self.receivers:
            scid = None
        if scid is None:
            return self.last
        receiver = self.receivers.get(scid)
        if receiver is None:
            receiver = self.receivers[scid] = self.make(scid)
        self.last = receiver
        return receiver


class FailureCounts(Protocol):
    number: int
    unrouted_crc: int
    unrouted_bad: int


def report_failure(
    decoder: FailureCounts,
    report: Report,
    cells: dict[str, Any],
    raw: Raw,
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
