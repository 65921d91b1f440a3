"""SDLS on 1115-octet TM frames: ApplySecurity and ProcessSecurity against raw AES-GCM.

The peer is ``cryptography``'s AESGCM encrypt/decrypt of the same data field with the
same additional data, so the ratio is the engine's own per-frame cost: header parsing,
counters, the anti-replay window, frame assembly and the FECF (CRC-16, about a third of
the time: ``binascii.crc_hqx`` runs near 400 MB/s here). "process, FECF checked"
also verifies the received FECF first (the default); the gateway, whose ground
stations already checked it, can pass ``verify_fecf=False``.
"""

from __future__ import annotations

import os
from itertools import cycle

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from comms.frames import TmFrame, TmParams
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
from tools.bench import Case

FRAME = 1115
BATCH = 1000  # frames per timed call; the receiver sees fresh sequence numbers


def cases() -> list[Case]:
    params = TmParams(FRAME, has_ocf=True)
    sa = SecurityAssociation(1, Gvcid(0, 0x2A, 1), ServiceType.AUTHENTICATED_ENCRYPTION, key_id=1)
    material = os.urandom(32)
    keys = MemoryKeyStore([Key(1, material)])
    tx = SecurityEngine(params, keys, MemoryStateStore())
    tx.add(sa)
    tx.start(1)
    plain_len = plain_params(params, sa.overhead).frame_length
    data = os.urandom(plain_len - 12)
    plain = TmFrame(0x2A, 1, 0, 0, 0, data, ocf=bytes(4)).encode()
    # Enough distinct protected frames that the receiver never sees a replay while timing.
    protected = [tx.apply(plain, 1) for _ in range(BATCH * 20)]
    stream = cycle(protected)

    def fresh_receiver() -> SecurityEngine:
        rx = SecurityEngine(params, keys, MemoryStateStore())
        rx.add(sa)
        rx.start(1)
        return rx

    class Receiver:
        # Restart the window when the frames cycle round, outside the per-frame work.
        engine = fresh_receiver()
        used = 0

    def receiver() -> SecurityEngine:
        if Receiver.used >= len(protected):
            Receiver.engine = fresh_receiver()
            Receiver.used = 0
        Receiver.used += BATCH
        return Receiver.engine

    def apply_batch() -> None:
        apply = tx.apply
        for _ in range(BATCH):
            apply(plain, 1)

    def process_batch(verify: bool) -> None:
        process = receiver().process
        for _ in range(BATCH):
            process(next(stream), verify_fecf=verify)

    aes = AESGCM(material)
    iv = bytes(12)
    aad = protected[0][:24]
    field = protected[0][24:-22]  # the data field, same length as the engine encrypts
    sealed = aes.encrypt(iv, field, aad)

    def raw_encrypt() -> None:
        encrypt = aes.encrypt
        for _ in range(BATCH):
            encrypt(iv, field, aad)

    def raw_decrypt() -> None:
        decrypt = aes.decrypt
        for _ in range(BATCH):
            decrypt(iv, sealed, aad)

    nbytes = FRAME * BATCH
    group_tx = "SDLS AEAD apply, 1115 B TM"
    group_rx = "SDLS AEAD process, 1115 B TM"
    return [
        Case(group_tx, "AESGCM.encrypt", raw_encrypt, items=BATCH, nbytes=nbytes),
        Case(
            group_tx,
            "dawnlink apply",
            apply_batch,
            items=BATCH,
            nbytes=nbytes,
            peer="AESGCM.encrypt",
        ),
        Case(group_rx, "AESGCM.decrypt", raw_decrypt, items=BATCH, nbytes=nbytes),
        Case(
            group_rx,
            "dawnlink process",
            lambda: process_batch(False),
            items=BATCH,
            nbytes=nbytes,
            peer="AESGCM.decrypt",
            note="verify_fecf=False",
        ),
        Case(
            group_rx,
            "dawnlink process, FECF checked",
            lambda: process_batch(True),
            items=BATCH,
            nbytes=nbytes,
            peer="AESGCM.decrypt",
        ),
    ]
