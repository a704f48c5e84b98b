"""The charts as Vega-Lite specs, plain dicts built from a report's frame (display values).

Each chart has a title, axes labelled with the currency, and a legend that does not rest on
colour alone: every series also has its own stroke dash (bars are outlined) or point shape,
gains stand above the zero line and losses below it, and the heat map prints its numbers.
No number is computed here: values are the report's own, only their sign (losses drawn down)
and the benchmark line's scale (the flow day-normalized as the bars are) are chosen.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from mrrcli.vocabulary import STANDARD_DAYS_PER_MONTH

FONT = "DejaVu Sans"
WIDTH = 640
HEIGHT = 220
BENCHMARK = 0.30  # expansion ≥ 30% of new MRR (SPEC §6 benchmark_met)
CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "padding": 8,
    "title": {"fontSize": 15, "anchor": "start", "subtitleFontSize": 11},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e6e6e6"},
    "legend": {
        "labelFontSize": 11,
        "titleFontSize": 11,
        "orient": "bottom",
        "labelLimit": 0,
        "titleLimit": 0,
    },
    "view": {"stroke": None},
}
# Movement kinds: label, fill (lightness differs, so grey print tells them apart), outline dash.
GAINS = ("new_mrr", "expansion_mrr", "reactivation_mrr")
LOSSES = ("contraction_mrr", "churned_mrr")
KINDS: dict[str, tuple[str, str, list[int]]] = {
    "new_mrr": ("new", "#1b5e20", [1, 0]),
    "expansion_mrr": ("expansion", "#66bb6a", [6, 3]),
    "reactivation_mrr": ("reactivation", "#c8e6c9", [2, 2]),
    "contraction_mrr": ("contraction", "#f4a582", [6, 2, 2, 2]),
    "churned_mrr": ("churned", "#b2182b", [4, 1, 1, 1]),
}
RETENTION: dict[str, tuple[str, str, list[int], str]] = {
    "nrr": ("NRR (month)", "#1f4e9c", [1, 0], "circle"),
    "grr": ("GRR (month)", "#d95f02", [6, 3], "square"),
    "nrr_ttm": ("NRR (12 mo)", "#5e3c99", [2, 2], "triangle-up"),
    "grr_ttm": ("GRR (12 mo)", "#4d4d4d", [8, 3, 2, 3], "diamond"),
}


def _values(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON values: Decimal money as numbers (a picture needs no exact cents)."""
    decimals = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.Float64)).to_dicts()


def _base(title: str, subtitle: str) -> dict[str, Any]:
    return {"title": {"text": title, "subtitle": subtitle}, "config": CONFIG}


def _month_axis(label: str) -> dict[str, Any]:
    return {"field": "month", "type": "ordinal", "title": label, "axis": {"labelAngle": -45}}


def movements_spec(frame: pl.DataFrame, currency: str, label: str = "month") -> dict[str, Any]:
    """Closing MRR as a line above, the month's movements as bars below (gains up, losses
    down), on one month axis. `frame`: a movements report."""
    kinds = [*GAINS, *LOSSES]
    bars = frame.select(
        "month", *[(-pl.col(c) if c in LOSSES else pl.col(c)).alias(c) for c in kinds]
    ).unpivot(index="month", variable_name="kind", value_name="amount")
    names = {kind: KINDS[kind][0] for kind in kinds}
    bars = bars.with_columns(
        pl.col("kind").replace_strict(names).alias("movement"),
        pl.col("kind").replace_strict({k: i for i, k in enumerate(kinds)}).alias("order"),
    ).drop("kind")
    closing = {
        "data": {"values": _values(frame.select("month", "closing_mrr"))},
        "width": WIDTH,
        "height": HEIGHT * 0.6,
        "mark": {
            "type": "line",
            "color": "#222",
            "point": {"shape": "circle", "size": 30, "color": "#222"},
        },
        "encoding": {
            "x": {**_month_axis(""), "axis": None},
            "y": {
                "field": "closing_mrr",
                "type": "quantitative",
                "title": f"closing MRR ({currency})",
                "scale": {"zero": True},
            },
        },
    }
    stacked = {
        "data": {"values": _values(bars)},
        "width": WIDTH,
        "height": HEIGHT,
        "mark": {"type": "bar", "stroke": "#222", "strokeWidth": 1},
        "encoding": {
            "x": _month_axis(label),
            "y": {
                "field": "amount",
                "type": "quantitative",
                "stack": "zero",
                "title": f"movements ({currency}; losses below 0)",
            },
            **_kind_legend(kinds),
            "order": {"field": "order", "type": "quantitative"},
        },
    }
    spec = _base(
        f"MRR movements and closing MRR ({currency})",
        "above: closing MRR (line); below: new, expansion, reactivation up, "
        "contraction and churn down",
    )
    return {**spec, "vconcat": [closing, stacked], "spacing": 6}


def _kind_legend(kinds: list[str]) -> dict[str, Any]:
    """Fill and outline dash by movement, in one legend."""
    domain = [KINDS[k][0] for k in kinds]
    legend = {
        "title": "movement (stacked from 0 in this order)",
        "symbolSize": 200,
        "encode": {
            "symbols": {"update": {"stroke": {"value": "#222"}, "strokeWidth": {"value": 1.5}}}
        },
    }
    return {
        "color": {
            "field": "movement",
            "type": "nominal",
            "scale": {"domain": domain, "range": [KINDS[k][1] for k in kinds]},
            "legend": legend,
        },
        "strokeDash": {
            "field": "movement",
            "type": "nominal",
            "scale": {"domain": domain, "range": [KINDS[k][2] for k in kinds]},
            "legend": legend,
        },
    }


def standard_days(days_per_month: float) -> pl.Expr:
    """Days of the standard period a flow is day-normalized to (SPEC §5): a month's
    `days_per_month`, a quarter's (`2026-Q2`) 3 times that, a year's (`2026`) 12 times."""
    month = pl.col("month")
    months = (
        pl.when(month.str.contains("-Q", literal=True))
        .then(3)
        .when(~month.str.contains("-", literal=True))
        .then(12)
        .otherwise(1)
    )
    return (months * days_per_month).alias("standard")


def _series_legend(names: list[str], colours: list[str]) -> dict[str, Any]:
    return {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": names, "range": colours},
        "title": None,
    }


def expansion_spec(
    frame: pl.DataFrame,
    currency: str,
    days_per_month: float = float(STANDARD_DAYS_PER_MONTH),
    label: str = "month",
) -> dict[str, Any]:
    """Day-normalized Expansion MRR as bars, and 30% of new MRR, day-normalized the same way
    (so a bar reaches the line exactly when the benchmark is met), as a dashed line with
    triangles. `frame`: an expansion report."""
    data = frame.select("month", "days", "new_mrr", "expansion_mrr_daynorm", "benchmark_met")
    names = ["Expansion MRR, day-normalized", "30% of new MRR, day-normalized"]
    legend = _series_legend(names, ["#2e7d32", "#222"])
    bars = {
        "transform": [{"calculate": f"'{names[0]}'", "as": "series"}],
        "mark": {"type": "bar", "stroke": "#222", "strokeWidth": 1},
        "encoding": {
            "x": _month_axis(label),
            "y": {
                "field": "expansion_mrr_daynorm",
                "type": "quantitative",
                "title": f"{currency} per standard {label}",
            },
            "color": legend,
        },
    }
    benchmark = f"{BENCHMARK} * datum.new_mrr * datum.standard / datum.days"
    line = {
        "transform": [
            {"calculate": benchmark, "as": "benchmark"},
            {"calculate": f"'{names[1]}'", "as": "series"},
        ],
        "mark": {"type": "line", "strokeDash": [6, 4], "point": {"shape": "triangle-up"}},
        "encoding": {
            "x": _month_axis(label),
            "y": {"field": "benchmark", "type": "quantitative"},
            "color": legend,
            "shape": {**legend, "scale": {"domain": names, "range": ["square", "triangle-up"]}},
        },
    }
    spec = _base(
        f"Expansion MRR, day-normalized ({currency})",
        f"bars: expansion MRR at a standard {label}'s pace; dashed line: the 30%-of-new benchmark",
    )
    values = _values(data.with_columns(standard_days(days_per_month)))
    size = {"width": WIDTH, "height": HEIGHT}
    return {**spec, "data": {"values": values}, **size, "layer": [bars, line]}


def retention_spec(frame: pl.DataFrame, currency: str, label: str = "month") -> dict[str, Any]:
    """NRR and GRR of each month (and of the trailing twelve months when the frame has them)
    as lines, each its own dash and point shape; a rule at 100%. `frame`: a metrics report."""
    columns = [c for c in RETENTION if c in frame.columns]
    names = {c: RETENTION[c][0].replace("(month)", f"({label})") for c in columns}
    long = (
        frame.select("month", *columns)
        .unpivot(index="month", variable_name="kind", value_name="ratio")
        .drop_nulls("ratio")
        .with_columns(pl.col("kind").replace_strict(names).alias("series"))
        .drop("kind")
    )
    domain = [names[c] for c in columns]

    def scale(index: int) -> dict[str, Any]:
        return {"domain": domain, "range": [RETENTION[c][index] for c in columns]}

    series = {"field": "series", "type": "nominal", "title": None}
    lines = {
        "data": {"values": _values(long)},
        "mark": {"type": "line", "point": {"size": 40, "filled": True}},
        "encoding": {
            "x": _month_axis(label),
            "y": {
                "field": "ratio",
                "type": "quantitative",
                "title": f"% of opening {currency} MRR",
                "axis": {"format": ".0%"},
                "scale": {"zero": False},
            },
            "color": {**series, "scale": scale(1)},
            "strokeDash": {**series, "scale": scale(2)},
            "shape": {**series, "scale": scale(3)},
        },
    }
    full = {
        "data": {"values": [{"full": 1.0}]},
        "mark": {"type": "rule", "color": "#999", "strokeDash": [2, 2]},
        "encoding": {"y": {"field": "full", "type": "quantitative"}},
    }
    spec = _base(
        f"Net and gross revenue retention ({currency})",
        "MRR of the customers paying at the opening, at the close ÷ at the opening; dotted: 100%",
    )
    return {**spec, "width": WIDTH, "height": HEIGHT, "layer": [full, lines]}


def cohort_spec(frame: pl.DataFrame, currency: str) -> dict[str, Any]:
    """The cohort NRR heat map: cohorts as rows, ages as columns, each cell printing its NRR
    (the colour only repeats it). `frame`: a cohorts report (cohort, age, nrr, ...)."""
    cells = frame.select("cohort", "age", "nrr").drop_nulls("nrr")
    encoding = {
        "x": {"field": "age", "type": "ordinal", "title": "age (months)"},
        "y": {"field": "cohort", "type": "ordinal", "title": "cohort"},
    }
    heat = {
        "mark": {"type": "rect", "stroke": "white"},
        "encoding": {
            **encoding,
            "color": {
                "field": "nrr",
                "type": "quantitative",
                "title": f"NRR ({currency} MRR)",
                "scale": {"scheme": "blues", "domainMin": 0},
                "legend": {"format": ".0%", "orient": "right"},
            },
        },
    }
    text = {
        "mark": {"type": "text", "fontSize": 9},
        "encoding": {
            **encoding,
            "text": {"field": "nrr", "type": "quantitative", "format": ".0%"},
            "color": {"condition": {"test": "datum.nrr > 0.8", "value": "white"}, "value": "#111"},
        },
    }
    spec = _base(
        f"Cohort NRR: MRR at each age ÷ the cohort's new MRR ({currency})",
        "rows: cohorts by first paying month; columns: months since; 'all': weighted average",
    )
    size = {"width": {"step": 34}, "height": {"step": 18}}
    return {**spec, "data": {"values": _values(cells)}, **size, "layer": [heat, text]}
