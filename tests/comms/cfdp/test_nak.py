"""split_nak: every PDU fits the size limit, and the requests are covered exactly."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.cfdp import NakPdu, PduConfig, PduHeader, decode_pdu, max_segment_requests, split_nak
from comms.errors import UsageError
from tests.comms.cfdp.strategies import headers, segment_requests


@given(headers(), st.data(), st.integers(0, 400))
def test_split_fits_and_covers(header: PduHeader, data: st.DataObject, extra: int) -> None:
    end_of_scope = data.draw(st.integers(0, 20_000))
    start_of_scope = data.draw(st.integers(0, end_of_scope))
    requests = [
        (start_of_scope + a, start_of_scope + b)
        for a, b in data.draw(segment_requests(end_of_scope - start_of_scope, max_size=60))
    ]
    requests += data.draw(st.sampled_from([[], [(0, 0)]]))
    fixed = header.length + 1 + 2 * header.config.fss_length + 2 * header.config.crc
    max_length = fixed + 2 * header.config.fss_length + extra
    pdus = split_nak(header, start_of_scope, end_of_scope, requests, max_length)
    room = max_segment_requests(header, max_length)
    got: list[tuple[int, int]] = []
    for pdu in pdus:
        assert len(pdu.encode()) <= max_length
        assert decode_pdu(pdu.encode()) == pdu
        for first, last in pdu.segment_requests:
            assert (first, last) == (0, 0) or (
                pdu.start_of_scope <= first < last <= pdu.end_of_scope
            )
        got.extend(pdu.segment_requests)
        assert len(pdu.segment_requests) <= room
    # Exact cover: the same set of octets (and the metadata request), nothing twice.
    assert _octets(got) == _octets(requests)
    assert sum(b - a for a, b in got) == len(_octets(requests))
    assert ((0, 0) in got) == ((0, 0) in requests)
    assert len(pdus) == max(1, -(-len(got) // room))
    # The scopes chain: the sequence's scope, cut without gaps or overlap.
    assert pdus[0].start_of_scope == start_of_scope
    assert pdus[-1].end_of_scope == end_of_scope
    for before, after in itertools.pairwise(pdus):
        assert after.start_of_scope == before.end_of_scope


def _octets(requests: list[tuple[int, int]]) -> set[int]:
    return {o for a, b in requests for o in range(a, b)}


def test_yamcs_case_many_gaps_small_pdus() -> None:
    # 1000 gaps, peer takes at most 128-octet PDUs: 14 requests of 8 octets fit each.
    header = PduHeader(PduConfig(2, 2), 1, 2, 3)
    gaps = [(i * 100, i * 100 + 50) for i in range(1000)]
    pdus = split_nak(header, 0, 100_000, gaps, 128)
    assert max_segment_requests(header, 128) == (128 - 8 - 1 - 8) // 8
    assert all(isinstance(p, NakPdu) and len(p.encode()) <= 128 for p in pdus)
    assert sum(len(p.segment_requests) for p in pdus) == 1000


def test_too_small_or_bad_scope() -> None:
    header = PduHeader(PduConfig(), 1, 2, 3)
    with pytest.raises(UsageError, match="cannot hold even one"):
        split_nak(header, 0, 10, [(0, 1)], 20)
    with pytest.raises(UsageError, match="inside the scope"):
        split_nak(header, 0, 10, [(0, 11)], 100)
    with pytest.raises(UsageError, match="inside the scope"):
        split_nak(header, 5, 10, [(1, 6)], 100)
    assert split_nak(header, 0, 10, [(4, 6), (0, 0), (1, 5), (6, 6)], 100)[0].segment_requests == (
        (0, 0),
        (1, 6),
    )
    assert split_nak(header, 5, 9, [], 22) == [NakPdu(header, 5, 9)]
