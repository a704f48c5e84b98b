"""`mrrcli check`: threshold rules on one month's metrics, for cron alerts (SPEC §7).

A rule is `METRIC OP NUMBER`, e.g. `expansion_to_new>=0.30` or `churned_mrr < 5000`. Ratios are
fractions (0.30, not 30) and money is in major units, as in CSV and JSON output.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mrrcli.engine.freshness import Freshness
from mrrcli.errors import InputError, UsageError

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_RULE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Rule:
    text: str
    metric: str
    op: str
    threshold: Decimal


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    month: str
    value: Decimal | None
    passed: bool
    reason: str | None = None  # why the value is empty, when it is
    segment: str | None = None  # with --by: the segment judged (SPEC §9)


# Why a metric is empty (SPEC §6: a ratio whose denominator is 0 is empty), said with a failure.
EMPTY_BECAUSE = {
    "expansion_rate": "the previous month's expansion MRR is 0 or not reported",
    "expansion_pct_of_opening": "opening MRR is 0",
    "expansion_to_new": "new MRR is 0",
    "benchmark_met": "new MRR is 0",
    "mrr_growth_rate": "opening MRR is 0",
    "quick_ratio": "contraction + churned MRR is 0",
    "gross_mrr_churn_rate": "opening MRR is 0",
    "net_mrr_churn_rate": "opening MRR is 0",
    "nrr": "opening MRR is 0",
    "grr": "opening MRR is 0",
    "nrr_ttm": "no MRR 12 months earlier (or fewer than 12 months reported)",
    "grr_ttm": "no MRR 12 months earlier (or fewer than 12 months reported)",
    "arpa": "no paying customers at the close",
}


def parse_rule(text: str, metrics: set[str]) -> Rule:
    """`METRIC OP NUMBER` → a Rule; a malformed rule or an unknown metric is a usage error."""
    match = _RULE.match(text)
    if not match:
        raise UsageError(
            f"malformed rule {text!r}: expected METRIC OP NUMBER with OP one of "
            ">=, >, <=, <, == (e.g. 'expansion_to_new>=0.30')"
        )
    metric, op, number = match.groups()
    try:
        threshold = Decimal(number)
    except InvalidOperation:
        raise UsageError(f"malformed rule {text!r}: {number!r} is not a number") from None
    if not threshold.is_finite():
        raise UsageError(f"malformed rule {text!r}: {number!r} is not a finite number")
    if metric not in metrics:
        known = ", ".join(sorted(metrics))
        raise UsageError(f"unknown metric {metric!r} in rule {text!r}; known: {known}")
    return Rule(text.strip(), metric, op, threshold)


def last_complete_month(as_of: date) -> date:
    """The latest month whose last day is on or before the as-of date (its first day)."""
    import calendar

    last_day = calendar.monthrange(as_of.year, as_of.month)[1]
    if as_of.day == last_day:
        return as_of.replace(day=1)
    if as_of.month == 1:
        return date(as_of.year - 1, 12, 1)
    return date(as_of.year, as_of.month - 1, 1)


def last_complete_period(as_of: date, months: int = 1) -> date:
    """The first day of the latest calendar period of `months` months (1, 3 or 12) whose last
    day is on or before the as-of date."""
    month = last_complete_month(as_of)
    index = month.year * 12 + month.month - 1
    # The period holding that month is complete only if the month is its last one.
    start = index - index % months
    if index % months != months - 1:
        start -= months
    return date(start // 12, start % 12 + 1, 1)


def period_of_text(text: str, months: int, option: str) -> date:
    """`--month` of check with --period: a month YYYY-MM (its period), or a label YYYY-Qn or
    YYYY; the first day of the period it names."""
    match = re.fullmatch(r"\s*(\d{4})(?:-(?:(\d{1,2})|[Qq]([1-4])))?\s*", text)
    if match is None or (match.group(2) is None and match.group(3) is None and months != 12):
        raise UsageError(
            f"{option} must be a month YYYY-MM or a period such as 2026-Q2, not {text!r}"
        )
    year, month, quarter = match.groups()
    if quarter is not None:
        first = (int(quarter) - 1) * 3 + 1
    elif month is not None and 1 <= int(month) <= 12:
        first = int(month)
    elif month is None:
        first = 1
    else:
        raise UsageError(
            f"{option} must be a month YYYY-MM or a period such as 2026-Q2, not {text!r}"
        )
    index = int(year) * 12 + first - 1
    start = index - index % months
    return date(start // 12, start % 12 + 1, 1)


# A month to date has run only some of its days: its flows, and the ratios of a flow to an MRR
# level, are compared day-normalized (value × standard month ÷ days elapsed, SPEC §5), so a
# weekly alert on the current month judges the month's pace, not a fraction of it. Levels
# (opening, closing, ARPA, NRR/GRR of the customers paying at the opening, counts) and ratios of
# two flows (quick ratio, expansion ÷ new) are compared as they are.
PACED_METRICS = frozenset(
    {
        "new_mrr",
        "expansion_mrr",
        "reactivation_mrr",
        "contraction_mrr",
        "churned_mrr",
        "net_new_mrr",
        "expansion_pct_of_opening",
        "mrr_growth_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "moved_in_mrr",  # the transfers of a segment (check --by) are flows too
        "moved_out_mrr",
    }
)
CURRENT = "current"  # check --month current: the month (or period) to date


def _over_opening(flow: Callable[[Callable[[str], Decimal]], Decimal]) -> Any:
    return lambda m: None if m("opening_mrr") == 0 else flow(m) / m("opening_mrr")


# The paced ratios, recomputed from the row's exact money (its ratios are rounded to 6 places).
_PACED_RATIOS: dict[str, Callable[[Callable[[str], Decimal]], Decimal | None]] = {
    "expansion_pct_of_opening": _over_opening(lambda m: m("expansion_mrr")),
    "mrr_growth_rate": _over_opening(lambda m: m("closing_mrr") - m("opening_mrr")),
    "gross_mrr_churn_rate": _over_opening(lambda m: m("contraction_mrr") + m("churned_mrr")),
    "net_mrr_churn_rate": _over_opening(
        lambda m: (
            m("contraction_mrr") + m("churned_mrr") - m("expansion_mrr") - m("reactivation_mrr")
        )
    ),
}


def paced(values: dict[str, Any], standard_days: Decimal) -> dict[str, Any]:
    """One month-to-date row with its flows day-normalized to a standard month (or period:
    `standard_days` = n × the standard month), rounded to 6 places as day-normalized flows are
    written (SPEC §7.1); ratios are recomputed from the exact money before they are scaled."""
    factor = standard_days / Decimal(int(values["days"]))

    def money(name: str) -> Decimal:
        return Decimal(str(values[name]))

    out = dict(values)
    for metric in PACED_METRICS & values.keys():
        exact = _PACED_RATIOS[metric](money) if metric in _PACED_RATIOS else money(metric)
        if values[metric] is not None and exact is not None:
            out[metric] = (exact * factor).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    return out


def paced_row(
    values: dict[str, Any], days_per_month: float, months: int = 1
) -> tuple[dict[str, Any], str]:
    """A month (or period) to date judged at its pace: its flows day-normalized to a standard
    month (or period of `months` standard months), and the note that says so (SPEC §5)."""
    standard = Decimal(str(days_per_month)) * months
    days = int(values["days"])
    note = (
        f"to date ({days} days): flows day-normalized (x {standard.normalize()} / {days}) "
        "before they are compared"
    )
    return paced(values, standard), note


def evaluate(
    rules: list[Rule], month: str, values: dict[str, Any], paced_note: str | None = None
) -> list[Outcome]:
    """Each rule against one month's values; an empty value (e.g. a ratio over 0) fails. With
    `paced_note`, the values are a month to date's, flows day-normalized, said on those rules."""
    outcomes = []
    for rule in rules:
        raw = values.get(rule.metric)
        if isinstance(raw, bool):
            raw = int(raw)
        value = None if raw is None else Decimal(str(raw))
        passed = value is not None and OPERATORS[rule.op](value, rule.threshold)
        reason = None
        if value is None:
            reason = "empty: " + EMPTY_BECAUSE.get(rule.metric, "no value for this month")
        elif paced_note is not None and rule.metric in PACED_METRICS:
            reason = paced_note
        outcomes.append(Outcome(rule, month, value, passed, reason))
    return outcomes


def evaluate_segments(
    rules: list[Rule], month: str, segments: list[dict[str, Any]], paced_note: str | None = None
) -> list[Outcome]:
    """Each rule against each segment's values of one month (check --by): one outcome per
    rule and segment, segments in sort order. With `paced_note`, each segment's values are
    its month to date's, flows day-normalized (judge)."""
    return [
        replace(outcome, segment=values["segment"])
        for values in segments
        for outcome in evaluate(rules, month, values, paced_note)
    ]


def judge(
    rules: list[Rule],
    month: str,
    rows: list[dict[str, Any]],
    segmented: bool,
    pace: tuple[float, int] | None = None,
) -> tuple[list[Outcome], str | None]:
    """The rules against a month's row, or against each segment's row (check --by). With
    `pace` (the standard month's days, the period's months), the row or each segment's is a
    month (or period) to date judged at its pace (paced_row); the note that says so is
    returned with the outcomes."""
    note = None
    if pace is not None and rows:
        note = paced_row(rows[0], *pace)[1]
        rows = [paced_row(values, *pace)[0] for values in rows]
    if segmented:
        return evaluate_segments(rules, month, rows, note), note
    return evaluate(rules, month, rows[0], note), note


def _named(outcome: Outcome) -> str:
    if outcome.segment is None:
        return outcome.rule.text
    return f"{outcome.rule.text} in {outcome.segment}"


def summary(outcomes: list[Outcome]) -> str:
    """One line: `1 of 3 rules failed: churned_mrr<5000`, or `all 3 rules passed`; with
    segments, each failing segment named (`nrr>=1 in basic`)."""
    failed = [_named(outcome) for outcome in outcomes if not outcome.passed]
    count = len(outcomes)
    rules = "rule" if count == 1 else "rules"
    if not failed:
        return f"all {count} {rules} passed" if count > 1 else "1 rule passed"
    return f"{len(failed)} of {count} {rules} failed: {', '.join(failed)}"


class StaleExport(InputError):
    """The export ends too long before the as-of date to judge a month by it (SPEC §12)."""


def require_fresh(freshness: Freshness | None, files: Iterable[str] = ()) -> None:
    """A stale export never lets an alert pass: its empty months would read as no churn."""
    if freshness is not None and freshness.stale:
        raise StaleExport(f"{freshness.problem(files)}; no rule was checked")
