"""The CFDP filestores: confinement to the root, segment streaming, 64-bit offsets, and
the filestore actions of 727.0-B-5 table 5-16 with their response codes (table 5-18)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from comms.cfdp import (
    ChecksumType,
    ConditionCode,
    DiskFilestore,
    FilestoreAction,
    FilestoreError,
    FilestoreFault,
    FilestoreRequest,
    MemoryFilestore,
    compute_checksum,
)
from comms.cfdp.destination import execute_filestore_request
from comms.cfdp.filestore import Filestore
from comms.errors import UsageError


@pytest.fixture(params=["disk", "memory"])
def fs(request: pytest.FixtureRequest, tmp_path: Path) -> Filestore:
    if request.param == "disk":
        root = tmp_path / "root"
        root.mkdir()
        return DiskFilestore(root)
    return MemoryFilestore()


def test_write_read_at_offsets_and_size(fs: Filestore) -> None:
    handle = fs.open_write(b"a.bin")
    handle.write_at(10, b"world")
    handle.write_at(0, b"hello")
    assert handle.size() == 15
    handle.close()
    reader = fs.open_read(b"a.bin")
    assert reader.read_at(0, 100) == b"hello" + bytes(5) + b"world"
    assert reader.read_at(12, 2) == b"rl"
    reader.close()
    assert fs.file_size(b"a.bin") == 15
    data = b"hello" + bytes(5) + b"world"
    for kind in (ChecksumType.MODULAR, ChecksumType.CRC32, ChecksumType.CRC32C):
        assert fs.checksum(b"a.bin", kind) == compute_checksum(kind, data)
    # A range checksum is over file offsets (the modular sum depends on alignment).
    assert fs.checksum(b"a.bin", ChecksumType.MODULAR, 3, 9) == (
        compute_checksum(ChecksumType.MODULAR, bytes(3) + data[3:12])
    )


@pytest.mark.parametrize("name", [b"../x", b"/etc/passwd", b"a/../../x", b""])
def test_names_leading_out_are_refused(fs: Filestore, name: bytes) -> None:
    with pytest.raises(FilestoreError) as caught:
        fs.open_write(name)
    assert caught.value.fault in (FilestoreFault.OUTSIDE_ROOT, FilestoreFault.NOT_ALLOWED)
    assert caught.value.condition_code is ConditionCode.FILESTORE_REJECTION


def test_symlinks_leading_out_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside, root / "link")
    os.symlink(outside / "secret", root / "file-link")
    (root / "inside").write_bytes(b"ok")
    os.symlink(root / "inside", root / "ok-link")
    fs = DiskFilestore(root)
    for name in (b"link/secret", b"file-link", b"link/new"):
        with pytest.raises(FilestoreError) as caught:
            fs.open_read(name) if name != b"link/new" else fs.open_write(name)
        assert caught.value.fault is FilestoreFault.OUTSIDE_ROOT
    with pytest.raises(FilestoreError):
        fs.delete_file(b"file-link")
    assert (outside / "secret").read_bytes() == b"secret"
    assert not (outside / "new").exists()
    # A symlink that stays inside resolves to its target, which is inside: allowed.
    assert fs.open_read(b"ok-link").read_at(0, 10) == b"ok"


def test_large_file_offsets_past_4_gib_on_a_sparse_file(tmp_path: Path) -> None:
    fs = DiskFilestore(tmp_path)
    handle = fs.open_write(b"big")
    offset = (5 << 30) + 3  # 5 GiB + 3: needs 64-bit offsets (727.0-B-5 5.1.10)
    handle.write_at(offset, b"tail")
    handle.close()
    assert fs.file_size(b"big") == offset + 4
    reader = fs.open_read(b"big")
    assert reader.read_at(offset - 2, 10) == b"\0\0tail"
    assert fs.checksum(b"big", ChecksumType.MODULAR, offset - 3, 7) == compute_checksum(
        ChecksumType.MODULAR, bytes(0) + b"\0\0\0tail"
    )
    reader.close()


def test_file_operations(fs: Filestore) -> None:
    fs.create_file(b"one")
    assert fs.exists(b"one") and fs.file_size(b"one") == 0
    fs.open_write(b"two").write_at(0, b"22")
    fs.rename_file(b"one", b"three")
    with pytest.raises(FilestoreError) as caught:
        fs.rename_file(b"three", b"two")
    assert caught.value.fault is FilestoreFault.EXISTS
    fs.rename_file(b"three", b"two", overwrite=True)
    assert fs.file_size(b"two") == 0
    fs.create_directory(b"d")
    assert fs.is_directory(b"d")
    fs.open_write(b"d/x").write_at(0, b"x")
    assert fs.list_directory(b"d") == [b"x"]
    with pytest.raises(FilestoreError):
        fs.remove_directory(b"d")  # not empty
    fs.delete_file(b"d/x")
    fs.remove_directory(b"d")
    assert not fs.exists(b"d")
    with pytest.raises(FilestoreError) as caught:
        fs.delete_file(b"nope")
    assert caught.value.fault is FilestoreFault.NOT_FOUND


@pytest.mark.parametrize(
    ("request_", "setup", "status"),
    [
        (FilestoreRequest(FilestoreAction.CREATE_FILE, "new"), {}, 0),
        (FilestoreRequest(FilestoreAction.CREATE_FILE, "../out"), {}, 1),
        (FilestoreRequest(FilestoreAction.DELETE_FILE, "f"), {b"f": b"x"}, 0),
        (FilestoreRequest(FilestoreAction.DELETE_FILE, "f"), {}, 1),
        (FilestoreRequest(FilestoreAction.DELETE_FILE, "/etc/passwd"), {}, 2),
        (FilestoreRequest(FilestoreAction.RENAME_FILE, "f", "g"), {b"f": b"x"}, 0),
        (FilestoreRequest(FilestoreAction.RENAME_FILE, "f", "g"), {}, 1),
        (FilestoreRequest(FilestoreAction.RENAME_FILE, "f", "g"), {b"f": b"", b"g": b""}, 2),
        (FilestoreRequest(FilestoreAction.RENAME_FILE, "f", "../g"), {b"f": b""}, 3),
        (FilestoreRequest(FilestoreAction.APPEND_FILE, "f", "g"), {b"f": b"1", b"g": b"2"}, 0),
        (FilestoreRequest(FilestoreAction.APPEND_FILE, "f", "g"), {b"g": b"2"}, 1),
        (FilestoreRequest(FilestoreAction.APPEND_FILE, "f", "g"), {b"f": b"1"}, 2),
        (FilestoreRequest(FilestoreAction.REPLACE_FILE, "f", "g"), {b"f": b"1", b"g": b"2"}, 0),
        (FilestoreRequest(FilestoreAction.REPLACE_FILE, "f", "g"), {b"g": b"2"}, 1),
        (FilestoreRequest(FilestoreAction.CREATE_DIRECTORY, "d"), {}, 0),
        (FilestoreRequest(FilestoreAction.CREATE_DIRECTORY, "../d"), {}, 1),
        (FilestoreRequest(FilestoreAction.REMOVE_DIRECTORY, "d"), {}, 1),
        (FilestoreRequest(FilestoreAction.DENY_FILE, "f"), {b"f": b"x"}, 0),
        (FilestoreRequest(FilestoreAction.DENY_FILE, "f"), {}, 0),
        (FilestoreRequest(FilestoreAction.DENY_DIRECTORY, "d"), {}, 0),
    ],
)
def test_filestore_request_status_codes(
    fs: Filestore, request_: FilestoreRequest, setup: dict[bytes, bytes], status: int
) -> None:
    # Status codes per action from 727.0-B-5 table 5-18.
    for name, data in setup.items():
        fs.open_write(name).write_at(0, data)
    response = execute_filestore_request(fs, request_)
    assert response.status_code == status, response.filestore_message
    assert response.action is request_.action
    if request_.action is FilestoreAction.APPEND_FILE and status == 0:
        assert fs.open_read(b"f").read_at(0, 10) == b"12"
    if request_.action is FilestoreAction.REPLACE_FILE and status == 0:
        assert fs.open_read(b"f").read_at(0, 10) == b"2"
    if request_.action is FilestoreAction.DENY_FILE:
        assert not fs.exists(b"f")


def test_disk_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        DiskFilestore(tmp_path / "missing")


def test_streaming_checksum_reads_in_bounded_chunks(tmp_path: Path) -> None:
    fs = DiskFilestore(tmp_path)
    data = os.urandom(3 << 20)  # three chunks
    fs.open_write(b"f").write_at(0, data)
    assert fs.checksum(b"f", ChecksumType.CRC32) == compute_checksum(ChecksumType.CRC32, data)
    assert fs.checksum(b"f", ChecksumType.MODULAR) == compute_checksum(ChecksumType.MODULAR, data)
