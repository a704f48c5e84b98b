"""Exports spread over several tables: the source tells them apart by their headers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mrrcli.errors import InputError
from mrrcli.report import Settings, load, movements

FIXTURES = Path(__file__).parent / "fixtures" / "lookups"
LINES = FIXTURES / "stripe_lines.csv"
INVOICES = FIXTURES / "stripe_invoices.csv"


@pytest.mark.parametrize("order", ["lines first", "invoices first"])
def test_stripe_lines_take_customer_and_status_from_invoices(order: str) -> None:
    files = [str(LINES), str(INVOICES)]
    if order == "invoices first":
        files.reverse()
    rows = load(files)
    assert rows.source == "stripe-invoice-lines"
    table = {
        r["month"]: r for r in movements(rows, Settings(as_of=date(2024, 3, 31))).frame.to_dicts()
    }
    # cus_A: 29.00 a month from Jan 10 (two monthly lines, to Mar 10, then nothing: churn).
    # cus_B: 99.00 from Jan 20; its second invoice is void, so its MRR ends Feb 20.
    assert table["2024-01"]["new_mrr"] == Decimal("128.00")
    assert table["2024-02"]["churned_mrr"] == Decimal("99.00")
    assert table["2024-03"]["churned_mrr"] == Decimal("29.00")
    assert table["2024-03"]["closing_mrr"] == Decimal("0.00")


def test_a_line_whose_invoice_is_missing_is_an_error(tmp_path: Path) -> None:
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(INVOICES.read_text().replace("in_3,cus_B,9900,paid,usd\n", ""))
    with pytest.raises(InputError) as error:
        load([str(LINES), str(invoices)])
    message = str(error.value)
    assert "row 4" in message and "'invoice_id'" in message and "in_3" in message
