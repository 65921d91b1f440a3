"""Attached Sync Marker and frame synchronization: CCSDS 131.0-B-5 section 9.

The sending end puts the 32-bit ASM ``1A CF FC 1D`` in front of every transfer frame or
codeblock (131.0-B-5 section 9, :func:`attach_asm`). The receiving end finds those
markers in the demodulated bit stream: :class:`FrameSynchronizer` follows the usual
ground-station frame-synchronizer model of search, check, lock and flywheel:

- SEARCH: slide over the stream bit by bit until a marker appears with at most
  ``max_search_errors`` bit errors, in either polarity (BPSK phase ambiguity delivers
  the complement of the stream; the frames are then complemented back);
- CHECK: the next ``check_count`` markers must sit exactly one frame further on each,
  with at most ``max_asm_errors`` errors, or the candidate is dropped and search goes on
  one bit after it (this is what keeps a marker-like pattern in the data from locking);
- LOCK: one comparison per frame at the expected position; a marker found up to
  ``max_slip_bits`` early or late is a bit slip, reported and followed;
- FLYWHEEL: up to ``flywheel`` consecutive missed markers are coasted over, their frames
  still delivered (flagged), before lock is declared lost and search resumes.

The stream may start at any bit offset; frames are delivered realigned to octets. The
synchronizer is sans-I/O: :meth:`FrameSynchronizer.feed` takes any chunk and returns
what it found, and its output does not depend on how the stream was split.

Left out: variable frame lengths (the length is a managed parameter, fixed per
instance); convolutional node synchronization; the longer markers of the Turbo and LDPC
codes (only 32-bit markers are taken); confirming lock by a frame CRC.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.errors import UsageError

__all__ = [
    "ASM",
    "FrameSynchronizer",
    "GarbageSkipped",
    "LockAcquired",
    "LockLost",
    "SlipDetected",
    "SyncEvent",
    "SyncInput",
    "SyncState",
    "SyncedFrame",
    "attach_asm",
]

ASM: Final = b"\x1a\xcf\xfc\x1d"
"""The 32-bit Attached Sync Marker of uncoded, convolutional and Reed-Solomon channels."""

_COMPLEMENT: Final = bytes(255 - i for i in range(256))
_HIGH_BITS: Final = 0x8080808080808080
# Octets scanned per numpy pass in SEARCH: the window starts small, so a marker near the
# search position costs little, and doubles while nothing is found, to amortize the
# per-call cost of numpy over long stretches of noise.
_SEARCH_WINDOW_MIN: Final = 512
_SEARCH_WINDOW_MAX: Final = 65536


def attach_asm(frame: BytesLike, asm: bytes = ASM) -> bytes:
    """The frame (or codeblock) with the Attached Sync Marker in front (131.0-B-5 section 9)."""
    return asm + bytes(frame)


class SyncState(enum.Enum):
    SEARCH = "search"
    CHECK = "check"
    LOCK = "lock"
    FLYWHEEL = "flywheel"


class SyncInput(enum.Enum):
    MARKER_FOUND = "marker found while searching"
    CHECK_COMPLETE = "the last of check_count markers confirmed"
    CHECK_FAILED = "a marker missing while checking"
    MARKER_SEEN = "marker at the expected position (or slipped)"
    MARKER_MISSED = "marker missing, flywheel not exhausted"
    FLYWHEEL_EXHAUSTED = "marker missing, flywheel exhausted"


_TRANSITIONS: Final[dict[tuple[SyncState, SyncInput], SyncState]] = {
    (SyncState.SEARCH, SyncInput.MARKER_FOUND): SyncState.CHECK,
    (SyncState.CHECK, SyncInput.CHECK_COMPLETE): SyncState.LOCK,
    (SyncState.CHECK, SyncInput.CHECK_FAILED): SyncState.SEARCH,
    (SyncState.LOCK, SyncInput.MARKER_SEEN): SyncState.LOCK,
    (SyncState.LOCK, SyncInput.MARKER_MISSED): SyncState.FLYWHEEL,
    (SyncState.LOCK, SyncInput.FLYWHEEL_EXHAUSTED): SyncState.SEARCH,
    (SyncState.FLYWHEEL, SyncInput.MARKER_SEEN): SyncState.LOCK,
    (SyncState.FLYWHEEL, SyncInput.MARKER_MISSED): SyncState.FLYWHEEL,
    (SyncState.FLYWHEEL, SyncInput.FLYWHEEL_EXHAUSTED): SyncState.SEARCH,
}
"""The synchronizer's state table; a pair not listed is a bug in the synchronizer."""


@dataclass(frozen=True, slots=True)
class SyncedFrame:
    """A frame found after its marker, realigned to octets and in true polarity.

    ``bit_offset`` is the stream bit where its marker began, ``asm_errors`` how many
    marker bits were wrong, ``flywheel`` True when the marker was missing and the frame
    was delivered on the strength of the lock alone.
    """

    data: bytes
    bit_offset: int
    asm_errors: int
    inverted: bool
    flywheel: bool


@dataclass(frozen=True, slots=True)
class LockAcquired:
    """Search and check succeeded: frames follow from the marker at ``bit_offset``."""

    bit_offset: int
    inverted: bool

    def __post_init__(self) -> None:
        _check_offset(self.bit_offset)


@dataclass(frozen=True, slots=True)
class LockLost:
    """More consecutive markers were missing than the flywheel allows."""

    bit_offset: int

    def __post_init__(self) -> None:
        _check_offset(self.bit_offset)


@dataclass(frozen=True, slots=True)
class SlipDetected:
    """The marker turned up ``bits`` away from where lock expected it (negative: early).

    The frame before it was delivered with the wrong length's worth of bits.
    """

    bit_offset: int
    bits: int

    def __post_init__(self) -> None:
        _check_offset(self.bit_offset)
        if self.bits == 0:
            raise UsageError("A slip moves the marker by at least one bit; got 0 bits.")


@dataclass(frozen=True, slots=True)
class GarbageSkipped:
    """``bits`` stream bits from ``bit_offset`` on belonged to no frame."""

    bit_offset: int
    bits: int

    def __post_init__(self) -> None:
        _check_offset(self.bit_offset)
        if self.bits <= 0:
            raise UsageError(f"Skipped garbage is at least one bit long; got {self.bits}.")


SyncEvent = SyncedFrame | LockAcquired | LockLost | SlipDetected | GarbageSkipped


def _check_offset(bit_offset: int) -> None:
    if bit_offset < 0:
        raise UsageError(f"A stream bit offset is never negative; got {bit_offset}.")


# Cached: building the tables costs milliseconds, and every instance with this marker
# shares them read-only.
@functools.lru_cache(maxsize=8)
def _distance_tables(asm: bytes) -> npt.NDArray[np.uint64]:
    """For each marker octet k, a 2^16 table over octet pairs of 8 packed distances.

    Marker octet k, when the marker starts ``s`` bits into octet i, lies in the pair
    (i + k, i + k + 1) as ``(pair >> (8 - s)) & 0xFF``. Byte s of ``table[k][pair]`` is
    that octet's Hamming distance to the marker's; summing the 4 lookups at i .. i + 3
    gives the marker's distance at all 8 bit offsets of octet i at once (at most 32 per
    byte, so no carries between bytes).
    """
    pair = np.arange(65536, dtype=np.uint64)
    tables = np.zeros((len(asm), 65536), dtype=np.uint64)
    for k, octet in enumerate(asm):
        for s in range(8):
            piece = (pair >> np.uint64(8 - s)) & np.uint64(0xFF)
            dist = np.bitwise_count(piece ^ np.uint64(octet)).astype(np.uint64)
            tables[k] |= dist << np.uint64(8 * s)
    tables.flags.writeable = False
    return tables


class FrameSynchronizer:
    """Finds ASM-delimited frames of ``frame_length`` octets in a bit stream.

    ``frame_length`` counts the octets after the marker (1275 for a CADU carrying an
    RS(255,223) interleave-5 codeblock). Defaults: one check marker and a flywheel of 3
    follow common ground-station practice. With 2 marker bit errors allowed, a random
    32-bit pattern passes for the marker with probability 529 / 2^32 ~ 1.2e-7, while at
    a channel BER of 1e-3 a true marker is missed with probability ~ 5e-6 (C(32,3) p^3).
    Search accepts as many errors as lock, since the check step vets its candidates.
    """

    def __init__(
        self,
        frame_length: int,
        asm: bytes = ASM,
        *,
        max_asm_errors: int = 2,
        max_search_errors: int | None = None,
        check_count: int = 1,
        flywheel: int = 3,
        max_slip_bits: int = 1,
        allow_inverted: bool = True,
    ) -> None:
        if frame_length < 1:
            raise UsageError(f"frame_length counts octets after the marker; got {frame_length}.")
        if len(asm) != 4:
            raise UsageError(f"The marker must be 4 octets (32 bits); got {len(asm)} octets.")
        if max_search_errors is None:
            max_search_errors = max_asm_errors
        # Below 8 errors in 32 bits a marker and its complement cannot both match.
        if not 0 <= max_asm_errors <= 7:
            raise UsageError(f"max_asm_errors must be 0..7 bits; got {max_asm_errors}.")
        if not 0 <= max_search_errors <= max_asm_errors:
            raise UsageError(
                f"max_search_errors must be 0..max_asm_errors ({max_asm_errors}); "
                f"got {max_search_errors}."
            )
        if check_count < 0 or flywheel < 0:
            raise UsageError(
                f"check_count and flywheel count markers, never negative; "
                f"got {check_count} and {flywheel}."
            )
        if not 0 <= max_slip_bits <= 7:
            raise UsageError(f"max_slip_bits must be 0..7; got {max_slip_bits}.")
        self.frame_length = frame_length
        self.asm = bytes(asm)
        self.max_asm_errors = max_asm_errors
        self.max_search_errors = max_search_errors
        self.check_count = check_count
        self.flywheel = flywheel
        self.max_slip_bits = max_slip_bits
        self.allow_inverted = allow_inverted

        self._slot_octets = 4 + frame_length
        self._slot_bits = 8 * self._slot_octets
        self._asm_int = int.from_bytes(self.asm, "big")
        self._frame_mask = (1 << (8 * frame_length)) - 1
        self._tables = _distance_tables(self.asm)

        self._buf = bytearray()
        self._base = 0  # stream bit index of self._buf[0] (always a multiple of 8)
        self._pos = 0  # bit in _buf: next search position, candidate or expected marker
        self._state = SyncState.SEARCH
        self._inverted = False
        self._checked = 0
        self._misses = 0
        self._garbage_from: int | None = 0  # stream bit where unreported garbage begins
        self._window = _SEARCH_WINDOW_MIN

    @property
    def state(self) -> SyncState:
        return self._state

    @property
    def inverted(self) -> bool:
        """Polarity of the current lock (or candidate)."""
        return self._inverted

    def _go(self, event: SyncInput) -> None:
        try:
            self._state = _TRANSITIONS[(self._state, event)]
        except KeyError:  # pragma: no cover - a bug here, not bad input
            raise AssertionError(f"no transition from {self._state} on {event}") from None

    def feed(self, chunk: BytesLike) -> list[SyncEvent]:
        """Add stream octets; return the frames and events they completed, in order."""
        self._buf += chunk
        out: list[SyncEvent] = []
        progressed = True
        while progressed:
            if self._state is SyncState.SEARCH:
                progressed = self._search()
            elif self._state is SyncState.CHECK:
                progressed = self._check(out)
            else:
                progressed = self._track(out)
        self._trim()
        return out

    def close(self) -> list[SyncEvent]:
        """End of stream: report the bits that never made it into a frame."""
        end = self._base + 8 * len(self._buf)
        start = self._garbage_from
        if start is None:
            start = self._base + self._pos
        out: list[SyncEvent] = []
        if end > start:
            out.append(GarbageSkipped(start, end - start))
        self._buf.clear()
        self._base = end
        self._pos = 0
        self._garbage_from = end
        if self._state is not SyncState.SEARCH:
            self._state = SyncState.SEARCH
        return out

    # -- marker access -------------------------------------------------------------------

    def _distance(self, bit: int) -> int | None:
        """Marker distance (current polarity) at buffer bit ``bit``; None if not buffered."""
        if bit < 0:
            return None
        octet, shift = divmod(bit, 8)
        if shift == 0:
            if octet + 4 > len(self._buf):
                return None
            word = int.from_bytes(self._buf[octet : octet + 4], "big")
        else:
            if octet + 5 > len(self._buf):
                return None
            word = (int.from_bytes(self._buf[octet : octet + 5], "big") >> (8 - shift)) & (
                0xFFFFFFFF
            )
        if self._inverted:
            word ^= 0xFFFFFFFF
        return (word ^ self._asm_int).bit_count()

    def _frame_at(self, bit: int) -> bytes:
        """The frame after the marker at buffer bit ``bit`` (caller checked it is buffered)."""
        octet, shift = divmod(bit + 32, 8)
        if shift == 0:
            data = bytes(self._buf[octet : octet + self.frame_length])
            return data.translate(_COMPLEMENT) if self._inverted else data
        value = int.from_bytes(self._buf[octet : octet + self.frame_length + 1], "big")
        value = (value >> (8 - shift)) & self._frame_mask
        if self._inverted:
            value ^= self._frame_mask
        return value.to_bytes(self.frame_length, "big")

    def _slot_end(self, bit: int) -> int:
        """Octets of buffer needed to hold the marker at ``bit`` and its frame."""
        return -(-(bit + self._slot_bits) // 8)

    # -- states --------------------------------------------------------------------------

    def _search(self) -> bool:
        first_octet, first_shift = divmod(self._pos, 8)
        # Offsets of octet i are all judged together, which needs octets i .. i + 4.
        count = min(len(self._buf) - 4 - first_octet, self._window)
        if count <= 0:
            return False
        a = np.frombuffer(self._buf, dtype=np.uint8, count=count + 4, offset=first_octet)
        pairs = (a[:-1].astype(np.uint16) << 8) | a[1:]
        del a  # release the export of _buf before it can be resized
        t = self._tables
        dist = t[0][pairs[:-3]] + t[1][pairs[1:-2]] + t[2][pairs[2:-1]] + t[3][pairs[3:]]
        tol = self.max_search_errors
        hit = ((dist + np.uint64((0x7F - tol) * 0x0101010101010101)) & np.uint64(_HIGH_BITS)) != (
            np.uint64(_HIGH_BITS)
        )
        if self.allow_inverted:
            # Complement polarity: distance >= 32 - tol, i.e. byte + 96 + tol sets bit 7.
            inv = (dist + np.uint64((96 + tol) * 0x0101010101010101)) & np.uint64(_HIGH_BITS)
            hit |= inv != 0
        for i in np.flatnonzero(hit).tolist():
            per_shift = int(dist[i]).to_bytes(8, "little")
            for shift in range(first_shift if i == 0 else 0, 8):
                d = per_shift[shift]
                if d <= tol or (self.allow_inverted and d >= 32 - tol):
                    self._pos = 8 * (first_octet + i) + shift
                    self._inverted = d > tol
                    self._checked = 0
                    self._window = _SEARCH_WINDOW_MIN
                    self._go(SyncInput.MARKER_FOUND)
                    return True
        self._pos = 8 * (first_octet + count)
        self._window = min(2 * self._window, _SEARCH_WINDOW_MAX)
        return True

    def _check(self, out: list[SyncEvent]) -> bool:
        while self._checked < self.check_count:
            d = self._distance(self._pos + (self._checked + 1) * self._slot_bits)
            if d is None:
                return False
            if d > self.max_asm_errors:
                self._pos += 1
                self._go(SyncInput.CHECK_FAILED)
                return True
            self._checked += 1
        start = self._base + self._pos
        if self._garbage_from is not None and start > self._garbage_from:
            out.append(GarbageSkipped(self._garbage_from, start - self._garbage_from))
        self._garbage_from = None
        self._misses = 0
        out.append(LockAcquired(start, self._inverted))
        self._go(SyncInput.CHECK_COMPLETE)
        return True

    def _track(self, out: list[SyncEvent]) -> bool:
        buf = self._buf
        slot_bits = self._slot_bits
        tol = self.max_asm_errors
        # Hot path: octet-aligned true-polarity lock, one 4-octet comparison per frame.
        if self._pos % 8 == 0 and not self._inverted and self._state is SyncState.LOCK:
            octet = self._pos // 8
            slot = self._slot_octets
            asm = self.asm
            base = self._base
            with memoryview(buf) as view:
                while octet + slot <= len(buf) and view[octet : octet + 4] == asm:
                    out.append(
                        SyncedFrame(
                            bytes(view[octet + 4 : octet + slot]), base + 8 * octet, 0, False, False
                        )
                    )
                    octet += slot
            self._pos = 8 * octet
        pos = self._pos
        if len(buf) < self._slot_end(pos):
            return False
        d = self._distance(pos)
        assert d is not None  # the whole slot is buffered
        if d > tol:
            slip = self._find_slip(pos)
            if slip is None:
                return False  # wait for the octets a late marker would need
            if slip:
                pos += slip
                self._pos = pos
                out.append(SlipDetected(self._base + pos, slip))
                d = self._distance(pos)  # _find_slip made sure the slot is buffered
                assert d is not None
        flywheel = d > tol
        if flywheel:
            self._misses += 1
            if self._misses > self.flywheel:
                out.append(LockLost(self._base + pos))
                self._garbage_from = self._base + pos
                self._go(SyncInput.FLYWHEEL_EXHAUSTED)
                return True
            self._go(SyncInput.MARKER_MISSED)
        else:
            self._misses = 0
            if self._state is not SyncState.LOCK:
                self._go(SyncInput.MARKER_SEEN)
        out.append(SyncedFrame(self._frame_at(pos), self._base + pos, d, self._inverted, flywheel))
        self._pos = pos + slot_bits
        return True

    def _find_slip(self, pos: int) -> int | None:
        """Bits the marker moved (0: not found nearby); None if more octets are needed."""
        for k in range(1, self.max_slip_bits + 1):
            for step in (k, -k):
                if pos + step < 0:
                    continue
                if len(self._buf) < self._slot_end(pos + step):
                    return None
                d = self._distance(pos + step)
                if d is not None and d <= self.max_asm_errors:
                    return step
        return 0

    def _trim(self) -> None:
        # Keep max_slip_bits before the expected marker so an early marker can be seen.
        keep_from = max(0, (self._pos - self.max_slip_bits) // 8)
        if keep_from:
            del self._buf[:keep_from]
            self._base += 8 * keep_from
            self._pos -= 8 * keep_from
