"""The link emulator: real frames through the time-varying channel of a pass.

A :class:`~links.scenario.Scenario` gives the satellites, the stations and the link;
the emulator carries real CADUs (from real Space Packets) through a channel whose model
is the pass, decodes them at the receiver and reports what arrived. This module is its
public face; the parts live in modules named after what they hold:

- :mod:`links.span`: the scenario's satellites and stations built by name
  (:func:`build_satellite`, :func:`build_satellites`, :func:`build_station`), every
  whole pass of the span (:func:`scenario_passes`) and one correlated cloud field over
  every station (:func:`scenario_cloud_field`);
- :mod:`links.timeline`: the link sampled along one pass (:func:`link_timeline` ->
  :class:`LinkTimeline`): geometry, Doppler, carrier lock, the budget's BER or the
  optical received power, and the uplink's;
- :mod:`links.pass_emulator`: one pass in process (:class:`PassEmulator`), frames in
  numpy batches through the pass's channel, on scenario time with nothing waiting, and
  its report (:class:`EmulationReport`, :class:`IntervalStats`);
- :mod:`links.multipass`: every pass of the span one after another
  (:class:`MultiPassEmulator`) and the totals (:class:`MultiPassReport`);
- :mod:`links.emulated_link`: the same channels over sockets (:class:`EmulatedLink`, a
  UDP or TCP forwarder on an asyncio loop, one channel each way; on
  :class:`~links.clock.VirtualTimeEventLoop` the delays cost no wall time).

Each module's docstring says what it models and what it leaves out.
"""

from __future__ import annotations

from links.emulated_link import EmulatedLink
from links.multipass import MultiPassEmulator, MultiPassReport
from links.pass_emulator import DEFAULT_BATCH_FRAMES as DEFAULT_BATCH_FRAMES
from links.pass_emulator import EmulationReport, IntervalStats, PassEmulator
from links.span import (
    build_satellite,
    build_satellites,
    build_station,
    scenario_cloud_field,
    scenario_passes,
)
from links.timeline import LinkTimeline, link_timeline

__all__ = [
    "EmulatedLink",
    "EmulationReport",
    "IntervalStats",
    "LinkTimeline",
    "MultiPassEmulator",
    "MultiPassReport",
    "PassEmulator",
    "build_satellite",
    "build_satellites",
    "build_station",
    "link_timeline",
    "scenario_cloud_field",
    "scenario_passes",
]
