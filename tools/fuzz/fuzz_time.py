"""Fuzz the CUC and CDS decoders (301.0-B-4): accepted, or DecodeError.

Run ``python -m tools.fuzz.fuzz_time [atheris/libFuzzer options]`` (needs the ``fuzz``
extra, atheris). :func:`test_one_input` is also driven by Hypothesis in the test suite.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from datetime import date

from comms.errors import DecodeError, UsageError
from comms.time import GPS_EPOCH, CdsTime, CucTime, decode_time_code

_AGENCY_DAY = date(2000, 1, 1)


def test_one_input(data: bytes) -> None:
    # Self-describing forms: the P-field picks the layout.
    decoders: list[Callable[[], CucTime | CdsTime]] = [
        lambda: CucTime.decode(data, epoch=GPS_EPOCH),
        lambda: CdsTime.decode(data, epoch=_AGENCY_DAY),
        lambda: decode_time_code(data),
    ]
    for decode in decoders:
        try:
            value = decode()
        except DecodeError:
            continue
        # A CUC P-field may split its layout unusually between its two octets; the encoder
        # writes the canonical split, so compare values, not octets.
        again = decode_time_code(value.encode(), cuc_epoch=GPS_EPOCH, cds_epoch=_AGENCY_DAY)
        assert again == value, "encode then decode must give the value back"
        assert len(value.encode()) == len(data)
        # Conversion may refuse (before 1972, past year 9999, a leap second the table
        # lacks) but only with UsageError.
        with contextlib.suppress(UsageError):
            value.to_utc()
    # Implicit layouts, chosen by the first octet so the fuzzer can steer them.
    if data:
        coarse, fine = data[0] % 7 + 1, (data[0] >> 3) % 11
        with contextlib.suppress(DecodeError):
            CucTime.decode(data[1:], coarse_octets=coarse, fine_octets=fine)
        with contextlib.suppress(DecodeError):
            CdsTime.decode(
                data[1:],
                day_octets=2 + (data[0] & 1),
                submilli_octets=(0, 2, 4)[(data[0] >> 1) % 3],
            )


def main(argv: list[str] | None = None) -> None:
    import atheris  # lazily: only the fuzz extra installs it

    # The modules under test are already imported (above), so instrument what is loaded.
    atheris.instrument_all()
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
