"""README and --help tell the same story: every command is documented with an example."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
COMMANDS = sorted(c.callback.__name__ for c in app.registered_commands if c.callback)


def test_all_commands_are_known() -> None:
    assert (
        sorted(
            [
                "movements",
                "expansion",
                "metrics",
                "customers",
                "validate",
                "check",
                "report",
                "cohorts",
            ]
        )
        == COMMANDS
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help_with_an_example(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert re.search(rf"\$ mrrcli {command} ", result.stdout)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_is_shown_in_the_readme(command: str) -> None:
    assert f"$ mrrcli {command} " in README


def test_readme_documents_exit_codes_and_setup() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in README
    assert "make run" in README and "make test" in README


def test_source_help_names_every_source() -> None:
    # The --source help is written by hand (importing the sources would load Polars at start-up).
    from mrrcli.cli.options import SourceOption
    from mrrcli.sources import source_names

    help_text = SourceOption.__metadata__[0].help
    for name in source_names():
        assert name in help_text, name
