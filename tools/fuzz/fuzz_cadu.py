"""Fuzz harness for the CADU stream decoder (:class:`comms.coding.CaduDecoder`).

The rules, on any input and any split of it:

- ``feed`` and ``close`` never raise: bad stream data becomes events (garbage skipped,
  lock lost, slips, uncorrectable codeblocks), never an exception;
- the events do not depend on how the stream is cut into chunks: whole, octet by octet
  or in the chunk sizes the input picks, the same events come out;
- the events account for the input: every frame and uncorrectable codeblock is one
  ``frame_length`` of data, the counters equal what the events say, and after
  ``close`` the bits skipped plus the bits of the CADUs found cover the stream exactly,
  give or take the bits slips added or dropped;
- ``decode`` of one CADU-sized piece returns a frame or an uncorrectable codeblock, or
  raises DecodeError (its documented error), and agrees with the stream decoder on an
  aligned CADU.

The first input octet picks the channel (small codeblocks so random inputs hold
several; Reed-Solomon or none, randomizer on or off), the synchronizer options and the
way the rest becomes a stream: as it is; with the ASM written in front of every
codeblock-sized piece (so the synchronizer locks and Reed-Solomon meets garbage); or
encoded as genuine CADUs, then bit-shifted and hit with bit errors the input picks. The
second octet picks the chunk size. Run with atheris (the ``fuzz`` extra)::

    python -m tools.fuzz.fuzz_cadu -max_total_time=60

Without atheris installed, ``python -m tools.fuzz.fuzz_cadu FILE...`` replays inputs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from comms.coding import (
    CaduDecoder,
    CaduEncoder,
    CaduEvent,
    CaduFrame,
    CaduParams,
    GarbageSkipped,
    LockAcquired,
    LockLost,
    SlipDetected,
    UncorrectableCodeblock,
)
from comms.errors import DecodeError

CHANNELS: list[CaduParams] = [
    CaduParams.shortened(40, rs_e=8, interleave=2),  # 72-octet CADUs
    CaduParams.shortened(20, rs_e=16, interleave=1),  # 56-octet CADUs
    CaduParams(16, rs_e=None),
    CaduParams(12, rs_e=None, randomize=False),
    CaduParams.shortened(30, rs_e=8, interleave=1, randomize=False),
]

# (check_count, flywheel, max_asm_errors, allow_inverted): the default and the extremes.
OPTIONS: list[tuple[int, int, int, bool]] = [(1, 3, 2, True), (0, 0, 0, False), (2, 1, 4, True)]

MODES = 3  # raw, markers written in, genuine CADUs damaged


def stream_of(data: bytes) -> tuple[CaduParams, tuple[int, int, int, bool], bytes, int]:
    """The channel, synchronizer options, stream and chunk size an input describes."""
    selector = data[0]
    params = CHANNELS[selector % len(CHANNELS)]
    options = OPTIONS[(selector // len(CHANNELS)) % len(OPTIONS)]
    mode = (selector // (len(CHANNELS) * len(OPTIONS))) % MODES
    chunk = 1 + (data[1] if len(data) > 1 else 0)
    rest = data[2:]
    if mode == 0:
        return params, options, rest, chunk
    body = params.codeblock_length
    if mode == 1:
        pieces = [rest[i : i + body] for i in range(0, len(rest), body)]
        return params, options, b"".join(params.asm + p for p in pieces), chunk
    # Genuine CADUs of frames cut from the input, shifted by up to 7 bits, then each
    # following pair of octets (position, mask) flips bits: the decoder must lock,
    # correct, give up on codeblocks and slip as the damage says.
    length = params.frame_length
    count = min(len(rest) // length, 4)
    frames = [rest[i * length : (i + 1) * length] for i in range(count)]
    damage = rest[count * length :]
    stream = CaduEncoder(params).encode_many(frames).tobytes() if frames else b""
    shift = chunk % 8
    if stream and shift:
        value = int.from_bytes(stream, "big") << shift
        stream = value.to_bytes(len(stream) + 1, "big")
    hit = bytearray(stream)
    for i in range(0, len(damage) - 1, 2):
        if hit:
            hit[(damage[i] * 7919) % len(hit)] ^= damage[i + 1]
    return params, options, bytes(hit), chunk


def decoder(params: CaduParams, options: tuple[int, int, int, bool]) -> CaduDecoder:
    check_count, flywheel, max_asm_errors, allow_inverted = options
    return CaduDecoder(
        params,
        check_count=check_count,
        flywheel=flywheel,
        max_asm_errors=max_asm_errors,
        allow_inverted=allow_inverted,
    )


def run(
    params: CaduParams, options: tuple[int, int, int, bool], stream: bytes, chunk: int
) -> tuple[list[CaduEvent], CaduDecoder]:
    """Feed ``stream`` in pieces of ``chunk`` octets, then close."""
    dec = decoder(params, options)
    events: list[CaduEvent] = []
    for i in range(0, len(stream), chunk):
        events += dec.feed(stream[i : i + chunk])
    events += dec.close()
    return events, dec


def check(data: bytes) -> None:
    """One fuzz input: see the module docstring for the rules."""
    if not data:
        return
    params, options, stream, chunk = stream_of(data)
    whole, dec = run(params, options, stream, max(len(stream), 1))
    _account(params, stream, whole, dec)
    split, _ = run(params, options, stream, chunk)
    assert split == whole, f"chunks of {chunk} octets changed the events"
    if len(stream) <= 600:  # octet by octet costs a call per octet: keep it for short ones
        octets, _ = run(params, options, stream, 1)
        assert octets == whole, "octet-by-octet feeding changed the events"
    _check_decode(params, options, stream[: params.cadu_length], whole)


def _account(params: CaduParams, stream: bytes, events: list[CaduEvent], dec: CaduDecoder) -> None:
    frames = [e for e in events if isinstance(e, CaduFrame)]
    failed = [e for e in events if isinstance(e, UncorrectableCodeblock)]
    for event in frames + failed:
        assert len(event.data) == params.frame_length
        assert 0 <= event.bit_offset <= 8 * len(stream) - 8 * params.cadu_length
    assert not failed or params.rs_e is not None, "no Reed-Solomon, nothing to fail"
    counters = dec.counters
    assert counters.frames == len(frames)
    assert counters.uncorrectable == len(failed)
    assert counters.cadus == len(frames) + len(failed)
    corrected = [sum(e.corrected_per_codeword) for e in frames + failed]
    assert counters.rs_corrected_symbols == sum(corrected)
    assert counters.rs_corrected_cadus == sum(n > 0 for n in corrected)
    assert counters.flywheel_frames == sum(e.flywheel for e in frames + failed)
    assert counters.locks_acquired == sum(isinstance(e, LockAcquired) for e in events)
    assert counters.locks_lost == sum(isinstance(e, LockLost) for e in events)
    slips = [e for e in events if isinstance(e, SlipDetected)]
    assert counters.slips == len(slips)
    skipped = sum(e.bits for e in events if isinstance(e, GarbageSkipped))
    assert counters.garbage_bits == skipped
    # Every bit is in a CADU or skipped; a slip moves the frame grid by its bits.
    covered = skipped + 8 * params.cadu_length * counters.cadus
    slipped = sum(abs(e.bits) for e in slips)
    assert abs(covered - 8 * len(stream)) <= slipped, "bits of the stream went unaccounted"


def _check_decode(
    params: CaduParams,
    options: tuple[int, int, int, bool],
    piece: bytes,
    stream_events: list[CaduEvent],
) -> None:
    dec = decoder(params, options)
    try:
        one = dec.decode(piece)
    except DecodeError:
        return
    assert len(piece) == params.cadu_length
    assert len(one.data) == params.frame_length
    # An aligned CADU at the very start that the stream decoder delivered is the same.
    first = [
        e
        for e in stream_events
        if isinstance(e, CaduFrame | UncorrectableCodeblock)
        and e.bit_offset == 0
        and not e.inverted
        and not e.flywheel
    ]
    if first:
        assert first[0].data == one.data and type(first[0]) is type(one)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv if argv is None else argv
    try:
        import atheris  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        for name in argv[1:]:
            check(Path(name).read_bytes())
        return 0
    # The decoder is imported already; instrument it so coverage guides the fuzzer.
    atheris.instrument_all()
    atheris.Setup(argv, check)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
