"""The link emulator: frames through the time-varying channel of a pass, and whole passes.

Group "pass channel": 4096 CADUs (1279 octets, RS(255,223) I=5) per call through
:meth:`links.impairments.Channel.process`; the peer is a static channel (constant BER,
no mask), dawnlink's case is the pass channel of :class:`links.emulator.PassEmulator`
(BER interpolated from the budget, erasure outside lock, light time from the range).
Group "whole pass": :meth:`PassEmulator.run` end to end (packets -> frames -> CADUs ->
channel -> frame sync, RS decode -> packets checked), a 12-minute pass at 200 kbit/s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from links.impairments import Channel, ChannelModel
from links.pass_emulator import PassEmulator, _Source
from links.scenario import load_scenario
from tools.bench import Case

_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "beijing-x.toml"
_BATCH = 4096


def cases() -> list[Case]:
    scenario = load_scenario(_SCENARIO)
    emu = PassEmulator(scenario)
    rows = _Source(scenario).cadus(_BATCH)
    send = emu.send_times()
    mid = send.size // 2
    times = send[mid : mid + _BATCH]
    nbytes = rows.size
    static = ChannelModel(ber=1e-6)
    model = emu.channel_model()
    rng = np.random.default_rng(1)

    def static_channel() -> object:
        return Channel(static, rng).process(rows, times)

    def pass_channel() -> object:
        return Channel(model, rng).process(rows, times)

    import dataclasses

    slow = dataclasses.replace(scenario, link=dataclasses.replace(scenario.link, data_rate_bps=2e5))
    whole = PassEmulator(slow)
    n_whole = whole.send_times().size
    return [
        Case("pass channel", "static Channel", static_channel, items=_BATCH, nbytes=nbytes),
        Case(
            "pass channel",
            "dawnlink pass",
            pass_channel,
            items=_BATCH,
            nbytes=nbytes,
            peer="static Channel",
        ),
        Case(
            "whole pass",
            "dawnlink PassEmulator.run",
            whole.run,
            items=n_whole,
            nbytes=n_whole * rows.shape[1],
            note="frames/s end to end, RS decode included",
        ),
    ]
