"""Billing systems' tables as warehouse connectors land them, read together (SPEC §2.4).

A warehouse holds an export as several tables; the user passes them together and the source
tells them apart by their headers (`Lookup`). Facts: EXPORTS.md in the shared folder.
"""

from __future__ import annotations

from mrrcli.sources import SUBSCRIPTION_LIST_NOTE, Lookup, Source

# Stripe's tables as warehouse connectors land them (Fivetran's names; Airbyte and Stripe Data
# Pipeline are close): `subscription_item` rows (the main table: `subscription_id`, `plan_id` or
# `price_id`, `quantity`, `created`) take their customer, status and dates from `subscription`
# (or `subscription_history`, its active rows) and their price from `price` (`unit_amount` in
# minor units; `unit_amount_decimal`, up to 12 decimals, wins) or the older `plan` (`amount`).
# Timestamps are UTC without an offset. Churn is `ended_at`, not `canceled_at` (requested).
# An item added after its subscription started starts when it was added (`created`).
STRIPE_WAREHOUSE = Source(
    name="stripe-warehouse",
    shape="periods",
    title="Stripe subscription items with their subscriptions and prices (warehouse tables)",
    columns={
        "customer_id": ("subscription.customer_id",),
        "subscription_id": ("subscription_id",),
        "plan_id": ("price_id", "plan_id"),
        "quantity": ("quantity",),
        "amount": ("price.unit_amount_decimal", "price.unit_amount"),
        "currency": ("price.currency",),
        "interval": ("price.interval",),
        "interval_count": ("price.interval_count",),
        "status": ("subscription.status",),
        "end_date": ("subscription.ended_at",),
        "trial_end": ("subscription.trial_end",),
    },
    latest_of={"start_date": ("subscription.start_date", "created")},
    signature=("id", "subscription_id", "quantity", "created"),
    amount_unit="minor",
    timezone="UTC",
    status_ends={
        "unpaid": "subscription.current_period_start",
        "paused": "subscription.current_period_start",
    },
    unpaid_statuses=("incomplete", "incomplete_expired"),
    # Deleted items, metered prices (usage) and one-time prices carry no MRR.
    drop={
        "_fivetran_deleted": ("true",),
        "price.usage_type": ("metered",),
        "price.type": ("one_time",),
    },
    lookups=(
        Lookup(
            title="Stripe subscriptions",
            signature=("id", "customer_id", "status", "start_date", "ended_at"),
            key=("subscription_id",),
            table_key="id",
            columns={
                "subscription.customer_id": ("customer_id",),
                "subscription.status": ("status",),
                "subscription.start_date": ("start_date", "created"),
                "subscription.ended_at": ("ended_at",),
                "subscription.trial_end": ("trial_end",),
                "subscription.current_period_start": ("current_period_start",),
            },
            # subscription_history keeps every version; the active one is current.
            drop={"_fivetran_active": ("false",)},
            required=True,
        ),
        Lookup(
            title="Stripe prices",
            group="Stripe prices or plans",
            signature=("id", "unit_amount", "recurring_interval"),
            key=("price_id", "plan_id"),
            table_key="id",
            columns={
                "price.unit_amount": ("unit_amount",),
                "price.unit_amount_decimal": ("unit_amount_decimal",),
                "price.currency": ("currency",),
                "price.interval": ("recurring_interval",),
                "price.interval_count": ("recurring_interval_count",),
                "price.usage_type": ("recurring_usage_type",),
                "price.type": ("type",),
            },
            required=True,
        ),
        Lookup(
            title="Stripe plans",
            group="Stripe prices or plans",
            signature=("id", "amount", "interval", "usage_type"),
            key=("price_id", "plan_id"),
            table_key="id",
            columns={
                "price.unit_amount": ("amount",),
                "price.unit_amount_decimal": ("amount_decimal",),
                "price.currency": ("currency",),
                "price.interval": ("interval",),
                "price.interval_count": ("interval_count",),
                "price.usage_type": ("usage_type",),
            },
            required=True,
        ),
    ),
    note=SUBSCRIPTION_LIST_NOTE.format(title="A set of Stripe subscription tables"),
)
