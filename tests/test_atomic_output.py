"""`--output` is atomic and pipes close quietly, as real processes (SPEC §7.1).

A cron job that fails must leave yesterday's report exactly as it was, with no temporary file
beside it; a reader that stops early (`| head -1`) ends the run quietly with exit code 0.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CSV, SPEC_EXAMPLE

AS_OF = ("--as-of", "2024-05-31")
BAD_INPUTS = {
    "negative_amount": b"customer_id,start_date,amount\nA,2024-01-01,10\nB,2024-01-01,-5\n",
    "binary_junk": bytes(range(256)) * 4,
    "header_only": b"customer_id,start_date,amount\n",
}


def mrrcli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mrrcli", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """One good run writing out/report.csv: its folder and the bytes it wrote."""
    folder = tmp_path_factory.mktemp("first")
    (folder / "out").mkdir()
    result = mrrcli("movements", str(SPEC_EXAMPLE), *AS_OF, "-o", "out/report.csv", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return folder / "out", (folder / "out" / "report.csv").read_bytes()


@pytest.fixture
def good_report(first_run: tuple[Path, bytes], tmp_path: Path) -> Path:
    """A folder holding report.csv as the good run wrote it."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.csv").write_bytes(first_run[1])
    return out


def test_a_good_run_writes_the_report(first_run: tuple[Path, bytes]) -> None:
    folder, _ = first_run
    assert listing(folder) == ["report.csv"], "no temporary file is left"
    text = (folder / "report.csv").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("month,days,opening_mrr,new_mrr,expansion_mrr,")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2024-01",
        "2024-02",
        "2024-03",
        "2024-04",
        "2024-05",
    ]
    assert text.endswith("\n")


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_a_failed_run_leaves_the_report_unchanged(case: str, good_report: Path) -> None:
    before = (good_report / "report.csv").read_bytes()
    stat = (good_report / "report.csv").stat()
    folder = good_report.parent
    (folder / "bad.csv").write_bytes(BAD_INPUTS[case])
    result = mrrcli("movements", "bad.csv", *AS_OF, "--output", "out/report.csv", cwd=folder)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert (good_report / "report.csv").read_bytes() == before
    assert (good_report / "report.csv").stat().st_mtime_ns == stat.st_mtime_ns
    assert listing(good_report) == ["report.csv"], "no temporary file is left"


def test_a_report_that_cannot_be_written_leaves_no_temporary(good_report: Path) -> None:
    """--output naming a folder: wrong usage, one line, the folder as it was."""
    folder = good_report.parent
    result = mrrcli("movements", str(SPEC_EXAMPLE), *AS_OF, "--output", "out", cwd=folder)
    assert result.returncode in (1, 2), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "out" in result.stderr
    assert listing(good_report) == ["report.csv"]


def test_a_second_good_run_replaces_the_report(good_report: Path) -> None:
    folder = good_report.parent
    result = mrrcli(
        "movements", str(SPEC_EXAMPLE), "--as-of", "2024-03-31", "-o", "out/report.csv", cwd=folder
    )
    assert result.returncode == 0, result.stderr
    lines = (good_report / "report.csv").read_text().splitlines()
    assert lines[-1].startswith("2024-03,")
    assert listing(good_report) == ["report.csv"]


# --- a reader that stops early --------------------------------------------------------------------

CUSTOMERS_HEADER = "date,month,customer_id,movement,mrr_before,mrr_after,amount\n"


@pytest.fixture(scope="module")
def head_one() -> subprocess.CompletedProcess[str]:
    """`mrrcli customers sample -q | head -1` under pipefail: the output is far larger than the
    pipe's buffer, so mrrcli meets the closed pipe while writing. (`-q` silences the notes on
    rows set aside, which are not errors.)"""
    command = shlex.join(
        [
            sys.executable,
            "-m",
            "mrrcli",
            "customers",
            str(SAMPLE_CSV),
            "--as-of",
            "2026-06-30",
            "-q",
        ]
    )
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{command} | head -1"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def test_head_closes_the_pipe_quietly(head_one: subprocess.CompletedProcess[str]) -> None:
    """What the issue asks for: only the header, nothing on stderr, exit 0 under pipefail."""
    result = head_one
    assert result.stdout == CUSTOMERS_HEADER
    assert result.stderr == ""
    assert result.returncode == 0


def test_head_closes_the_pipe_without_an_error(
    head_one: subprocess.CompletedProcess[str],
) -> None:
    """The closed pipe itself: no BrokenPipeError, no traceback, exit 0; stderr holds at most
    mrrcli's own notes."""
    result = head_one
    assert result.stdout == CUSTOMERS_HEADER
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert "BrokenPipe" not in result.stderr and "Exception ignored" not in result.stderr
    assert "error" not in result.stderr.lower()
    assert all(line.startswith("mrrcli: ") for line in result.stderr.splitlines())


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_stdout_on_a_full_disk_is_one_line(fmt: str) -> None:
    """`mrrcli … > file` on a full disk (/dev/full refuses every write): one line, exit 1, no
    traceback; it said `OSError: [Errno 28] …` before."""
    command = [sys.executable, "-m", "mrrcli", "customers", str(SAMPLE_CSV), "-q"]
    command += ["--as-of", "2026-06-30", "-f", fmt]
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True)
    assert result.returncode == 1
    assert result.stderr == "mrrcli: error: cannot write to stdout: No space left on device\n"


def test_ctrl_c_exits_130_with_one_line() -> None:
    """Interrupted while waiting for stdin: exit 130, one line on stderr, no traceback."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "mrrcli", "movements", "-", "--as-of", "2024-05-31"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # started and blocked reading stdin
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == ""
    assert err == "mrrcli: interrupted\n"
