"""COP-1 (232.1-B-2): the FOP and FARM machines' cost per AD frame.

No peer library implements COP-1 in Python (spacepackets and cfdp-py stop at frames
and CFDP), so the reference row is the floor any FOP pays: building and encoding the
TC frame and decoding it on the other side, with no state machine at all.

- ``fop+farm <n> frames``: ``n`` AD frames of 200 octets through ``Fop.transmit_ad``,
  ``frames_to_send``, encode/decode, ``Farm.receive_frame``, with one CLCW per 8
  frames acknowledging them (sliding window K = 8). Lossless.
- ``fop+farm <n> frames, 10 % loss``: the same with every tenth frame dropped once,
  so the Retransmit flag and the retransmissions are in the measurement.
- ``frame codec only``: ``TcFrame(...).encode()`` and ``TcFrame.decode`` per frame.
"""

from __future__ import annotations

from comms.cop1 import Farm, Fop
from comms.frames import TcFrame, TcParams
from tools.bench import Case

_N = 256
_DATA = bytes(range(200))
_PARAMS = TcParams()


def _loopback(drop_every: int = 0) -> None:
    fop = Fop(0x2A, 1, sliding_window_k=8, t1_initial=10.0)
    farm = Farm(1, sliding_window_width=16, buffer_capacity=1024)
    fop.initiate_ad(0.0)
    sent = 0
    dropped: set[int] = set()
    now = 0.0
    while sent < _N or fop.sent_queue:
        while sent < _N and fop.wait_queue_empty:
            fop.transmit_ad(_DATA, now)
            sent += 1
        for frame in fop.frames_to_send():
            raw = frame.encode()
            n_s = frame.frame_sequence_number
            # Each chosen frame is lost on its first transmission only (N = 256, so
            # sequence numbers do not repeat within a run).
            if drop_every and n_s % drop_every == 0 and n_s not in dropped:
                dropped.add(n_s)
                continue
            farm.receive_frame(TcFrame.decode(raw, _PARAMS))
        farm.frames_accepted()
        now += 0.1
        fop.receive_clcw(farm.clcw(), now)
        fop.on_timer(now)
        fop.events()


def _codec_only() -> None:
    for n in range(_N):
        TcFrame.decode(TcFrame(0x2A, 1, n & 0xFF, _DATA).encode(), _PARAMS)


def cases() -> list[Case]:
    group = f"cop1 {_N} AD frames of 200 B"
    nbytes = _N * len(_DATA)
    return [
        Case(group, "frame codec only", _codec_only, items=_N, nbytes=nbytes),
        Case(group, "fop+farm", _loopback, items=_N, nbytes=nbytes, peer="frame codec only"),
        Case(
            group,
            "fop+farm, 10 % loss",
            lambda: _loopback(drop_every=10),
            items=_N,
            nbytes=nbytes,
            peer="frame codec only",
        ),
    ]
