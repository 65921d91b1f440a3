"""ApplySecurity/ProcessSecurity round trips, rejections and SA management."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.crc import crc16_ccitt
from comms.errors import DecodeError, UsageError
from comms.frames import FecfError, TcFrame, TcParams, TmFrame, TmParams
from comms.sdls import (
    FrameRejected,
    Gvcid,
    MemoryKeyStore,
    MemoryStateStore,
    RejectReason,
    SaState,
    SecurityAssociation,
    SecurityEngine,
    SecurityError,
    ServiceType,
    plain_params,
)
from tests.comms.sdls.support import (
    CHANNEL_IDS,
    CHANNELS,
    KEY,
    OTHER_KEY,
    Channel,
    decode_plain,
    engine_pair,
    reference_gcm,
)

SERVICES = list(ServiceType)
AEAD = ServiceType.AUTHENTICATED_ENCRYPTION
TM = CHANNELS[0]
TC = CHANNELS[2]


def _refix_fecf(frame: bytes | bytearray) -> bytes:
    # Tampering tests recompute the FECF so that only SDLS can notice.
    body = bytes(frame[:-2])
    return body + crc16_ccitt(body).to_bytes(2, "big")


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_IDS)
@pytest.mark.parametrize("service", SERVICES, ids=[s.name for s in SERVICES])
def test_round_trip(channel: Channel, service: ServiceType) -> None:
    sa = channel.sa(service)
    tx, rx = engine_pair(channel, sa)
    for i in range(3):
        plain = channel.plain_frame(sa.overhead, bytes([i]) * 40)
        # Any bytes-like goes in: bytes, bytearray, memoryview.
        protected = tx.apply([plain, bytearray(plain), memoryview(plain)][i], sa.spi)
        assert len(protected) == len(plain) + sa.overhead
        if service.encrypts:
            assert bytes([i]) * 40 not in protected
        back = rx.process(memoryview(protected) if i == 2 else protected)
        assert back == plain
        decode_plain(channel, back, sa.overhead)  # a valid frame again, FECF and all
    assert rx.events() == []


@pytest.mark.parametrize("channel", CHANNELS, ids=CHANNEL_IDS)
def test_protected_frame_decodes_with_the_channel_params(channel: Channel) -> None:
    # The protected frame is still a well-formed frame of the channel: length field and
    # FECF fixed, security header and trailer inside the data field.
    sa = channel.sa(AEAD)
    tx, _ = engine_pair(channel, sa)
    protected = tx.apply(channel.plain_frame(sa.overhead, b"x" * 50), sa.spi)
    frame = decode_plain(channel, protected, 0)
    assert frame is not None


def test_frame_objects_are_accepted() -> None:
    sa = TM.sa(AEAD)
    tx, rx = engine_pair(TM, sa)
    tm_params = TM.params
    assert isinstance(tm_params, TmParams)
    plain = TmFrame.decode(
        TM.plain_frame(sa.overhead, b"abc"), plain_params(tm_params, sa.overhead)
    )
    protected = tx.apply(plain, sa.spi)
    assert TmFrame.decode(rx.process(protected), plain_params(tm_params, sa.overhead)) == plain


def test_security_header_layout_tm() -> None:
    sa = TM.sa(AEAD)
    tx, _ = engine_pair(TM, sa)
    tx.set_counters(sa.spi, iv=0x0102, sequence_number=0x0A0B0C0D)
    protected = tx.apply(TM.plain_frame(sa.overhead, b"abc"), sa.spi)
    # After the 6-octet primary header: SPI 7, 12-octet IV, 4-octet sequence number.
    assert protected[6:8] == b"\x00\x07"
    assert protected[8:20] == (0x0102).to_bytes(12, "big")
    assert protected[20:24] == b"\x0a\x0b\x0c\x0d"
    # MAC right before the OCF, OCF and FECF at the end as before.
    assert protected[-6:-2] == b"\x01\x02\x03\x04"


def test_tc_length_field_and_fecf_are_fixed() -> None:
    sa = TC.sa(AEAD)
    tx, _ = engine_pair(TC, sa)
    plain = TC.plain_frame(sa.overhead, b"hello")
    protected = tx.apply(plain, sa.spi)
    frame = TcFrame.decode(protected, TcParams(has_segment_header=True))
    assert TcFrame.frame_length(protected) == len(protected) == len(plain) + sa.overhead
    assert frame.map_id == 2 and frame.frame_sequence_number == 77


def test_counters_increase_per_frame() -> None:
    sa = TC.sa(AEAD)
    tx, _ = engine_pair(TC, sa)
    ivs = set()
    for _ in range(40):  # crosses several reservation blocks (reserve=16)
        p = tx.apply(TC.plain_frame(sa.overhead, b"a"), sa.spi)
        ivs.add(p[8:20])
    assert len(ivs) == 40


# -- rejections ---------------------------------------------------------------------


def _protected(
    channel: Channel = TM, service: ServiceType = AEAD, **kw: Any
) -> tuple[SecurityEngine, SecurityEngine, SecurityAssociation, bytes]:
    sa = channel.sa(service, **kw)
    tx, rx = engine_pair(channel, sa)
    return tx, rx, sa, tx.apply(channel.plain_frame(sa.overhead, b"payload"), sa.spi)


def _rejected(rx: SecurityEngine, frame: bytes, reason: RejectReason, **kw: bool) -> SecurityError:
    with pytest.raises(SecurityError) as info:
        rx.process(frame, **kw)
    assert info.value.rejection is reason
    assert isinstance(info.value, DecodeError)
    events = rx.events()
    assert events and events[-1].reason is reason
    assert rx.rejections[reason] >= 1
    return info.value


def test_replay_is_rejected() -> None:
    _, rx, _, frame = _protected()
    rx.process(frame)
    err = _rejected(rx, frame, RejectReason.REPLAY)
    assert err.spi == 7 and err.event.sequence_number == 0


@pytest.mark.parametrize("service", [AEAD, ServiceType.AUTHENTICATION], ids=["aead", "auth"])
@pytest.mark.parametrize("where", ["mac", "header", "security header", "data"])
def test_flipped_bit_is_rejected(service: ServiceType, where: str) -> None:
    _, rx, sa, frame = _protected(service=service)
    offset = {
        "mac": len(frame) - 6 - 1,  # last MAC octet (before OCF and FECF)
        "header": 3,  # VC frame count
        "security header": 10,  # inside the IV
        "data": 6 + sa.header_length + 5,
    }[where]
    damaged = bytearray(frame)
    damaged[offset] ^= 0x01
    _rejected(rx, _refix_fecf(damaged), RejectReason.BAD_MAC)
    # And the genuine frame still passes afterwards: a forgery never moves the window.
    assert rx.process(frame)


def test_flipped_bit_with_bad_fecf_is_a_fecf_error_not_a_security_event() -> None:
    _, rx, _, frame = _protected()
    damaged = bytearray(frame)
    damaged[30] ^= 0x80
    with pytest.raises(FecfError):
        rx.process(damaged)
    assert rx.events() == []
    with pytest.raises(SecurityError):
        rx.process(damaged, verify_fecf=False)


def test_truncated_frame_is_rejected() -> None:
    sa = TC.sa(AEAD)
    tx, rx = engine_pair(TC, sa)
    frame = tx.apply(TC.plain_frame(sa.overhead, b"command"), sa.spi)
    for cut in (1, 5, 17, len(frame) - 1):
        _rejected(rx, frame[:cut], RejectReason.MALFORMED)
    # A frame whose length field was shortened to fit: MAC or header no longer fit.
    short = bytearray(frame[: 5 + 1 + 20])
    short[3] = len(short) + 2 - 1
    with pytest.raises(SecurityError) as info:
        rx.process(_refix_fecf(short + b"\0\0"))
    assert info.value.rejection in (RejectReason.MALFORMED, RejectReason.BAD_MAC)


def test_unknown_spi_is_rejected() -> None:
    _, rx, _, frame = _protected()
    damaged = bytearray(frame)
    damaged[7] = 99
    err = _rejected(rx, _refix_fecf(damaged), RejectReason.UNKNOWN_SPI)
    assert err.spi == 99 and err.offset == 6


def test_sa_not_operational_or_wrong_channel_is_rejected() -> None:
    _, rx, sa, frame = _protected()
    rx.stop(sa.spi)
    _rejected(rx, frame, RejectReason.INVALID_SA)
    rx.start(sa.spi)
    other_vc = bytearray(frame)
    other_vc[1] = (other_vc[1] & 0xF1) | (2 << 1)  # VCID 2
    _rejected(rx, _refix_fecf(other_vc), RejectReason.INVALID_SA)
    assert rx.process(frame)


def test_outside_the_window_is_rejected() -> None:
    sa = TC.sa(AEAD, replay_window=8)
    tx, rx = engine_pair(TC, sa)
    frames = [tx.apply(TC.plain_frame(sa.overhead, b"c"), sa.spi) for _ in range(20)]
    rx.process(frames[10])
    rx.process(frames[15])
    _rejected(rx, frames[10], RejectReason.REPLAY)  # seen, still inside the window
    rx.process(frames[19])
    _rejected(rx, frames[10], RejectReason.OUTSIDE_WINDOW)  # 9 behind a window of 8
    _rejected(rx, frames[5], RejectReason.OUTSIDE_WINDOW)
    rx.process(frames[12])  # within the window, not yet seen: accepted out of order
    _rejected(rx, frames[12], RejectReason.REPLAY)


def test_forward_limit() -> None:
    sa = TC.sa(AEAD, replay_forward_limit=5)
    tx, rx = engine_pair(TC, sa)
    frames = [tx.apply(TC.plain_frame(sa.overhead, b"c"), sa.spi) for _ in range(12)]
    rx.process(frames[0])
    _rejected(rx, frames[11], RejectReason.OUTSIDE_WINDOW)
    rx.process(frames[5])


def test_iv_is_the_counter_without_a_sequence_number() -> None:
    _, rx, sa, frame = _protected(sequence_number_length=0)
    assert sa.header_length == 14
    rx.process(frame)
    _rejected(rx, frame, RejectReason.REPLAY)


def test_encryption_only_has_no_replay_check_and_no_integrity() -> None:
    # Documented: without a MAC nothing can be verified (355.0-B-2 4.1.1.4.4).
    _, rx, _, frame = _protected(service=ServiceType.ENCRYPTION)
    assert rx.process(frame) == rx.process(frame)


def test_nonzero_pad_length_is_malformed() -> None:
    _, rx, sa, frame = _protected(pad_length_length=1)
    damaged = bytearray(frame)
    damaged[6 + sa.header_length - 1] = 3
    _rejected(rx, _refix_fecf(damaged), RejectReason.MALFORMED)


def test_wrong_key_is_a_bad_mac() -> None:
    sa = TC.sa(AEAD)
    tx, _ = engine_pair(TC, sa)
    rx = SecurityEngine(
        TC.params, MemoryKeyStore([OTHER_KEY.__class__(1, bytes(32))]), MemoryStateStore()
    )
    rx.add(sa)
    rx.start(sa.spi)
    _rejected(rx, tx.apply(TC.plain_frame(sa.overhead, b"x"), sa.spi), RejectReason.BAD_MAC)


def test_short_mac() -> None:
    sa = TC.sa(AEAD, mac_length=12)
    tx, rx = engine_pair(TC, sa)
    tx.set_counters(sa.spi, iv=5, sequence_number=5)
    plain = TC.plain_frame(sa.overhead, b"twelve octet tag")
    frame = tx.apply(plain, sa.spi)
    assert rx.process(frame) == plain
    header = frame[:6]
    _, tag = reference_gcm(
        KEY.material(), (5).to_bytes(12, "big"), b"twelve octet tag", header + frame[6:24]
    )
    assert frame[-14:-2] == tag[:12]  # the leftmost 12 octets (SP 800-38D 5.2.1.2)
    damaged = bytearray(tx.apply(plain, sa.spi))
    damaged[-3] ^= 1
    _rejected(rx, _refix_fecf(damaged), RejectReason.BAD_MAC)


def test_authentication_mask_lets_masked_fields_change() -> None:
    # Mask out the TM MC frame count (octet 2), as when it is set after security.
    sa = TM.sa(AEAD, authentication_mask=bytes.fromhex("ffff00ffffff"))
    tx, rx = engine_pair(TM, sa)
    frame = bytearray(tx.apply(TM.plain_frame(sa.overhead, b"m"), sa.spi))
    frame[2] = 0x77
    plain = rx.process(_refix_fecf(frame))
    assert plain[2] == 0x77
    frame = bytearray(tx.apply(TM.plain_frame(sa.overhead, b"m"), sa.spi))
    frame[3] ^= 1  # VC frame count is still authenticated
    frame[2] = 0x78
    _rejected(rx, _refix_fecf(frame), RejectReason.BAD_MAC)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_frame_or_a_decode_error(data: bytes) -> None:
    sa = TC.sa(AEAD)
    _, rx = engine_pair(TC, sa)
    for candidate in (
        data,
        b"\x20\x23" + data[2:],
        _refix_fecf(b"\x01\x23\x10" + data) if data else data,
    ):
        with contextlib.suppress(DecodeError):
            rx.process(candidate)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 300), st.integers(0, 7))
def test_every_single_bit_flip_is_rejected(position: int, bit: int) -> None:
    # Everything before the OCF is authenticated; the OCF (a CLCW, rewritten per frame
    # by the master channel) is outside the trailer by design (355.0-B-2 4.1.2).
    _, rx, _, frame = _protected()
    position %= len(frame) - 6
    damaged = bytearray(frame)
    damaged[position] ^= 1 << bit
    with pytest.raises(DecodeError):
        rx.process(_refix_fecf(damaged))


# -- apply misuse and SA management ---------------------------------------------------


def test_apply_refuses_misuse() -> None:
    sa = TM.sa(AEAD)
    tx, _ = engine_pair(TM, sa)
    good = TM.plain_frame(sa.overhead, b"x")
    with pytest.raises(UsageError, match="not operational"):
        tx.apply(good, 8)
    with pytest.raises(UsageError, match="must be"):
        tx.apply(good + b"\0\0", sa.spi)
    wrong_vc = TmFrame(0x2A, 2, 0, 0, 0, bytes(len(good) - 12), ocf=bytes(4)).encode()
    with pytest.raises(UsageError, match="covers"):
        tx.apply(wrong_vc, sa.spi)
    tx.stop(sa.spi)
    with pytest.raises(UsageError, match="not operational"):
        tx.apply(good, sa.spi)


def test_tc_frame_too_long_after_security() -> None:
    sa = TC.sa(AEAD)
    tx, _ = engine_pair(TC, sa)
    with pytest.raises(UsageError, match="1024"):
        tx.apply(TcFrame(0x123, 4, 0, bytes(1000), map_id=2), sa.spi)


def test_sequence_number_exhaustion_asks_for_a_rekey() -> None:
    sa = TC.sa(AEAD, sequence_number_length=1)
    tx, _ = engine_pair(TC, sa)
    tx.set_counters(sa.spi, sequence_number=255)
    tx.apply(TC.plain_frame(sa.overhead, b"x"), sa.spi)
    with pytest.raises(UsageError, match="rekey"):
        tx.apply(TC.plain_frame(sa.overhead, b"x"), sa.spi)


def test_counters_only_move_forward() -> None:
    sa = TC.sa(AEAD)
    tx, _ = engine_pair(TC, sa)
    tx.set_counters(sa.spi, iv=100)
    with pytest.raises(UsageError, match="forward"):
        tx.set_counters(sa.spi, iv=99)
    with pytest.raises(UsageError, match="forward"):
        tx.set_counters(sa.spi, sequence_number=1 << 32)


def test_sa_state_machine() -> None:
    sa = TC.sa(AEAD)
    engine = SecurityEngine(TC.params, MemoryKeyStore([KEY, OTHER_KEY]), MemoryStateStore())
    engine.add(sa, state=SaState.UNKEYED)
    assert engine.state_of(sa.spi) is SaState.UNKEYED
    with pytest.raises(UsageError, match="start is not allowed"):
        engine.start(sa.spi)
    with pytest.raises(UsageError):
        engine.rekey(sa.spi, 42)  # no such key: refused, state unchanged
    assert engine.state_of(sa.spi) is SaState.UNKEYED
    engine.rekey(sa.spi, 2)
    assert engine.state_of(sa.spi) is SaState.KEYED and engine.key_id_of(sa.spi) == 2
    engine.start(sa.spi)
    assert engine.state_of(sa.spi) is SaState.OPERATIONAL
    with pytest.raises(UsageError):
        engine.expire(sa.spi)
    engine.stop(sa.spi)
    engine.expire(sa.spi)
    assert engine.state_of(sa.spi) is SaState.UNKEYED
    with pytest.raises(UsageError, match="already in use"):
        engine.add(sa)
    with pytest.raises(UsageError, match="No SA"):
        engine.start(99)


def test_rekeyed_sa_uses_the_new_key() -> None:
    sa = TC.sa(AEAD)
    tx, rx = engine_pair(TC, sa)
    for engine in (tx, rx):
        engine.stop(sa.spi)
        engine.expire(sa.spi)
        engine.rekey(sa.spi, 2)
        engine.start(sa.spi)
    plain = TC.plain_frame(sa.overhead, b"new key")
    assert rx.process(tx.apply(plain, sa.spi)) == plain


def test_rejection_event_validates() -> None:
    with pytest.raises(UsageError):
        FrameRejected("bad", 1, 2, 3)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        FrameRejected(RejectReason.REPLAY, 1, 2, -1)


def test_gvcid_and_sa_validation() -> None:
    with pytest.raises(UsageError, match="tfvn"):
        Gvcid(2, 1, 1)
    with pytest.raises(UsageError, match="MAP"):
        Gvcid(1, 1, 1, map_id=3)
    g = Gvcid(0, 1, 1)
    with pytest.raises(UsageError, match="iv_length"):
        SecurityAssociation(1, g, AEAD, 1, iv_length=16)
    with pytest.raises(UsageError, match="mac_length"):
        SecurityAssociation(1, g, AEAD, 1, mac_length=8)
    with pytest.raises(UsageError, match="mac_length=0"):
        SecurityAssociation(1, g, ServiceType.ENCRYPTION, 1, sequence_number_length=0)
    with pytest.raises(UsageError, match="sequence_number_length=0"):
        SecurityAssociation(1, g, ServiceType.ENCRYPTION, 1, mac_length=0)
    with pytest.raises(UsageError, match="spi"):
        SecurityAssociation(70000, g, AEAD, 1)
    sa = SecurityAssociation(1, g, AEAD, 1, pad_length_length=2)
    assert sa.header_length == 2 + 12 + 4 + 2 and sa.overhead == sa.header_length + 16


def test_mask_length_must_match_the_headers() -> None:
    sa = TM.sa(AEAD, authentication_mask=b"\xff" * 5)
    tx, _ = engine_pair(TM, sa)
    with pytest.raises(UsageError, match="authentication_mask"):
        tx.apply(TM.plain_frame(sa.overhead, b"x"), sa.spi)


def test_plain_params_is_the_channel_less_the_overhead() -> None:
    assert plain_params(TmParams(1115), 34).frame_length == 1081
    assert plain_params(TcParams(), 34) == TcParams()


def test_tm_channel_whose_ocf_follows_the_flag() -> None:
    # has_ocf=None: the layout differs per frame, so the generic (non-static) path runs.
    channel = Channel("tm-any-ocf", TmParams(128, has_ocf=None), Gvcid(0, 0x2A, 1))
    sa = channel.sa(AEAD)
    tx, rx = engine_pair(channel, sa)
    pp = plain_params(TmParams(128, has_ocf=None), sa.overhead)
    for ocf in (None, b"\x09\x08\x07\x06"):
        room = pp.frame_length - 6 - 2 - (4 if ocf else 0)
        plain = TmFrame(0x2A, 1, 0, 0, 0, b"d" * room, ocf=ocf).encode()
        assert rx.process(tx.apply(plain, sa.spi)) == plain


def test_aos_frame_of_another_spacecraft_is_an_invalid_sa() -> None:
    aos = CHANNELS[1]
    _, rx, _, frame = _protected(aos)
    damaged = bytearray(frame)
    damaged[1] ^= 0x40  # lowest SCID bit
    _rejected(rx, _refix_fecf(damaged), RejectReason.INVALID_SA)
    damaged = bytearray(frame)
    damaged[0] ^= 0x80  # version 11: malformed before anything else
    _rejected(rx, _refix_fecf(damaged), RejectReason.MALFORMED)
