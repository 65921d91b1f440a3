"""Station merge: copies of one pass received by several ground stations become one
ordered stream of transfer frames per virtual channel.

Sans-I/O: frames go in with the station that received them and the time (``now``,
seconds; the gateway passes UTC POSIX seconds, the earth-receive time), merged frames
and events are drained, and ``next_deadline()``/``on_timer(now)`` drive the one timeout.

What it does, per virtual channel (key: SCID, VCID; 132.0-B-3 TM and 732.0-B-4 AOS):

- a frame whose FECF fails, whose length is not the channel's, or whose version is not
  the protocol's is refused and counted against its station (a corrupt header cannot be
  trusted to name its slot, so a bad copy is never a candidate);
- copies are de-duplicated by VC frame count (modulo 256 for TM, 2^24 for AOS); the
  first good copy wins and later ones are counted as duplicates;
- frames are released in VC frame count order. A missing count holds the frames behind
  it until it arrives from any station, until ``timeout_s`` has passed since the first
  frame behind it arrived, or until a frame ``window`` counts ahead arrives; then it is
  given up (:class:`FramesGivenUp`) and the virtual channel layer sees the gap;
- a new virtual channel is held ``start_hold_s`` so that a station that started the
  pass earlier but delivers later still contributes its first frames;
- a frame behind the release point is a duplicate (if it was released) or late (its
  gap was given up): both are dropped, never released out of order.

Why here, and why first: the virtual channel reassembler and the SDLS anti-replay window
(355.0-B-2) both assume one ordered stream; fed two copies, the second copy of every
frame is a replay and every reordering a gap (see REFERENCES.md).

The window must be below half the count's range to tell ahead from behind: TM counts are
8-bit, so ``window`` < 128 frames. At 150 Mbps a TM channel of 1115-octet frames wraps
its VC count every 15 ms, so stations whose delivery paths differ by more than a few
milliseconds cannot be merged by TM count at that rate: use AOS (24-bit counts) there.

Per-station quality (:class:`StationQuality`): frames received, CRC failures, malformed,
frames contributed (the released copy came from it), duplicates, unique frames (it was
the only station with a good copy), late frames and gaps in its own stream.

Left out: USLP frames (variable count length), SDLS (applied after the merge), and
choosing between two good copies by their Reed-Solomon corrections (the first good
copy wins: both passed the FECF).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from comms.buffers import BytesLike
from comms.crc import crc16_ccitt
from comms.errors import UsageError
from comms.frames import AosParams, TmParams
from gateway.metrics import Registry

__all__ = [
    "FrameRefused",
    "FramesGivenUp",
    "LateFrame",
    "MergeEvent",
    "MergedFrame",
    "RefuseReason",
    "StationMerge",
    "StationQuality",
    "StreamReset",
]

_TM_HEADER: Final = struct.Struct(">HBB")
_AOS_HEADER: Final = struct.Struct(">HI")
_AOS_IDLE_VCID: Final = 63

# Defaults, with the reason for each.
#: TM: below 128, half the 8-bit count range, with margin for a count-ahead burst.
TM_DEFAULT_WINDOW: Final = 64
#: AOS: 24-bit counts leave room; 4096 frames is ~0.25 s at 150 Mbps with 1115 octets.
AOS_DEFAULT_WINDOW: Final = 4096
#: Delivery paths from two stations rarely differ by more than a second on the ground
#: network; a hole older than this is a frame no station has.
DEFAULT_TIMEOUT_S: Final = 1.0
#: Passes of one spacecraft over one network are minutes apart; a channel silent for a
#: minute starts over (its counts may have restarted).
DEFAULT_IDLE_RESET_S: Final = 60.0


class RefuseReason(enum.Enum):
    """Why the merge refused a station's copy of a frame."""

    FECF = "FECF mismatch"
    LENGTH = "wrong length"
    VERSION = "wrong version"


@dataclass(frozen=True, slots=True)
class FrameRefused:
    """``station`` delivered a frame that cannot be used (``reason``)."""

    station: str
    reason: RefuseReason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FramesGivenUp:
    """No station delivered ``missing`` frames of (``scid``, ``vcid``) from count
    ``first`` (modulo the count range) in time; the stream moved on without them."""

    scid: int
    vcid: int
    first: int
    missing: int

    def __post_init__(self) -> None:
        if self.missing < 1:
            raise UsageError(f"FramesGivenUp.missing must be positive, got {self.missing!r}.")


@dataclass(frozen=True, slots=True)
class LateFrame:
    """``station``'s copy of count ``vc_frame_count`` came after its slot was given up."""

    station: str
    scid: int
    vcid: int
    vc_frame_count: int


@dataclass(frozen=True, slots=True)
class StreamReset:
    """The merge state of (``scid``, ``vcid``) started over (``reason``): silent past
    ``idle_reset_s``, or ``window`` frames in a row arrived behind the release point
    (the spacecraft's counts restarted)."""

    scid: int
    vcid: int
    reason: str


MergeEvent = FrameRefused | FramesGivenUp | LateFrame | StreamReset


@dataclass(frozen=True, slots=True)
class MergedFrame:
    """One released frame: ``data`` (the frame, FECF included) of (``scid``, ``vcid``)
    with ``vc_frame_count``; ``station`` delivered the copy used, at ``ert`` (its
    earth-receive time, the ``now`` it was received with); ``stations`` are all the
    stations that had a good copy by the time it was released."""

    data: bytes
    scid: int
    vcid: int
    vc_frame_count: int
    station: str
    ert: float
    stations: tuple[str, ...]


@dataclass(slots=True)
class StationQuality:
    """Running totals of one station's contribution (mutable; the merge bumps them)."""

    frames: int = 0
    """Frames delivered, good or bad."""
    crc_failures: int = 0
    malformed: int = 0
    """Wrong length or version."""
    idle_frames: int = 0
    """AOS idle frames (VCID 63), dropped here."""
    contributed: int = 0
    """Released frames whose copy came from this station (it was first)."""
    duplicates: int = 0
    """Good copies of frames already held or released."""
    unique: int = 0
    """Released frames no other station had a good copy of (so far)."""
    late: int = 0
    """Good frames that arrived after their slot was given up."""
    gaps: int = 0
    """VC frame count discontinuities in this station's own stream."""


#: The per-station merge series: (metric name, help, the StationQuality field it reads).
_QUALITY_METRICS: Final = (
    ("dawnlink_merge_frames_total", "Frames a station delivered to the merge.", "frames"),
    ("dawnlink_merge_crc_failures_total", "Frames whose FECF (CRC-16) failed.", "crc_failures"),
    ("dawnlink_merge_malformed_total", "Frames of the wrong length or version.", "malformed"),
    ("dawnlink_merge_idle_frames_total", "AOS idle frames (VCID 63) dropped.", "idle_frames"),
    (
        "dawnlink_merge_contributed_total",
        "Released frames whose copy came from this station.",
        "contributed",
    ),
    (
        "dawnlink_merge_duplicates_total",
        "Good copies of frames already held or released.",
        "duplicates",
    ),
    ("dawnlink_merge_unique_total", "Released frames no other station had.", "unique"),
    ("dawnlink_merge_late_total", "Good frames that came after their slot was given up.", "late"),
    (
        "dawnlink_merge_gaps_total",
        "VC frame count discontinuities in the station's own stream.",
        "gaps",
    ),
)


class _Copy:
    __slots__ = ("data", "ert", "mask", "station")

    def __init__(self, data: bytes, station: int, ert: float) -> None:
        self.data = data
        self.station = station
        self.ert = ert
        self.mask = 1 << station


class _Stream:
    """Merge state of one virtual channel."""

    __slots__ = (
        "buffer",
        "deadline",
        "first_seen",
        "history",
        "last_seen",
        "late_run",
        "next",
        "ref",
        "scid",
        "vcid",
    )

    def __init__(self, scid: int, vcid: int, now: float) -> None:
        self.scid = scid
        self.vcid = vcid
        self.next: int | None = None  # next count to release; None while held at start
        self.ref = 0  # the first count seen, distances during the start hold are from it
        self.buffer: dict[int, _Copy] = {}
        self.history: dict[int, int] = {}  # released count -> mask of stations with it
        self.deadline: float | None = None
        self.first_seen = now
        self.last_seen = now
        self.late_run = 0


class StationMerge:
    """Merge frames of one physical channel type from several stations.

    ``params``: :class:`~comms.frames.TmParams` or :class:`~comms.frames.AosParams` (the
    frame length and FECF are read from them). ``window``: how far ahead of the oldest
    missing count a frame may be before that count is given up (default 64 for TM, 4096
    for AOS; TM must stay below 128). ``timeout_s``: how long a missing count holds the
    frames behind it. ``start_hold_s``: how long a new virtual channel waits for earlier
    counts from slower stations (default ``timeout_s``; 0 for a single station).
    ``idle_reset_s``: a channel silent this long starts over.
    """

    def __init__(
        self,
        params: TmParams | AosParams,
        *,
        window: int | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        start_hold_s: float | None = None,
        idle_reset_s: float = DEFAULT_IDLE_RESET_S,
    ) -> None:
        if isinstance(params, TmParams):
            self._aos = False
            self._modulus = 256
            default_window = TM_DEFAULT_WINDOW
        elif isinstance(params, AosParams):
            self._aos = True
            self._modulus = 1 << 24
            default_window = AOS_DEFAULT_WINDOW
        else:
            raise UsageError(
                f"StationMerge takes TmParams or AosParams, not {type(params).__name__}."
            )
        if window is None:
            window = default_window
        half = self._modulus // 2
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window < half:
            raise UsageError(
                f"window must be an int in 1..{half - 1} (below half the VC frame count "
                f"range, or ahead and behind are ambiguous), got {window!r}."
            )
        for name, value in (("timeout_s", timeout_s), ("idle_reset_s", idle_reset_s)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise UsageError(f"{name} must be a non-negative number of seconds, got {value!r}.")
        if start_hold_s is None:
            start_hold_s = timeout_s
        if isinstance(start_hold_s, bool) or not isinstance(start_hold_s, int | float):
            raise UsageError(f"start_hold_s must be seconds or None, got {start_hold_s!r}.")
        if start_hold_s < 0:
            raise UsageError(f"start_hold_s must be non-negative, got {start_hold_s!r}.")
        self.params = params
        self.window = window
        self.timeout_s = float(timeout_s)
        self.start_hold_s = float(start_hold_s)
        self.idle_reset_s = float(idle_reset_s)
        self._half = half
        self._length = params.frame_length
        self._fecf = params.has_fecf
        self._streams: dict[int, _Stream] = {}
        self._station_index: dict[str, int] = {}
        self._names: list[str] = []
        self._quality: list[StationQuality] = []
        self._station_expected: dict[tuple[int, int], int] = {}
        self._mask_names: dict[int, tuple[str, ...]] = {}
        self._out: list[MergedFrame] = []
        self._events: list[MergeEvent] = []

    # -- outputs ---------------------------------------------------------------------

    def frames(self) -> list[MergedFrame]:
        """Drain the frames released so far, in VC frame count order per channel."""
        out, self._out = self._out, []
        return out

    def events(self) -> list[MergeEvent]:
        """Drain the events reported so far."""
        events, self._events = self._events, []
        return events

    def quality(self) -> dict[str, StationQuality]:
        """Per-station totals (live objects: they keep counting)."""
        return dict(zip(self._names, self._quality, strict=True))

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next be called, None if nothing is held."""
        deadlines = [s.deadline for s in self._streams.values() if s.deadline is not None]
        return min(deadlines) if deadlines else None

    @property
    def held(self) -> int:
        """Frames held waiting for a missing count."""
        return sum(len(s.buffer) for s in self._streams.values())

    def register_metrics(self, registry: Registry, stations: Sequence[str] = ()) -> None:
        """Expose :class:`StationQuality` per station (``station="<name>"``) and the
        frames held. ``stations`` are registered now so their series exist (at 0)
        before their first frame; others appear with theirs."""
        for station in stations:
            self.add_station(station)

        def reader(attr: str) -> Callable[[], list[tuple[tuple[str], float]]]:
            return lambda: [
                ((name,), float(getattr(quality, attr))) for name, quality in self.quality().items()
            ]

        for name, help, attr in _QUALITY_METRICS:
            registry.counter(name, help, labelnames=("station",), collect=reader(attr))
        registry.gauge(
            "dawnlink_merge_held_frames",
            "Frames the merge holds behind a missing VC frame count.",
            lambda: self.held,
        )

    # -- inputs ----------------------------------------------------------------------

    def add_station(self, station: str) -> StationQuality:
        """Register ``station`` (stations also register on their first frame)."""
        index = self._station_index.get(station)
        if index is None:
            if not isinstance(station, str) or not station:
                raise UsageError(f"A station is named by a non-empty str, got {station!r}.")
            index = self._station_index[station] = len(self._names)
            self._names.append(station)
            self._quality.append(StationQuality())
        return self._quality[index]

    def receive(self, station: str, frame: BytesLike, now: float) -> None:
        """Take one frame (FECF included) that ``station`` received at ``now``."""
        index = self._station_index.get(station)
        if index is None:
            self.add_station(station)
            index = self._station_index[station]
        quality = self._quality[index]
        quality.frames += 1
        data = frame if isinstance(frame, bytes) else bytes(frame)
        if len(data) != self._length:
            quality.malformed += 1
            self._events.append(
                FrameRefused(
                    station,
                    RefuseReason.LENGTH,
                    f"{len(data)} octets on a channel of {self._length}-octet frames",
                )
            )
            return
        if self._fecf and crc16_ccitt(data):
            quality.crc_failures += 1
            self._events.append(FrameRefused(station, RefuseReason.FECF, "FECF mismatch"))
            return
        if self._aos:
            w0, rest = _AOS_HEADER.unpack_from(data)
            if w0 >> 14 != 1:
                quality.malformed += 1
                self._events.append(
                    FrameRefused(station, RefuseReason.VERSION, f"AOS version {w0 >> 14}")
                )
                return
            scid = (w0 >> 6) & 0xFF
            vcid = w0 & 0x3F
            if vcid == _AOS_IDLE_VCID:
                quality.idle_frames += 1
                return
            count = rest >> 8
            key = scid << 6 | vcid
        else:
            w0, _mc, count = _TM_HEADER.unpack_from(data)
            if w0 >> 14:
                quality.malformed += 1
                self._events.append(
                    FrameRefused(station, RefuseReason.VERSION, f"TM version {w0 >> 14}")
                )
                return
            scid = (w0 >> 4) & 0x3FF
            vcid = (w0 >> 1) & 7
            key = scid << 6 | vcid
        modulus = self._modulus
        # This station's own continuity, for its quality report.
        skey = (index, key)
        expected = self._station_expected.get(skey)
        if expected is not None and expected != count:
            quality.gaps += 1
        self._station_expected[skey] = (count + 1) % modulus

        stream = self._streams.get(key)
        if stream is not None and now - stream.last_seen > self.idle_reset_s:
            self._reset(stream, "silent longer than idle_reset_s")
            stream = None
        if stream is None:
            stream = self._streams[key] = _Stream(scid, vcid, now)
            stream.ref = count
            if self.start_hold_s > 0:
                stream.deadline = now + self.start_hold_s
            else:
                stream.next = count
        stream.last_seen = now
        if stream.deadline is not None and stream.deadline <= now:
            self._expire(stream, now)
        bit = 1 << index
        next_count = stream.next
        if next_count is None:
            self._receive_held(stream, data, count, index, now)
            return
        distance = ((count - next_count + self._half) % modulus) - self._half
        if distance < 0:
            self._behind(stream, count, index, now)
            return
        stream.late_run = 0
        buffer = stream.buffer
        copy = buffer.get(count)
        if copy is not None:
            quality.duplicates += 1
            copy.mask |= bit
            return
        if distance == 0 and not buffer:
            # The common case: in order, nothing held. Release at once.
            self._release(stream, _Copy(data, index, now), count)
            stream.next = (count + 1) % modulus
            return
        buffer[count] = _Copy(data, index, now)
        if distance >= self.window:
            self._skip_to(stream, (count - self.window + 1) % modulus)
        self._drain(stream)
        self._rearm(stream, now)

    def on_timer(self, now: float) -> None:
        """Give up the missing counts whose time is up and release what they held."""
        for stream in list(self._streams.values()):
            if stream.deadline is not None and stream.deadline <= now:
                self._expire(stream, now)

    def flush(self) -> None:
        """End of pass: give up every missing count and release everything held."""
        for stream in self._streams.values():
            if stream.next is None:
                self._start(stream)
            if stream.buffer:
                last = max(stream.buffer, key=lambda c: self._ahead(stream, c))
                self._skip_to(stream, (last + 1) % self._modulus)
            stream.deadline = None

    # -- internals -------------------------------------------------------------------

    def _ahead(self, stream: _Stream, count: int) -> int:
        base = stream.next if stream.next is not None else stream.ref
        return ((count - base + self._half) % self._modulus) - self._half

    def _receive_held(
        self, stream: _Stream, data: bytes, count: int, index: int, now: float
    ) -> None:
        copy = stream.buffer.get(count)
        if copy is not None:
            self._quality[index].duplicates += 1
            copy.mask |= 1 << index
            return
        stream.buffer[count] = _Copy(data, index, now)
        spread = [self._ahead(stream, c) for c in stream.buffer]
        if max(spread) - min(spread) >= self.window:
            self._start(stream)
            if stream.buffer:
                top = max(stream.buffer, key=lambda c: self._ahead(stream, c))
                if self._ahead(stream, top) >= self.window:
                    self._skip_to(stream, (top - self.window + 1) % self._modulus)
                self._drain(stream)
            self._rearm(stream, now)

    def _start(self, stream: _Stream) -> None:
        """End the start hold: release from the lowest count held."""
        stream.deadline = None
        if not stream.buffer:
            stream.next = stream.ref
            return
        stream.next = min(stream.buffer, key=lambda c: self._ahead(stream, c))
        stream.deadline = None
        self._drain(stream)

    def _expire(self, stream: _Stream, now: float) -> None:
        if stream.next is None:
            self._start(stream)
        while stream.buffer:
            oldest = min(copy.ert for copy in stream.buffer.values())
            if oldest + self.timeout_s > now:
                break
            nearest = min(stream.buffer, key=lambda c: self._ahead(stream, c))
            self._skip_to(stream, nearest)
            self._drain(stream)
        self._rearm(stream, now)

    def _rearm(self, stream: _Stream, now: float) -> None:
        if stream.next is None:
            return  # the start hold keeps its deadline
        if stream.buffer:
            stream.deadline = min(c.ert for c in stream.buffer.values()) + self.timeout_s
        else:
            stream.deadline = None

    def _behind(self, stream: _Stream, count: int, index: int, now: float) -> None:
        mask = stream.history.get(count)
        quality = self._quality[index]
        bit = 1 << index
        if mask is not None:
            quality.duplicates += 1
            if not mask & bit:
                if mask & (mask - 1) == 0:  # it was one station's unique frame
                    self._quality[mask.bit_length() - 1].unique -= 1
                stream.history[count] = mask | bit
            return
        quality.late += 1
        self._events.append(LateFrame(self._names[index], stream.scid, stream.vcid, count))
        stream.late_run += 1
        if stream.late_run >= self.window:
            # The spacecraft's counts restarted (or a station replays an old pass):
            # start over rather than drop everything from now on.
            self._reset(stream, "window frames in a row arrived behind the release point")

    def _reset(self, stream: _Stream, reason: str) -> None:
        if stream.next is None:
            self._start(stream)
        if stream.buffer:
            last = max(stream.buffer, key=lambda c: self._ahead(stream, c))
            self._skip_to(stream, (last + 1) % self._modulus)
        del self._streams[stream.scid << 6 | stream.vcid]
        self._events.append(StreamReset(stream.scid, stream.vcid, reason))

    def _skip_to(self, stream: _Stream, target: int) -> None:
        """Release everything held before ``target`` in order, give up the missing
        counts before it, and continue from ``target``."""
        assert stream.next is not None
        modulus = self._modulus
        span = (target - stream.next) % modulus
        if span == 0:
            return
        base = stream.next
        held = sorted(
            (c for c in stream.buffer if (c - base) % modulus < span),
            key=lambda c: (c - base) % modulus,
        )
        for count in held:
            gap = (count - stream.next) % modulus
            if gap:
                self._give_up(stream, gap)
            self._release(stream, stream.buffer.pop(count), count)
            stream.next = (count + 1) % modulus
        gap = (target - stream.next) % modulus
        if gap:
            self._give_up(stream, gap)
            stream.next = target

    def _give_up(self, stream: _Stream, missing: int) -> None:
        assert stream.next is not None
        self._events.append(FramesGivenUp(stream.scid, stream.vcid, stream.next, missing))
        if missing >= self.window:
            stream.history.clear()
        else:
            history = stream.history
            start = stream.next - self.window
            for k in range(missing):
                history.pop((start + k) % self._modulus, None)

    def _drain(self, stream: _Stream) -> None:
        buffer = stream.buffer
        count = stream.next
        assert count is not None
        modulus = self._modulus
        while count in buffer:
            self._release(stream, buffer.pop(count), count)
            count = (count + 1) % modulus
        stream.next = count

    def _release(self, stream: _Stream, copy: _Copy, count: int) -> None:
        mask = copy.mask
        names = self._mask_names.get(mask)
        if names is None:
            names = self._mask_names[mask] = tuple(
                n for i, n in enumerate(self._names) if mask >> i & 1
            )
        quality = self._quality[copy.station]
        quality.contributed += 1
        if mask & (mask - 1) == 0:
            quality.unique += 1
        history = stream.history
        history[count] = mask
        history.pop((count - self.window) % self._modulus, None)
        self._out.append(
            MergedFrame(
                copy.data,
                stream.scid,
                stream.vcid,
                count,
                self._names[copy.station],
                copy.ert,
                names,
            )
        )
