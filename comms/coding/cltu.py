"""CLTU encoding and decoding with the BCH(63,56) code: CCSDS 231.0-B-4 sections 3 and 5.

A CLTU is the start sequence ``EB 90``, one or more codeblocks and the tail sequence
``C5 C5 C5 C5 C5 C5 C5 79``. A codeblock is 7 information octets followed by one octet
holding the 7 complemented parity bits of the (63,56) modified BCH code,
g(x) = x^7 + x^6 + x^2 + 1, and a 0 filler bit (231.0-B-4 section 3). The last codeblock is
completed with fill octets ``55``.

Decoding models the receiving end of 231.0-B-4 sections 3 and 5: codeblocks are decoded in order, in
error-correcting mode (single-bit errors corrected) or error-detecting mode (any parity
error rejects), and decoding stops at the first codeblock that is rejected. The tail
sequence is built to be such a codeblock; a damaged codeblock ends the CLTU the same way,
and everything before it is delivered while the rest is abandoned. :class:`CltuResult`
says which of the two happened.

The pseudo-randomizer (231.0-B-4 section 6) is :func:`comms.coding.randomizer.randomize_tc`.
It is applied to the frame before the fill octets are added, so the fill goes out as
plain ``55`` octets: the TC green book leaves randomizing the fill optional, and the
independent ccsds-tmtc (Java) encoder does the same. A receiver strips fill by the TC
frame length either way.

:class:`CltuStream` cuts CLTUs out of an octet stream (a ground station's uplink TCP
connection): octets before a start sequence are skipped and counted, and each CLTU ends
where :func:`cltu_decode` stops, so a tail with a bit error still ends it.

Left out: the CLTU start sequence search in a bit stream (the physical layer's carrier
and bit lock; a CLTU is handed in octet-aligned), the optional LDPC codes of 231.0-B-4
section 4, and the filler bit check (the filler bit is not covered by the code, so its
value is ignored on reception; it is only required to be sent as zero).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.coding.randomizer import randomize_tc
from comms.errors import DecodeError, UsageError

__all__ = [
    "CODEBLOCK_INFO_OCTETS",
    "CODEBLOCK_OCTETS",
    "FILL_OCTET",
    "START_SEQUENCE",
    "TAIL_SEQUENCE",
    "CltuEnd",
    "CltuResult",
    "CltuStream",
    "bch_parity",
    "cltu_decode",
    "cltu_encode",
]

START_SEQUENCE: Final = b"\xeb\x90"
TAIL_SEQUENCE: Final = b"\xc5\xc5\xc5\xc5\xc5\xc5\xc5\x79"
FILL_OCTET: Final = 0x55
CODEBLOCK_INFO_OCTETS: Final = 7
CODEBLOCK_OCTETS: Final = 8

# g(x) = x^7 + x^6 + x^2 + 1 without its x^7 term, for the shift-register remainder.
_G_LOW: Final = 0b1000101


def _remainder_of_bits(value: int, nbits: int) -> int:
    """m(x) * x^7 mod g(x) for the ``nbits``-bit message ``value`` (first bit = highest power).

    Only used to build the tables below at import time.
    """
    reg = 0
    for i in range(nbits - 1, -1, -1):
        feedback = ((value >> i) & 1) ^ (reg >> 6)
        reg = (reg << 1) & 0x7F
        if feedback:
            reg ^= _G_LOW
    return reg


def _build_tables() -> tuple[npt.NDArray[np.uint8], ...]:
    # The code is linear, so the remainder of a codeblock is the XOR of the remainders of
    # its octets each in its own position. Two octets per table index turn the 8 lookups
    # of a codeblock into 4 (measured faster with numpy than 8 lookups into 256 entries).
    per_octet = [[_remainder_of_bits(b << (8 * (6 - j)), 56) for b in range(256)] for j in range(7)]
    pair = np.arange(65536, dtype=np.uint32)
    hi, lo = pair >> 8, pair & 0xFF
    tables = []
    for j in (0, 2, 4):
        a = np.array(per_octet[j], dtype=np.uint8)
        b = np.array(per_octet[j + 1], dtype=np.uint8)
        tables.append(a[hi] ^ b[lo])
    # Last pair: info octet 6 and the received parity octet. The received parity bits are
    # complemented (231.0-B-4 section 3), so undo that here; the syndrome is then the XOR of
    # the recomputed and received remainders, zero for a clean codeblock.
    a6 = np.array(per_octet[6], dtype=np.uint8)
    received = ((~lo) >> 1) & 0x7F
    tables.append(a6[hi] ^ received.astype(np.uint8))
    return tuple(tables)


_T01, _T23, _T45, _T6P = _build_tables()


def _build_error_table() -> tuple[npt.NDArray[np.int16], npt.NDArray[np.uint8]]:
    """Syndrome -> (info octet index to fix or -1, bit mask), and which syndromes are fatal.

    Bits 0..55 of a codeblock are the information bits, 56..62 the parity bits. The 63
    single-bit errors give 63 distinct syndromes (g(x) = (x + 1)(x^6 + x + 1) with
    x^6 + x + 1 primitive of period 63), all of odd weight; every double error has an
    even-weight non-zero syndrome, so it is detected and never miscorrected.
    """
    octet = np.full(128, -1, dtype=np.int16)
    mask = np.zeros(128, dtype=np.uint8)
    fatal = np.ones(128, dtype=np.uint8)
    fatal[0] = 0
    for bit in range(63):
        if bit < 56:
            syndrome = _remainder_of_bits(1 << (55 - bit), 56)
            octet[syndrome] = bit // 8
            mask[syndrome] = 0x80 >> (bit % 8)
        else:
            syndrome = 1 << (62 - bit)  # a parity bit in error: nothing to fix in the info
        fatal[syndrome] = 0
    return octet, np.stack([mask, fatal]).astype(np.uint8)


_FIX_OCTET, _FIX_MASK_FATAL = _build_error_table()
_FIX_MASK = _FIX_MASK_FATAL[0]
_FATAL = _FIX_MASK_FATAL[1].astype(bool)


def _syndromes(blocks: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Syndromes of an (n, 8) array of codeblocks."""
    pairs = blocks.view(">u2")
    result: npt.NDArray[np.uint8] = (
        _T01[pairs[:, 0]] ^ _T23[pairs[:, 1]] ^ _T45[pairs[:, 2]] ^ _T6P[pairs[:, 3]]
    )
    return result


def bch_parity(info: BytesLike) -> int:
    """The codeblock's last octet for 7 information octets: complemented parity, filler 0."""
    if len(info) != CODEBLOCK_INFO_OCTETS:
        raise UsageError(
            f"A BCH(63,56) codeblock carries exactly 7 information octets; got {len(info)}."
        )
    block = np.frombuffer(bytes(info) + b"\xfe", dtype=np.uint8).reshape(1, 8)
    # With 0xFE in the parity slot (a zero remainder, complemented) the syndrome is the
    # remainder itself.
    return 0xFE ^ (int(_syndromes(block)[0]) << 1)


def cltu_encode(frame: BytesLike, *, randomize: bool = False) -> bytes:
    """Encode one TC transfer frame (or any octets) as a CLTU.

    ``randomize`` applies the TC pseudo-randomizer to the frame first (231.0-B-4 section 6);
    the fill octets added to complete the last codeblock are not randomized.
    """
    if len(frame) == 0:
        raise UsageError("A CLTU carries at least one octet; pass the TC transfer frame.")
    data = bytes(frame)
    if randomize:
        data = randomize_tc(data)
    count = -(-len(data) // CODEBLOCK_INFO_OCTETS)
    fill = count * CODEBLOCK_INFO_OCTETS - len(data)
    blocks = np.empty((count, CODEBLOCK_OCTETS), dtype=np.uint8)
    blocks[:, :CODEBLOCK_INFO_OCTETS] = np.frombuffer(
        data + bytes([FILL_OCTET]) * fill, dtype=np.uint8
    ).reshape(count, CODEBLOCK_INFO_OCTETS)
    blocks[:, 7] = 0xFE  # see bch_parity: makes the syndrome equal the remainder
    remainders = _syndromes(blocks)
    blocks[:, 7] = 0xFE ^ (remainders << 1)
    return START_SEQUENCE + blocks.tobytes() + TAIL_SEQUENCE


class CltuEnd(enum.Enum):
    """Why decoding of a CLTU stopped (231.0-B-4 section 5)."""

    TAIL = "tail"
    """The rejected codeblock was the tail sequence (within one bit error): a whole CLTU."""
    UNCORRECTABLE = "uncorrectable"
    """A codeblock other than the tail was rejected; the rest of the CLTU was abandoned."""
    TRUNCATED = "truncated"
    """The buffer ended before a rejected codeblock: no tail in what was handed in."""


@dataclass(frozen=True, slots=True)
class CltuResult:
    """What the CLTU decoder delivered.

    ``data`` holds the information octets of the accepted codeblocks, fill included (the
    caller strips fill using the TC frame length). ``codeblocks`` is how many codeblocks
    were accepted, ``corrected_codeblocks`` how many of those had a bit corrected, and
    ``length`` how many octets of the input the CLTU occupied (start sequence, accepted
    codeblocks and the rejected codeblock or tail, if any).
    """

    data: bytes
    codeblocks: int
    corrected_codeblocks: int
    end: CltuEnd
    length: int

    def __post_init__(self) -> None:
        if len(self.data) != self.codeblocks * CODEBLOCK_INFO_OCTETS:
            raise UsageError(
                f"A CLTU result with {self.codeblocks} codeblocks carries "
                f"{self.codeblocks * CODEBLOCK_INFO_OCTETS} octets of data, not {len(self.data)}."
            )
        if not 0 <= self.corrected_codeblocks <= self.codeblocks:
            raise UsageError(
                "corrected_codeblocks must lie between 0 and the number of codeblocks; "
                f"got {self.corrected_codeblocks} of {self.codeblocks}."
            )

    @property
    def tail_found(self) -> bool:
        """True when the CLTU ended with its tail sequence."""
        return self.end is CltuEnd.TAIL


_TAIL_INT: Final = int.from_bytes(TAIL_SEQUENCE, "big")


def cltu_decode(cltu: BytesLike, *, correct: bool = True, derandomize: bool = False) -> CltuResult:
    """Decode the CLTU at the start of ``cltu``.

    ``correct`` selects the error-correcting mode (single-bit errors corrected) rather
    than the error-detecting mode (any parity error rejects the codeblock). Decoding stops
    at the first rejected codeblock, normally the tail; see :class:`CltuEnd`.
    ``derandomize`` removes the TC pseudo-randomization from the delivered octets.

    Raises :class:`DecodeError` when the input does not begin with the start sequence.
    """
    view = memoryview(cltu).cast("B")
    start = bytes(view[:2])
    if start != START_SEQUENCE:
        raise DecodeError(
            "CLTU start sequence not found",
            offset=0,
            expected=START_SEQUENCE.hex(" "),
            got=start.hex(" ") or "end of data",
        )
    count = (len(view) - 2) // CODEBLOCK_OCTETS
    blocks = np.frombuffer(view, dtype=np.uint8, count=count * CODEBLOCK_OCTETS, offset=2)
    blocks = blocks.reshape(count, CODEBLOCK_OCTETS)
    syndromes = _syndromes(blocks)
    rejected = _FATAL[syndromes] if correct else syndromes != 0
    stop = int(np.argmax(rejected)) if count else 0
    if count == 0 or not rejected[stop]:
        stop = count
        end = CltuEnd.TRUNCATED
        length = 2 + count * CODEBLOCK_OCTETS
    else:
        block = int.from_bytes(blocks[stop].tobytes(), "big")
        end = CltuEnd.TAIL if (block ^ _TAIL_INT).bit_count() <= 1 else CltuEnd.UNCORRECTABLE
        length = 2 + (stop + 1) * CODEBLOCK_OCTETS
    info = blocks[:stop, :CODEBLOCK_INFO_OCTETS]
    corrected = 0
    if correct and stop:
        flagged = np.flatnonzero(syndromes[:stop])
        corrected = len(flagged)
        if corrected:
            info = info.copy()
            fix_syndromes = syndromes[flagged]
            octets = _FIX_OCTET[fix_syndromes]
            in_info = octets >= 0  # errors in parity bits leave the information intact
            info[flagged[in_info], octets[in_info]] ^= _FIX_MASK[fix_syndromes[in_info]]
    data = info.tobytes()
    if derandomize and data:
        data = randomize_tc(data)
    return CltuResult(data, stop, corrected, end, length)


class CltuStream:
    """CLTUs out of an octet stream, sans-I/O: ``feed(chunk)`` returns each whole CLTU
    completed so far as ``(octets, result)``, in order, however the stream was cut.

    Octets before a start sequence are dropped (``skipped`` counts them): a receiver
    hunts for the start sequence. A CLTU is whole once :func:`cltu_decode` reaches a
    rejected codeblock (the tail, or damage); until then its octets wait for more.
    ``correct`` and ``derandomize`` are :func:`cltu_decode`'s.
    """

    def __init__(self, *, correct: bool = True, derandomize: bool = False) -> None:
        self.correct = correct
        self.derandomize = derandomize
        self.skipped = 0
        self._buffer = bytearray()

    def feed(self, chunk: BytesLike) -> list[tuple[bytes, CltuResult]]:
        buffer = self._buffer
        buffer += chunk
        out: list[tuple[bytes, CltuResult]] = []
        while True:
            start = buffer.find(START_SEQUENCE)
            if start < 0:
                # Keep a last octet that may begin a start sequence.
                keep = 1 if buffer[-1:] == START_SEQUENCE[:1] else 0
                self.skipped += len(buffer) - keep
                del buffer[: len(buffer) - keep]
                return out
            self.skipped += start
            del buffer[:start]
            result = cltu_decode(buffer, correct=self.correct, derandomize=self.derandomize)
            if result.end is CltuEnd.TRUNCATED:
                return out
            out.append((bytes(buffer[: result.length]), result))
            del buffer[: result.length]
