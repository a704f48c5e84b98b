"""A run in parts whose temporary disk (TMPDIR) is full or missing: one line saying so and what
to do, never a traceback, never a wrong number, and nothing left behind (SPEC §13, §7.1).

The disk is made "full" for real: the child process may write no file over 2,000 bytes
(RLIMIT_FSIZE), so writing a part fails as it would on a full disk ("File too large", the
operating system's words, where a full disk says "No space left on device")."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mrrcli.errors import DiskError
from mrrcli.report import load
from mrrcli.split import os_reason
from tests.conftest import ROOT, SAMPLE_CSV

ARGS = [str(SAMPLE_CSV), "--as-of", "2026-06-30", "--max-age", "0", "-f", "csv"]


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))


def mrrcli(args: list[str], tmp: Path, limit: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mrrcli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp)},
        preexec_fn=_limited if limit else None,
        check=False,
    )


def test_a_file_that_cannot_be_split_is_read_again_for_each_part(tmp_path: Path) -> None:
    # The sample's parts (about 20 KB each) cannot be written: the report is still the one
    # read whole (each part filtered out of the file itself), and stderr says why it was slow.
    whole = mrrcli(["movements", *ARGS], tmp_path, limit=False)
    split = mrrcli(["movements", *ARGS, "--parts", "3"], tmp_path)
    assert (whole.returncode, split.returncode) == (0, 0)
    assert split.stdout == whole.stdout
    told = split.stderr.splitlines()[0]
    assert told == (
        f"mrrcli: read in 3 parts by customer (1 file); {SAMPLE_CSV} could not be split in "
        f"{tmp_path} (File too large), so each part read the whole file (allow TMPDIR about "
        "60 bytes a row)"
    )
    assert os.listdir(tmp_path) == []  # the split's directory removed


def test_rows_that_cannot_be_written_aside_stop_the_run_in_one_line(tmp_path: Path) -> None:
    # `customers` writes each part's MRR rows aside: on a full disk it stops, saying where and
    # what to do, with exit 1 and nothing on stdout.
    done = mrrcli(["customers", *ARGS, "--parts", "3"], tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"mrrcli: error: cannot write a part's rows in {tmp_path}: File too large; set TMPDIR "
        "to a disk with room (about 110 bytes a row)\n"
    )
    assert os.listdir(tmp_path) == []  # every temporary file removed


def test_no_temporary_directory_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    with pytest.raises(DiskError) as raised:
        load([str(SAMPLE_CSV)], parts=2)
    assert str(raised.value) == (
        f"cannot make a temporary directory in {tempfile.gettempdir()} for a run in parts: "
        "Permission denied; set TMPDIR to a writable disk with room"
    )
    assert raised.value.exit_code == 1


def test_the_operating_systems_reason_inside_a_polars_error() -> None:
    polars_said = ValueError(
        "parquet: File out of specification: underlying IO error: No space left on device "
        "(os error 28)"
    )
    assert os_reason(polars_said) == "No space left on device"
    assert os_reason(OSError(28, "No space left on device")) == "No space left on device"
    assert os_reason(ValueError("a column is missing")) is None  # not the disk's problem
