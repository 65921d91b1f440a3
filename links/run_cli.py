"""``dawnlink link run SCENARIO.toml``: emulate a pass carrying real frames.

Reads a scenario (:mod:`links.scenario`), runs :class:`links.emulator.PassEmulator`
on it and prints the report: frames delivered, lost and corrupted, packets delivered,
throughput and lock acquisition time (``--json`` for the whole report with the
per-interval statistics). ``--plot out.png`` draws the pass (needs matplotlib, the
``plot`` extra). Long runs show their progress on stderr (``--quiet`` hides it).

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
from links.emulator import PassEmulator
from links.scenario import load_scenario

__all__ = ["add_run_parser", "run"]

_EPILOG = """\
examples:
  dawnlink link run scenarios/beijing-x.toml
  dawnlink link run scenarios/svalbard-optical.toml --json > report.json
  dawnlink link run scenarios/beijing-x.toml --seed 7 --pass-index 3 --plot pass.png

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
        "--plot", metavar="PNG", default=None, help="draw the pass to this image (matplotlib)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)
    return parser


class _Progress:
    """A one-line progress indicator, updated every whole 5 % (stderr, not a tty log)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.shown = -1

    def __call__(self, fraction: float) -> None:
        step = int(fraction * 20)
        if step != self.shown:
            self.shown = step
            self.out.write(f"\r  emulating: {5 * step:3d} %")
            self.out.flush()

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
        scenario = dataclasses.replace(
            scenario,
            link=link,
            seed=scenario.seed if args.seed is None else args.seed,
        )
        emulator = PassEmulator(scenario)
        progress = None if args.quiet else _Progress(sys.stderr)
        report = emulator.run(progress)
        if progress is not None:
            progress.done()
        if args.plot:
            from links.plots import plot_emulation

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
