"""Splitting a NAK sequence over as many NAK PDUs as the peer's PDU size allows.

727.0-B-5 5.2.6 lets one NAK list any number of segment requests, but the receiving
entity has a maximum PDU size: Yamcs users saw NAKs listing many gaps overflow it
(REFERENCES.md). :func:`split_nak` packs the requests, sorted by start offset, into
the fewest PDUs that each fit ``max_pdu_length`` octets, and chains their scopes so the
sequence still covers the whole scope without overlap: the first PDU starts at the
sequence's start of scope, each later one at the previous PDU's end of scope; each PDU
but the last ends its scope at the furthest end offset it requests, the last at the
sequence's end of scope. Overlapping or touching requests are merged first (a NAK asks
for the union of its ranges), so the requests of one PDU never reach into the next
PDU's scope.
"""

from __future__ import annotations

from collections.abc import Iterable

from comms.cfdp.header import PduHeader
from comms.cfdp.pdus import NakPdu
from comms.errors import UsageError

__all__ = ["max_segment_requests", "split_nak"]


def max_segment_requests(header: PduHeader, max_pdu_length: int) -> int:
    """How many segment requests one NAK PDU with ``header`` holds in ``max_pdu_length``."""
    config = header.config
    fss = config.fss_length
    fixed = header.length + 1 + 2 * fss + (2 if config.crc else 0)
    return max(0, (max_pdu_length - fixed) // (2 * fss))


def split_nak(
    header: PduHeader,
    start_of_scope: int,
    end_of_scope: int,
    segment_requests: Iterable[tuple[int, int]],
    max_pdu_length: int,
) -> list[NakPdu]:
    """The NAK PDUs of one NAK sequence, each at most ``max_pdu_length`` octets encoded.

    The requests (sorted, merged) land in exactly one PDU each, in start-offset order,
    each within its PDU's scope; the metadata request (0, 0) goes first.
    """
    if end_of_scope < start_of_scope:
        raise UsageError(f"end_of_scope {end_of_scope} is before start_of_scope {start_of_scope}.")
    requests = _merged(segment_requests, start_of_scope, end_of_scope)
    room = max_segment_requests(header, max_pdu_length)
    if room < 1 and (requests or len(NakPdu(header, 0, 0).encode()) > max_pdu_length):
        raise UsageError(
            f"A NAK PDU of at most {max_pdu_length} octets cannot hold even one segment "
            f"request with this header ({header.length}-octet header, "
            f"{header.config.fss_length}-octet offsets); raise max_pdu_length."
        )
    if not requests:
        return [NakPdu(header, start_of_scope, end_of_scope, ())]
    pdus: list[NakPdu] = []
    scope_start = start_of_scope
    for index in range(0, len(requests), room):
        chunk = requests[index : index + room]
        if index + room >= len(requests):
            scope_end = end_of_scope
        else:
            scope_end = max(scope_start, chunk[-1][1])
        pdus.append(NakPdu(header, scope_start, scope_end, chunk))
        scope_start = scope_end
    return pdus


def _merged(
    segment_requests: Iterable[tuple[int, int]], start_of_scope: int, end_of_scope: int
) -> list[tuple[int, int]]:
    """Requests sorted, overlapping or touching ones merged, empty ones dropped."""
    metadata = False
    merged: list[tuple[int, int]] = []
    for first, last in sorted(segment_requests):
        if (first, last) == (0, 0):
            metadata = True  # 5.2.6: (0, 0) asks for the Metadata PDU again
            continue
        if last < first or first < start_of_scope or last > end_of_scope:
            raise UsageError(
                f"Segment request ({first}, {last}) is not a range inside the scope "
                f"[{start_of_scope}, {end_of_scope}]."
            )
        if first == last:
            continue
        if merged and first <= merged[-1][1]:
            if last > merged[-1][1]:
                merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return [(0, 0), *merged] if metadata else merged
