"""``dawnlink link run SCENARIO.toml``: emulate a pass carrying real frames.

Reads a scenario (:mod:`links.scenario`), runs :class:`links.emulator.PassEmulator`
on it and prints the report: frames delivered, lost and corrupted, packets delivered,
throughput and lock acquisition time (``--json`` for the whole report with the
per-interval statistics). With ``--all-passes`` (or ``link.all_passes``) it runs every
whole pass of the span, every satellite over every station, in AOS order
(:class:`links.emulator.MultiPassEmulator`) and prints a line per pass and the totals.
``--plot out.png`` draws the pass or the schedule (needs matplotlib, the ``plot``
extra). Progress goes to stderr, with the pass being run (``--quiet`` hides it).

Registered by :mod:`links.cli` through :func:`add_run_parser`; this module only adds
the ``run`` action to the ``dawnlink link`` sub-parsers it is given.
Exit status: 0 done, 2 usage error (unreadable scenario, bad key, no such pass).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any, TextIO

from comms.cli.common import EXIT_OK, EXIT_USAGE
from comms.errors import UsageError
from links.multipass import MultiPassEmulator, MultiPassReport
from links.pass_emulator import EmulationReport, PassEmulator
from links.passes import Pass
from links.scenario import load_scenario

__all__ = ["add_run_parser", "run"]

_EPILOG = """\
examples:
  dawnlink link run scenarios/beijing-x.toml
  dawnlink link run scenarios/svalbard-optical.toml --json > report.json
  dawnlink link run scenarios/beijing-x.toml --seed 7 --pass-index 3 --plot pass.png
  dawnlink link run scenarios/fleet-x.toml --plot schedule.png   # every pass of a day
  dawnlink link run scenarios/beijing-x.toml --all-passes --data-rate-bps 1e5

Scenarios ship in scenarios/ (X band and optical, over Beijing and Svalbard); see
docs/link-emulator.md for every key. The same scenario and seed give the same report.
"""


def add_run_parser(subparsers: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    """Add the ``run`` action to ``subparsers`` (the ``dawnlink link`` actions)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="emulate a pass carrying real frames",
        description="Emulate a pass of a scenario carrying real CADUs and report what arrived.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("scenario", metavar="SCENARIO.toml", help="the scenario file")
    parser.add_argument("--json", action="store_true", help="the report as one JSON object")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument(
        "--pass-index", type=int, default=None, metavar="N", help="override link.pass_index"
    )
    parser.add_argument(
        "--data-rate-bps",
        type=float,
        default=None,
        metavar="BPS",
        help="override link.data_rate_bps (the emulated rate)",
    )
    parser.add_argument(
        "--all-passes",
        action="store_true",
        help="run every whole pass of the span (every satellite, every station)",
    )
    parser.add_argument(
        "--plot", metavar="PNG", default=None, help="draw the pass to this image (matplotlib)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)
    return parser


class _Progress:
    """A one-line progress indicator on stderr, rewritten every whole 1 % (and at each
    new pass), so a long run shows it is moving without flooding a log."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = -1
        self.label = ""
        self.width = 0

    def _write(self, line: str) -> None:
        # pad to the longest line so far: "\r" does not erase what a longer one left
        self.width = max(self.width, len(line))
        self.out.write("\r" + line.ljust(self.width))
        self.out.flush()

    def __call__(self, fraction: float) -> None:
        step = int(fraction * 100)
        if step != self.shown:
            self.shown = step
            self._write(f"  emulating: {step:3d} %{self.label}")

    def on_pass(self, index: int, contact: Pass, count: int) -> None:
        self.label = f"  (pass {index + 1}/{count}: {contact.satellite} over {contact.station})"
        # show the new pass at once: sampling its link (an optical pass's fade series)
        # takes a moment before its first frames move
        self._write(f"  emulating: {max(self.shown, 0):3d} %{self.label}")

    def preparing(self) -> None:
        self._write("  sampling the link along the pass...")

    def done(self) -> None:
        if self.shown >= 0:
            self.out.write("\n")
            self.out.flush()


def run(args: argparse.Namespace) -> int:
    """The ``run`` action."""
    try:
        scenario = load_scenario(args.scenario)
        link = scenario.link
        if args.pass_index is not None:
            link = dataclasses.replace(link, pass_index=args.pass_index)
        if args.data_rate_bps is not None:
            link = dataclasses.replace(link, data_rate_bps=args.data_rate_bps)
        if getattr(args, "all_passes", False):
            link = dataclasses.replace(link, all_passes=True)
        scenario = dataclasses.replace(
            scenario,
            link=link,
            seed=scenario.seed if args.seed is None else args.seed,
        )
        progress = None if args.quiet else _Progress(sys.stderr)
        report: EmulationReport | MultiPassReport
        if scenario.link.all_passes:
            multi = MultiPassEmulator(scenario)
            count = len(multi.contacts)
            report = multi.run(
                progress,
                on_pass=None if progress is None else lambda k, c: progress.on_pass(k, c, count),
            )
        else:
            if progress is not None:
                progress.preparing()
            emulator = PassEmulator(scenario)
            report = emulator.run(progress)
        if progress is not None:
            progress.done()
        if args.plot:
            from links.plots import plot_emulation, plot_multipass

            if isinstance(report, MultiPassReport):
                plot_multipass(multi, report, args.plot)
            else:
                plot_emulation(emulator, report, args.plot)
    except UsageError as exc:
        print(f"dawnlink link run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
        if args.plot:
            print(f"  plot        {args.plot}")
    return EXIT_OK
