"""The security header value: round trips, and any bytes give a header or DecodeError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comms.errors import DecodeError, UsageError
from comms.sdls import Gvcid, SecurityAssociation, SecurityHeader, ServiceType, peek_spi

AEAD = ServiceType.AUTHENTICATED_ENCRYPTION
G = Gvcid(0, 1, 1)

sas = st.builds(
    SecurityAssociation,
    spi=st.integers(0, 0xFFFF),
    gvcid=st.just(G),
    service=st.just(AEAD),
    key_id=st.just(1),
    sequence_number_length=st.integers(0, 8),
    pad_length_length=st.integers(0, 2),
)


@given(sas, st.data())
def test_round_trip(sa: SecurityAssociation, data: st.DataObject) -> None:
    sn = data.draw(st.integers(0, (1 << (8 * sa.sequence_number_length)) - 1))
    pad = data.draw(st.integers(0, (1 << (8 * sa.pad_length_length)) - 1))
    header = SecurityHeader(
        sa.spi,
        data.draw(st.binary(min_size=12, max_size=12)),
        sn if sa.sequence_number_length else None,
        pad if sa.pad_length_length else None,
    )
    raw = header.encode(sa)
    assert len(raw) == sa.header_length
    assert peek_spi(raw) == sa.spi
    assert SecurityHeader.decode(b"xx" + raw + b"tail", sa, offset=2) == header


@given(sas, st.binary(max_size=40), st.integers(0, 40))
def test_any_bytes_decode_or_raise_decode_error(
    sa: SecurityAssociation, buf: bytes, offset: int
) -> None:
    try:
        header = SecurityHeader.decode(buf, sa, offset)
    except DecodeError as err:
        assert err.offset == offset
        return
    assert header.encode(sa) == buf[offset : offset + sa.header_length]


@given(st.binary(max_size=4), st.integers(0, 4))
def test_peek_spi_on_any_bytes(buf: bytes, offset: int) -> None:
    try:
        assert 0 <= peek_spi(buf, offset) <= 0xFFFF
    except DecodeError:
        assert len(buf) < offset + 2


def test_encode_checks_against_the_sa() -> None:
    sa = SecurityAssociation(5, G, AEAD, 1)
    with pytest.raises(UsageError, match="SPI"):
        SecurityHeader(6, bytes(12), 1).encode(sa)
    with pytest.raises(UsageError, match="12 octets"):
        SecurityHeader(5, bytes(11), 1).encode(sa)
    with pytest.raises(UsageError, match="pass an int"):
        SecurityHeader(5, bytes(12)).encode(sa)
    with pytest.raises(UsageError, match="does not fit"):
        SecurityHeader(5, bytes(12), 1 << 32).encode(sa)
    with pytest.raises(UsageError):
        SecurityHeader(-1, bytes(12))
    with pytest.raises(UsageError):
        SecurityHeader(1, "iv")  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        SecurityHeader(1, bytes(12), sequence_number=-1)
    with pytest.raises(DecodeError, match="SPI"):
        SecurityHeader.decode(b"\x00\x06" + bytes(16), sa)
