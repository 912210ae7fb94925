{#- Ratable revenue per invoice line and day: every line of
    int_invoice_lines_priced (non-void, issued by as_of_date) spreads
    amount x usd_rate evenly over the days of [service_period_start,
    service_period_end); credit notes subtract (their amount is negative).
    Only days up to as_of_date. Incremental: a run rebuilds the days that
    new, restated or removed lines touch and the days between the last
    stored day and as_of_date (see macros/incremental_revenue.sql). -#}
-- depends_on: {{ ref('int_invoice_lines_applied') }}
{%- set rebuilt_days = revenue_rebuild_ranges(
    ref('int_invoice_lines_priced'), 'revenue_date',
) %}
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rebuilt_ranges('revenue_date', revenue_rebuild_ranges(
        ref('int_invoice_lines_priced'), 'revenue_date',
    )) }}",
    post_hook="{{ record_invoice_lines_applied(
        ref('int_invoice_lines_priced')
    ) }}",
) }}

with

invoice_lines as (
    select * from {{ ref('int_invoice_lines_priced') }}
    where {{ overlaps_date_ranges(
        'service_period_start_date', 'service_period_end_date', rebuilt_days,
    ) }}
),

reporting_days as (
    select
        date_day,
        month_start_date
    from {{ ref('int_reporting_days_spined') }}
    where {{ in_date_ranges('date_day', rebuilt_days) }}
),

final as (
    select
        invoice_lines.invoice_id,
        invoice_lines.account_id,
        invoice_lines.daily_amount_usd as revenue_usd,
        reporting_days.date_day as revenue_date,
        reporting_days.month_start_date
    from invoice_lines
    inner join reporting_days
        on
            invoice_lines.service_period_start_date <= reporting_days.date_day
            and invoice_lines.service_period_end_date > reporting_days.date_day
)

select * from final
