"""The examples in docs/sdls.md run as written (one namespace, in order)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "sdls.md"


def test_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(os.environ, "DAWNLINK_KEY_7", "")  # restored after the test
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the example's mkdtemp
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "Key(key_id=1, fingerprint=" in printed
    material = os.environ["DAWNLINK_KEY_7"]
    assert material.lower() not in printed.lower()
