"""CFDP file checksums (CCSDS 727.0-B-5 4.2 and the SANA checksum identifier registry).

=====  ======================  =============================================================
type   name                    here
=====  ======================  =============================================================
0      modular (4.2.2.3)       numpy: big-endian words aligned on file offset, sum mod 2^32
1      CRC-32 Proximity-1      **not supported**: no independent vector to check it against
2      CRC-32C (Castagnoli)    comms.crc.crc32c (anycrc, sliced, in C)
3      CRC-32 (ISO-HDLC)       zlib (comms.crc.crc32)
15     null (4.2.2.4)          always 0
=====  ======================  =============================================================

The modular checksum treats the file as 4-octet big-endian words aligned on file
offset: the octet at offset ``o`` sits at position ``o mod 4`` of word ``o // 4``, a
short last word is zero-padded, and the words are summed mod 2^32. Because each octet's
contribution depends only on its offset, segments can be added in any order -- which is
what :class:`Checksum` does for it. The CRCs must run over the file in order:
:class:`Checksum` buffers a segment that arrives ahead of the next expected offset until
the gap before it fills (memory grows with the out-of-order backlog; a receiver that
expects heavy reordering can instead checksum the finished file in one call).

Every octet must be fed once: a retransmitted segment counted twice corrupts the modular
sum (the CRC form skips octets it has already seen). The receiver's gap tracker knows
what is new.
"""

from __future__ import annotations

import heapq
from enum import IntEnum
from typing import Final

import numpy as np

from comms.buffers import BytesLike
from comms.crc import crc32, crc32c
from comms.errors import UsageError

__all__ = [
    "SUPPORTED_CHECKSUMS",
    "Checksum",
    "ChecksumType",
    "compute_checksum",
    "modular_checksum",
]


class ChecksumType(IntEnum):
    """Checksum type field of the Metadata PDU (SANA checksum identifiers registry)."""

    MODULAR = 0
    CRC32_PROXIMITY1 = 1
    CRC32C = 2
    CRC32 = 3
    NULL = 15


SUPPORTED_CHECKSUMS: Final = frozenset(
    {ChecksumType.MODULAR, ChecksumType.CRC32C, ChecksumType.CRC32, ChecksumType.NULL}
)
"""The types :func:`compute_checksum` and :class:`Checksum` compute. A receiver that gets
any other type in Metadata reports condition "unsupported checksum type" (table 5-5)."""

_BY_VALUE: Final = {int(t): t for t in ChecksumType}
_MASK32: Final = 0xFFFFFFFF
_BE_WORDS: Final = np.dtype(">u4")
# Words summed per numpy call: keeps the uint64 accumulator far from overflow
# (2^26 words * (2^32 - 1) < 2^58) and bounds the temporary the cast makes.
_CHUNK_WORDS: Final = 1 << 22


def modular_checksum(data: BytesLike, offset: int = 0) -> int:
    """The modular checksum contribution of ``data`` placed at file offset ``offset``.

    Sum these over all segments (mod 2^32) for the file's checksum (4.2.2.3).
    """
    view = memoryview(data).cast("B")
    n = len(view)
    if n == 0:
        return 0
    total = 0
    head = (-offset) & 3
    if head:
        # The first octets complete the word the offset falls into.
        part = view[:head].tobytes()
        shift = 8 * (4 - (offset & 3) - len(part))
        total = int.from_bytes(part, "big") << shift
        if n <= head:
            return total & _MASK32
        view = view[head:]
        n -= head
    words = n >> 2
    start = 0
    while start < words:
        count = min(words - start, _CHUNK_WORDS)
        arr = np.frombuffer(view, dtype=_BE_WORDS, count=count, offset=4 * start)
        total += int(arr.sum(dtype=np.uint64))
        start += count
    tail = n & 3
    if tail:
        # A short last word is zero-padded on the right (4.2.2.3).
        total += int.from_bytes(view[n - tail :].tobytes(), "big") << (8 * (4 - tail))
    return total & _MASK32


def compute_checksum(kind: ChecksumType | int, data: BytesLike) -> int:
    """The checksum of a whole file's ``data`` with checksum type ``kind``.

    Raises UsageError for a type this module does not compute (see SUPPORTED_CHECKSUMS).
    """
    kind = _check_kind(kind)
    if kind is ChecksumType.MODULAR:
        return modular_checksum(data)
    if kind is ChecksumType.CRC32:
        return crc32(data)
    if kind is ChecksumType.CRC32C:
        return crc32c(data)
    return 0


def _check_kind(kind: object) -> ChecksumType:
    checked = None
    if isinstance(kind, int) and not isinstance(kind, bool):
        checked = _BY_VALUE.get(kind)
    if checked is None or checked not in SUPPORTED_CHECKSUMS:
        raise UsageError(
            f"Checksum type {kind!r} is not supported here; use one of "
            f"{sorted(t.name for t in SUPPORTED_CHECKSUMS)} (a receiver reports "
            "ConditionCode.UNSUPPORTED_CHECKSUM_TYPE for the others)."
        )
    return checked


class Checksum:
    """A file checksum fed segment by segment as File Data PDUs arrive.

    ``update(offset, data)`` adds the octets at file offset ``offset``; ``value`` is the
    checksum of everything fed so far. The modular checksum takes segments in any
    order; the CRCs buffer segments beyond a gap (see the module docstring).
    """

    __slots__ = ("_heap", "_kind", "_next", "_pending_octets", "_value")

    def __init__(self, kind: ChecksumType | int) -> None:
        self._kind = _check_kind(kind)
        self._value = 0
        self._next = 0  # CRCs: the file offset the running CRC has reached
        self._heap: list[tuple[int, bytes]] = []
        self._pending_octets = 0

    @property
    def kind(self) -> ChecksumType:
        return self._kind

    @property
    def pending_octets(self) -> int:
        """Octets held back waiting for a gap to fill (always 0 for modular and null)."""
        return self._pending_octets

    def update(self, offset: int, data: BytesLike) -> None:
        """Add ``data``, which sits at file offset ``offset``."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise UsageError(f"Checksum.update offset must be an int >= 0, got {offset!r}.")
        kind = self._kind
        if kind is ChecksumType.MODULAR:
            self._value = (self._value + modular_checksum(data, offset)) & _MASK32
        elif kind is not ChecksumType.NULL:
            if offset > self._next:
                segment = bytes(data)
                if segment:
                    heapq.heappush(self._heap, (offset, segment))
                    self._pending_octets += len(segment)
                return
            self._feed_crc(offset, data)
            heap = self._heap
            while heap and heap[0][0] <= self._next:
                start, segment = heapq.heappop(heap)
                self._pending_octets -= len(segment)
                self._feed_crc(start, segment)

    def _feed_crc(self, offset: int, data: BytesLike) -> None:
        skip = self._next - offset  # octets of this segment the CRC has already seen
        view = memoryview(data).cast("B")
        if skip >= len(view):
            return
        if skip:
            view = view[skip:]
        crc = crc32 if self._kind is ChecksumType.CRC32 else crc32c
        self._value = crc(view, self._value)
        self._next += len(view)

    @property
    def value(self) -> int:
        """The checksum of the octets fed so far.

        For the CRCs every octet from offset 0 up must have arrived: a segment still
        waiting behind a gap raises UsageError (ask :attr:`pending_octets` first).
        """
        if self._heap:
            raise UsageError(
                f"The CRC has reached file offset {self._next} but {self._pending_octets} "
                f"octets wait beyond a gap (first at offset {self._heap[0][0]}); feed the "
                "missing segments first."
            )
        return self._value
