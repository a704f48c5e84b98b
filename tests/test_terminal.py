"""The terminal is decided in one place (present.terminal.Terminal) and can be passed in: these
tests give the application a fake one instead of patching any stream."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal
from tests.conftest import ROOT, SPEC_EXAMPLE

runner = CliRunner()
AS_OF = ("--as-of", "2024-05-31")
ON_A_TERMINAL = Terminal(stdout_is_terminal=True, stderr_is_terminal=True, width=100)
IN_A_PIPE = Terminal(stdout_is_terminal=False, stderr_is_terminal=False, width=100)


def invoke(terminal: Terminal, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), obj=terminal)
    return result.exit_code, result.stdout, result.stderr


def test_auto_is_a_table_on_a_terminal() -> None:
    code, out, _ = invoke(ON_A_TERMINAL, "movements", str(SPEC_EXAMPLE), *AS_OF)
    assert code == 0
    assert "MRR movements · USD" in out
    assert "month,days,opening_mrr" not in out


def test_auto_is_csv_in_a_pipe() -> None:
    code, out, _ = invoke(IN_A_PIPE, "movements", str(SPEC_EXAMPLE), *AS_OF)
    assert code == 0
    assert out.startswith("month,days,opening_mrr,")
    assert "MRR movements" not in out


@pytest.mark.parametrize(
    ("args", "title"),
    [
        (("validate", str(SPEC_EXAMPLE)), "validate · "),
        (("check", str(SPEC_EXAMPLE), *AS_OF, "-r", "nrr>=0"), "check · USD"),
    ],
)
def test_validate_and_check_follow_the_same_terminal(args: tuple[str, ...], title: str) -> None:
    _, table, _ = invoke(ON_A_TERMINAL, *args)
    _, csv, _ = invoke(IN_A_PIPE, *args)
    assert title in table
    assert title not in csv
    assert csv.splitlines()[0].count(",") >= 3


def test_the_chart_is_drawn_on_a_terminal_only() -> None:
    _, out, err = invoke(
        ON_A_TERMINAL, "movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", "-f", "table"
    )
    assert "Movements per month (USD)" in out
    assert "--chart" not in err
    _, out, err = invoke(
        IN_A_PIPE, "movements", str(SPEC_EXAMPLE), *AS_OF, "--chart", "-f", "table"
    )
    assert "Movements per month" not in out
    assert "--chart draws on a terminal only" in err


def test_a_file_follows_its_extension_whatever_the_terminal(in_tmp: Path) -> None:
    code, out, _ = invoke(ON_A_TERMINAL, "metrics", str(SPEC_EXAMPLE), *AS_OF, "-o", "m.csv")
    assert code == 0
    assert out == ""
    assert (in_tmp / "m.csv").read_text().startswith("month,")


def test_the_terminal_width_and_colour() -> None:
    assert ON_A_TERMINAL.console().width == 100
    assert ON_A_TERMINAL.console().is_terminal
    assert Terminal.detect({"NO_COLOR": "1"}).color is False
    assert Terminal.detect({}).color is True
    assert Terminal(color=False).console().no_color


def test_only_the_terminal_asks_a_stream_whether_it_is_a_tty() -> None:
    callers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "mrrcli").rglob("*.py")
        if re.search(r"\.isatty\(", path.read_text(encoding="utf-8"))
    }
    assert callers == {"mrrcli/present/terminal.py"}
