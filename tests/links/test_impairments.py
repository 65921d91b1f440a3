"""links.impairments: Gilbert-Elliott, bit errors, the batch channel and its machine face.

Statistical checks are seeded and use 4-sigma bounds from the analytic Monte-Carlo
standard error named beside each (so a pass is not luck, and a failure is a bug).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from comms.errors import UsageError
from links.impairments import (
    Channel,
    ChannelModel,
    DeliveryFlag,
    GilbertElliott,
    sample_bit_errors,
)

FRAME = 1115  # octets: a TM frame as the benchmark uses


def _bursts(mask: np.ndarray) -> np.ndarray:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == -1) - np.flatnonzero(d == 1)


# --- Gilbert-Elliott -----------------------------------------------------------------


def test_from_loss_is_the_simple_gilbert_model() -> None:
    ge = GilbertElliott.from_loss(0.05, 8.0)
    assert ge.h == 0.0 and ge.k == 1.0
    assert ge.r == pytest.approx(1 / 8)
    assert ge.mean_loss_rate == pytest.approx(0.05)
    assert ge.mean_burst_length == pytest.approx(8.0)


def test_sampled_loss_rate_and_burst_length_match_the_model() -> None:
    ge = GilbertElliott.from_loss(0.05, 8.0)
    proc = ge.process(np.random.default_rng(11))
    # sampled in uneven chunks: the chain must continue across calls
    chunks = [1, 7, 1000, 3, 400_000, 2, 600_000]
    mask = np.concatenate([proc.sample(n) for n in chunks])
    n = mask.size
    # Mean of a stationary two-state chain: Var = pi (1 - pi) / n * (1 + lam) / (1 - lam),
    # lam = 1 - p - r its second eigenvalue.
    lam = 1.0 - ge.p - ge.r
    sigma_loss = math.sqrt(0.05 * 0.95 / n * (1 + lam) / (1 - lam))
    assert abs(mask.mean() - 0.05) < 4 * sigma_loss
    # Burst lengths are geometric(r): sd sqrt(1 - r) / r per burst.
    bursts = _bursts(mask)
    sigma_burst = math.sqrt(1 - ge.r) / ge.r / math.sqrt(bursts.size)
    assert abs(bursts.mean() - 8.0) < 4 * sigma_burst


def test_general_h_k_loss_rate() -> None:
    ge = GilbertElliott(p=0.01, r=0.1, h=0.3, k=0.99)
    mask = ge.process(np.random.default_rng(5)).sample(1_000_000)
    expected = ge.mean_loss_rate
    assert expected == pytest.approx(10 / 11 * 0.01 + 1 / 11 * 0.7)
    # loose analytic bound: the chain's correlation inflates the binomial variance by
    # at most (1 + lam) / (1 - lam) = 17.2
    sigma = math.sqrt(expected * (1 - expected) / mask.size * 17.2)
    assert abs(mask.mean() - expected) < 4 * sigma


def test_fit_recovers_parameters() -> None:
    truth = GilbertElliott(p=0.002, r=0.05)
    mask = truth.process(np.random.default_rng(2)).sample(2_000_000)
    fit = GilbertElliott.fit(mask)
    # ML transition estimates: sd sqrt(x (1 - x) / visits of the source state)
    good = np.count_nonzero(~mask[:-1])
    bad = np.count_nonzero(mask[:-1])
    assert abs(fit.p - truth.p) < 4 * math.sqrt(truth.p * (1 - truth.p) / good)
    assert abs(fit.r - truth.r) < 4 * math.sqrt(truth.r * (1 - truth.r) / bad)


def test_absorbing_states() -> None:
    always_bad = GilbertElliott(p=1.0, r=0.0)
    assert always_bad.process(np.random.default_rng(0)).sample(1000)[1:].all()
    never = GilbertElliott(p=0.0, r=1.0)
    assert not never.process(np.random.default_rng(0)).sample(1000).any()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: GilbertElliott(p=1.5, r=0.1), "probability"),
        (lambda: GilbertElliott(p=0.0, r=0.0), "p \\+ r"),
        (lambda: GilbertElliott.from_loss(0.9, 1.0), "longer bursts"),
        (lambda: GilbertElliott.from_loss(0.1, 0.5), ">= 1"),
        (lambda: GilbertElliott.fit(np.zeros(100, dtype=bool)), "no transitions"),
    ],
)
def test_gilbert_elliott_usage_errors(call: object, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        call()  # type: ignore[operator]


# --- bit errors ----------------------------------------------------------------------


def test_bit_error_count_matches_n_ber() -> None:
    rng = np.random.default_rng(7)
    nbits, ber, frames = 8 * FRAME, 1e-5, 200_000
    row, bit = sample_bit_errors(np.full(frames, nbits), ber, rng)
    n = frames * nbits
    assert abs(row.size - n * ber) < 4 * math.sqrt(n * ber * (1 - ber))  # binomial sd
    assert bit.min() >= 0 and bit.max() < nbits
    key = row * nbits + bit
    assert np.unique(key).size == key.size  # distinct positions within a frame


def test_bit_errors_are_exact_at_high_ber() -> None:
    # At BER 0.5 collisions are frequent: the redraw must still give exact counts.
    rng = np.random.default_rng(1)
    row, bit = sample_bit_errors(np.full(4000, 64), 0.5, rng)
    counts = np.bincount(row, minlength=4000)
    assert abs(counts.mean() - 32) < 4 * math.sqrt(16 / 4000)
    assert np.unique(row * 64 + bit).size == row.size


def test_flipped_bits_match_reported_errors() -> None:
    frames = np.random.default_rng(3).integers(0, 256, (3000, FRAME), dtype=np.uint8)
    ch = Channel(ChannelModel(ber=1e-4), np.random.default_rng(4))
    b = ch.process(frames, 0.0)
    assert isinstance(b.frames, np.ndarray)
    flipped = np.unpackbits(b.frames ^ frames[b.source_index], axis=1).sum(axis=1)
    assert np.array_equal(flipped, b.bit_errors)
    assert np.array_equal(b.flags & DeliveryFlag.CORRUPTED > 0, b.bit_errors > 0)
    assert b.bit_errors.sum() > 0
    # the caller's frames are untouched (a copy is corrupted)
    again = np.random.default_rng(3).integers(0, 256, (3000, FRAME), dtype=np.uint8)
    assert np.array_equal(frames, again)


def test_bytes_input_gives_bytes_with_the_same_errors_as_arrays() -> None:
    frames = np.random.default_rng(3).integers(0, 256, (500, 200), dtype=np.uint8)
    model = ChannelModel(ber=1e-3, erasure_probability=0.1, duplicate_probability=0.1)
    a = Channel(model, np.random.default_rng(9)).process(frames, 0.0)
    b = Channel(model, np.random.default_rng(9)).process([bytes(f) for f in frames], 0.0)
    assert isinstance(a.frames, np.ndarray) and isinstance(b.frames, list)
    assert [bytes(f) for f in a.frames] == b.frames
    assert np.array_equal(a.bit_errors, b.bit_errors)


# --- the channel ---------------------------------------------------------------------


def _full_model() -> ChannelModel:
    return ChannelModel(
        ber=1e-5,
        burst=GilbertElliott.from_loss(0.02, 5.0),
        erasure_probability=0.01,
        delay_s=0.002,
        light_time_s=0.0075,
        data_rate_bps=1e9,
        duplicate_probability=0.05,
        reorder_probability=0.05,
        reorder_delay_s=1e-4,
    )


def test_same_seed_same_deliveries() -> None:
    frames = np.random.default_rng(0).integers(0, 256, (2000, 100), dtype=np.uint8)
    t = np.arange(2000) * 1e-6
    a = Channel(_full_model(), np.random.default_rng(42)).process(frames, t)
    b = Channel(_full_model(), np.random.default_rng(42)).process(frames, t)
    c = Channel(_full_model(), np.random.default_rng(43)).process(frames, t)
    for field in ("delivery_times_s", "frames", "flags", "source_index", "lost_index"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.source_index, c.source_index)


def test_bookkeeping_every_frame_once_unless_lost_or_duplicated() -> None:
    n = 20_000
    frames = np.random.default_rng(0).integers(0, 256, (n, 64), dtype=np.uint8)
    ch = Channel(_full_model(), np.random.default_rng(1))
    b = ch.process(frames, np.arange(n) * 1e-7)
    counts = np.bincount(b.source_index, minlength=n)
    dup = (b.flags & DeliveryFlag.DUPLICATE) > 0
    assert set(np.flatnonzero(counts == 0)) == set(b.lost_index.tolist())
    assert np.array_equal(np.flatnonzero(counts == 2), np.sort(b.source_index[dup]))
    assert counts.max() <= 2
    assert np.all(np.diff(b.delivery_times_s) >= 0.0)
    s = ch.stats
    assert s.sent == n and s.lost == b.lost_index.size
    assert s.delivered == len(b) == n - s.lost + s.duplicated
    assert s.reordered == np.count_nonzero(b.flags & DeliveryFlag.REORDERED)
    assert s.corrupted == np.count_nonzero(b.bit_errors)
    # only reordered copies arrive out of sending order
    in_order = ~((b.flags & DeliveryFlag.REORDERED) > 0)
    assert np.all(np.diff(b.source_index[in_order & ~dup]) > 0)
    assert b.lost_index.size > 0 and dup.any() and (~in_order).any()


def test_reordering_delay_is_bounded() -> None:
    model = ChannelModel(light_time_s=0.01, reorder_probability=0.5, reorder_delay_s=1e-3)
    b = Channel(model, np.random.default_rng(2)).process([b"x"] * 1000, np.arange(1000) * 1e-5)
    extra = b.delivery_times_s - (b.source_index * 1e-5 + 0.01)
    late = (b.flags & DeliveryFlag.REORDERED) > 0
    assert np.all(extra[~late] == pytest.approx(0.0, abs=1e-12))
    assert np.all((extra[late] > 0.0) & (extra[late] <= 1e-3 + 1e-12))


def _lindley(send: list[float], nbytes: list[int], rate: float, free: float) -> list[float]:
    out = []
    for s, n in zip(send, nbytes, strict=True):
        free = max(s, free) + 8 * n / rate
        out.append(free)
    return out


def test_serialization_is_a_fifo_at_the_data_rate() -> None:
    rng = np.random.default_rng(5)
    sizes = rng.integers(10, 2000, 400).tolist()
    send = np.sort(rng.uniform(0.0, 0.004, 400))
    model = ChannelModel(data_rate_bps=1e6, delay_s=0.5)
    ch = Channel(model, np.random.default_rng(0))
    frames = [bytes(n) for n in sizes]
    first = ch.process(frames[:150], send[:150])
    second = ch.process(frames[150:], send[150:])  # the queue carries across calls
    got = np.concatenate([first.delivery_times_s, second.delivery_times_s])
    want = np.array(_lindley(send.tolist(), sizes, 1e6, -math.inf)) + 0.5
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_time_varying_ber_erasures_and_light_time() -> None:
    t = np.arange(10_000) * 1e-3
    model = ChannelModel(
        ber=lambda t: np.where(t < 5.0, 0.0, 1e-3),
        erasure_mask=lambda t: (t > 2.0) & (t < 3.0),
        light_time_s=lambda t: 0.01 + 0.001 * t,
    )
    b = Channel(model, np.random.default_rng(0)).process([bytes(100)] * t.size, t)
    sent = t[b.source_index]
    assert not np.any((sent > 2.0) & (sent < 3.0))
    assert b.lost_index.size == np.count_nonzero((t > 2.0) & (t < 3.0))
    assert np.all(b.bit_errors[sent < 5.0] == 0) and b.bit_errors[sent >= 5.0].sum() > 0
    assert b.delivery_times_s == pytest.approx(sent + 0.01 + 0.001 * sent)


def test_machine_face_delivers_on_time_and_in_order() -> None:
    model = ChannelModel(light_time_s=0.01, reorder_probability=0.3, reorder_delay_s=0.002)
    ch = Channel(model, np.random.default_rng(8))
    assert ch.next_deadline() is None
    for i in range(100):
        ch.send(i.to_bytes(2, "big"), i * 1e-3)
    got: list[tuple[float, bytes]] = []
    now = 0.0
    while (deadline := ch.next_deadline()) is not None:
        assert deadline >= now
        assert ch.deliveries(deadline - 1e-9) == []  # nothing early
        now = deadline
        batch = ch.deliveries(now)
        assert batch and all(t <= now for t, _ in batch)
        got.extend(batch)
    assert sorted(int.from_bytes(f, "big") for _, f in got) == list(range(100))
    assert [t for t, _ in got] == sorted(t for t, _ in got)
    assert ch.stats.delivered == 100


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="non-decreasing"):
        Channel(ChannelModel(), np.random.default_rng(0)).process([b"a", b"b"], [1.0, 0.5])
    ch = Channel(ChannelModel(), np.random.default_rng(0))
    ch.send(b"a", 1.0)
    with pytest.raises(UsageError, match="non-decreasing"):
        ch.send(b"b", 0.5)
    with pytest.raises(UsageError, match="2-D uint8"):
        ch.process(np.zeros((2, 3), dtype=np.int16), 2.0)
    with pytest.raises(UsageError, match="reorder_delay_s"):
        ChannelModel(reorder_probability=0.1)
    with pytest.raises(UsageError, match="ber"):
        ChannelModel(ber=0.7)
    with pytest.raises(UsageError, match="data_rate_bps"):
        ChannelModel(data_rate_bps=0.0)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), max_size=30),
    ber=st.sampled_from([0.0, 1e-3, 0.1, 0.5]),
    loss=st.floats(0.0, 1.0),
    dup=st.floats(0.0, 1.0),
    reorder=st.floats(0.0, 1.0),
    rate=st.sampled_from([None, 1e3, 1e9]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_channel_accounts_for_every_frame(
    sizes: list[int],
    ber: float,
    loss: float,
    dup: float,
    reorder: float,
    rate: float | None,
    seed: int,
) -> None:
    model = ChannelModel(
        ber=ber,
        erasure_probability=loss,
        duplicate_probability=dup,
        reorder_probability=reorder,
        reorder_delay_s=1e-3,
        data_rate_bps=rate,
    )
    frames = [bytes([i % 256]) * n for i, n in enumerate(sizes)]
    ch = Channel(model, np.random.default_rng(seed))
    b = ch.process(frames, np.arange(len(frames)) * 1e-4)
    counts = np.bincount(b.source_index, minlength=len(frames))
    assert np.array_equal(np.flatnonzero(counts == 0), b.lost_index)
    assert counts.sum() == len(b) == ch.stats.delivered
    assert all(len(f) == sizes[i] for f, i in zip(b.frames, b.source_index, strict=True))
    assert np.all(np.diff(b.delivery_times_s) >= 0.0)
