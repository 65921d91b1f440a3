"""Fuzz the Reed-Solomon decoder: any codeblock gives a result, a wrong length DecodeError.

Run ``python -m tools.fuzz.fuzz_rs [atheris/libFuzzer options]`` (needs the ``fuzz``
extra, atheris). :func:`test_one_input` is also driven by Hypothesis in the test suite.

The first octet picks the code (E, interleave depth, basis, virtual fill); the second
says whether to fit the rest to the codeblock length (so most runs exercise decoding,
not just the length check) or to pass it as it is.
"""

from __future__ import annotations

import sys

import numpy as np

from comms.coding.reed_solomon import INTERLEAVE_DEPTHS, ReedSolomon
from comms.errors import DecodeError


def _code(selector: int) -> ReedSolomon:
    e = (16, 8)[selector & 1]
    interleave = INTERLEAVE_DEPTHS[(selector >> 1) % len(INTERLEAVE_DEPTHS)]
    dual_basis = bool(selector >> 4 & 1)
    fill_per_codeword = (0, 1, 100, 254 - 2 * e)[selector >> 5 & 3]
    return ReedSolomon(e, interleave, fill_per_codeword * interleave, dual_basis)


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    rs = _code(data[0])
    body = data[2:]
    if data[1] & 1:
        length = rs.codeblock_length
        body = (body * (length // max(len(body), 1) + 1))[:length] if body else bytes(length)
    try:
        result = rs.decode(body)
    except DecodeError:
        assert len(body) != rs.codeblock_length, "DecodeError for a codeblock of the right length"
        return
    assert len(body) == rs.codeblock_length
    assert len(result.data) == rs.data_length
    assert len(result.corrected_per_codeword) == rs.interleave
    assert all(0 <= n <= rs.e for n in result.corrected_per_codeword)
    # A claimed codeword must be within the reported distance of what came in.
    claimed = rs.encode(result.data)
    for codeword in range(rs.interleave):
        if codeword in result.uncorrectable_codewords:
            continue
        ours = claimed[codeword :: rs.interleave]
        theirs = body[codeword :: rs.interleave]
        distance = sum(a != b for a, b in zip(ours, theirs, strict=True))
        assert distance == result.corrected_per_codeword[codeword], "inconsistent correction"
    batch = rs.decode_many(body)
    assert batch.data[0].tobytes() == result.data
    assert tuple(batch.corrected[0].tolist()) == result.corrected_per_codeword
    assert tuple(np.flatnonzero(batch.uncorrectable[0]).tolist()) == result.uncorrectable_codewords


def main(argv: list[str] | None = None) -> None:
    import atheris  # lazily: only the fuzz extra installs it

    # The modules under test are already imported (above), so instrument what is loaded.
    atheris.instrument_all()
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
