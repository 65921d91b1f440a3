"""Persistent SA state, so that a restart never reuses an IV or reopens the replay window.

What must survive a restart (355.0-B-2 section 3.4: the IV and anti-replay sequence
number are part of the SA's state; GCM loses all security if an IV repeats under one key):

- on the sending side, how far the IV and sequence number counters have gone;
- on the receiving side, how far the anti-replay window has moved;
- the SA's state (unkeyed, keyed, operational) and current key id.

Writing on every frame would cost a disk sync per frame, so counters are *reserved in
blocks*: before using a value at or above the persisted high-water mark, the engine
persists a mark ``reserve`` values further and only then uses the value. A crash
loses at most the unused rest of a block: the counters skip ahead, they never go back.
The receiver does the same with its window: the persisted mark is at or above every
sequence number it accepted, and after a restart everything up to the mark is treated
as seen (so up to ``reserve`` genuine frames after a receiver crash may be rejected as
replays: the safe side).

One counter per SA, wherever it is used: when several ground stations carry the same
uplink they must all draw from this one record (through one engine), never from a copy
per station, or two stations will send the same IV.

:class:`StateStore` is the Protocol; :class:`MemoryStateStore` is for tests and
simulations; :class:`FileStateStore` keeps one JSON file, replaced atomically (temp
file, fsync, ``os.replace``, fsync of the directory) on every save.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from comms.errors import UsageError
from comms.sdls.association import SaState

__all__ = ["FileStateStore", "MemoryStateStore", "SaRecord", "StateStore"]


@dataclass(frozen=True)
class SaRecord:
    """The persisted state of one SA.

    - ``iv_high_water``: no IV at or above this value has been used; after a restart
      the next IV is this value.
    - ``sequence_number_high_water``: the same for the sending sequence number.
    - ``replay_high_water``: None if nothing was received yet, else a value at or
      above every sequence number (or IV) the receiver accepted.
    """

    state: SaState
    key_id: int
    iv_high_water: int = 0
    sequence_number_high_water: int = 0
    replay_high_water: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.state, SaState):
            raise UsageError(f"SaRecord.state must be an SaState, got {self.state!r}.")
        for name in ("key_id", "iv_high_water", "sequence_number_high_water"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"SaRecord.{name} must be a non-negative int, got {value!r}.")
        high = self.replay_high_water
        if high is not None and (isinstance(high, bool) or not isinstance(high, int) or high < 0):
            raise UsageError(
                f"SaRecord.replay_high_water must be a non-negative int or None, got {high!r}."
            )

    def to_json(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["state"] = self.state.value
        return fields

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> SaRecord:
        return cls(**{**fields, "state": SaState(fields["state"])})


class StateStore(Protocol):
    """Where the engine keeps :class:`SaRecord` values by SPI."""

    def load(self, spi: int) -> SaRecord | None:
        """The record of ``spi``, None if never saved."""
        ...

    def save(self, spi: int, record: SaRecord) -> None:
        """Persist ``record``; when this returns, it must survive a crash."""
        ...


class MemoryStateStore:
    """Records in a dict: survives dropping the engine, not the process."""

    def __init__(self) -> None:
        self.records: dict[int, SaRecord] = {}
        self.saves = 0

    def load(self, spi: int) -> SaRecord | None:
        return self.records.get(spi)

    def save(self, spi: int, record: SaRecord) -> None:
        self.records[spi] = record
        self.saves += 1


class FileStateStore:
    """All SA records in one JSON file, rewritten atomically on each save.

    The file is read once when the store is built. A file that exists but cannot be
    read as SA state is a UsageError: starting from zero would reuse IVs, so an operator
    has to look (restore the file, or rekey every SA and delete it).
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._records: dict[int, SaRecord] = {}
        if self.path.exists():
            try:
                content = json.loads(self.path.read_text(encoding="utf-8"))
                if content.get("version") != self.VERSION:
                    raise ValueError(f"version {content.get('version')!r}")
                for spi, fields in content["sas"].items():
                    self._records[int(spi)] = SaRecord.from_json(fields)
            except (ValueError, KeyError, TypeError, AttributeError, UsageError) as err:
                raise UsageError(
                    f"SA state file {self.path} is not readable as dawnlink SA state "
                    f"({err}); restore it from backup, or rekey every SA and remove it. "
                    "Starting from zero would reuse IVs."
                ) from None

    def load(self, spi: int) -> SaRecord | None:
        return self._records.get(spi)

    def save(self, spi: int, record: SaRecord) -> None:
        self._records[spi] = record
        content = {
            "version": self.VERSION,
            "sas": {str(s): r.to_json() for s, r in sorted(self._records.items())},
        }
        data = json.dumps(content, indent=1, sort_keys=True).encode("utf-8")
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        # The rename is durable only once the directory entry is on disk.
        try:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
