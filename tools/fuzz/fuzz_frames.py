"""Fuzz harness for the transfer frame decoders: TM, AOS, TC, USLP and the CLCW.

The only rule: any input is accepted, or rejected with :class:`comms.errors.DecodeError`.
An accepted frame must also re-encode to something that decodes to the same value.
The first input octet picks a decoder and a set of managed parameters; the rest is the
frame. Run with atheris (``pip install atheris``, the ``fuzz`` extra)::

    python -m tools.fuzz.fuzz_frames -max_total_time=60

Without atheris installed, ``python -m tools.fuzz.fuzz_frames FILE...`` replays inputs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from comms.errors import DecodeError
from comms.frames import (
    AosDataUnit,
    AosFrame,
    AosParams,
    Clcw,
    TcFrame,
    TcParams,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)

# (decoder, params) pairs; small fixed lengths so random inputs hit them often.
TARGETS: list[tuple[Callable[..., Any], object]] = [
    (TmFrame.decode, TmParams(16, has_ocf=None, has_fecf=False)),
    (TmFrame.decode, TmParams(24, has_ocf=None, secondary_header_length=2)),
    (AosFrame.decode, AosParams(16, has_fhec=True, has_fecf=False)),
    (AosFrame.decode, AosParams(24, insert_zone_length=2, has_ocf=True)),
    (AosFrame.decode, AosParams(16, has_fecf=False, data_unit=AosDataUnit.B_PDU)),
    (TcFrame.decode, TcParams(has_fecf=False, has_segment_header=True)),
    (TcFrame.decode, TcParams()),
    (UslpFrame.decode, UslpParams(fecf_length=0, truncated_frame_length=12)),
    (UslpFrame.decode, UslpParams(fecf_length=4, insert_zone_length=1)),
    (UslpFrame.decode, UslpParams(frame_length=20, fecf_length=0)),
    (Clcw.decode, None),
]


def check(data: bytes) -> None:
    """One fuzz input: accepted (and round-trips) or DecodeError, nothing else."""
    if not data:
        return
    decode, params = TARGETS[data[0] % len(TARGETS)]
    frame_bytes = data[1:]
    try:
        if params is None:
            value = decode(frame_bytes)
        else:
            # Skip the CRC so random inputs reach the field checks behind it.
            value = decode(frame_bytes, params, verify_fecf=False)
    except DecodeError:
        return
    again = decode(value.encode()) if params is None else decode(value.encode(), params)
    if again != value:
        raise AssertionError(f"round trip changed {value!r} into {again!r}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        for name in argv[1:]:
            check(Path(name).read_bytes())
        return 0
    # The decoders are imported already; instrument them so coverage guides the fuzzer.
    atheris.instrument_all()
    atheris.Setup(argv, check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
