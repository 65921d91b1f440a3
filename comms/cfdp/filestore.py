"""The virtual filestore a CFDP entity reads and writes (CCSDS 727.0-B-5 1.3.4, 4.9, 8.2).

:class:`Filestore` is the small Protocol the transaction machines use -- all their I/O
goes through it: open a file for reading or writing at any offset, size, checksum over a
range, and the filestore actions of table 5-16 (create, delete, rename, append, replace
files; create and remove directories; list a directory). Two implementations:

- :class:`DiskFilestore`: files under one root directory. A name is a path relative to
  the root; absolute names, ``..`` leading out and symlinks leading out are refused
  (resolved with ``os.path.realpath`` and checked for containment), and files are opened
  with ``O_NOFOLLOW`` so a last component swapped for a symlink after the check is not
  followed either. Files stream in segments (never read whole), offsets are 64-bit.
- :class:`MemoryFilestore`: a dict of bytearrays, for tests and benchmarks.

Every refusal is a :class:`FilestoreError` with a :class:`FilestoreFault` and the
condition code it maps to (``FILESTORE_REJECTION``, table 5-5); the destination turns it
into that fault or into a filestore response status (table 5-18).
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from collections.abc import Iterator
from typing import Final, Protocol

from comms.buffers import BytesLike
from comms.cfdp.checksum import Checksum, ChecksumType
from comms.cfdp.codes import ConditionCode
from comms.errors import CommsError, UsageError

__all__ = [
    "CHUNK",
    "DiskFilestore",
    "FileHandle",
    "Filestore",
    "FilestoreError",
    "FilestoreFault",
    "MemoryFilestore",
]

CHUNK: Final = 1 << 20
"""Octets read per step when a whole file is checksummed or copied (bounds memory)."""


class FilestoreFault(enum.Enum):
    """Why a filestore operation was refused."""

    NOT_FOUND = "not found"
    EXISTS = "already exists"
    NOT_ALLOWED = "not allowed"
    OUTSIDE_ROOT = "outside the filestore root"
    IO_ERROR = "I/O error"


class FilestoreError(CommsError):
    """A filestore operation was refused; maps to condition FILESTORE_REJECTION (table 5-5).

    ``fault`` says why, ``name`` is the file name involved (as given).
    """

    condition_code: Final = ConditionCode.FILESTORE_REJECTION

    def __init__(self, fault: FilestoreFault, name: bytes, detail: str = "") -> None:
        self.fault = fault
        self.name = name
        text = f"{name!r}: {fault.value}"
        super().__init__(f"{text} ({detail})" if detail else text)


class FileHandle(Protocol):
    """An open file: reads and writes at any 64-bit offset."""

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` octets from ``offset`` (fewer at the end of the file)."""
        ...

    def write_at(self, offset: int, data: BytesLike) -> None:
        """Write ``data`` at ``offset``; a gap before it reads back as zeros."""
        ...

    def size(self) -> int: ...

    def close(self) -> None: ...


class Filestore(Protocol):
    """What a CFDP entity needs from a filestore. Names are octet strings (5.2.5)."""

    def open_read(self, name: bytes) -> FileHandle: ...

    def open_write(self, name: bytes) -> FileHandle:
        """Create ``name`` empty (truncating an existing file) and open it for writing."""
        ...

    def exists(self, name: bytes) -> bool: ...

    def is_directory(self, name: bytes) -> bool: ...

    def file_size(self, name: bytes) -> int: ...

    def checksum(
        self, name: bytes, kind: ChecksumType, offset: int = 0, length: int | None = None
    ) -> int:
        """The checksum of ``length`` octets from ``offset`` (to the end when None)."""
        ...

    def create_file(self, name: bytes) -> None: ...

    def delete_file(self, name: bytes) -> None: ...

    def rename_file(self, old: bytes, new: bytes, *, overwrite: bool = False) -> None: ...

    def append_file(self, first: bytes, second: bytes) -> None:
        """Append the contents of ``second`` to ``first`` (table 5-16 "append file")."""
        ...

    def replace_file(self, first: bytes, second: bytes) -> None:
        """Replace the contents of ``first`` with those of ``second`` (table 5-16)."""
        ...

    def create_directory(self, name: bytes) -> None: ...

    def remove_directory(self, name: bytes) -> None: ...

    def list_directory(self, name: bytes) -> list[bytes]: ...


def stream_checksum(
    handle: FileHandle, kind: ChecksumType, offset: int = 0, length: int | None = None
) -> int:
    """Checksum ``length`` octets of an open file from ``offset``, CHUNK octets at a time."""
    end = handle.size() if length is None else offset + length
    checksum = Checksum(kind)
    position = offset
    while position < end:
        data = handle.read_at(position, min(CHUNK, end - position))
        if not data:
            break
        # The file's checksum is over file offsets (4.2.2.3), not range offsets.
        checksum.update(position, data)
        position += len(data)
    return checksum.value


def _check_name(name: object) -> bytes:
    if isinstance(name, str):
        name = name.encode("utf-8")
    if not isinstance(name, bytes):
        raise UsageError(f"A file name must be bytes or str, not {type(name).__name__}.")
    return name


# -- on disk --------------------------------------------------------------------------

_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_BINARY: Final = getattr(os, "O_BINARY", 0)


class _DiskHandle:
    __slots__ = ("_fd", "name")

    def __init__(self, fd: int, name: bytes) -> None:
        self._fd = fd
        self.name = name

    def read_at(self, offset: int, length: int) -> bytes:
        try:
            return os.pread(self._fd, length, offset)
        except OSError as exc:
            raise FilestoreError(FilestoreFault.IO_ERROR, self.name, exc.strerror or "") from exc

    def write_at(self, offset: int, data: BytesLike) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(self._fd, view, offset)
                view = view[written:]
                offset += written
        except OSError as exc:
            raise FilestoreError(FilestoreFault.IO_ERROR, self.name, exc.strerror or "") from exc

    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DiskFilestore:
    """Files under ``root``; nothing outside it is ever opened, created or removed."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        real = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real):
            raise UsageError(f"DiskFilestore root {os.fspath(root)!r} is not a directory.")
        self.root = real

    def path(self, name: bytes) -> str:
        """The absolute path of ``name`` inside the root, or FilestoreError(OUTSIDE_ROOT)."""
        name = _check_name(name)
        text = os.fsdecode(name)
        if not text or os.path.isabs(text) or "\0" in text:
            raise FilestoreError(
                FilestoreFault.OUTSIDE_ROOT, name, "names are relative to the filestore root"
            )
        joined = os.path.join(self.root, text)
        # realpath resolves every symlink and '..': a name leading out of the root by
        # either is refused here, before anything is opened.
        real = os.path.realpath(joined)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise FilestoreError(FilestoreFault.OUTSIDE_ROOT, name, "resolves outside the root")
        return real

    def _error(self, exc: OSError, name: bytes) -> FilestoreError:
        if exc.errno == errno.ENOENT:
            return FilestoreError(FilestoreFault.NOT_FOUND, name)
        if exc.errno == errno.EEXIST:
            return FilestoreError(FilestoreFault.EXISTS, name)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.ELOOP, errno.EISDIR, errno.ENOTDIR):
            return FilestoreError(FilestoreFault.NOT_ALLOWED, name, exc.strerror or "")
        return FilestoreError(FilestoreFault.IO_ERROR, name, exc.strerror or "")

    def _open(self, name: bytes, flags: int) -> _DiskHandle:
        path = self.path(name)
        try:
            fd = os.open(path, flags | _NOFOLLOW | _BINARY, 0o644)
        except OSError as exc:
            raise self._error(exc, name) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "not a regular file")
        return _DiskHandle(fd, name)

    def open_read(self, name: bytes) -> FileHandle:
        return self._open(name, os.O_RDONLY)

    def open_write(self, name: bytes) -> FileHandle:
        return self._open(name, os.O_RDWR | os.O_CREAT | os.O_TRUNC)

    def exists(self, name: bytes) -> bool:
        return os.path.lexists(self.path(name))

    def is_directory(self, name: bytes) -> bool:
        return os.path.isdir(self.path(name))

    def file_size(self, name: bytes) -> int:
        try:
            return os.stat(self.path(name)).st_size
        except OSError as exc:
            raise self._error(exc, name) from exc

    def checksum(
        self, name: bytes, kind: ChecksumType, offset: int = 0, length: int | None = None
    ) -> int:
        handle = self.open_read(name)
        try:
            return stream_checksum(handle, kind, offset, length)
        finally:
            handle.close()

    def create_file(self, name: bytes) -> None:
        self.open_write(name).close()

    def delete_file(self, name: bytes) -> None:
        path = self.path(name)
        if os.path.isdir(path):
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "is a directory")
        try:
            os.unlink(path)
        except OSError as exc:
            raise self._error(exc, name) from exc

    def rename_file(self, old: bytes, new: bytes, *, overwrite: bool = False) -> None:
        source, target = self.path(old), self.path(new)
        if not os.path.lexists(source):
            raise FilestoreError(FilestoreFault.NOT_FOUND, old)
        if not overwrite and os.path.lexists(target):
            raise FilestoreError(FilestoreFault.EXISTS, new)
        try:
            os.replace(source, target)
        except OSError as exc:
            raise self._error(exc, new) from exc

    def _copy(self, source: bytes, target: bytes, append: bool) -> None:
        reader = self.open_read(source)
        try:
            flags = os.O_RDWR | (0 if append else os.O_TRUNC)
            writer = self._open(target, flags)
            try:
                position = writer.size() if append else 0
                offset = 0
                while chunk := reader.read_at(offset, CHUNK):
                    writer.write_at(position + offset, chunk)
                    offset += len(chunk)
            finally:
                writer.close()
        finally:
            reader.close()

    def append_file(self, first: bytes, second: bytes) -> None:
        self._require(first)
        self._copy(second, first, append=True)

    def replace_file(self, first: bytes, second: bytes) -> None:
        self._require(first)
        self._copy(second, first, append=False)

    def _require(self, name: bytes) -> None:
        if not os.path.isfile(self.path(name)):
            raise FilestoreError(FilestoreFault.NOT_FOUND, name)

    def create_directory(self, name: bytes) -> None:
        try:
            os.mkdir(self.path(name))
        except OSError as exc:
            raise self._error(exc, name) from exc

    def remove_directory(self, name: bytes) -> None:
        path = self.path(name)
        if path == self.root:
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "the filestore root")
        try:
            os.rmdir(path)
        except OSError as exc:
            raise self._error(exc, name) from exc

    def list_directory(self, name: bytes) -> list[bytes]:
        try:
            return sorted(os.fsencode(entry) for entry in os.listdir(self.path(name)))
        except OSError as exc:
            raise self._error(exc, name) from exc


# -- in memory ------------------------------------------------------------------------


class _MemoryHandle:
    __slots__ = ("_data", "name")

    def __init__(self, data: bytearray, name: bytes) -> None:
        self._data = data
        self.name = name

    def read_at(self, offset: int, length: int) -> bytes:
        return bytes(self._data[offset : offset + length])

    def write_at(self, offset: int, data: BytesLike) -> None:
        buf = self._data
        end = len(buf)
        if offset > end:
            buf.extend(bytes(offset - end))
        buf[offset : offset + len(data)] = data

    def size(self) -> int:
        return len(self._data)

    def close(self) -> None:
        pass


class MemoryFilestore:
    """A filestore held in memory: ``files`` maps names to contents, ``directories`` names.

    Names are normalised like paths ('a/./b' is 'a/b'); '..' above the top and absolute
    names are refused as on disk, so tests of confinement behave the same.
    """

    def __init__(self, files: dict[bytes, bytes] | None = None) -> None:
        self.files: dict[bytes, bytearray] = {}
        self.directories: set[bytes] = set()
        for name, data in (files or {}).items():
            self.files[self._key(name)] = bytearray(data)

    def _key(self, name: bytes) -> bytes:
        name = _check_name(name)
        if not name or name.startswith(b"/") or b"\0" in name:
            raise FilestoreError(
                FilestoreFault.OUTSIDE_ROOT, name, "names are relative to the filestore root"
            )
        parts: list[bytes] = []
        for part in name.split(b"/"):
            if part in (b"", b"."):
                continue
            if part == b"..":
                if not parts:
                    raise FilestoreError(FilestoreFault.OUTSIDE_ROOT, name)
                parts.pop()
            else:
                parts.append(part)
        if not parts:
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "the filestore root")
        return b"/".join(parts)

    def _parent_ok(self, key: bytes) -> bool:
        parent = key.rpartition(b"/")[0]
        return not parent or parent in self.directories

    def _get(self, name: bytes) -> bytearray:
        data = self.files.get(self._key(name))
        if data is None:
            raise FilestoreError(FilestoreFault.NOT_FOUND, name)
        return data

    def open_read(self, name: bytes) -> FileHandle:
        return _MemoryHandle(self._get(name), name)

    def open_write(self, name: bytes) -> FileHandle:
        key = self._key(name)
        if key in self.directories:
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "is a directory")
        if not self._parent_ok(key):
            raise FilestoreError(FilestoreFault.NOT_FOUND, name, "no such directory")
        data = self.files[key] = bytearray()
        return _MemoryHandle(data, name)

    def exists(self, name: bytes) -> bool:
        key = self._key(name)
        return key in self.files or key in self.directories

    def is_directory(self, name: bytes) -> bool:
        return self._key(name) in self.directories

    def file_size(self, name: bytes) -> int:
        return len(self._get(name))

    def checksum(
        self, name: bytes, kind: ChecksumType, offset: int = 0, length: int | None = None
    ) -> int:
        return stream_checksum(self.open_read(name), kind, offset, length)

    def create_file(self, name: bytes) -> None:
        self.open_write(name)

    def delete_file(self, name: bytes) -> None:
        key = self._key(name)
        if key in self.directories:
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "is a directory")
        if self.files.pop(key, None) is None:
            raise FilestoreError(FilestoreFault.NOT_FOUND, name)

    def rename_file(self, old: bytes, new: bytes, *, overwrite: bool = False) -> None:
        source, target = self._key(old), self._key(new)
        if source not in self.files:
            raise FilestoreError(FilestoreFault.NOT_FOUND, old)
        if target in self.directories or (not overwrite and target in self.files):
            raise FilestoreError(FilestoreFault.EXISTS, new)
        if not self._parent_ok(target):
            raise FilestoreError(FilestoreFault.NOT_FOUND, new, "no such directory")
        self.files[target] = self.files.pop(source)

    def append_file(self, first: bytes, second: bytes) -> None:
        target = self._get(first)
        target.extend(self._get(second))

    def replace_file(self, first: bytes, second: bytes) -> None:
        target = self._get(first)
        target[:] = self._get(second)

    def create_directory(self, name: bytes) -> None:
        key = self._key(name)
        if key in self.directories or key in self.files:
            raise FilestoreError(FilestoreFault.EXISTS, name)
        if not self._parent_ok(key):
            raise FilestoreError(FilestoreFault.NOT_FOUND, name, "no such directory")
        self.directories.add(key)

    def remove_directory(self, name: bytes) -> None:
        key = self._key(name)
        if key not in self.directories:
            raise FilestoreError(FilestoreFault.NOT_FOUND, name)
        if any(k.startswith(key + b"/") for k in (*self.files, *self.directories)):
            raise FilestoreError(FilestoreFault.NOT_ALLOWED, name, "directory not empty")
        self.directories.discard(key)

    def list_directory(self, name: bytes) -> list[bytes]:
        key = self._key(name)
        if key not in self.directories:
            raise FilestoreError(FilestoreFault.NOT_FOUND, name)
        return sorted(self._children(key))

    def _children(self, key: bytes) -> Iterator[bytes]:
        prefix = key + b"/"
        for entry in (*self.files, *self.directories):
            if entry.startswith(prefix) and b"/" not in entry[len(prefix) :]:
                yield entry[len(prefix) :]
