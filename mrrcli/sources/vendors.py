"""The billing systems mrrcli reads as they export (facts: EXPORTS.md in the shared folder).

Order matters for --source auto: the first source whose signature headers are all present wins,
so more specific signatures come first. Every signature holds at least one header that no
generic shape uses, so a `periods`, `invoice-lines` or `snapshots` file is never taken for a
vendor's export.
"""

from __future__ import annotations

from mrrcli.sources import SUBSCRIPTION_LIST_NOTE, Lookup, Source, Versions
from mrrcli.sources.warehouse import STRIPE_WAREHOUSE

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
        # A subscription that trialed shows its full price from Start: MRR starts at Trial End.
        "trial_end": ("Trial End (UTC)",),
    },
    signature=("Customer ID", "Status", "Ended At (UTC)"),
    amount_unit="major",
    timezone="UTC",
    # The file cannot say since when an unpaid or paused subscription stopped paying.
    status_ends={
        "unpaid": "Current Period Start (UTC)",
        "paused": "Current Period Start (UTC)",
    },
    unpaid_statuses=("incomplete", "incomplete_expired"),
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Stripe subscriptions export"),
)

# Stripe `invoice_line_item` as Sigma, Data Pipeline and warehouse connectors (Fivetran, Stitch,
# Airbyte) write it: snake_case API fields, `amount` in minor units before tax, the service period
# in `period_start`/`period_end` (exclusive: the next period starts at the same instant). Every
# variant carries `discountable`, which no generic file has. The customer lives on the invoice:
# a `customer` column is used when the export joined it in. Since API 2025-03-31 `proration` and
# `subscription` sit under `parent.subscription_item_details.*`.
STRIPE_INVOICE_LINES = Source(
    name="stripe-invoice-lines",
    shape="invoice-lines",
    title="Stripe invoice line items (Sigma / Data Pipeline / warehouse)",
    columns={
        "customer_id": (
            "customer",
            "customer_id",
            "invoice.customer",
            "invoice_customer",
            "invoice_customer_id",
        ),
        "subscription_id": (
            "subscription",
            "subscription_id",
            "parent.subscription_item_details.subscription",
            "subscription_item",
            "subscription_item_id",
        ),
        "amount": ("amount",),
        "currency": ("currency",),
        "period_start": ("period_start", "period.start"),
        "period_end": ("period_end", "period.end"),
        "type": ("type",),
        "proration": ("proration", "parent.subscription_item_details.proration"),
        # Only when the export joined the invoice's status in.
        "status": ("invoice_status", "invoice.status"),
        "plan_id": ("price_id", "price", "pricing.price_details.price", "plan_id", "plan"),
        # Lines of one item do not stack (SPEC §2.2); a header taken above stays a subscription.
        "subscription_item_id": (
            "subscription_item_id",
            "subscription_item",
            "parent.subscription_item_details.subscription_item",
        ),
    },
    signature=("period_start", "period_end", "discountable"),
    amount_unit="minor",
    timezone="UTC",
    drop={"_fivetran_deleted": ("true",)},
    unpaid_statuses=("draft", "void", "uncollectible"),
    lookups=(
        Lookup(
            title="Stripe invoices",
            signature=("id", "amount_due", "status"),
            key=("invoice_id", "invoice"),
            table_key="id",
            columns={
                "invoice.customer": ("customer_id", "customer"),
                "invoice.status": ("status",),
            },
        ),
    ),
)

# Chargebee's export zip, Subscriptions.csv: headers `object.field`, statuses in Title Case
# (`Active`, `In Trial`, `Non Renewing`, `Cancelled`, `Paused`, `Future`). `plan_unit_price`
# is written in major units in the export (the API's own field is in minor units).
# `cancelled_at` is the end of service for Cancelled and the scheduled end for Non Renewing
# subscriptions; nothing after --as-of is counted, so a future date is not churn yet.
CHARGEBEE = Source(
    name="chargebee",
    shape="periods",
    title="Chargebee subscriptions export",
    columns={
        "customer_id": ("customers.id", "subscriptions.customer_id"),
        "subscription_id": ("subscriptions.id",),
        "plan_id": ("subscriptions.plan_id",),
        "quantity": ("subscriptions.plan_quantity", "subscriptions.plan_quantity_in_decimal"),
        "amount": ("subscriptions.plan_unit_price", "subscriptions.plan_unit_price_in_decimal"),
        "currency": ("subscriptions.currency_code",),
        "interval": ("subscriptions.billing_period_unit", "plans.period_unit"),
        "interval_count": ("subscriptions.billing_period", "plans.period"),
        "status": ("subscriptions.status",),
        "start_date": (
            "subscriptions.started_at",
            "subscriptions.activated_at",
            "subscriptions.start_date",
        ),
        "end_date": ("subscriptions.cancelled_at",),
        "trial_end": ("subscriptions.trial_end",),
    },
    signature=("subscriptions.id", "customers.id", "subscriptions.status"),
    amount_unit="major",
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Chargebee subscriptions export"),
    lookups=(
        # SubscriptionAddons.csv of the same export zip (`Subscription Id`, `Addon Id`,
        # `Addon Quantity`, `Addon Unit Price`, `Addon Amount`): each add-on is one more row
        # of its subscription, for the subscription's period, at the add-on's price.
        Lookup(
            title="Chargebee subscription add-ons",
            signature=("Subscription Id", "Addon Id"),
            key=("subscriptions.id",),
            table_key="Subscription Id",
            columns={
                "subscriptions.plan_id": ("Addon Id",),
                "subscriptions.plan_quantity": ("Addon Quantity", "Quantity"),
                "subscriptions.plan_quantity_in_decimal": (),
                "subscriptions.plan_unit_price": ("Addon Unit Price", "Unit Price"),
                "subscriptions.plan_unit_price_in_decimal": (),
            },
            adds_rows=True,
        ),
    ),
)

# ChartMogul's CSV import, invoices file: `Amount in cents` is after discounts and *includes*
# `Tax amount` (also in cents), so the tax is taken off; `Type` is subscription, one_time,
# trial or usage.
CHARTMOGUL = Source(
    name="chartmogul",
    shape="invoice-lines",
    title="ChartMogul CSV import (invoices)",
    columns={
        "customer_id": ("Customer external ID",),
        "subscription_id": ("Subscription external ID",),
        "amount": ("Amount in cents",),
        "tax_amount": ("Tax amount", "Tax amount in cents"),
        "currency": ("Currency",),
        "period_start": ("Service period start",),
        "period_end": ("Service period end",),
        "type": ("Type", "Line item type"),
        "proration": ("Proration", "Prorated"),
        "plan_id": ("Plan ID", "Plan external ID"),
    },
    signature=("Customer external ID", "Amount in cents", "Service period start"),
    amount_unit="minor",
    timezone="UTC",
)

# Lago's invoice-fees export: one row per fee, amounts in cents, `fee_total_amount_cents`
# including `fee_taxes_amount_cents`. Newer Lago writes `fee_from_date`/`fee_to_date` where older
# versions wrote `fee_from_date_utc`/`fee_to_date_utc`. `fee_item_type` is subscription or
# add_on (recurring), charge (usage), credit or commitment. The fees export has no customer: the
# invoices export has `customer_external_id`.
LAGO = Source(
    name="lago",
    shape="invoice-lines",
    title="Lago invoice fees export",
    columns={
        # One header cannot fill two canonical columns, so the subscription stays unmapped (it
        # defaults to the customer): mapping it would leave a file without
        # customer_external_id with no customer at all.
        "customer_id": ("customer_external_id", "subscription_external_id"),
        "amount": ("fee_total_amount_cents",),
        "tax_amount": ("fee_taxes_amount_cents",),
        "currency": ("fee_amount_currency",),
        "period_start": ("fee_from_date_utc", "fee_from_date"),
        "period_end": ("fee_to_date_utc", "fee_to_date"),
        "kind": ("fee_item_type",),
        "plan_id": ("subscription_plan_code",),
        # Fees of one Lago subscription do not stack; a customer's subscriptions do (SPEC §2.2).
        "subscription_item_id": ("subscription_external_id",),
    },
    signature=("fee_item_type", "fee_amount_currency", "fee_total_amount_cents"),
    amount_unit="minor",
    timezone="UTC",
    # fee_to_date is the period's last instant (2024-01-31T23:59:59): the next period starts
    # the day after.
    period_end_inclusive=True,
    note=(
        "Lago's fees export names no customer: without a customer_external_id column (from the "
        "invoices export) each subscription_external_id counts as its own customer"
    ),
)

# Paddle Billing transaction line items report: ids `ctm_…`, `sub_…`; totals as strings in the
# lowest denomination; `subtotal` is before discount and tax. Column names past the first dozen
# are unverified, hence the alternatives.
PADDLE = Source(
    name="paddle",
    shape="invoice-lines",
    title="Paddle Billing transaction line items report",
    columns={
        "customer_id": ("customer_id",),
        "subscription_id": ("subscription_id",),
        "amount": ("subtotal", "totals.subtotal", "totals_subtotal"),
        "discount_amount": ("discount", "totals.discount", "totals_discount"),
        "currency": ("currency_code",),
        "period_start": ("billing_period_starts_at", "billing_period.starts_at"),
        "period_end": ("billing_period_ends_at", "billing_period.ends_at"),
        "status": ("status", "transaction_status"),
        "plan_id": ("price_id",),
    },
    signature=("billing_period_starts_at", "billing_period_ends_at", "currency_code"),
    amount_unit="minor",
    timezone="UTC",
    # Transactions never billed or called off carry no MRR.
    unpaid_statuses=("draft", "ready", "canceled"),
)

# Baremetrics import format: amounts in minor units, dates strictly YYYY-MM-DD.
BAREMETRICS = Source(
    name="baremetrics",
    shape="periods",
    title="Baremetrics import CSV",
    columns={
        "customer_id": ("customer_oid",),
        "subscription_id": ("subscription_oid",),
        "plan_id": ("plan_oid",),
        "amount": ("plan_amount",),
        "currency": ("plan_currency",),
        "interval": ("plan_interval",),
        "interval_count": ("plan_interval_count",),
        "quantity": ("subscription_quantity",),
        "start_date": ("subscription_started_at",),
        "end_date": ("subscription_canceled_at",),
    },
    signature=("customer_oid", "subscription_oid", "plan_amount"),
    amount_unit="minor",
    timezone="UTC",
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Baremetrics import file"),
)

# Zuora `rate_plan_charge` (Data Source export or warehouse): `mrr` is already monthly, in the
# charge's transaction currency; effective dates are dates, the end exclusive.
ZUORA = Source(
    name="zuora",
    shape="periods",
    title="Zuora rate plan charges",
    columns={
        "customer_id": ("account_id", "Account.Id"),
        "subscription_id": ("subscription_id", "Subscription.Id"),
        "plan_id": ("product_rate_plan_id", "rate_plan_id"),
        "mrr": ("mrr", "RatePlanCharge.MRR"),
        "currency": ("transaction_currency", "currency", "Account.Currency"),
        "start_date": ("effective_start_date", "RatePlanCharge.EffectiveStartDate"),
        "end_date": ("effective_end_date", "RatePlanCharge.EffectiveEndDate"),
    },
    signature=("account_id", "mrr", "effective_start_date", "effective_end_date"),
    # OneTime and Usage charges carry no MRR; a warehouse sync marks deleted rows.
    keep={"charge_type": ("Recurring",), "RatePlanCharge.ChargeType": ("Recurring",)},
    drop={"_fivetran_deleted": ("true",)},
    # Each amendment copies every charge into a new subscription version (same
    # `charge_number`, new `id`, `version` + 1). A charge counts once, from its latest version,
    # which holds all its segments (a price change ends one segment where the next begins;
    # `is_last_segment` marks the last).
    latest_version=Versions(
        key=("charge_number", "RatePlanCharge.ChargeNumber"),
        version=("version", "RatePlanCharge.Version"),
        part=("segment", "RatePlanCharge.Segment"),
        updated=("updated_date", "RatePlanCharge.UpdatedDate"),
    ),
)

# Chargify / Maxio subscriptions CSV: `recurring_price` in major units, dates with offsets
# (`2016-06-03 12:43:50 -0400`); the site's currency is not in the file (use --currency).
CHARGIFY = Source(
    name="chargify",
    shape="periods",
    title="Chargify / Maxio subscriptions export",
    columns={
        "customer_id": ("customer_id",),
        "subscription_id": ("id", "subscription_id"),
        "plan_id": ("product_handle", "product_id"),
        "amount": ("recurring_price",),
        "currency": ("currency",),
        "interval": ("recurring_interval_unit",),
        "interval_count": ("recurring_interval",),
        "status": ("state",),
        "start_date": ("activated_at", "created_at"),
        "end_date": ("canceled_at", "expires_at"),
    },
    signature=("customer_id", "recurring_price", "recurring_interval_unit"),
    amount_unit="major",
    unpaid_statuses=("trial_ended", "awaiting_signup", "failed_to_create"),
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Chargify subscriptions export"),
)

# Recurly subscriptions (export, API v3 or warehouse `subscription_history`): `unit_amount` in
# major units per unit; the interval is the plan's (`interval_unit` is plural: `months`); churn
# is `expires_at` (end of service), not `canceled_at` (will not renew).
RECURLY = Source(
    name="recurly",
    shape="periods",
    title="Recurly subscriptions",
    columns={
        "customer_id": ("account_code", "account_id"),
        "subscription_id": ("uuid", "subscription_uuid", "id"),
        "plan_id": ("plan_code", "plan_id"),
        "quantity": ("quantity", "subscription_quantity"),
        "amount": ("unit_amount", "subscription_unit_amount"),
        "addons_amount": ("add_ons_total", "subscription_add_ons_total"),
        "currency": ("currency", "subscription_currency"),
        "interval": ("interval_unit", "plan_interval_unit"),
        "interval_count": ("interval_length", "plan_interval_length"),
        "status": ("state", "subscription_state"),
        "start_date": ("activated_at", "subscription_activated_at"),
        "end_date": ("expires_at", "subscription_expires_at"),
        # Recurly has no trial state: a trial is `active` with trial_ends_at ahead.
        "trial_end": ("trial_ends_at", "subscription_trial_ends_at"),
    },
    signature=("uuid", "state", "activated_at", "expires_at"),
    # A history table (`subscription_history`, one row per version, `id` repeating): each
    # version's price holds from its `updated_at` to the next one's, so past upgrades show.
    price_history=("id", "updated_at"),
    lookups=(
        Lookup(
            title="Recurly plans",
            signature=("code", "interval_unit", "interval_length"),
            key=("plan_id",),
            table_key="id",
            columns={
                "plan_interval_unit": ("interval_unit",),
                "plan_interval_length": ("interval_length",),
            },
        ),
    ),
    drop={"_fivetran_deleted": ("true",)},
    amount_unit="major",
    timezone="UTC",
    unpaid_statuses=("failed", "future"),
    note=SUBSCRIPTION_LIST_NOTE.format(title="A Recurly subscriptions export"),
)

VENDORS: tuple[Source, ...] = (
    STRIPE_SUBSCRIPTIONS,
    STRIPE_INVOICE_LINES,
    STRIPE_WAREHOUSE,
    CHARGEBEE,
    CHARTMOGUL,
    LAGO,
    PADDLE,
    BAREMETRICS,
    ZUORA,
    CHARGIFY,
    RECURLY,
)
