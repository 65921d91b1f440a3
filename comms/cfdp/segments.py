"""The file ranges a CFDP receiver holds (727.0-B-5 4.6.4: what to NAK) and a sender
must send again.

:class:`SegmentSet` is a sorted list of disjoint half-open ranges. Adding a range says
which parts of it were new, so a duplicate or overlapping File Data PDU is neither
counted twice in the progress nor added twice to the modular checksum. In-order arrival
(the common case) extends the last range without a search.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

__all__ = ["SegmentSet"]


class SegmentSet:
    """Disjoint, sorted, half-open ranges ``[start, end)`` and the octets they cover."""

    __slots__ = ("_ends", "_starts", "total")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.total = 0

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(zip(self._starts, self._ends, strict=True))

    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    @property
    def end(self) -> int:
        """End of the last range (0 when empty)."""
        return self._ends[-1] if self._ends else 0

    @property
    def contiguous_end(self) -> int:
        """End of the range starting at 0 (0 when offset 0 is missing)."""
        return self._ends[0] if self._starts and self._starts[0] == 0 else 0

    def add(self, start: int, end: int) -> list[tuple[int, int]]:
        """Add ``[start, end)``; returns the parts that were not already held."""
        if end <= start:
            return []
        starts, ends = self._starts, self._ends
        if not ends or start > ends[-1]:
            starts.append(start)
            ends.append(end)
            self.total += end - start
            return [(start, end)]
        if start == ends[-1]:
            ends[-1] = end
            self.total += end - start
            return [(start, end)]
        # General case: ranges i..j-1 touch or overlap [start, end).
        i = bisect_left(ends, start)
        j = bisect_right(starts, end)
        new: list[tuple[int, int]] = []
        cursor = start
        for k in range(i, j):
            if starts[k] > cursor:
                new.append((cursor, min(starts[k], end)))
            cursor = max(cursor, ends[k])
        if cursor < end:
            new.append((cursor, end))
        if i < j:
            merged_start = min(start, starts[i])
            merged_end = max(end, ends[j - 1])
        else:
            merged_start, merged_end = start, end
        starts[i:j] = [merged_start]
        ends[i:j] = [merged_end]
        self.total += sum(b - a for a, b in new)
        return new

    def covers(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` is held entirely (an empty range always is)."""
        if end <= start:
            return True
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and self._ends[i] >= end

    def gaps(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of ``[start, end)`` not held, in order."""
        out: list[tuple[int, int]] = []
        cursor = start
        i = max(0, bisect_right(self._ends, start))
        starts, ends = self._starts, self._ends
        while cursor < end and i < len(starts):
            if starts[i] >= end:
                break
            if starts[i] > cursor:
                out.append((cursor, starts[i]))
            cursor = max(cursor, ends[i])
            i += 1
        if cursor < end:
            out.append((cursor, end))
        return out

    def remove_first(self, limit: int) -> tuple[int, int] | None:
        """Take up to ``limit`` octets off the front of the first range (a send queue)."""
        if not self._starts:
            return None
        start = self._starts[0]
        stop = min(self._ends[0], start + limit)
        if stop == self._ends[0]:
            del self._starts[0]
            del self._ends[0]
        else:
            self._starts[0] = stop
        self.total -= stop - start
        return start, stop

    def clear(self) -> None:
        self._starts.clear()
        self._ends.clear()
        self.total = 0
