"""The ``dawnlink`` dispatcher: every contributed subcommand is reachable and documented."""

from __future__ import annotations

import subprocess
import sys

import pytest

from comms.cli import build_parser, main


def _subcommands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return sorted(action.choices)  # type: ignore[arg-type]
    return []


def test_packet_subcommand_is_registered() -> None:
    assert "packet" in _subcommands()


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "commands:" in capsys.readouterr().err


@pytest.mark.parametrize("name", _subcommands())
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: dawnlink {name}")


def test_python_dash_m_comms_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "comms", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("dawnlink ")


def test_every_entry_point_loads() -> None:
    from importlib import import_module
    from importlib.metadata import entry_points

    eps = list(entry_points(group="dawnlink.commands"))
    assert eps, "dawnlink is not installed: no dawnlink.commands entry points"
    for ep in eps:
        module_name, _, attr = ep.value.partition(":")
        assert callable(getattr(import_module(module_name), attr)), ep.value
