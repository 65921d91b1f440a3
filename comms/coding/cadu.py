"""The TM coding chain of 131.0-B-5: transfer frames to CADUs and back.

A Channel Access Data Unit (CADU) is what goes on the physical channel for each transfer
frame when Reed-Solomon coding (or no coding) is used (131.0-B-5 sections 4, 9 and 10)::

    send:     frame -> RS encode (codeblock) -> pseudo-randomize -> ASM in front -> CADU
    receive:  stream -> frame sync (ASM) -> derandomize -> RS decode -> frame

The order matters and is the book's: the pseudo-randomizer (section 10) is applied to
the whole codeblock, check symbols included, starting with the first octet after the
ASM, and restarted for every codeblock; the ASM itself is never randomized. Without
Reed-Solomon the randomizer covers the frame alone.

- :class:`CaduParams`: the managed parameters both ends agree on (frame length, ASM,
  randomizer on/off, E, interleave depth, virtual fill), validated on construction;
- :class:`CaduEncoder`: ``encode(frame) -> cadu`` and a numpy batch ``encode_many``;
- :class:`CaduDecoder`: sans-I/O ``feed(chunk) -> events`` over a byte stream whose
  frames may start at any bit offset (via :class:`~comms.coding.sync.FrameSynchronizer`),
  decoding every CADU that a chunk completes in one ``decode_many`` batch; and
  ``decode(cadu)`` for one octet-aligned CADU.

A codeblock Reed-Solomon cannot correct is link data, not a programming error: it comes
out as an :class:`UncorrectableCodeblock` event carrying the (partly corrected) octets,
never as a frame, so nothing above this layer can mistake it for a good one.

Left out: convolutional, turbo and LDPC codes (other markers and codeblock shapes), the
optional ASM for uncoded frames of other lengths, and idle-frame insertion (the virtual
channel layer produces idle frames; every frame handed in here is sent).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.coding.randomizer import TM_SEQUENCE, randomize_tm, randomize_tm_many
from comms.coding.reed_solomon import INTERLEAVE_DEPTHS, ReedSolomon
from comms.coding.sync import (
    ASM,
    FrameSynchronizer,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    SyncedFrame,
    SyncEvent,
    SyncState,
)
from comms.errors import DecodeError, UsageError

__all__ = [
    "CaduCounters",
    "CaduDecoder",
    "CaduEncoder",
    "CaduEvent",
    "CaduFrame",
    "CaduParams",
    "UncorrectableCodeblock",
]

# 732.1-B-2 frames reach 65536 octets; nothing in 131.0-B-5 bounds an uncoded frame more
# tightly, and the synchronizer buffers a frame or two, so this is a sanity bound only.
_MAX_UNCODED_FRAME = 65536


@dataclass(frozen=True)
class CaduParams:
    """Managed parameters of a CADU channel (131.0-B-5 sections 4, 9, 10).

    - ``frame_length``: octets per transfer frame (the data part of a codeblock).
    - ``asm``: the 4-octet Attached Sync Marker, ``1A CF FC 1D`` by default (section 9).
    - ``randomize``: apply the TM pseudo-randomizer; default True because 131.0-B-5
      section 10 requires enough bit transitions and most ground stations expect it.
    - ``rs_e``: 16 for RS(255,223), 8 for RS(255,239), None for no Reed-Solomon.
    - ``interleave``: depth I, one of 1, 2, 3, 4, 5, 8 (1 without Reed-Solomon).
    - ``virtual_fill``: Q, leading zero data symbols not sent (shortened code), a
      multiple of I; with Reed-Solomon ``frame_length`` must equal I*(255-2E) - Q.
    - ``dual_basis``: check symbols in Berlekamp's dual basis as the book says (True);
      False only to talk to conventional-basis tools.

    :meth:`shortened` works out the virtual fill for a given frame length.
    """

    frame_length: int
    asm: bytes = ASM
    randomize: bool = True
    rs_e: int | None = 16
    interleave: int = 1
    virtual_fill: int = 0
    dual_basis: bool = True
    _check_length: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("randomize", "dual_basis"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(
                    f"CaduParams.{name} must be True or False, got {getattr(self, name)!r}."
                )
        if not isinstance(self.asm, bytes) or len(self.asm) != 4:
            raise UsageError(
                f"CaduParams.asm must be 4 octets of bytes (the 32-bit marker), got {self.asm!r}."
            )
        length = self.frame_length
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise UsageError(f"CaduParams.frame_length must be a positive int, got {length!r}.")
        if self.rs_e is None:
            if self.interleave != 1 or self.virtual_fill != 0:
                raise UsageError(
                    "Interleaving and virtual fill belong to Reed-Solomon; with rs_e=None "
                    f"leave interleave=1 and virtual_fill=0 (got {self.interleave!r} and "
                    f"{self.virtual_fill!r})."
                )
            if length > _MAX_UNCODED_FRAME:
                raise UsageError(
                    f"CaduParams.frame_length must be at most {_MAX_UNCODED_FRAME}, got {length}."
                )
            object.__setattr__(self, "_check_length", 0)
            return
        if isinstance(self.rs_e, bool) or self.rs_e not in (8, 16):
            raise UsageError(
                f"CaduParams.rs_e must be 16 (RS(255,223)), 8 (RS(255,239)) or None, "
                f"not {self.rs_e!r}."
            )
        if isinstance(self.interleave, bool) or self.interleave not in INTERLEAVE_DEPTHS:
            raise UsageError(
                f"CaduParams.interleave must be one of {INTERLEAVE_DEPTHS}, "
                f"not {self.interleave!r}."
            )
        capacity = self.interleave * (255 - 2 * self.rs_e)
        if length != capacity - self.virtual_fill:
            fill = capacity - length
            hint = (
                f"pass virtual_fill={fill} (or use CaduParams.shortened)"
                if 0 <= fill < capacity and fill % self.interleave == 0
                else f"pick a frame length of at most {capacity} that leaves a virtual fill "
                f"divisible by {self.interleave}"
            )
            raise UsageError(
                f"With RS E={self.rs_e} and interleave {self.interleave} a frame is "
                f"{capacity} octets less the virtual fill ({self.virtual_fill}), i.e. "
                f"{capacity - self.virtual_fill}, not {length}; {hint}."
            )
        # ReedSolomon checks the fill itself (a multiple of I, below the capacity).
        ReedSolomon(self.rs_e, self.interleave, self.virtual_fill, self.dual_basis)
        object.__setattr__(self, "_check_length", 2 * self.rs_e * self.interleave)

    @classmethod
    def shortened(
        cls,
        frame_length: int,
        *,
        rs_e: int = 16,
        interleave: int = 1,
        asm: bytes = ASM,
        randomize: bool = True,
        dual_basis: bool = True,
    ) -> CaduParams:
        """Parameters for ``frame_length`` with the virtual fill that makes it fit."""
        if isinstance(interleave, int) and isinstance(rs_e, int) and isinstance(frame_length, int):
            fill = interleave * (255 - 2 * rs_e) - frame_length
        else:
            fill = 0  # let __post_init__ say what is wrong with the arguments
        return cls(frame_length, asm, randomize, rs_e, interleave, fill, dual_basis)

    @property
    def codeblock_length(self) -> int:
        """Octets after the ASM: the frame plus 2E*I check symbols (just the frame uncoded)."""
        return self.frame_length + self._check_length

    @property
    def cadu_length(self) -> int:
        """Octets of one CADU, ASM included."""
        return len(self.asm) + self.codeblock_length

    def reed_solomon(self) -> ReedSolomon | None:
        """The code these parameters select, None without Reed-Solomon."""
        if self.rs_e is None:
            return None
        return ReedSolomon(self.rs_e, self.interleave, self.virtual_fill, self.dual_basis)


def _sequence(length: int) -> npt.NDArray[np.uint8]:
    """The randomizer sequence over ``length`` octets, as a read-only row."""
    row = np.resize(np.frombuffer(TM_SEQUENCE, dtype=np.uint8), length)
    row.flags.writeable = False
    return row


class CaduEncoder:
    """Transfer frames to CADUs for one :class:`CaduParams` channel.

    The encoder holds no state between frames (the randomizer restarts on each
    codeblock), so one instance may serve any number of callers.
    """

    __slots__ = ("_asm_row", "_rs", "_sequence", "params")

    def __init__(self, params: CaduParams) -> None:
        if not isinstance(params, CaduParams):
            raise UsageError(f"CaduEncoder takes CaduParams, not {type(params).__name__}.")
        self.params = params
        self._rs = params.reed_solomon()
        self._sequence = _sequence(params.codeblock_length)
        self._asm_row = np.frombuffer(params.asm, dtype=np.uint8)

    def encode(self, frame: BytesLike) -> bytes:
        """One CADU: the ASM, then the (randomized) codeblock of ``frame``."""
        params = self.params
        if len(frame) != params.frame_length:
            raise UsageError(
                f"This CADU channel carries {params.frame_length}-octet frames; got "
                f"{len(frame)} octets. Size the frame with the virtual channel layer first."
            )
        codeblock = self._rs.encode(frame) if self._rs is not None else bytes(frame)
        if params.randomize:
            codeblock = randomize_tm(codeblock)
        return params.asm + codeblock

    def encode_many(
        self, frames: npt.ArrayLike | BytesLike | Iterable[BytesLike]
    ) -> npt.NDArray[np.uint8]:
        """CADUs of many frames at once, one per row of an (N, cadu_length) uint8 array.

        ``frames`` is an (N, frame_length) uint8 array, N frames back to back in one
        bytes-like, or an iterable of frames. ``.tobytes()`` of the result is the stream.
        """
        rows = self._rows(frames)
        params = self.params
        out = np.empty((rows.shape[0], params.cadu_length), dtype=np.uint8)
        asm_length = len(params.asm)
        out[:, :asm_length] = self._asm_row
        codeblocks = self._rs.encode_many(rows) if self._rs is not None else rows
        if params.randomize:
            # XOR straight into the output: one pass, no intermediate array.
            np.bitwise_xor(codeblocks, self._sequence, out=out[:, asm_length:])
        else:
            out[:, asm_length:] = codeblocks
        return out

    def _rows(
        self, frames: npt.ArrayLike | BytesLike | Iterable[BytesLike]
    ) -> npt.NDArray[np.uint8]:
        length = self.params.frame_length
        if isinstance(frames, bytes | bytearray | memoryview):
            flat = np.frombuffer(frames, dtype=np.uint8)
            if flat.size % length:
                raise UsageError(
                    f"encode_many takes whole {length}-octet frames back to back; got "
                    f"{flat.size} octets ({flat.size % length} too many)."
                )
            return flat.reshape(-1, length)
        if isinstance(frames, np.ndarray):
            array = frames
        elif isinstance(frames, Iterable):
            items = [bytes(f) for f in frames]  # type: ignore[arg-type]
            for index, item in enumerate(items):
                if len(item) != length:
                    raise UsageError(
                        f"Frame {index} is {len(item)} octets; this CADU channel carries "
                        f"{length}-octet frames."
                    )
            return np.frombuffer(b"".join(items), dtype=np.uint8).reshape(-1, length)
        else:
            array = np.asarray(frames)
        if array.dtype != np.uint8 or array.ndim != 2 or array.shape[1] != length:
            raise UsageError(
                f"encode_many takes an (N, {length}) uint8 array; got {array.dtype} "
                f"with shape {array.shape}."
            )
        return array


@dataclass(frozen=True, slots=True)
class CaduFrame:
    """A transfer frame recovered from one CADU.

    ``data`` is the frame (derandomized, Reed-Solomon corrected); ``bit_offset`` the
    stream bit where its ASM began; ``corrected_per_codeword`` the symbols Reed-Solomon
    corrected in each of the I codewords (empty without Reed-Solomon); ``asm_errors``
    the marker's wrong bits; ``inverted`` True when the stream arrived complemented;
    ``flywheel`` True when the marker was missing and lock alone placed the frame.
    """

    data: bytes
    bit_offset: int
    corrected_per_codeword: tuple[int, ...] = ()
    asm_errors: int = 0
    inverted: bool = False
    flywheel: bool = False

    @property
    def corrected(self) -> int:
        """Symbols Reed-Solomon corrected in this CADU (0: arrived clean)."""
        return sum(self.corrected_per_codeword)


@dataclass(frozen=True, slots=True)
class UncorrectableCodeblock:
    """A CADU whose codeblock Reed-Solomon could not correct: not a frame.

    ``data`` holds the frame octets as best known (codewords listed in
    ``uncorrectable_codewords`` as received, the others corrected), for logging or
    forensic use only. Other fields as in :class:`CaduFrame`.
    """

    data: bytes
    bit_offset: int
    uncorrectable_codewords: tuple[int, ...]
    corrected_per_codeword: tuple[int, ...]
    asm_errors: int = 0
    inverted: bool = False
    flywheel: bool = False

    def __post_init__(self) -> None:
        if not self.uncorrectable_codewords:
            raise UsageError("An uncorrectable codeblock names at least one codeword.")


CaduEvent = (
    CaduFrame | UncorrectableCodeblock | LockAcquired | LockLost | SlipDetected | GarbageSkipped
)
"""What :meth:`CaduDecoder.feed` returns, in stream order."""


@dataclass(frozen=True, slots=True)
class CaduCounters:
    """Running totals of a :class:`CaduDecoder` (a snapshot; counters only grow).

    ``cadus`` counts every codeblock found (frames plus uncorrectable ones);
    ``rs_corrected_symbols`` the symbols corrected in all of them and
    ``rs_corrected_cadus`` the CADUs that needed at least one correction.
    """

    cadus: int = 0
    frames: int = 0
    rs_corrected_symbols: int = 0
    rs_corrected_cadus: int = 0
    uncorrectable: int = 0
    flywheel_frames: int = 0
    locks_acquired: int = 0
    locks_lost: int = 0
    slips: int = 0
    garbage_bits: int = 0


class CaduDecoder:
    """CADU stream to transfer frames, sans-I/O (131.0-B-5 sections 4, 9, 10).

    ``feed(chunk)`` takes any piece of the demodulated stream (octets; frames may start
    at any bit offset and the stream may be complemented) and returns the events it
    completed, in stream order: :class:`CaduFrame` for good frames,
    :class:`UncorrectableCodeblock` for codeblocks Reed-Solomon gave up on, and the
    synchronizer's :class:`LockAcquired`, :class:`LockLost`, :class:`SlipDetected` and
    :class:`GarbageSkipped`. The output does not depend on how the stream is split.

    The keyword options go to :class:`~comms.coding.sync.FrameSynchronizer` (see there
    for their defaults and why). Without Reed-Solomon nothing can be checked here; the
    frame's FECF is the check, one layer up.
    """

    def __init__(
        self,
        params: CaduParams,
        *,
        max_asm_errors: int = 2,
        check_count: int = 1,
        flywheel: int = 3,
        max_slip_bits: int = 1,
        allow_inverted: bool = True,
    ) -> None:
        if not isinstance(params, CaduParams):
            raise UsageError(f"CaduDecoder takes CaduParams, not {type(params).__name__}.")
        self.params = params
        self._rs = params.reed_solomon()
        self._sync = FrameSynchronizer(
            params.codeblock_length,
            params.asm,
            max_asm_errors=max_asm_errors,
            check_count=check_count,
            flywheel=flywheel,
            max_slip_bits=max_slip_bits,
            allow_inverted=allow_inverted,
        )
        self._max_asm_errors = max_asm_errors
        self._asm_int = int.from_bytes(params.asm, "big")
        self._clean = (0,) * params.interleave if self._rs is not None else ()
        self._cadus = 0
        self._frames = 0
        self._corrected_symbols = 0
        self._corrected_cadus = 0
        self._uncorrectable = 0
        self._flywheel_frames = 0
        self._locks_acquired = 0
        self._locks_lost = 0
        self._slips = 0
        self._garbage_bits = 0

    @property
    def state(self) -> SyncState:
        """The frame synchronizer's state (SEARCH, CHECK, LOCK or FLYWHEEL)."""
        return self._sync.state

    @property
    def counters(self) -> CaduCounters:
        return CaduCounters(
            cadus=self._cadus,
            frames=self._frames,
            rs_corrected_symbols=self._corrected_symbols,
            rs_corrected_cadus=self._corrected_cadus,
            uncorrectable=self._uncorrectable,
            flywheel_frames=self._flywheel_frames,
            locks_acquired=self._locks_acquired,
            locks_lost=self._locks_lost,
            slips=self._slips,
            garbage_bits=self._garbage_bits,
        )

    def feed(self, chunk: BytesLike) -> list[CaduEvent]:
        """Add stream octets; return the frames and events they completed, in order."""
        return self._process(self._sync.feed(chunk))

    def close(self) -> list[CaduEvent]:
        """End of stream: report the trailing bits that never made a whole CADU."""
        return self._process(self._sync.close())

    def decode(self, cadu: BytesLike) -> CaduFrame | UncorrectableCodeblock:
        """Decode one octet-aligned CADU (ASM included, true polarity).

        Raises :class:`DecodeError` for a wrong length or a marker with more than
        ``max_asm_errors`` wrong bits; an uncorrectable codeblock is returned as
        :class:`UncorrectableCodeblock`, like in the stream.
        """
        params = self.params
        if len(cadu) != params.cadu_length:
            raise DecodeError(
                "CADU length differs from the channel's CADU length",
                offset=min(len(cadu), params.cadu_length),
                expected=params.cadu_length,
                got=len(cadu),
            )
        asm_length = len(params.asm)
        marker = bytes(cadu[:asm_length])
        errors = (int.from_bytes(marker, "big") ^ self._asm_int).bit_count()
        if errors > self._max_asm_errors:
            raise DecodeError(
                "attached sync marker not found",
                offset=0,
                expected=params.asm.hex(" "),
                got=marker.hex(" "),
            )
        synced = SyncedFrame(bytes(cadu[asm_length:]), 0, errors, False, False)
        (result,) = self._decode_blocks([synced])
        return result

    # -- internals ----------------------------------------------------------------------

    def _process(self, events: list[SyncEvent]) -> list[CaduEvent]:
        synced = [e for e in events if isinstance(e, SyncedFrame)]
        decoded = self._decode_blocks(synced)
        if len(synced) == len(events):  # the common case under lock: frames only
            return list(decoded)
        pending = iter(decoded)
        out: list[CaduEvent] = []
        for event in events:
            if isinstance(event, SyncedFrame):
                out.append(next(pending))
                continue
            if isinstance(event, LockAcquired):
                self._locks_acquired += 1
            elif isinstance(event, LockLost):
                self._locks_lost += 1
            elif isinstance(event, SlipDetected):
                self._slips += 1
            else:
                self._garbage_bits += event.bits
            out.append(event)
        return out

    def _decode_blocks(self, synced: list[SyncedFrame]) -> list[CaduFrame | UncorrectableCodeblock]:
        count = len(synced)
        if not count:
            return []
        self._cadus += count
        self._flywheel_frames += sum(s.flywheel for s in synced)
        rs = self._rs
        params = self.params
        if rs is None:
            self._frames += count
            if params.randomize:
                return [
                    CaduFrame(randomize_tm(s.data), s.bit_offset, (), *_sync_fields(s))
                    for s in synced
                ]
            return [CaduFrame(s.data, s.bit_offset, (), *_sync_fields(s)) for s in synced]
        if count == 1:
            block = synced[0].data
            if params.randomize:
                block = randomize_tm(block)
            one = rs.decode(block)
            return [
                self._result(
                    synced[0], one.data, one.corrected_per_codeword, one.uncorrectable_codewords
                )
            ]
        blocks = np.frombuffer(b"".join([s.data for s in synced]), dtype=np.uint8)
        blocks = blocks.reshape(count, params.codeblock_length)
        if params.randomize:
            blocks = randomize_tm_many(blocks)
        batch = rs.decode_many(blocks)
        flat = batch.data.tobytes()
        length = params.frame_length
        if not batch.corrected.any() and not batch.uncorrectable.any():
            self._frames += count
            clean = self._clean
            return [
                CaduFrame(
                    flat[i * length : (i + 1) * length], s.bit_offset, clean, *_sync_fields(s)
                )
                for i, s in enumerate(synced)
            ]
        corrected = batch.corrected.tolist()
        failed = batch.uncorrectable.tolist()
        out = []
        for i, s in enumerate(synced):
            bad = tuple(j for j, flag in enumerate(failed[i]) if flag)
            out.append(
                self._result(s, flat[i * length : (i + 1) * length], tuple(corrected[i]), bad)
            )
        return out

    def _result(
        self,
        synced: SyncedFrame,
        data: bytes,
        corrected: tuple[int, ...],
        uncorrectable: tuple[int, ...],
    ) -> CaduFrame | UncorrectableCodeblock:
        symbols = sum(corrected)
        self._corrected_symbols += symbols
        self._corrected_cadus += symbols > 0
        if uncorrectable:
            self._uncorrectable += 1
            return UncorrectableCodeblock(
                data, synced.bit_offset, uncorrectable, corrected, *_sync_fields(synced)
            )
        self._frames += 1
        return CaduFrame(data, synced.bit_offset, corrected, *_sync_fields(synced))


def _sync_fields(synced: SyncedFrame) -> tuple[int, bool, bool]:
    return synced.asm_errors, synced.inverted, synced.flywheel
