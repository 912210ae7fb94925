{#- Per account, ISO week w and source account-month (the month of the
    revenue days): the revenue of week w, the revenue of ISO weeks 1..w of
    w's ISO year (year to date) and the revenue of week 1 of that year.
    Splitting by source account-month keeps every day's revenue in the
    segment of its own month. Incremental: a run rebuilds the ISO weeks
    that int_invoice_lines_spread rebuilt since this model's last run (the
    weeks of the lines it recorded differently), the weeks between the last
    stored week and the week of as_of_date, and every later week of their
    ISO years (see macros/incremental_revenue.sql). The year-to-date sums
    start from the stored row of the week before, the last one kept. -#}
-- depends_on: {{ ref('int_invoice_lines_applied') }}
{%- set rebuilt_weeks = revenue_rebuild_ranges(
    invoice_lines_applied_by('int_invoice_lines_spread'),
    'iso_week_start_date', by_week=true,
) %}
{%- set carried_weeks = [] %}
{%- for range in rebuilt_weeks or [] %}
    {%- if range[0] is not none and range[0].isocalendar()[1] > 1 %}
        {%- do carried_weeks.append(
            range[0] - modules.datetime.timedelta(days=7)
        ) %}
    {%- endif %}
{%- endfor %}
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rebuilt_ranges(
        'iso_week_start_date',
        revenue_rebuild_ranges(
            invoice_lines_applied_by('int_invoice_lines_spread'),
            'iso_week_start_date', by_week=true,
        ),
    ) }}",
    post_hook="{{ record_invoice_lines_applied(
        invoice_lines_applied_by('int_invoice_lines_spread')
    ) }}",
) }}

with

invoice_days as (
    select * from {{ ref('int_invoice_lines_spread') }}
    where {{ in_date_ranges('revenue_date', rebuilt_weeks) }}
),

reporting_days as (
    select * from {{ ref('int_reporting_days_spined') }}
    where {{ in_date_ranges('date_day', rebuilt_weeks) }}
),

weeks as (
    select * from {{ ref('int_reporting_days_aggregated_to_weeks') }}
    where {{ in_date_ranges('iso_week_start_date', rebuilt_weeks) }}
),

revenue_parts as (
    select
        invoice_days.account_id,
        {{ account_month_id(
            'invoice_days.account_id', 'invoice_days.month_start_date'
        ) }} as account_month_id,
        reporting_days.iso_week_start_date,
        reporting_days.iso_year,
        reporting_days.iso_week,
        sum(invoice_days.revenue_usd) as revenue_usd
    from invoice_days
    inner join reporting_days
        on invoice_days.revenue_date = reporting_days.date_day
    group by 1, 2, 3, 4, 5
),

accumulated_parts as (
    select
        account_id,
        account_month_id,
        iso_week_start_date,
        iso_year,
        iso_week,
        revenue_usd,
        case when iso_week = 1 then revenue_usd else 0 end
            as week_one_revenue_usd
    from revenue_parts
    {%- if carried_weeks %}
        union all
        -- the year to date of the week before a rebuilt range, as one part
        select
            account_id,
            account_month_id,
            iso_week_start_date,
            iso_year,
            iso_week,
            ytd_revenue_usd as revenue_usd,
            week_one_revenue_usd
        from {{ this }}
        where iso_week_start_date in (
            {%- for week in carried_weeks %}
                cast('{{ week }}' as date){% if not loop.last %},{% endif %}
            {%- endfor %}
        )
    {%- endif %}
),

final as (
    select
        accumulated_parts.account_id,
        accumulated_parts.account_month_id,
        weeks.iso_year,
        weeks.iso_week,
        weeks.weeks_in_iso_year,
        weeks.iso_week_start_date,
        sum(
            case
                when
                    accumulated_parts.iso_week_start_date
                    = weeks.iso_week_start_date
                    then accumulated_parts.revenue_usd
                else 0
            end
        ) as weekly_revenue_usd,
        sum(accumulated_parts.revenue_usd) as ytd_revenue_usd,
        sum(accumulated_parts.week_one_revenue_usd) as week_one_revenue_usd
    from accumulated_parts
    inner join weeks
        on
            accumulated_parts.iso_year = weeks.iso_year
            and accumulated_parts.iso_week_start_date
            <= weeks.iso_week_start_date
    group by 1, 2, 3, 4, 5, 6
)

select * from final
