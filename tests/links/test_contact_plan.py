"""Contact-plan exports: rows/CSV, JSON and ION ionrc lines (ionrc(5) format)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from comms.errors import UsageError
from links import find_passes, passes_to_csv, passes_to_ion, passes_to_json, passes_to_rows
from links.contact_plan import COLUMNS


@pytest.fixture(scope="module")
def passes(iss, beijing):  # type: ignore[no-untyped-def]
    return find_passes(iss, beijing, "2014-01-21T00:00", "2014-01-22T00:00")


def test_rows_csv_json_agree(passes) -> None:  # type: ignore[no-untyped-def]
    rows = passes_to_rows(passes)
    assert len(rows) == len(passes) > 0
    assert tuple(rows[0]) == COLUMNS
    parsed = list(csv.DictReader(io.StringIO(passes_to_csv(passes))))
    assert [r["aos"] for r in parsed] == [r["aos"] for r in rows]
    assert json.loads(passes_to_json(passes)) == rows
    assert rows[0]["aos"].endswith("Z")


def test_ion_contact_plan(passes) -> None:  # type: ignore[no-untyped-def]
    text = passes_to_ion(
        passes,
        {"ISS": 10, "Beijing": 2},
        downlink_rate_bytes_per_s=18_750_000,
        uplink_rate_bytes_per_s=32_000,
    )
    lines = text.splitlines()
    assert lines[0] == "@ 2014/01/21-00:00:00"
    contact = re.compile(r"^a contact \+(\d+) \+(\d+) (\d+) (\d+) (\d+)$")
    rng = re.compile(r"^a range \+(\d+) \+(\d+) 2 10 1$")
    contacts = [contact.match(x) for x in lines if x.startswith("a contact")]
    ranges = [x for x in lines if x.startswith("a range")]
    assert len(contacts) == 2 * len(passes) and len(ranges) == len(passes)
    assert all(rng.match(x) for x in ranges)
    downs = [m for m in contacts if m and m.group(3) == "10"]
    for m, p in zip(downs, passes, strict=True):
        t0, t1 = int(m.group(1)), int(m.group(2))
        assert p.aos_s <= t0 < p.aos_s + 1 and p.los_s - 1 < t1 <= p.los_s  # inside the pass
        assert m.group(4) == "2" and m.group(5) == "18750000"


def test_ion_fractional_owlt_and_missing_nodes(passes) -> None:  # type: ignore[no-untyped-def]
    text = passes_to_ion(
        passes, {"ISS": 1, "Beijing": 2}, downlink_rate_bytes_per_s=1e6, owlt_decimals=4
    )
    owlts = [float(x.split()[-1]) for x in text.splitlines() if x.startswith("a range")]
    assert all(0.001 < o < 0.011 for o in owlts)  # LEO: a few milliseconds
    with pytest.raises(UsageError, match="node number"):
        passes_to_ion(passes, {"ISS": 1}, downlink_rate_bytes_per_s=1e6)
    with pytest.raises(UsageError, match="bytes per second"):
        passes_to_ion(passes, {"ISS": 1, "Beijing": 2}, downlink_rate_bytes_per_s=0)
    assert passes_to_ion([], {}, downlink_rate_bytes_per_s=1) == ""
