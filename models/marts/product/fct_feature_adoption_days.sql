{#- For every user-day with a meaningful event and every feature launched
    by as_of_date: whether the user used the feature that day and whether
    the feature was launched by that day, keyed to the account-month of the
    day. The inputs of feature_adoption_rate, which must group by
    feature_name: each active user-day appears once per feature, so the
    denominator (active users) exists for every feature. -#}
with

user_days as (
    select * from {{ ref('fct_daily_user_activity') }}
),

features as (
    select
        feature_name,
        launched_date
    from {{ ref('stg_events__features') }}
    where launched_date <= {{ as_of_date() }}
),

feature_uses as (
    select distinct
        user_id,
        account_id,
        feature_name,
        occurred_date as activity_date
    from {{ ref('int_events_known_as_of') }}
    where event_name = 'feature_used'
),

final as (
    select
        {{ dbt.concat([
            'user_days.user_day_id', "'|'", 'features.feature_name',
        ]) }} as feature_user_day_id,
        user_days.account_month_id,
        user_days.user_id,
        features.feature_name,
        feature_uses.user_id is not null as has_used_feature,
        features.launched_date <= user_days.activity_date
            as is_feature_launched,
        user_days.activity_date
    from user_days
    cross join features
    left join feature_uses
        on
            user_days.user_id = feature_uses.user_id
            and user_days.account_id = feature_uses.account_id
            and user_days.activity_date = feature_uses.activity_date
            and features.feature_name = feature_uses.feature_name
)

select * from final
