{#- Each ISO week's revenue equals the sum of its days' revenue; in a daily
    run (var data_tests_since), the weeks from the one that contains
    data_tests_since. -#}
{%- set since = iso_date_var('data_tests_since') %}
with

weekly_revenue as (
    select * from {{ ref('fct_weekly_revenue') }}
    {%- if since %}
    where iso_week_start_date >= {{ iso_week_start(since) }}
    {%- endif %}
),

daily_revenue as (
    select * from {{ ref('fct_daily_revenue') }}
    {%- if since %}
    where revenue_date >= {{ iso_week_start(since) }}
    {%- endif %}
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
