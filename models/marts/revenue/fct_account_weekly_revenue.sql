{#- Per account, ISO week and source account-month: weekly, year-to-date
    and week-1 revenue, the inputs of ytd_revenue and cwgr by segment. -#}
with

weekly_revenue as (
    select * from {{ ref('int_weekly_revenue_accumulated') }}
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
