"""``python -m tools.bench [NAME...]``: run benchmarks and print a table."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from tools.bench import Result, measure


def _available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(here)])
        if m.name.startswith("bench_")
    )


def _machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _ratio(result: Result, results: list[Result]) -> float | None:
    peer = result.case.peer
    if peer is None:
        return None
    for other in results:
        if other.case.group == result.case.group and other.case.label == peer:
            return (
                other.seconds_per_call
                / result.seconds_per_call
                * (result.case.items / other.case.items)
                if other.case.items
                else None
            )
    return None


def _fmt_rate(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.2f}{unit}"
    return f"{x:.1f}"


def main(argv: list[str] | None = None) -> int:
    names = _available()
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Measure dawnlink's hot paths against their peers in the same run.",
        epilog="available: " + ", ".join(names),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--min-time", type=float, default=0.25, help="seconds per timing loop")
    parser.add_argument("--json", action="store_true", help="print JSON rows")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    chosen = args.names or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {names}")

    results: list[Result] = []
    # Modules with a report() (latency, memory) measure something other than a rate:
    # each gives a titled table, printed after the rate table.
    reports: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = []
    for name in chosen:
        module = importlib.import_module(f"tools.bench.bench_{name}")
        for case in module.cases():
            results.append(measure(case, min_time=args.min_time))
            if not (args.json or args.markdown):
                print(f"  measured {case.group} / {case.label}", file=sys.stderr)
        if hasattr(module, "report"):
            reports.append(module.report())

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    if args.json:
        rows = [
            {
                "group": r.case.group,
                "impl": r.case.label,
                "ops_per_s": r.ops_per_s,
                "mb_per_s": r.mb_per_s if r.case.nbytes else None,
                "ratio_to_peer": _ratio(r, results),
                "peer": r.case.peer,
                "note": r.case.note,
            }
            for r in results
        ]
        extra = [
            {"title": t, "rows": [dict(zip(h, r, strict=True)) for r in body]}
            for t, h, body in reports
        ]
        print(
            json.dumps(
                {"date": stamp, "machine": _machine(), "rows": rows, "reports": extra}, indent=2
            )
        )
        return 0
    header = ("benchmark", "implementation", "ops/s", "MB/s", "vs peer")
    lines: list[tuple[str, ...]] = []
    for r in results:
        ratio = _ratio(r, results)
        lines.append(
            (
                r.case.group,
                r.case.label,
                _fmt_rate(r.ops_per_s),
                f"{r.mb_per_s:.1f}" if r.case.nbytes else "",
                f"{ratio:.2f}x {r.case.peer}" if ratio is not None else "",
            )
        )
    if args.markdown:
        print(f"Measured {stamp} on {_machine()}.\n")
        if lines:
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
            for line in lines:
                print("| " + " | ".join(line) + " |")
        for title, head, body in reports:
            print(f"\n{title}\n")
            if head:
                print("| " + " | ".join(head) + " |")
                print("|" + "---|" * len(head))
                for row in body:
                    print("| " + " | ".join(row) + " |")
        return 0
    print(f"{stamp}  {_machine()}")
    tables: list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]] = [("", header, lines)]
    for title, head, body in tables + reports:
        if title:
            print(f"\n{title}")
        if not head or not body:
            continue
        widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        for row in body:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
