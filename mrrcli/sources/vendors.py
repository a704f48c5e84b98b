"""The billing systems mrrcli reads as they export (facts: EXPORTS.md in the shared folder).

Order matters for --source auto: the first source whose signature headers are all present wins,
so more specific signatures come first.
"""

from __future__ import annotations

from mrrcli.sources import Source

SUBSCRIPTION_LIST_NOTE = (
    "{title} is a subscription list: a plan change overwrites its row, so past upgrades and "
    "downgrades cannot be seen (expansion shows only as added subscriptions)"
)

STRIPE_SUBSCRIPTIONS = Source(
    name="stripe-subscriptions",
    shape="periods",
    title="Stripe Dashboard subscriptions CSV",
    columns={
        "customer_id": ("Customer ID", "Customer"),
        "subscription_id": ("id",),
        "plan_id": ("Plan", "Price ID", "Plan ID"),
        "quantity": ("Quantity",),
        "currency": ("Currency",),
        "interval": ("Interval",),
        "interval_count": ("Interval Count",),
        "amount": ("Amount",),
        "status": ("Status",),
        "start_date": ("Start Date (UTC)", "Start (UTC)", "Created (UTC)"),
        # Churn is when service ended, not when cancellation was requested (Canceled At).
        "end_date": ("Ended At (UTC)",),
    },
    signature=("Customer ID", "Status", "Ended At (UTC)"),
    amount_unit="major",
    timezone="UTC",
    unpaid_statuses=("incomplete", "incomplete_expired"),
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Stripe subscriptions export"),
)

VENDORS: tuple[Source, ...] = (STRIPE_SUBSCRIPTIONS,)
