{#- Company-level weekly revenue growth family, one row per ISO week from
    the week of the first revenue day through the week of as_of_date:
    weekly revenue, growth over the previous ISO week, year to date, CWGR
    since week 1 and the catch-up CWGR needed to reach the year's target
    run-rate (target_arr / 52) by the year's last ISO week. -#}
with

weekly_parts as (
    select * from {{ ref('int_weekly_revenue_accumulated') }}
),

weeks as (
    select * from {{ ref('int_reporting_days_aggregated_to_weeks') }}
),

revenue_targets as (
    select * from {{ ref('stg_billing__revenue_targets') }}
),

company_weeks as (
    select
        iso_week_start_date,
        sum(weekly_revenue_usd) as weekly_revenue_usd,
        sum(ytd_revenue_usd) as ytd_revenue_usd,
        sum(week_one_revenue_usd) as week_one_revenue_usd
    from weekly_parts
    group by 1
),

first_revenue_week as (
    select min(iso_week_start_date) as first_week_start_date
    from weekly_parts
),

spined as (
    select
        weeks.iso_year,
        weeks.iso_week,
        weeks.weeks_in_iso_year,
        coalesce(company_weeks.weekly_revenue_usd, 0) as weekly_revenue_usd,
        coalesce(company_weeks.ytd_revenue_usd, 0) as ytd_revenue_usd,
        coalesce(company_weeks.week_one_revenue_usd, 0)
            as week_one_revenue_usd,
        weeks.iso_week_start_date
    from weeks
    inner join first_revenue_week
        on weeks.iso_week_start_date >= first_revenue_week.first_week_start_date
    left join company_weeks
        on weeks.iso_week_start_date = company_weeks.iso_week_start_date
),

with_previous as (
    select
        spined.*,
        lag(spined.weekly_revenue_usd) over (
            order by spined.iso_week_start_date
        ) as previous_weekly_revenue_usd,
        revenue_targets.target_arr_usd
    from spined
    left join revenue_targets
        on spined.iso_year = revenue_targets.iso_year
),

final as (
    select
        iso_year,
        iso_week,
        weeks_in_iso_year,
        weekly_revenue_usd,
        previous_weekly_revenue_usd,
        {{ growth_rate('weekly_revenue_usd', 'previous_weekly_revenue_usd') }}
            as weekly_revenue_growth_rate,
        ytd_revenue_usd,
        week_one_revenue_usd,
        case
            when iso_week > 1
                then {{ compound_growth_rate(
                    'weekly_revenue_usd',
                    'week_one_revenue_usd',
                    'iso_week - 1',
                ) }}
        end as cwgr,
        target_arr_usd,
        case
            when iso_week < weeks_in_iso_year
                then {{ compound_growth_rate(
                    'target_arr_usd / 52',
                    'weekly_revenue_usd',
                    'weeks_in_iso_year - iso_week',
                ) }}
        end as catch_up_cwgr,
        iso_week_start_date = {{ iso_week_start(as_of_date()) }}
            as is_partial_week,
        iso_week_start_date
    from with_previous
)

select * from final
