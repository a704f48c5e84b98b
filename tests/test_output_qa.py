"""Output details found by an adversarial review of SPEC §7.1 and §11, end to end."""

from __future__ import annotations

from typer.testing import CliRunner

from mrrcli.cli import app
from mrrcli.present.terminal import Terminal
from tests.conftest import SPEC_EXAMPLE

AS_OF = ["--as-of", "2024-05-31"]


def invoke(*args: str, width: int = 200, terminal: bool = False) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), obj=Terminal(stdout_is_terminal=terminal, width=width, color=False)
    )
    return result.exit_code, result.stdout, result.stderr


def line_of(out: str, *starts: str) -> list[str]:
    return [line.split() for line in out.splitlines() if line.split()[:2] == list(starts)]


def test_segment_total_line_is_day_normalized_with_days_per_month() -> None:
    # --days-per-month 30: February's expansion of 80 (A's upgrade, 29 days) is
    # 80 × 30 ÷ 29 = 82.7586 → 82.76 on every line, the total included (it used 30.4375:
    # 80 × 30.4375 ÷ 29 = 83.97, while its segments summed to 82.76).
    args = ("expansion", str(SPEC_EXAMPLE), *AS_OF, "--days-per-month", "30", "-f", "table")
    code, out, err = invoke(*args, "--by", "subscription_id", "--wide", "-q")
    assert code == 0, err
    assert line_of(out, "2024-02", "a1")[0][6] == "82.76"
    assert line_of(out, "2024-02", "total")[0][6] == "82.76"
    # March: 40 × 30 ÷ 31 = 38.709677 → 38.71 (B's two-week add-on).
    assert line_of(out, "2024-03", "total")[0][6] == "38.71"
