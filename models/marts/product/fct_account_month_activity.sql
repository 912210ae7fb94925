{#- Meaningful events and distinct core features used per account-month,
    next to the month before. A contraction signal is a month with fewer
    than 70 % of the previous month's events (the previous month having
    some); a core adopter used at least 3 distinct core features. -#}
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

features as (
    select
        feature_name,
        is_core
    from {{ ref('stg_events__features') }}
    where launched_date <= {{ as_of_date() }}
),

monthly_events as (
    select
        events.account_id,
        cast({{ dbt.date_trunc('month', 'events.occurred_date') }} as date)
            as month_start_date,
        count(*) as meaningful_event_count,
        count(
            distinct case
                when events.event_name = 'feature_used' and features.is_core
                    then events.feature_name
            end
        ) as core_features_used_count
    from events
    left join features
        on events.feature_name = features.feature_name
    group by 1, 2
),

sequenced as (
    select
        account_months.account_id,
        account_months.month_start_date,
        coalesce(monthly_events.meaningful_event_count, 0)
            as meaningful_event_count,
        coalesce(monthly_events.core_features_used_count, 0)
            as core_features_used_count,
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
        core_features_used_count,
        meaningful_event_count > 0 as is_active,
        core_features_used_count >= 3 as is_core_adopter,
        previous_meaningful_event_count > 0
        -- fewer than 70 %, in exact integer arithmetic
        and 10 * meaningful_event_count < 7 * previous_meaningful_event_count
            as is_contraction_signal,
        month_start_date
    from sequenced
)

select * from final
