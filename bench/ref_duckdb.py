"""DuckDB SQL reference: monthly snapshot-mode MRR movements, in the style of dbt's mrr-playbook.

Reads a single-currency `periods` Parquet export and writes one CSV row per month:
month, opening, new, expansion, reactivation, contraction, churned, closing (major units).

The model follows the playbook's shape: a month spine, `customer_months` (every customer × every
month from its first row to the month its last row ends), a range join of those months onto the
price periods in force at the end of the month, `lag()` for the previous month's MRR and the first
active month to tell new from reactivation. Unlike
the playbook it snapshots the *last* day of each month (or the as-of day), not the first, as
mrrcli's `--mode snapshot` does (SPEC §4.3).

Each row's MRR is amount × quantity ÷ months(interval, count) in integer cents, rounded half
away from zero once per row (SPEC §3), with months(week, n) = 7n ÷ 30.4375 = 112n ÷ 487.

    python bench/ref_duckdb.py rows.parquet --as-of 2025-12-31 [-o out.csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import duckdb

SQL = """
with subscription_periods as (
    select
        customer_id,
        start_date,
        end_date,
        -- amount is DECIMAL(18,2): ×100 is exact
        cast(amount * 100 as bigint) * quantity
            * case interval when 'week' then 487 when 'day' then 487 else 1 end as numerator,
        interval_count
            * case interval
                when 'month' then 1 when 'quarter' then 3 when 'year' then 12
                when 'week' then 112 when 'day' then 16
              end as denominator
    from periods
    where start_date <= $as_of
),

periods_mrr as (
    -- integer cents, rounded half away from zero once per row
    select
        customer_id,
        start_date,
        end_date,
        sign(numerator) * ((2 * abs(numerator) + denominator) // (2 * denominator)) as mrr
    from subscription_periods
),

months as (
    select
        cast(month_start as date) as date_month,
        least(last_day(cast(month_start as date)), $as_of) as snapshot_day
    from range(
        (select date_trunc('month', min(start_date)) from periods_mrr),
        date_trunc('month', $as_of) + interval 1 month,
        interval 1 month
    ) as spine(month_start)
),

customers as (
    select
        customer_id,
        date_trunc('month', min(start_date)) as date_month_start,
        -- end_date is exclusive: its month is the first month-end without the row (the churn
        -- month of the playbook); still-active rows run to the as-of month
        least(
            date_trunc('month', max(coalesce(end_date, $as_of))),
            date_trunc('month', $as_of)
        ) as date_month_end
    from periods_mrr
    group by customer_id
),

customer_months as (
    select customers.customer_id, months.date_month, months.snapshot_day
    from customers
    join months
        on months.date_month >= customers.date_month_start
        and months.date_month <= customers.date_month_end
),

mrr as (
    select
        customer_months.customer_id,
        customer_months.date_month,
        coalesce(sum(periods_mrr.mrr), 0) as mrr
    from customer_months
    left join periods_mrr
        on periods_mrr.customer_id = customer_months.customer_id
        and periods_mrr.start_date <= customer_months.snapshot_day
        and (periods_mrr.end_date is null or periods_mrr.end_date > customer_months.snapshot_day)
    group by customer_months.customer_id, customer_months.date_month
),

mrr_with_changes as (
    select
        customer_id,
        date_month,
        mrr,
        coalesce(lag(mrr) over (partition by customer_id order by date_month), 0)
            as previous_mrr,
        -- "had MRR > 0 before" is judged on month-end values only (SPEC §4.3)
        coalesce(
            min(case when mrr > 0 then date_month end) over (partition by customer_id)
                < date_month,
            false
        ) as had_mrr_before
    from mrr
),

mrr_changes as (
    select
        date_month,
        previous_mrr,
        mrr,
        case when previous_mrr = 0 and mrr > 0 and not had_mrr_before then mrr else 0 end as new,
        case when previous_mrr > 0 and mrr > previous_mrr then mrr - previous_mrr else 0 end
            as expansion,
        case when previous_mrr = 0 and mrr > 0 and had_mrr_before then mrr else 0 end
            as reactivation,
        case when previous_mrr > 0 and mrr > 0 and mrr < previous_mrr then previous_mrr - mrr
            else 0 end as contraction,
        case when previous_mrr > 0 and mrr = 0 then previous_mrr else 0 end as churned
    from mrr_with_changes
)

select
    strftime(months.date_month, '%Y-%m') as month,
    coalesce(sum(previous_mrr), 0) as opening,
    coalesce(sum(new), 0) as new,
    coalesce(sum(expansion), 0) as expansion,
    coalesce(sum(reactivation), 0) as reactivation,
    coalesce(sum(contraction), 0) as contraction,
    coalesce(sum(churned), 0) as churned,
    coalesce(sum(mrr), 0) as closing
from months
left join mrr_changes on mrr_changes.date_month = months.date_month
group by months.date_month
order by months.date_month
"""

COLUMNS = ("month", "opening", "new", "expansion", "reactivation", "contraction", "churned")


def money(cents: int) -> str:
    """Integer cents as a decimal string in major units, e.g. -1234 -> -12.34."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def movements(
    parquet: Path, as_of: dt.date, memory_limit: str | None = None
) -> list[tuple[str, list[int]]]:
    """(month, [opening, new, expansion, reactivation, contraction, churned, closing]) rows."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "temp_directory": str(Path(tempfile.gettempdir()) / "mrrcli-bench-duckdb")
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(config=config)
    con.read_parquet(str(parquet)).create_view("periods")
    rows = con.execute(SQL, {"as_of": as_of}).fetchall()
    return [(str(row[0]), [int(value) for value in row[1:]]) for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("-o", "--output", type=Path, help="CSV path (default: stdout)")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 8GB")
    args = parser.parse_args()
    lines = [",".join((*COLUMNS, "closing"))]
    for month, values in movements(args.parquet, args.as_of, args.memory_limit):
        lines.append(",".join([month, *(money(value) for value in values)]))
    text = "\n".join(lines) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)


if __name__ == "__main__":
    main()
