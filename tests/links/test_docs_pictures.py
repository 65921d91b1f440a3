"""The pictures of the docs/link-*.md pages: each one referenced exists, is a PNG under
150 KB, and the link-tools.md example that draws passes and Doppler runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_picture_exists_and_is_small() -> None:
    seen = 0
    for page in sorted(DOCS.glob("link-*.md")):
        for ref in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", page.read_text()):
            png = (page.parent / ref).resolve()
            assert png.is_file(), f"{page.name} shows {ref}, which does not exist"
            assert png.read_bytes()[:8] == PNG_MAGIC
            assert png.stat().st_size < 150 * 1024, f"{ref} is over 150 KB"
            seen += 1
    assert seen >= 7


def test_link_tools_example_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    text = (DOCS / "link-tools.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/link-tools.md", "exec"), namespace)
    for name in ("passes.png", "doppler.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
