"""The CFDP memory measurement script runs a whole transfer on disk and delivers the file.

No memory or time is asserted (the figures are measurements, see the script's docstring):
only that the transfer completes, the received file matches, and nothing is left behind.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from tools.bench.cfdp_memory import MIB, main, run_transfer, write_file


@pytest.mark.parametrize(
    ("transmission_class", "loss"),
    [(1, 0.0), (2, 0.0), (2, 0.01)],
)
def test_small_transfer_completes_and_matches(
    tmp_path: Path, transmission_class: int, loss: float
) -> None:
    report = run_transfer(
        tmp_path, 8 * MIB, transmission_class=transmission_class, loss=loss, seed=3
    )
    assert report.delivered
    assert report.condition_code == "NO_ERROR"
    assert (tmp_path / "b" / "dst.bin").stat().st_size == 8 * MIB
    if loss:
        assert report.pdus_dropped > 0  # the NAK and retransmission path really ran
    assert report.lines()  # the printed report renders


def test_sparse_file_and_odd_size(tmp_path: Path) -> None:
    # A size that is not a whole number of segments, so the last File Data is short.
    report = run_transfer(tmp_path, 3 * MIB + 123, segment=1024, sparse=True)
    assert report.delivered
    assert report.condition_code == "NO_ERROR"


def test_write_file_digest_is_of_the_content(tmp_path: Path) -> None:
    import hashlib

    digest = write_file(tmp_path / "f.bin", 5000, seed=9)
    assert digest == hashlib.sha256((tmp_path / "f.bin").read_bytes()).hexdigest()
    sparse = write_file(tmp_path / "z.bin", 5000, sparse=True)
    assert sparse == hashlib.sha256(bytes(5000)).hexdigest()


def test_main_removes_its_temp_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--size-mib", "1", "--dir", str(tmp_path)]) == 0
    assert "delivered and matching: True" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_main_refuses_loss_in_class_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--size-mib", "1", "--class", "1", "--loss", "0.01"])
    assert "class 1" in capsys.readouterr().err


def test_run_transfer_refuses_bad_arguments() -> None:
    with tempfile.TemporaryDirectory() as tmp, pytest.raises(ValueError, match="class"):
        run_transfer(Path(tmp), 1024, transmission_class=3)
