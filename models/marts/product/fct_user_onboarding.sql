{#- One row per user created by the end of as_of_date, keyed to the
    account-month of the user's creation: whether the user completed all
    five onboarding steps within 14 days of creation. Only users created at
    least 14 days before as_of_date are eligible. -#}
with

users as (
    select
        user_id,
        account_id,
        cast(created_at as date) as created_date
    from {{ ref('stg_events__users') }}
    where {{ known_as_of('created_at') }}
),

events as (
    select * from {{ ref('int_events_known_as_of') }}
    where event_name = 'onboarding_step_completed'
),

as_of as (
    select {{ as_of_date() }} as as_of_date
),

steps_in_time as (
    select
        users.user_id,
        count(distinct events.onboarding_step) as completed_step_count
    from users
    inner join events
        on users.user_id = events.user_id
    where
        {{ dbt.datediff('users.created_date', 'events.occurred_date', 'day') }}
        <= 14
    group by 1
),

final as (
    select
        {{ account_month_id(
            'users.account_id', dbt.date_trunc('month', 'users.created_date')
        ) }} as account_month_id,
        users.user_id,
        users.account_id,
        {{ dbt.datediff('users.created_date', 'as_of.as_of_date', 'day') }}
        >= 14 as is_eligible,
        coalesce(steps_in_time.completed_step_count, 0) = 5
            as has_completed_onboarding,
        users.created_date
    from users
    cross join as_of
    left join steps_in_time
        on users.user_id = steps_in_time.user_id
)

select * from final
