{#- Per account, ISO week w and source account-month (the month of the
    revenue days): the revenue of week w, the revenue of ISO weeks 1..w of
    w's ISO year (year to date) and the revenue of week 1 of that year.
    Splitting by source account-month keeps every day's revenue in the
    segment of its own month. -#}
with

invoice_days as (
    select * from {{ ref('int_invoice_lines_spread') }}
),

reporting_days as (
    select * from {{ ref('int_reporting_days_spined') }}
),

weeks as (
    select * from {{ ref('int_reporting_days_aggregated_to_weeks') }}
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

final as (
    select
        revenue_parts.account_id,
        revenue_parts.account_month_id,
        weeks.iso_year,
        weeks.iso_week,
        weeks.weeks_in_iso_year,
        weeks.iso_week_start_date,
        sum(
            case
                when
                    revenue_parts.iso_week_start_date
                    = weeks.iso_week_start_date
                    then revenue_parts.revenue_usd
                else 0
            end
        ) as weekly_revenue_usd,
        sum(revenue_parts.revenue_usd) as ytd_revenue_usd,
        sum(
            case
                when revenue_parts.iso_week = 1
                    then revenue_parts.revenue_usd
                else 0
            end
        ) as week_one_revenue_usd
    from revenue_parts
    inner join weeks
        on
            revenue_parts.iso_year = weeks.iso_year
            and revenue_parts.iso_week_start_date <= weeks.iso_week_start_date
    group by 1, 2, 3, 4, 5, 6
)

select * from final
