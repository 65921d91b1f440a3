"""Per-frame link impairments: bit errors, Gilbert-Elliott bursts, erasures, delay,
serialization at a data rate, duplication and reordering. Seeded, reproducible, sans-I/O.

Two faces over one implementation:

- :meth:`Channel.process` is the batch path: frames (a 2-D uint8 array of equal-length
  frames, or a sequence of bytes) and their send times in, every impairment applied with
  numpy in bulk, a :class:`Batch` of deliveries (in delivery order) out. It is what an
  emulator on the virtual clock drives at hundreds of thousands of frames per second.
- :meth:`Channel.send` / :meth:`Channel.deliveries` / :meth:`Channel.next_deadline` are
  the machine face of ARCHITECTURE.md ("The shape of a protocol machine"): time is an
  argument and the driver re-arms one timer at ``next_deadline()``.

The model, in the order a frame meets it:

1. Serialization: with ``data_rate_bps`` the link is a FIFO that sends 8 L / R seconds per
   frame, d_i = max(s_i, d_(i-1)) + 8 L_i / R (Lindley's recursion, solved in closed form
   with a running maximum). Without a rate, d_i = s_i.
2. Loss at the transmission time d_i: a Gilbert-Elliott state per frame, an independent
   erasure probability, and an optional ``erasure_mask(times)`` (e.g. an optical fade
   process, :mod:`links.optical`).
3. Arrival a_i = d_i + light_time(d_i) + delay_s.
4. Duplication: a surviving frame is delivered twice with ``duplicate_probability``.
5. Reordering: each copy, with ``reorder_probability``, waits an extra delay uniform in
   (0, ``reorder_delay_s``]: it can pass at most the frames sent in that time.
6. Bit errors per delivered copy at ``ber`` (a constant or a function of time): the count
   per frame is binomial(8 L, ber) and positions are distinct uniform bit indices, so a
   frame's corruption is exact, not an approximation, at any BER.

Gilbert-Elliott (Gilbert 1960, Elliott 1963): states Good and Bad, p = P(G -> B) and
r = P(B -> G) per frame; a frame is delivered with probability k in Good and h in Bad
(netem's kernel names; its command line takes 1-h and 1-k, REFERENCES.md). The simple
Gilbert model (h = 0, k = 1) with mean loss rate L and mean burst length B has r = 1/B
and p = L r / (1 - L).

Randomness comes from an injected :class:`numpy.random.Generator` and is drawn per call:
the same calls with the same seed give the same deliveries; the same frames in different
batch sizes give statistically equal, not identical, outcomes.

Left out: a bounded queue (tail drop) behind the rate limit, token-bucket burst
allowances, corruption of frame length (insertions and deletions of bits, which frame
sync sees as slips), and jitter of the light time.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntFlag

import numpy as np
import numpy.typing as npt

from comms.buffers import BytesLike
from comms.errors import UsageError
from links.times import FloatArray

__all__ = [
    "Batch",
    "Channel",
    "ChannelModel",
    "ChannelStats",
    "DeliveryFlag",
    "GilbertElliott",
    "GilbertElliottProcess",
    "flip_bits",
    "sample_bit_errors",
]

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
TimeFunction = Callable[[FloatArray], npt.ArrayLike]


class DeliveryFlag(IntFlag):
    NONE = 0
    CORRUPTED = 1  # at least one bit flipped
    DUPLICATE = 2  # the second copy of a duplicated frame
    REORDERED = 4  # held back by a reordering delay


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name} is a probability in [0, 1]; got {value!r}.")


# --- Gilbert-Elliott -----------------------------------------------------------------


@dataclass(frozen=True)
class GilbertElliott:
    """Gilbert-Elliott burst-loss parameters (per frame; see the module docstring)."""

    p: float
    r: float
    h: float = 0.0
    k: float = 1.0

    def __post_init__(self) -> None:
        for name in ("p", "r", "h", "k"):
            _probability(f"GilbertElliott.{name}", getattr(self, name))
        if self.p + self.r == 0.0:
            raise UsageError("GilbertElliott needs p + r > 0 (otherwise it never changes state).")

    @classmethod
    def from_loss(cls, mean_loss_rate: float, mean_burst_length: float) -> GilbertElliott:
        """The simple Gilbert model (h = 0, k = 1): r = 1 / B, p = L r / (1 - L)."""
        if not 0.0 <= mean_loss_rate < 1.0:
            raise UsageError("mean_loss_rate must be in [0, 1).")
        if not mean_burst_length >= 1.0:
            raise UsageError("mean_burst_length counts frames: it must be >= 1.")
        r = 1.0 / mean_burst_length
        p = mean_loss_rate * r / (1.0 - mean_loss_rate)
        if p > 1.0:
            raise UsageError(
                "A loss rate that high needs longer bursts: L / (1 - L) must be <= B "
                f"(L = {mean_loss_rate}, B = {mean_burst_length})."
            )
        return cls(p, r)

    @classmethod
    def fit(cls, loss_mask: npt.ArrayLike) -> GilbertElliott:
        """Maximum-likelihood simple Gilbert model (h = 0, k = 1) of a loss sequence
        (True = lost): p = good-to-bad transitions / good frames that have a successor,
        r = bad-to-good transitions / bad frames that have one. Use it on a fade series'
        erasure mask (power below the detector's sensitivity) to drive bursts."""
        m = np.asarray(loss_mask, dtype=bool).reshape(-1)
        if m.size < 2:
            raise UsageError("Fitting needs a loss sequence of at least two frames.")
        prev, nxt = m[:-1], m[1:]
        good, bad = int(np.count_nonzero(~prev)), int(np.count_nonzero(prev))
        g2b = int(np.count_nonzero(~prev & nxt))
        b2g = int(np.count_nonzero(prev & ~nxt))
        if good == 0 or bad == 0 or g2b + b2g == 0:
            raise UsageError(
                "The loss sequence has no transitions between loss and delivery; "
                "fit a longer sequence (or use a constant erasure probability)."
            )
        return cls(g2b / good, b2g / bad)

    @property
    def bad_fraction(self) -> float:
        return self.p / (self.p + self.r)

    @property
    def mean_loss_rate(self) -> float:
        pb = self.bad_fraction
        return pb * (1.0 - self.h) + (1.0 - pb) * (1.0 - self.k)

    @property
    def mean_burst_length(self) -> float:
        """Mean number of consecutive losses: 1 / r for the simple Gilbert model; in
        general the mean Bad-state sojourn (losses inside it are then thinned)."""
        return math.inf if self.r == 0.0 else 1.0 / self.r

    def process(self, rng: np.random.Generator) -> GilbertElliottProcess:
        return GilbertElliottProcess(self, rng)


class GilbertElliottProcess:
    """A running Gilbert-Elliott chain: :meth:`sample` returns the next ``n`` frames'
    loss flags, continuing where the last call stopped (state and remaining sojourn).

    The chain is sampled by sojourns, not frames: Good spells are geometric(p) frames
    long, Bad spells geometric(r), so the work is per burst. It starts in the
    stationary law (Bad with probability p / (p + r))."""

    def __init__(self, model: GilbertElliott, rng: np.random.Generator) -> None:
        self.model = model
        self._rng = rng
        self._bad = bool(rng.random() < model.bad_fraction)
        self._left = int(self._sojourn(self._bad, 1)[0])

    def _sojourn(self, bad: bool, n: int) -> IntArray:
        leave = self.model.r if bad else self.model.p
        if leave == 0.0:
            # An absorbing state: a spell of 2^40 frames (a year at 30k frames/s) stands
            # in for "forever" and keeps cumulative sums far from int64 overflow.
            return np.full(n, 1 << 40, dtype=np.int64)
        return np.asarray(self._rng.geometric(leave, n), dtype=np.int64)

    def states(self, n: int) -> BoolArray:
        """The next ``n`` states (True = Bad)."""
        out = np.empty(n, dtype=bool)
        filled = 0
        while True:
            take = min(self._left, n - filled)
            out[filled : filled + take] = self._bad
            filled += take
            self._left -= take
            if filled == n:
                return out
            # The current spell is spent: draw whole alternating spells in one batch,
            # sized to the frames still needed (spell pairs last 1/p + 1/r on average).
            need = n - filled
            pairs = (
                int(1.2 * need * self.model.p * self.model.r / (self.model.p + self.model.r)) + 4
            )
            nxt = not self._bad
            spells = np.empty(2 * pairs, dtype=np.int64)
            spells[0::2] = self._sojourn(nxt, pairs)
            spells[1::2] = self._sojourn(self._bad, pairs)
            ends = np.cumsum(spells)
            whole = int(np.searchsorted(ends, need, side="right"))
            if whole:
                flags = np.zeros(whole, dtype=bool)
                flags[0::2] = nxt
                flags[1::2] = not nxt
                out[filled : filled + int(ends[whole - 1])] = np.repeat(flags, spells[:whole])
                filled += int(ends[whole - 1])
            if whole < spells.size:
                # spell `whole` is the one in progress; the loop takes what it needs
                self._bad = nxt if whole % 2 == 0 else not nxt
                self._left = int(spells[whole])
            else:
                self._bad, self._left = not nxt, 0  # ended exactly on a Bad/Good boundary

    def sample(self, n: int) -> BoolArray:
        """Loss flags (True = lost) of the next ``n`` frames."""
        if n < 0:
            raise UsageError("n must be >= 0.")
        bad = self.states(n)
        m = self.model
        if m.h == 0.0 and m.k == 1.0:
            return bad
        u = self._rng.random(n)
        return np.where(bad, u >= m.h, u >= m.k)


# --- bit errors ----------------------------------------------------------------------


def sample_bit_errors(
    nbits: npt.ArrayLike, ber: npt.ArrayLike, rng: np.random.Generator
) -> tuple[IntArray, IntArray]:
    """Bit errors for frames of ``nbits`` bits at ``ber`` (both per frame or scalar):
    (frame index, bit position) of every flipped bit, positions distinct within a frame.

    Counts are binomial(nbits, ber); positions are uniform integers, and collisions are
    redrawn so that the count is exact (at BER 1e-6 and 8920 bits there are none)."""
    nb = np.atleast_1d(np.asarray(nbits, dtype=np.int64))
    p = np.broadcast_to(np.asarray(ber, dtype=np.float64), nb.shape)
    if np.any(p < 0.0) or np.any(p > 0.5) or np.any(np.isnan(p)):
        raise UsageError("ber must be in [0, 0.5] (a higher rate is a lower one inverted).")
    counts = rng.binomial(nb, p)
    total = int(counts.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    frame = np.repeat(np.arange(nb.size, dtype=np.int64), counts)
    pos = rng.integers(0, nb[frame])
    span = int(nb.max())
    key = np.unique(frame * span + pos)
    while key.size < total:
        # Redraw as many positions as collided, in the frames that lost them.
        have = np.bincount(key // span, minlength=nb.size)
        short = counts - have
        extra_frame = np.repeat(np.arange(nb.size, dtype=np.int64), short)
        extra = rng.integers(0, nb[extra_frame])
        key = np.unique(np.concatenate([key, extra_frame * span + extra]))
    return key // span, key % span


def flip_bits(frames: npt.NDArray[np.uint8], row: IntArray, bit: IntArray) -> None:
    """XOR bit ``bit`` (0 = the first octet's most significant bit) of ``frames[row]``,
    in place; ``frames`` is 2-D (rows of equal length)."""
    np.bitwise_xor.at(frames, (row, bit >> 3), (0x80 >> (bit & 7)).astype(np.uint8))


def _flip_bytes(frame: BytesLike, bits: IntArray) -> bytes:
    buf = bytearray(frame)
    for b in bits.tolist():
        buf[b >> 3] ^= 0x80 >> (b & 7)
    return bytes(buf)


# --- the channel ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelModel:
    """What the channel does to frames (module docstring, steps 1-6). Defaults are a
    perfect, instantaneous channel; each field adds one impairment.

    ``ber``, ``light_time_s`` and ``erasure_mask`` may be functions of the transmission
    times (numpy arrays, seconds on the caller's clock) for a time-varying channel,
    e.g. ``light_time_s=lambda t: np.interp(t, pass_t, pass_range_m) / c``.
    """

    ber: float | TimeFunction = 0.0
    burst: GilbertElliott | None = None
    erasure_probability: float = 0.0
    erasure_mask: Callable[[FloatArray], npt.ArrayLike] | None = None
    delay_s: float = 0.0
    light_time_s: float | TimeFunction = 0.0
    data_rate_bps: float | None = None
    duplicate_probability: float = 0.0
    reorder_probability: float = 0.0
    reorder_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if not callable(self.ber) and not 0.0 <= self.ber <= 0.5:
            raise UsageError("ber must be in [0, 0.5], or a function of time returning that.")
        _probability("erasure_probability", self.erasure_probability)
        _probability("duplicate_probability", self.duplicate_probability)
        _probability("reorder_probability", self.reorder_probability)
        if self.delay_s < 0.0 or self.reorder_delay_s < 0.0:
            raise UsageError("delay_s and reorder_delay_s are durations >= 0 seconds.")
        if not callable(self.light_time_s) and self.light_time_s < 0.0:
            raise UsageError("light_time_s must be >= 0 seconds (or a function of time).")
        if self.data_rate_bps is not None and not self.data_rate_bps > 0.0:
            raise UsageError("data_rate_bps must be > 0, or None for no rate limit.")
        if self.reorder_probability > 0.0 and self.reorder_delay_s == 0.0:
            raise UsageError("Reordering needs reorder_delay_s > 0 (the most a frame waits).")


@dataclass(frozen=True)
class Batch:
    """Deliveries of one :meth:`Channel.process` call, sorted by delivery time (frames
    delivered at the same time keep their sending order).

    ``frames`` has the input's form: a 2-D uint8 array (a copy) for an array input,
    else a list of bytes. ``source_index`` maps each delivery to its input frame;
    ``lost_index`` lists the input frames never delivered.
    """

    delivery_times_s: FloatArray
    frames: npt.NDArray[np.uint8] | list[bytes]
    flags: npt.NDArray[np.uint8]
    source_index: IntArray
    bit_errors: IntArray
    lost_index: IntArray

    def __len__(self) -> int:
        return int(self.delivery_times_s.size)


@dataclass
class ChannelStats:
    """Running totals of a :class:`Channel` (frames, not bits, except ``bit_errors``)."""

    sent: int = 0
    lost: int = 0
    delivered: int = 0
    duplicated: int = 0
    reordered: int = 0
    corrupted: int = 0
    bit_errors: int = 0


def _evaluate(value: float | TimeFunction, t: FloatArray) -> FloatArray:
    if callable(value):
        out = np.asarray(value(t), dtype=np.float64)
        return np.asarray(np.broadcast_to(out, t.shape))
    return np.full(t.shape, float(value))


@dataclass
class Channel:
    """A seeded impairment channel (see the module docstring)."""

    model: ChannelModel
    rng: np.random.Generator
    stats: ChannelStats = field(default_factory=ChannelStats)

    def __post_init__(self) -> None:
        self._burst = self.model.burst.process(self.rng) if self.model.burst else None
        self._link_free_s = -math.inf
        self._last_send_s = -math.inf
        self._pending: list[tuple[float, int, bytes]] = []
        self._seq = 0

    # -- batch path ---------------------------------------------------------------

    def process(
        self,
        frames: npt.NDArray[np.uint8] | Sequence[BytesLike],
        send_times_s: npt.ArrayLike,
    ) -> Batch:
        """Apply every impairment to ``frames`` sent at ``send_times_s`` (non-decreasing,
        at or after the previous call's; a scalar applies to all)."""
        as_array = isinstance(frames, np.ndarray)
        if as_array:
            arr = np.asarray(frames)
            if arr.ndim != 2 or arr.dtype != np.uint8:
                raise UsageError("An array of frames must be 2-D uint8 (one frame per row).")
            n = arr.shape[0]
            nbytes = np.full(n, arr.shape[1], dtype=np.int64)
        else:
            seq = list(frames)
            n = len(seq)
            nbytes = np.fromiter((len(f) for f in seq), dtype=np.int64, count=n)
        s = np.broadcast_to(np.asarray(send_times_s, dtype=np.float64), (n,))
        if n and (np.any(np.diff(s) < 0.0) or s[0] < self._last_send_s):
            raise UsageError("send_times_s must be non-decreasing across calls (a FIFO link).")
        if n:
            self._last_send_s = float(s[-1])
        m = self.model
        rng = self.rng

        # 1. serialization
        if m.data_rate_bps is not None and n:
            x = nbytes * (8.0 / m.data_rate_bps)
            cum = np.cumsum(x)
            start = np.maximum(np.maximum.accumulate(s - (cum - x)), self._link_free_s)
            d = cum + start
            self._link_free_s = float(d[-1])
        else:
            d = np.array(s, dtype=np.float64)

        # 2. loss
        lost = np.zeros(n, dtype=bool)
        if self._burst is not None:
            lost |= self._burst.sample(n)
        if m.erasure_probability > 0.0:
            lost |= rng.random(n) < m.erasure_probability
        if m.erasure_mask is not None and n:
            lost |= np.broadcast_to(np.asarray(m.erasure_mask(d), dtype=bool), (n,))
        kept = np.flatnonzero(~lost)

        # 3. arrival
        arrival = d[kept] + _evaluate(m.light_time_s, d[kept]) + m.delay_s
        src = kept
        flags = np.zeros(kept.size, dtype=np.uint8)

        # 4. duplication
        if m.duplicate_probability > 0.0 and kept.size:
            dup = rng.random(kept.size) < m.duplicate_probability
            src = np.concatenate([kept, kept[dup]])
            arrival = np.concatenate([arrival, arrival[dup]])
            flags = np.concatenate(
                [flags, np.full(int(dup.sum()), DeliveryFlag.DUPLICATE, dtype=np.uint8)]
            )

        # 5. reordering
        if m.reorder_probability > 0.0 and src.size:
            late = rng.random(src.size) < m.reorder_probability
            nl = int(late.sum())
            # uniform in (0, max]: 1 - U with U in [0, 1)
            arrival[late] += m.reorder_delay_s * (1.0 - rng.random(nl))
            flags[late] |= np.uint8(DeliveryFlag.REORDERED)

        # delivery order: by time, stable on (sending order, original before duplicate)
        order = np.argsort(arrival, kind="stable")
        src = src[order]
        arrival = arrival[order]
        flags = flags[order]

        # 6. bit errors, per delivered copy
        ber = _evaluate(m.ber, d[src]) if callable(m.ber) else float(m.ber)
        bit_errors = np.zeros(src.size, dtype=np.int64)
        if callable(m.ber) or m.ber > 0.0:
            row, bit = sample_bit_errors(8 * nbytes[src], ber, rng)
        else:
            row = bit = np.empty(0, dtype=np.int64)
        if row.size:
            np.add.at(bit_errors, row, 1)
            flags[bit_errors > 0] |= np.uint8(DeliveryFlag.CORRUPTED)

        out: npt.NDArray[np.uint8] | list[bytes]
        if as_array:
            out_arr = arr[src]
            if row.size:
                flip_bits(out_arr, row, bit)
            out = out_arr
        else:
            out = [bytes(seq[i]) for i in src.tolist()]
            if row.size:
                bounds = np.flatnonzero(np.diff(row)) + 1
                for rows, bits in zip(np.split(row, bounds), np.split(bit, bounds), strict=True):
                    r0 = int(rows[0])
                    out[r0] = _flip_bytes(out[r0], bits)

        st = self.stats
        st.sent += n
        st.lost += n - kept.size
        st.delivered += src.size
        st.duplicated += src.size - kept.size
        st.reordered += int(np.count_nonzero(flags & np.uint8(DeliveryFlag.REORDERED)))
        st.corrupted += int(np.count_nonzero(bit_errors))
        st.bit_errors += int(row.size)
        return Batch(arrival, out, flags, src, bit_errors, np.flatnonzero(lost))

    # -- machine face -------------------------------------------------------------

    def send(self, frame: BytesLike, now: float) -> None:
        """Offer one frame at time ``now``; its deliveries become due later."""
        self.send_many([frame], now)

    def send_many(self, frames: Sequence[BytesLike], now: npt.ArrayLike) -> None:
        batch = self.process(frames, now)
        assert isinstance(batch.frames, list)
        for t, f in zip(batch.delivery_times_s.tolist(), batch.frames, strict=True):
            heapq.heappush(self._pending, (t, self._seq, f))
            self._seq += 1

    def deliveries(self, now: float) -> list[tuple[float, bytes]]:
        """(delivery time, frame) of every delivery due at or before ``now``, in order."""
        out: list[tuple[float, bytes]] = []
        while self._pending and self._pending[0][0] <= now:
            t, _, f = heapq.heappop(self._pending)
            out.append((t, f))
        return out

    def next_deadline(self) -> float | None:
        """When the next delivery is due (None when nothing is in flight)."""
        return self._pending[0][0] if self._pending else None
