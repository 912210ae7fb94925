{#- Recognized revenue per account and day, keyed to the account-month of
    the day (the segment of a daily revenue amount): the fact behind
    weekly_revenue. -#}
with

invoice_days as (
    select * from {{ ref('int_invoice_lines_spread') }}
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
