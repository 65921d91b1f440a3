"""AES-256-GCM known answers pushed through our security associations.

Vectors: McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005
submission to NIST, appendix B, test cases 13-16 (the AES-256 cases with a 96-bit IV;
17 and 18 use 64- and 480-bit IVs, which the SDLS baseline's 96-bit IV excludes).
OpenSSL (through ``cryptography``) reproduces every one of them, and so does the plain
Python reference GCM of :mod:`tests.comms.sdls.support`.
"""

from __future__ import annotations

import pytest

from comms.frames import TcFrame, TcParams
from comms.sdls import (
    Gvcid,
    Key,
    MemoryKeyStore,
    MemoryStateStore,
    SecurityAssociation,
    SecurityEngine,
    ServiceType,
)
from tests.comms.sdls.support import reference_gcm

K0 = bytes(32)
K1 = bytes.fromhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
IV1 = bytes.fromhex("cafebabefacedbaddecaf888")
P = bytes.fromhex(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
)
C = bytes.fromhex(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
)
AAD16 = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")

# (case, key, iv, plaintext, aad, ciphertext, tag)
CASES = [
    (13, K0, bytes(12), b"", b"", b"", "530f8afbc74536b9a963b4f1c4cb738b"),
    (
        14,
        K0,
        bytes(12),
        bytes(16),
        b"",
        bytes.fromhex("cea7403d4d606b6e074ec5d3baf39d18"),
        "d0d1c8a799996bf0265b98b5d48ab919",
    ),
    (15, K1, IV1, P, b"", C, "b094dac5d93471bdec1a502270e3cc6c"),
    (16, K1, IV1, P[:60], AAD16, C[:60], "76fc6ece0f4e1768cddf8853bb2d551b"),
]


@pytest.mark.parametrize(("case", "key", "iv", "p", "a", "c", "tag"), CASES, ids=lambda v: str(v))
def test_reference_gcm_matches_the_published_vectors(
    case: int, key: bytes, iv: bytes, p: bytes, a: bytes, c: bytes, tag: str
) -> None:
    assert reference_gcm(key, iv, p, a) == (c, bytes.fromhex(tag))


def _engine(key: bytes, service: ServiceType) -> SecurityEngine:
    sa = SecurityAssociation(
        9,
        Gvcid(0, 0x123, 4),
        service,
        key_id=3,
        sequence_number_length=0 if service is ServiceType.ENCRYPTION else 4,
        mac_length=0 if service is ServiceType.ENCRYPTION else 16,
    )
    engine = SecurityEngine(TcParams(), MemoryKeyStore([Key(3, key)]), MemoryStateStore())
    engine.add(sa)
    engine.start(9)
    return engine


PLAIN_TC = TcFrame(0x123, 4, 0x21, P)  # bypass off, no segment header, FECF on


def test_case15_through_an_encryption_only_sa() -> None:
    # GCM's ciphertext does not depend on the additional data, so the frame's data
    # field must be test case 15's ciphertext exactly.
    engine = _engine(K1, ServiceType.ENCRYPTION)
    engine.set_counters(9, iv=int.from_bytes(IV1, "big"))
    protected = engine.apply(PLAIN_TC, 9)
    assert protected[5:7] == b"\x00\x09"  # SPI
    assert protected[7:19] == IV1
    assert protected[19:-2] == C


def test_case15_through_an_authenticated_encryption_sa() -> None:
    engine = _engine(K1, ServiceType.AUTHENTICATED_ENCRYPTION)
    engine.set_counters(9, iv=int.from_bytes(IV1, "big"), sequence_number=0x01020304)
    protected = engine.apply(PLAIN_TC, 9)
    header, security_header = protected[:5], protected[5:23]
    assert security_header == b"\x00\x09" + IV1 + b"\x01\x02\x03\x04"
    assert protected[23:87] == C
    # The tag: the published case's key, IV and plaintext, with the frame's primary
    # header (length field already counting the security fields) and the security
    # header as additional data (355.0-B-2 ApplySecurity), by the reference GCM.
    assert len(protected) == ((header[2] & 3) << 8 | header[3]) + 1
    _, tag = reference_gcm(K1, IV1, P, header + security_header)
    assert protected[87:103] == tag
    assert len(protected) == 103 + 2


def test_authentication_only_is_gmac_over_headers_and_clear_data() -> None:
    # Authentication only: GMAC over headers, security header and clear data.
    engine = _engine(K0, ServiceType.AUTHENTICATION)
    frame = TcFrame(0x123, 4, 0, bytes(16))
    protected = engine.apply(frame, 9)
    assert protected[7:19] == bytes(12)  # the IV counter starts at zero, as case 14's
    assert protected[23:39] == bytes(16)  # data in clear
    _, tag = reference_gcm(K0, bytes(12), b"", protected[:23] + bytes(16))
    assert protected[39:55] == tag
