"""Fuzz the CFDP decoders: ``python -m tools.fuzz.fuzz_cfdp [libFuzzer options]``.

The one rule (STYLE.md 7): any input is accepted, or rejected with the documented
error. ``decode_pdu`` returns a PDU whose encoding decodes to the same PDU (spare bits
are not kept, so the octets may differ) or raises DecodeError -- CrcError included;
the same for ``decode_tlv`` over the input as a TLV run and ``decode_reserved_message``
over the input behind a ``cfdp`` identifier. The first input octet picks the reserved
message type so the fuzzer reaches every content decoder.

Needs atheris (``pip install -e '.[fuzz]'``), imported only when run. Example:
``python -m tools.fuzz.fuzz_cfdp -max_total_time=60 -max_len=512``.
"""

from __future__ import annotations

import sys

from comms.cfdp import decode_pdu, decode_reserved_message, decode_tlv
from comms.errors import DecodeError


def test_one_input(data: bytes) -> None:
    """Check one fuzzer input; raises AssertionError (a finding) on a broken rule."""
    for verify_crc in (True, False):
        try:
            pdu = decode_pdu(data, verify_crc=verify_crc)
        except DecodeError:
            pass
        else:
            assert decode_pdu(pdu.encode()) == pdu

    offset = 0
    try:
        while offset < len(data):
            tlv, offset = decode_tlv(data, offset, len(data))
            assert decode_tlv(tlv.encode(), 0, len(tlv))[0] == tlv
    except DecodeError:
        pass

    if data:
        message_bytes = b"cfdp" + data
        try:
            message = decode_reserved_message(message_bytes)
        except DecodeError:
            pass
        else:
            assert decode_reserved_message(message.encode()) == message


def main(argv: list[str] | None = None) -> None:
    import atheris  # an optional extra: only the harness needs it

    atheris.instrument_all()
    atheris.Setup(sys.argv if argv is None else argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
