{#- Each ISO week's revenue equals the sum of its days' revenue. -#}
with

weekly_revenue as (
    select * from {{ ref('fct_weekly_revenue') }}
),

daily_revenue as (
    select * from {{ ref('fct_daily_revenue') }}
),

days_by_week as (
    select
        {{ iso_week_start('revenue_date') }} as iso_week_start_date,
        sum(revenue_usd) as revenue_usd
    from daily_revenue
    group by 1
),

final as (
    select
        weekly_revenue.iso_week_start_date,
        weekly_revenue.weekly_revenue_usd,
        days_by_week.revenue_usd
    from weekly_revenue
    full outer join days_by_week
        on weekly_revenue.iso_week_start_date = days_by_week.iso_week_start_date
    where
        abs(
            coalesce(weekly_revenue.weekly_revenue_usd, 0)
            - coalesce(days_by_week.revenue_usd, 0)
        ) >= 0.000001
        or weekly_revenue.iso_week_start_date is null
)

select * from final
