"""The impairment channel (links.impairments): frames/s through BER, bursts and delay.

1115-octet frames at BER 1e-6 with Gilbert-Elliott bursts (1 % loss, 10-frame bursts),
light time plus a fixed delay, a 10 Gbps serialization limit and a time-varying BER
(a function of the send time, as an emulator on the virtual clock passes it). There is
no peer library (netem is a kernel qdisc): the batch path on a frame array is the
reference, and the other faces are measured against it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from links.impairments import Channel, ChannelModel, GilbertElliott
from tools.bench import Case

FRAME = 1115
BATCH = 10_000
FRAME_TIME_S = 8 * FRAME / 10e9


def _model() -> ChannelModel:
    return ChannelModel(
        ber=lambda t: np.full(np.shape(t), 1e-6),
        burst=GilbertElliott.from_loss(0.01, 10.0),
        delay_s=0.002,
        light_time_s=lambda t: 0.0075 + 1e-6 * np.asarray(t),
        data_rate_bps=10e9,
    )


def _batch_case(frames: np.ndarray | list[bytes]) -> Callable[[], object]:
    channel = Channel(_model(), np.random.default_rng(0))
    offsets = np.arange(len(frames)) * FRAME_TIME_S
    clock = [0.0]

    def run() -> object:
        batch = channel.process(frames, clock[0] + offsets)
        clock[0] += len(frames) * FRAME_TIME_S
        return batch

    return run


def _send_case(frames: list[bytes]) -> Callable[[], object]:
    channel = Channel(_model(), np.random.default_rng(0))
    clock = [0.0]

    def run() -> object:
        now = clock[0]
        for f in frames:
            channel.send(f, now)
            now += FRAME_TIME_S
        clock[0] = now
        return channel.deliveries(now + 1.0)

    return run


def cases() -> list[Case]:
    rng = np.random.default_rng(1)
    array = rng.integers(0, 256, (BATCH, FRAME), dtype=np.uint8)
    listed = [bytes(row) for row in array]
    group = "channel 1115 B BER 1e-6 + GE + delay"
    ref = "dawnlink process (array)"
    return [
        Case(group, ref, _batch_case(array), items=BATCH, nbytes=BATCH * FRAME),
        Case(
            group,
            "dawnlink process (bytes list)",
            _batch_case(listed),
            items=BATCH,
            nbytes=BATCH * FRAME,
            peer=ref,
        ),
        Case(
            group,
            "dawnlink send() per frame",
            _send_case(listed[:1000]),
            items=1000,
            nbytes=1000 * FRAME,
            peer=ref,
        ),
    ]
