{#- Meaningful events and distinct core features used per account-month,
    next to the month before. A contraction signal is a month with fewer
    than 70 % of the previous month's events (the previous month having
    some); a core adopter used at least 3 distinct core features. -#}
with

account_months as (
    select
        account_id,
        month_start_date
    from {{ ref('int_account_months_priced') }}
),

user_days as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
            as month_start_date,
        meaningful_event_count
    from {{ ref('fct_daily_user_activity') }}
),

feature_uses as (
    select * from {{ ref('int_feature_uses_aggregated_to_user_days') }}
),

core_features as (
    select feature_name
    from {{ ref('stg_events__features') }}
    where is_core and launched_date <= {{ as_of_date() }}
),

core_feature_uses as (
    select
        feature_uses.account_id,
        cast(
            {{ dbt.date_trunc('month', 'feature_uses.activity_date') }} as date
        ) as month_start_date,
        count(distinct feature_uses.feature_name) as used_core_feature_count
    from feature_uses
    inner join core_features
        on feature_uses.feature_name = core_features.feature_name
    group by 1, 2
),

monthly_event_counts as (
    select
        account_id,
        month_start_date,
        sum(meaningful_event_count) as meaningful_event_count
    from user_days
    group by 1, 2
),

monthly_events as (
    select
        monthly_event_counts.account_id,
        monthly_event_counts.month_start_date,
        monthly_event_counts.meaningful_event_count,
        coalesce(core_feature_uses.used_core_feature_count, 0)
            as used_core_feature_count
    from monthly_event_counts
    left join core_feature_uses
        on
            monthly_event_counts.account_id = core_feature_uses.account_id
            and monthly_event_counts.month_start_date
            = core_feature_uses.month_start_date
),

sequenced as (
    select
        account_months.account_id,
        account_months.month_start_date,
        coalesce(monthly_events.meaningful_event_count, 0)
            as meaningful_event_count,
        coalesce(monthly_events.used_core_feature_count, 0)
            as used_core_feature_count,
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
        used_core_feature_count,
        meaningful_event_count > 0 as is_active,
        used_core_feature_count >= 3 as is_core_adopter,
        previous_meaningful_event_count > 0
        -- fewer than 70 %, in exact integer arithmetic
        and 10 * meaningful_event_count < 7 * previous_meaningful_event_count
            as is_contraction_signal,
        month_start_date
    from sequenced
)

select * from final
