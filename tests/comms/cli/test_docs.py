"""The shell examples of docs/packet-tools.md, run and compared with the page.

Each ``$ command`` line of a ``console`` block runs in bash, in one scratch directory
for the whole page (later examples use files earlier ones made); the lines after it, up
to the next command or the end of the block, are its expected standard output and
standard error, interleaved as a terminal shows them. ``# exits N`` at the end of a
command gives its expected exit status (0 otherwise).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("scapy")  # the page's capture examples need it

PAGE = Path(__file__).resolve().parents[3] / "docs" / "packet-tools.md"
EXITS = re.compile(r"\s+# exits (\d+)$")


@dataclass(frozen=True)
class Example:
    line: int
    command: str
    output: str
    status: int


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    in_block = False
    current: tuple[int, str, int] | None = None
    output: list[str] = []

    def close() -> None:
        if current is not None:
            found.append(Example(current[0], current[1], "".join(output), current[2]))

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            if in_block:
                close()
                current, output = None, []
            in_block = line.strip() == "```console"
        elif in_block and line.startswith("$ "):
            close()
            command, output = line[2:], []
            match = EXITS.search(command)
            status = int(match.group(1)) if match else 0
            current = (number, command, status)
        elif in_block:
            output.append(line + "\n")
    return found


EXAMPLES = examples(PAGE.read_text())


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 10


def test_the_examples_run_as_shown(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("the examples are bash")
    # The interpreter running the tests, and its dawnlink script, come first on PATH.
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    env["PYTHONWARNINGS"] = "error"
    for example in EXAMPLES:
        result = subprocess.run(
            ["bash", "-c", example.command],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        where = f"docs/packet-tools.md:{example.line}: {example.command}"
        assert result.stdout == example.output, where
        assert result.returncode == example.status, where
