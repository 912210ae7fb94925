{#- Meaningful events per account-month next to the month before; a
    contraction signal is a month with fewer than 70 % of the previous
    month's events (the previous month having some). -#}
with

account_months as (
    select
        account_id,
        month_start_date
    from {{ ref('int_mrr_by_account_month') }}
),

events as (
    select * from {{ ref('int_events_known_as_of') }}
    where is_meaningful
),

monthly_events as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date)
            as month_start_date,
        count(*) as meaningful_event_count
    from events
    group by 1, 2
),

sequenced as (
    select
        account_months.account_id,
        account_months.month_start_date,
        coalesce(monthly_events.meaningful_event_count, 0)
            as meaningful_event_count,
        coalesce(
            lag(monthly_events.meaningful_event_count) over (
                partition by account_months.account_id
                order by account_months.month_start_date
            ),
            0
        ) as previous_meaningful_event_count
    from account_months
    left join monthly_events
        on
            account_months.account_id = monthly_events.account_id
            and account_months.month_start_date
            = monthly_events.month_start_date
),

final as (
    select
        {{ account_month_id('account_id', 'month_start_date') }}
            as account_month_id,
        account_id,
        meaningful_event_count,
        previous_meaningful_event_count,
        previous_meaningful_event_count > 0
        -- fewer than 70 %, in exact integer arithmetic
        and 10 * meaningful_event_count < 7 * previous_meaningful_event_count
            as is_contraction_signal,
        month_start_date
    from sequenced
)

select * from final
