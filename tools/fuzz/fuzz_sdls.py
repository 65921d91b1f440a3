"""Fuzz harness for SDLS receive processing: the security header and ProcessSecurity.

The only rule: any input is accepted, or rejected with :class:`comms.errors.DecodeError`
(:class:`comms.sdls.SecurityError` and :class:`comms.frames.FecfError` are subclasses).
An accepted frame must be a plain frame ``overhead`` octets shorter. The first input
octet picks a target (a channel and SA, or the bare header parser); the rest is the
frame. Run with atheris (the ``fuzz`` extra)::

    python -m tools.fuzz.fuzz_sdls -max_total_time=60

Without atheris installed, ``python -m tools.fuzz.fuzz_sdls FILE...`` replays inputs.
Inputs rarely carry a valid MAC, so the harness also skips the FECF check half the time
to reach the header and window checks behind it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from comms.errors import DecodeError
from comms.frames import AosParams, TcParams, TmParams, UslpParams
from comms.sdls import (
    Gvcid,
    Key,
    MemoryKeyStore,
    MemoryStateStore,
    SecurityAssociation,
    SecurityEngine,
    SecurityHeader,
    ServiceType,
)

_KEYS = MemoryKeyStore([Key(1, bytes(range(32)))])
_AEAD = ServiceType.AUTHENTICATED_ENCRYPTION


def _engine(params: object, gvcid: Gvcid, **kw: object) -> SecurityEngine:
    service = kw.pop("service", _AEAD)
    sa = SecurityAssociation(7, gvcid, service, key_id=1, **kw)  # type: ignore[arg-type]
    engine = SecurityEngine(params, _KEYS, MemoryStateStore())  # type: ignore[arg-type]
    engine.add(sa)
    engine.start(7)
    return engine


ENGINES = [
    _engine(TmParams(64, has_ocf=None), Gvcid(0, 1, 1)),
    _engine(AosParams(64, has_fhec=True, insert_zone_length=1), Gvcid(1, 1, 1)),
    _engine(TcParams(has_segment_header=True), Gvcid(0, 1, 1), sequence_number_length=0),
    _engine(UslpParams(fecf_length=4, truncated_frame_length=40), Gvcid(12, 1, 1)),
    _engine(TcParams(), Gvcid(0, 1, 1), service=ServiceType.AUTHENTICATION, mac_length=12),
    _engine(
        TcParams(),
        Gvcid(0, 1, 1),
        service=ServiceType.ENCRYPTION,
        mac_length=0,
        sequence_number_length=0,
        pad_length_length=2,
    ),
]
_HEADER_SA = SecurityAssociation(7, Gvcid(0, 1, 1), _AEAD, 1, pad_length_length=1)


def check(data: bytes) -> None:
    """One fuzz input: accepted or DecodeError, nothing else."""
    if len(data) < 1:
        return
    selector, frame = data[0], data[1:]
    if selector % (len(ENGINES) + 1) == len(ENGINES):
        try:
            header = SecurityHeader.decode(frame, _HEADER_SA)
        except DecodeError:
            return
        if header.encode(_HEADER_SA) != frame[: _HEADER_SA.header_length]:
            raise AssertionError("security header did not round-trip")
        return
    engine = ENGINES[selector % (len(ENGINES) + 1)]
    try:
        plain = engine.process(frame, verify_fecf=bool(selector & 0x80))
    except DecodeError:
        return
    overhead = engine.association(7).overhead
    if len(plain) != len(frame) - overhead:
        raise AssertionError(f"plain frame is {len(plain)} octets, not {len(frame) - overhead}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        for name in argv[1:]:
            check(Path(name).read_bytes())
        return 0
    atheris.instrument_all()
    atheris.Setup(argv, check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
