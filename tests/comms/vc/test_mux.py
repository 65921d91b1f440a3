"""Master channel multiplexing: policies, master channel count, CLCW, idle frames."""

from __future__ import annotations

import pytest

from comms.errors import UsageError
from comms.frames import FHP_IDLE, AosFrame, AosParams, Clcw, TmFrame, TmParams
from comms.vc import MasterChannelMux, MasterChannelReceiver, MuxPolicy
from tests.comms.vc.helpers import SCID, packet

TM = TmParams(64)


def _mux(policy: MuxPolicy, weights: dict[int, int] | None = None) -> MasterChannelMux:
    mux = MasterChannelMux(TM, SCID, policy=policy)
    for vcid, priority in ((1, 2), (2, 0), (3, 1)):
        weight = (weights or {}).get(vcid, 1)
        mux.add_virtual_channel(vcid, priority=priority, weight=weight)
    for vcid in (1, 2, 3):
        for i in range(4):
            mux.add_packet(vcid, packet(i, 56))  # one packet, one frame
    return mux


def _vcids(frames: list[bytes]) -> list[int]:
    return [TmFrame.decode(f, TM).vcid for f in frames]


def test_strict_priority() -> None:
    mux = _mux(MuxPolicy.STRICT_PRIORITY)
    assert mux.queued == 12
    assert _vcids(mux.frames_to_send()) == [2] * 4 + [3] * 4 + [1] * 4


def test_round_robin() -> None:
    mux = _mux(MuxPolicy.ROUND_ROBIN)
    assert _vcids(mux.frames_to_send(6)) == [1, 2, 3, 1, 2, 3]
    assert mux.queued == 6


def test_weighted_shares_and_interleaves() -> None:
    mux = _mux(MuxPolicy.WEIGHTED, {1: 2, 2: 1, 3: 1})
    first = _vcids(mux.frames_to_send(4))
    assert sorted(first) == [1, 1, 2, 3]
    assert first[0] == 1 and first[1] != 1  # smooth: no burst of VC 1


def test_master_channel_count_and_vc_counts() -> None:
    mux = _mux(MuxPolicy.ROUND_ROBIN)
    frames = [TmFrame.decode(f, TM) for f in mux.frames_to_send()]
    frames.append(TmFrame.decode(mux.next_frame(), TM))  # nothing queued: idle
    assert [f.mc_frame_count for f in frames] == list(range(13))
    assert [f.vc_frame_count for f in frames if f.vcid == 2] == [0, 1, 2, 3]
    assert frames[-1].first_header_pointer == FHP_IDLE and frames[-1].vcid == 7
    receiver = MasterChannelReceiver(TM, SCID)
    for f in frames:
        receiver.receive_bytes(f.encode())
    assert len(receiver.packets()) == 12
    assert receiver.events() == [] and receiver.counters.mc_gaps == 0


def test_next_frame_flushes_partial_before_idle() -> None:
    mux = MasterChannelMux(TM, SCID)
    mux.add_virtual_channel(1)
    mux.add_packet(1, packet(0, 20))
    first = TmFrame.decode(mux.next_frame(), TM)
    assert first.vcid == 1 and first.first_header_pointer == 0
    assert TmFrame.decode(mux.next_frame(), TM).is_idle


def test_idle_frames_on_a_data_vc_share_its_count() -> None:
    mux = MasterChannelMux(TM, SCID, idle_vcid=1)
    mux.add_virtual_channel(1)
    mux.add_packet(1, packet(0, 56))
    frames = [mux.next_frame(), mux.next_frame()]
    assert [TmFrame.decode(f, TM).vc_frame_count for f in frames] == [0, 1]


def test_clcw_in_every_frame() -> None:
    params = TmParams(80, has_ocf=True)
    mux = MasterChannelMux(params, SCID)
    mux.add_virtual_channel(0)
    clcw = Clcw(vcid=2, report_value=9, wait=True)
    mux.set_clcw(clcw)
    mux.add_packet(0, packet(0, 100))
    frames = [*mux.frames_to_send(), mux.next_frame(), mux.next_frame()]
    assert all(TmFrame.decode(f, params).ocf == clcw.encode() for f in frames)
    with pytest.raises(UsageError):
        MasterChannelMux(TM, SCID).set_clcw(clcw)


def test_aos_idle_frames_on_vcid_63() -> None:
    params = AosParams(80)
    mux = MasterChannelMux(params, SCID)
    mux.add_virtual_channel(4)
    frame = AosFrame.decode(mux.next_frame(), params)
    assert frame.vcid == 63


def test_usage_errors() -> None:
    mux = MasterChannelMux(TM, SCID)
    mux.add_virtual_channel(1)
    with pytest.raises(UsageError):
        mux.add_virtual_channel(1)
    with pytest.raises(UsageError):
        mux.add_packet(2, packet(0, 10))
    with pytest.raises(UsageError):
        mux.add_virtual_channel(2, weight=0)
    with pytest.raises(UsageError):
        MasterChannelMux(TM, SCID, policy="fifo")  # type: ignore[arg-type]
