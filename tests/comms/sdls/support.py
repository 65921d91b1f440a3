"""Shared pieces of the SDLS tests: channels, a loopback pair and a reference GCM.

The reference GCM is written from NIST SP 800-38D (sections 6.3-6.5, 7.1) in plain
Python on top of the AES block cipher only, so it checks our use of AESGCM (what goes
in as additional data, what as plaintext, how the IV is built) independently of the
AEAD call the engine makes. It is itself checked against the McGrew-Viega vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from comms.frames import (
    AosFrame,
    AosParams,
    TcFrame,
    TcParams,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)
from comms.sdls import (
    Gvcid,
    Key,
    MemoryKeyStore,
    MemoryStateStore,
    SecurityAssociation,
    SecurityEngine,
    ServiceType,
    plain_params,
)
from comms.sdls.layout import FrameParams

KEY = Key(1, bytes(range(32)))
OTHER_KEY = Key(2, bytes(range(32, 64)))

# -- reference GCM (SP 800-38D) -----------------------------------------------------

_R = 0xE1 << 120


def _gf_mult(x: int, y: int) -> int:
    # SP 800-38D 6.3, Algorithm 1: bit 0 is the most significant bit of the block.
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


def _ghash(h: int, data: bytes) -> int:
    y = 0
    for i in range(0, len(data), 16):
        y = _gf_mult(y ^ int.from_bytes(data[i : i + 16], "big"), h)
    return y


def _pad16(data: bytes) -> bytes:
    return data + bytes(-len(data) % 16)


def reference_gcm(key: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """(ciphertext, 16-octet tag) for a 96-bit IV, per SP 800-38D 7.1."""
    assert len(iv) == 12
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()

    def block(b: bytes) -> bytes:
        return ecb.update(b)

    h = int.from_bytes(block(bytes(16)), "big")
    j0 = iv + b"\x00\x00\x00\x01"
    out = bytearray()
    counter = int.from_bytes(j0, "big")
    for i in range(0, len(plaintext), 16):
        counter = (counter & ~0xFFFFFFFF) | ((counter + 1) & 0xFFFFFFFF)
        stream = block(counter.to_bytes(16, "big"))
        chunk = plaintext[i : i + 16]
        out += bytes(a ^ b for a, b in zip(chunk, stream, strict=False))
    ciphertext = bytes(out)
    lengths = (8 * len(aad)).to_bytes(8, "big") + (8 * len(ciphertext)).to_bytes(8, "big")
    s = _ghash(h, _pad16(aad) + _pad16(ciphertext) + lengths)
    tag = int.from_bytes(block(j0), "big") ^ s
    return ciphertext, tag.to_bytes(16, "big")


# -- channels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """One kind of protected channel and how to build a plain frame on it."""

    name: str
    params: FrameParams
    gvcid: Gvcid

    def sa(self, service: ServiceType, spi: int = 7, **kw: Any) -> SecurityAssociation:
        if service is ServiceType.ENCRYPTION:
            kw.setdefault("mac_length", 0)
            kw.setdefault("sequence_number_length", 0)
        return SecurityAssociation(spi, self.gvcid, service, key_id=1, **kw)

    def plain_frame(self, overhead: int, data: bytes, **kw: object) -> bytes:
        """A plain frame whose protected form fits the channel (data sized or padded)."""
        p = plain_params(self.params, overhead)
        if isinstance(p, TmParams):
            room = p.frame_length - 6 - 4 - 2
            df = (data * (room // max(len(data), 1) + 1))[:room] if data else bytes(room)
            return TmFrame(0x2A, 1, 5, 9, 0, df, ocf=b"\x01\x02\x03\x04").encode()
        if isinstance(p, AosParams):
            room = p.frame_length - 6 - 2 - p.insert_zone_length - 2 - 2
            df = (data * (room // max(len(data), 1) + 1))[:room] if data else bytes(room)
            return AosFrame(
                0x55, 3, 1000, df, first_header_pointer=0, insert_zone=b"IZ", has_fhec=True
            ).encode()
        if isinstance(p, TcParams):
            return TcFrame(0x123, 4, 77, data or b"\x00", map_id=2).encode()
        assert isinstance(p, UslpParams)
        return UslpFrame(
            0xABCD,
            5,
            3,
            0b111,
            0,
            data or b"\x00",
            vcf_count_length=2,
            vcf_count=513,
            ocf=b"\x0a\x0b\x0c\x0d",
        ).encode()


CHANNELS = [
    Channel("tm", TmParams(256, has_ocf=True), Gvcid(0, 0x2A, 1)),
    Channel("aos", AosParams(300, has_fhec=True, insert_zone_length=2), Gvcid(1, 0x55, 3)),
    Channel("tc", TcParams(has_segment_header=True), Gvcid(0, 0x123, 4, map_id=2)),
    Channel("uslp", UslpParams(has_ocf=True), Gvcid(12, 0xABCD, 5)),
]
CHANNEL_IDS = [c.name for c in CHANNELS]


def engine_pair(
    channel: Channel, sa: SecurityAssociation, *, reserve: int = 16
) -> tuple[SecurityEngine, SecurityEngine]:
    """A started sender and receiver for ``sa`` sharing the test keys."""
    keys = MemoryKeyStore([KEY, OTHER_KEY])
    tx = SecurityEngine(channel.params, keys, MemoryStateStore(), reserve=reserve)
    rx = SecurityEngine(channel.params, keys, MemoryStateStore(), reserve=reserve)
    for engine in (tx, rx):
        engine.add(sa)
        engine.start(sa.spi)
    return tx, rx


def decode_plain(channel: Channel, plain: bytes, overhead: int) -> object:
    p = plain_params(channel.params, overhead)
    if isinstance(p, TmParams):
        return TmFrame.decode(plain, p)
    if isinstance(p, AosParams):
        return AosFrame.decode(plain, p)
    if isinstance(p, TcParams):
        return TcFrame.decode(plain, p)
    return UslpFrame.decode(plain, p)
