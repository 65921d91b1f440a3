"""Shared type names for the byte buffers comms accepts.

Decoders accept any contiguous bytes-like object so callers can hand in slices of a
receive buffer as memoryviews without copying.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["BytesLike"]

# collections.abc.Buffer arrives in 3.12; until the floor moves, name the three we take.
BytesLike: TypeAlias = bytes | bytearray | memoryview
