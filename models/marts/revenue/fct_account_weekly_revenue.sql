{#- Per account, ISO week and source account-month: weekly, year-to-date
    and week-1 revenue, the inputs of ytd_revenue and cwgr by segment.
    Incremental: a run copies the ISO weeks that
    int_weekly_revenue_accumulated rebuilt since this model's last run
    (see macros/incremental_revenue.sql). -#}
-- depends_on: {{ ref('int_invoice_lines_applied') }}
{%- set rebuilt_weeks = revenue_rebuild_ranges(
    invoice_lines_applied_by('int_weekly_revenue_accumulated'),
    'iso_week_start_date', by_week=true,
    upstream=ref('int_weekly_revenue_accumulated'),
    upstream_column='iso_week_start_date',
) %}
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rebuilt_ranges(
        'iso_week_start_date',
        revenue_rebuild_ranges(
            invoice_lines_applied_by('int_weekly_revenue_accumulated'),
            'iso_week_start_date', by_week=true,
            upstream=ref('int_weekly_revenue_accumulated'),
            upstream_column='iso_week_start_date',
        ),
    ) }}",
    post_hook="{{ record_invoice_lines_applied(
        invoice_lines_applied_by('int_weekly_revenue_accumulated')
    ) }}",
) }}

with

weekly_revenue as (
    select * from {{ ref('int_weekly_revenue_accumulated') }}
    where {{ in_date_ranges('iso_week_start_date', rebuilt_weeks) }}
),

final as (
    select
        {{ surrogate_key(['account_month_id', 'iso_week_start_date']) }}
            as weekly_revenue_part_id,
        account_month_id,
        account_id,
        iso_year,
        iso_week,
        weeks_in_iso_year,
        weekly_revenue_usd,
        ytd_revenue_usd,
        week_one_revenue_usd,
        iso_week_start_date
    from weekly_revenue
)

select * from final
