"""README and --help tell the same story: every command is documented with an example."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from dataclasses import dataclass
from pathlib import Path

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
    # mrrcli lives in .venv/bin after `make run`: the README says how to reach it.
    assert "source .venv/bin/activate" in README
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in README


def test_source_help_names_every_source() -> None:
    # The --source help is written by hand (importing the sources would load Polars at start-up).
    from mrrcli.cli.options import SourceOption
    from mrrcli.sources import source_names

    help_text = SourceOption.__metadata__[0].help
    for name in source_names():
        assert name in help_text, name


# Every `$ mrrcli ...` (and `$ cat ...`) command in a fenced block of the README runs as
# written, from the repository root with the set-up's .venv/bin on the PATH, on a terminal
# 120 columns wide unless `<!-- columns: N -->` precedes the block (stdout a pseudo-terminal,
# so tables are tables; stderr a pipe, so no spinner). What the README shows is compared with
# what the command prints: lines starting `mrrcli:` with stderr, the others with stdout.
# MRRCLI_README_WRITE=1 rewrites the shown output (read the diff).

README_WIDTH = 120
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class Shown:
    command: str
    output: list[str]
    line: int  # where the command is in the README (0-based)
    width: int = README_WIDTH  # `<!-- columns: N -->` before the block sets another


def shown_commands(text: str) -> list[Shown]:
    """The `$ mrrcli` commands of the README's fenced blocks and the output shown below each."""
    found: list[Shown] = []
    fenced = False
    lines = text.splitlines()
    index = 0
    width = README_WIDTH
    while index < len(lines):
        line = lines[index]
        columns = re.fullmatch(r"<!-- columns: (\d+) -->", line.strip())
        if columns:
            width = int(columns.group(1))
        elif line.startswith("```"):
            fenced = not fenced
            if not fenced:
                width = README_WIDTH
        elif fenced and line.startswith(("$ mrrcli ", "$ cat ")):
            start, command = index, line[2:]
            while command.endswith("\\"):
                index += 1
                command = command[:-1] + " " + lines[index].strip()
            output: list[str] = []
            while not lines[index + 1].startswith(("$ ", "```")):
                index += 1
                output.append(lines[index])
            found.append(Shown(command, output, start, width))
        index += 1
    return found


def venv_bin() -> Path:
    """The set-up's .venv/bin (make run), else the bin directory of the Python running the tests."""
    local = ROOT / ".venv" / "bin"
    return local if (local / "mrrcli").exists() else Path(sys.executable).parent


def run_as_written(command: str, width: int = README_WIDTH) -> tuple[list[str], list[str]]:
    """stdout (through a pseudo-terminal `width` columns wide) and stderr lines of `command`
    run by bash."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    env = {
        **os.environ,
        "PATH": f"{venv_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),  # the checkout under test, even beside another install
        "COLUMNS": str(width),
        "NO_COLOR": "1",
    }
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal is closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.stderr is not None
    stderr = process.stderr.read().decode()
    process.wait(timeout=300)
    stdout = ANSI.sub("", b"".join(chunks).decode().replace("\r\n", "\n"))
    return _lines(stdout), _lines(stderr)


def _lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


SHOWN = shown_commands(README)


def test_readme_shows_commands() -> None:
    # The examples the README promises: one per command and the European options at least.
    assert sum(shown.command.startswith("mrrcli ") for shown in SHOWN) >= 7


@pytest.mark.parametrize("shown", SHOWN, ids=[s.command[:60] for s in SHOWN])
def test_readme_command_runs_as_written(shown: Shown) -> None:
    stdout, stderr = run_as_written(shown.command, shown.width)
    notes = [line for line in shown.output if line.startswith("mrrcli:")]
    if os.environ.get("MRRCLI_README_WRITE") == "1":
        _rewrite(shown, stdout, stderr if notes else [])
        return
    assert [line.rstrip() for line in shown.output if not line.startswith("mrrcli:")] == stdout
    for note in notes:
        assert note.rstrip() in stderr
    if not shown.command.endswith("echo $?"):
        assert not [line for line in stderr if "error" in line], stderr


def _rewrite(shown: Shown, stdout: list[str], stderr: list[str]) -> None:
    """Put what `shown.command` printed under it in the README (stderr before an `echo $?`)."""
    if stderr and shown.command.endswith("echo $?"):
        output = stdout[:-1] + stderr + stdout[-1:]
    else:
        output = stdout + stderr
    path = ROOT / "README.md"
    lines = path.read_text().splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("$ ")
        and i >= shown.line - 50
        and shown.command.startswith(line[2:].rstrip("\\").strip())
    )
    end = start + 1
    while not lines[end].startswith(("$ ", "```")):
        end += 1
    lines[start + 1 + _continuations(lines, start) : end] = output
    path.write_text("\n".join(lines) + "\n")


def _continuations(lines: list[str], start: int) -> int:
    count = 0
    while lines[start + count].endswith("\\"):
        count += 1
    return count


def help_of(command: str) -> str:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    return result.stdout


def flat(text: str) -> str:
    """Help text without the panels' borders, its words joined by single spaces."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


PANELS = ["Arguments", "Options", "Period and classification", "Output", "Input"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_panels_in_one_order_and_no_text_swallowed(command: str) -> None:
    text = help_of(command)
    assert f"mrrcli {command} [OPTIONS] FILE..." in flat(text)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "{" not in usage  # Typer's braces read as a placeholder left unfilled: {files}
    titles = [line.split("─ ")[1].split(" ─")[0] for line in text.splitlines() if "╭─ " in line]
    # The same order for every command (a panel added later may follow them).
    known = [t for t in titles if t in PANELS]
    assert known == [p for p in PANELS if p in known], titles
    # Every `[...]` of an option's help is shown, not taken for Rich markup.
    from mrrcli.cli.common import COMMON_OPTIONS

    shown = flat(text)
    for name, annotation in COMMON_OPTIONS:
        help_text = annotation.__metadata__[0].help or ""
        for bracketed in re.findall(r"\[[^\]]*\]", help_text.replace("\\[", "[")):
            if f"--{name.replace('_', '-')}" in shown:
                assert " ".join(bracketed.split()) in shown, (command, name, bracketed)


def test_help_states_the_defaults_and_the_config_map() -> None:
    movements_help = flat(help_of("movements"))
    assert "[default: today, UTC]" in movements_help
    assert "TOML file of options and a [map] table" in movements_help
    check_help = flat(help_of("check"))
    assert "[default: the last complete month" in check_help


def test_validate_help_lists_only_options_that_apply_to_it() -> None:
    text = flat(help_of("validate"))
    for option in ("--as-of", "--from", "--to", "--mode", "--level", "--expansion-scope"):
        assert option not in text
    for option in ("--map", "--source", "--delimiter", "--format", "--output"):
        assert option in text


def test_check_help_lists_the_metric_names() -> None:
    text = flat(help_of("check"))
    for metric in ("expansion_to_new", "nrr", "grr", "churned_mrr", "quick_ratio", "arpa"):
        assert re.search(rf"\b{metric}\b", text.split("METRIC:")[1]), metric
