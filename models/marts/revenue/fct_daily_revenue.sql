{#- Recognized revenue per account and day, keyed to the account-month of
    the day (the segment of a daily revenue amount): the fact behind
    weekly_revenue. Incremental: a run rebuilds the days that
    int_invoice_lines_spread rebuilt since this model's last run (the days
    of the lines it recorded differently) and the days between their last
    days (see macros/incremental_revenue.sql). -#}
-- depends_on: {{ ref('int_invoice_lines_applied') }}
{%- set rebuilt_days = revenue_rebuild_ranges(
    invoice_lines_applied_by('int_invoice_lines_spread'), 'revenue_date',
    upstream=ref('int_invoice_lines_spread'), upstream_column='revenue_date',
) %}
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rebuilt_ranges('revenue_date', revenue_rebuild_ranges(
        invoice_lines_applied_by('int_invoice_lines_spread'), 'revenue_date',
        upstream=ref('int_invoice_lines_spread'),
        upstream_column='revenue_date',
    )) }}",
    post_hook="{{ record_invoice_lines_applied(
        invoice_lines_applied_by('int_invoice_lines_spread')
    ) }}",
) }}

with

invoice_days as (
    select * from {{ ref('int_invoice_lines_spread') }}
    where {{ in_date_ranges('revenue_date', rebuilt_days) }}
),

account_days as (
    select
        account_id,
        month_start_date,
        revenue_date,
        sum(revenue_usd) as revenue_usd
    from invoice_days
    group by 1, 2, 3
),

final as (
    select
        {{ surrogate_key(['account_id', 'revenue_date']) }} as account_day_id,
        {{ account_month_id('account_id', 'month_start_date') }}
            as account_month_id,
        account_id,
        revenue_usd,
        revenue_date
    from account_days
)

select * from final
