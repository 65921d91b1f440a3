"""docs/asyncio.md: every Python block runs, in order, in one namespace."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "asyncio.md"


def test_examples_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(DOC), "exec", dont_inherit=True), namespace)
    text = out.getvalue()
    assert "1 pongs, last seq 1" in text  # real time: one loopback round trip
    assert "60 pongs, last seq 60" in text and "ended at +590.0 s" in text
