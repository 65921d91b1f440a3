"""The three layering rules of ARCHITECTURE.md, enforced by walking every import.

1. Nothing in comms/ outside comms/aio/ imports asyncio, socket, time or random
   (protocol cores take ``now`` and an injected RNG).
2. Nothing in links/ reads the wall clock except the real-time clock adapter.
3. Only gateway/ knows MQTT.

Plus the package dependency table: comms never imports links, gateway or tools; links
never imports gateway or tools. scapy is an optional import confined to comms/scapy/.
Each package may import only the standard library and the third-party libraries listed
for it below (ARCHITECTURE.md's table, plus anycrc: see comms/crc.py for why).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules allowed to read the wall clock in links/ (the real-time clock adapter).
LINKS_CLOCK_ADAPTERS = {"links/clock.py", "links/realtime.py"}
CLOCK_CALLS = {"time", "monotonic", "perf_counter", "time_ns", "monotonic_ns", "now", "utcnow"}
MQTT_MODULES = {"aiomqtt", "paho", "asyncio_mqtt", "amqtt", "gmqtt"}


# Third-party imports allowed per package. Optional heavy ones (scapy, itur, matplotlib)
# must be imported lazily inside functions; the lists still name them.
THIRD_PARTY = {
    "comms": {"numpy", "crcmod", "anycrc", "spacepackets", "cryptography", "scapy"},
    "links": {"numpy", "sgp4", "itur", "matplotlib"},
}


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
            found.append((node.lineno, node.module))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_walker_sees_the_packages() -> None:
    # Guard against a rule that passes because it looked at nothing.
    assert _python_files("comms"), "no modules found under comms/"
    assert any(
        name == "comms.errors" or name.startswith("comms.")
        for path in _python_files("comms")
        for _, name in _imports(path)
    )


@pytest.mark.parametrize("path", _python_files("comms"), ids=_rel)
def test_rule1_comms_core_has_no_io_clock_or_randomness(path: Path) -> None:
    rel = _rel(path)
    forbidden = {"asyncio", "socket", "time", "random"}
    if not rel.startswith("comms/aio/"):
        bad = [(line, name) for line, name in _imports(path) if _top(name) in forbidden]
        assert not bad, f"{rel} imports {bad}: only comms/aio/ may (ARCHITECTURE.md rule 1)"
    bad = [
        (line, name)
        for line, name in _imports(path)
        if _top(name) in {"links", "gateway", "tools", "tests"} | MQTT_MODULES
    ]
    assert not bad, f"{rel} imports {bad}: comms depends on nothing above it"
    if not rel.startswith("comms/scapy/"):
        bad = [(line, name) for line, name in _imports(path) if _top(name) == "scapy"]
        assert not bad, f"{rel} imports scapy: only comms/scapy/ may, and lazily"


@pytest.mark.parametrize("path", _python_files("links"), ids=_rel)
def test_rule2_links_reads_no_wall_clock(path: Path) -> None:
    rel = _rel(path)
    bad = [
        (line, name)
        for line, name in _imports(path)
        if _top(name) in {"gateway", "tools", "tests"} | MQTT_MODULES
    ]
    assert not bad, f"{rel} imports {bad}: links depends only on comms and libraries"
    if rel in LINKS_CLOCK_ADAPTERS:
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in {"time", "datetime"}:
            names = {alias.name for alias in node.names}
            assert not (node.module == "time" and names & CLOCK_CALLS), (
                f"{rel}:{node.lineno} imports a clock from time (rule 2)"
            )
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            owner = node.func.value
            owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if owner_name == "time" and attr in CLOCK_CALLS:
                pytest.fail(f"{rel}:{node.lineno} calls time.{attr}() (rule 2)")
            if owner_name in {"datetime", "date"} and attr in {"now", "utcnow", "today"}:
                pytest.fail(f"{rel}:{node.lineno} calls {owner_name}.{attr}() (rule 2)")


# tools/ is exempt: its benchmarks drive a broker client to measure the gateway.
@pytest.mark.parametrize(
    "path", [p for pkg in ("comms", "links") for p in _python_files(pkg)], ids=_rel
)
def test_rule3_only_gateway_knows_mqtt(path: Path) -> None:
    rel = _rel(path)
    bad = [(line, name) for line, name in _imports(path) if _top(name) in MQTT_MODULES]
    assert not bad, f"{rel} imports {bad}: only gateway/ knows MQTT (rule 3)"


@pytest.mark.parametrize("path", [p for pkg in THIRD_PARTY for p in _python_files(pkg)], ids=_rel)
def test_third_party_imports_are_the_listed_ones(path: Path) -> None:
    rel = _rel(path)
    package = rel.split("/")[0]
    ours = {"comms", "links", "gateway", "tools", "tests"}
    allowed = set(sys.stdlib_module_names) | THIRD_PARTY[package] | ours
    bad = [(line, name) for line, name in _imports(path) if _top(name) not in allowed]
    assert not bad, f"{rel} imports {bad}: not in the {package} dependency list"
