"""Fuzz the CLTU decoder and the frame synchronizer: accepted, or the documented error.

Run with atheris: ``python -m tools.fuzz.fuzz_cltu [corpus_dir] [-runs=N]``. Without
atheris installed, ``python -m tools.fuzz.fuzz_cltu FILE...`` replays inputs.

Rules checked on every input:

- ``cltu_decode`` returns a result whose octets fit the input, or raises DecodeError
  (never IndexError, struct.error or anything else), in both decoding modes;
- a CLTU with its start sequence never raises, and re-encoding what it delivered gives
  back the delivered codeblocks;
- ``FrameSynchronizer`` never raises, and its output does not depend on the split.
"""

from __future__ import annotations

import sys

from comms.coding import FrameSynchronizer, cltu_decode, cltu_encode
from comms.coding.sync import SyncEvent
from comms.errors import DecodeError


def _check_cltu(data: bytes) -> None:
    for correct in (True, False):
        try:
            result = cltu_decode(data, correct=correct)
        except DecodeError as exc:
            assert exc.offset == 0
            assert not data.startswith(b"\xeb\x90")
            continue
        assert result.length <= len(data)
        assert len(result.data) == 7 * result.codeblocks
        if result.codeblocks:
            again = cltu_decode(cltu_encode(result.data))
            assert again.data == result.data


def _check_sync(data: bytes) -> None:
    if not data:
        return
    frame_length = 1 + data[0] % 40
    whole = FrameSynchronizer(frame_length)
    expected = whole.feed(data[1:]) + whole.close()
    split = FrameSynchronizer(frame_length)
    got: list[SyncEvent] = []
    step = 1 + data[-1] % 7
    for i in range(1, len(data), step):
        got += split.feed(data[i : i + step])
    got += split.close()
    assert got == expected


def test_one_input(data: bytes) -> None:
    _check_cltu(data)
    _check_cltu(b"\xeb\x90" + data)
    _check_sync(data)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv if argv is None else argv
    try:
        import atheris
    except ImportError:
        for path in argv[1:]:
            with open(path, "rb") as handle:
                test_one_input(handle.read())
        return
    atheris.instrument_all()  # coverage guidance for the already imported comms modules
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
