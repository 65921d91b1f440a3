"""CFDP File Data PDUs and the modular checksum against spacepackets and cfdp-py.

File Data decode and encode at 1 KiB and 4 KiB segments (2-octet ids and sequence
numbers, no CRC: the profile the >= 1 Gbps transfer target is about; one 4 KiB case
with the CRC shows what CRC-16 over the PDU costs). "encode" builds the PDU from its
fields and encodes it, on both sides. The modular checksum runs over 1 MiB against a
straightforward Python word loop and over a 256 KiB file against cfdp-py's
``calc_modular_checksum`` (which reads the file 4 octets at a time, as it ships).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cfdppy.crc import calc_modular_checksum
from spacepackets.cfdp import CrcFlag
from spacepackets.cfdp import PduConfig as SpConfig
from spacepackets.cfdp import TransmissionMode as SpMode
from spacepackets.cfdp.pdu.file_data import FileDataParams
from spacepackets.cfdp.pdu.file_data import FileDataPdu as SpFileData
from spacepackets.util import ByteFieldU16

from comms.cfdp import FileDataPdu, PduConfig, PduHeader, decode_pdu, modular_checksum
from tools.bench import Case


def _python_modular(data: bytes) -> int:
    total = 0
    for i in range(0, len(data), 4):
        total += int.from_bytes(data[i : i + 4].ljust(4, b"\0"), "big")
    return total % 2**32


def _file_data_cases(size: int, crc: bool) -> list[Case]:
    data = os.urandom(size)
    offset = 123 * size
    header = PduHeader(PduConfig(2, 2, crc=crc), 0x0102, 0x0304, 0x0506)
    ours = FileDataPdu(header, offset, data)
    raw = ours.encode()
    conf = SpConfig(
        source_entity_id=ByteFieldU16(0x0102),
        dest_entity_id=ByteFieldU16(0x0506),
        transaction_seq_num=ByteFieldU16(0x0304),
        trans_mode=SpMode.ACKNOWLEDGED,
        crc_flag=CrcFlag.WITH_CRC if crc else CrcFlag.NO_CRC,
    )
    theirs = SpFileData(conf, FileDataParams(data, offset))
    assert bytes(theirs.pack()) == raw, "the two encoders disagree; fix before measuring"
    label = f"{size // 1024} KiB{' +CRC' if crc else ''}"
    n = len(raw)
    return [
        Case(f"file data decode {label}", "spacepackets", lambda: SpFileData.unpack(raw), nbytes=n),
        Case(
            f"file data decode {label}",
            "dawnlink",
            lambda: decode_pdu(raw),
            nbytes=n,
            peer="spacepackets",
        ),
        Case(
            f"file data encode {label}",
            "spacepackets",
            lambda: SpFileData(conf, FileDataParams(data, offset)).pack(),
            nbytes=n,
        ),
        Case(
            f"file data encode {label}",
            "dawnlink",
            lambda: FileDataPdu(header, offset, data).encode(),
            nbytes=n,
            peer="spacepackets",
        ),
    ]


def cases() -> list[Case]:
    result = [
        *_file_data_cases(1024, crc=False),
        *_file_data_cases(4096, crc=False),
        *_file_data_cases(4096, crc=True),
    ]
    mib = os.urandom(1 << 20)
    assert modular_checksum(mib) == _python_modular(mib)
    result += [
        Case(
            "modular checksum 1 MiB", "python loop", lambda: _python_modular(mib), nbytes=len(mib)
        ),
        Case(
            "modular checksum 1 MiB",
            "dawnlink",
            lambda: modular_checksum(mib),
            nbytes=len(mib),
            peer="python loop",
        ),
    ]
    small = mib[: 256 * 1024]
    path = Path(tempfile.mkdtemp(prefix="bench_cfdp_")) / "file.bin"
    path.write_bytes(small)
    assert int.from_bytes(calc_modular_checksum(path), "big") == modular_checksum(small)
    result += [
        Case(
            "modular checksum 256 KiB file",
            "cfdp-py",
            lambda: calc_modular_checksum(path),
            nbytes=len(small),
        ),
        Case(
            "modular checksum 256 KiB file",
            "dawnlink",
            lambda: modular_checksum(path.read_bytes()),
            nbytes=len(small),
            peer="cfdp-py",
            note="reads the file too",
        ),
    ]
    return result
