{#- One row per account created by the end of as_of_date, keyed to the
    account-month of its creation: first value (first project_created),
    activation within 7 days, and usage retention on days 30-36 and 90-96
    after creation (day 0 = creation date). A window counts only once it has
    elapsed by as_of_date. The windows read the user-days as they are: a day
    with several active users only repeats a maximum, which is cheaper than
    making the account-days distinct first. -#}
with

accounts as (
    select
        account_id,
        cast(created_at as date) as created_date
    from {{ ref('stg_billing__accounts') }}
    where {{ known_as_of('created_at') }}
),

project_events as (
    select * from {{ ref('int_events_known_as_of') }}
    where event_name = 'project_created'
),

user_days as (
    select
        account_id,
        activity_date
    from {{ ref('fct_daily_user_activity') }}
),

first_projects as (
    select
        account_id,
        min(occurred_date) as first_project_date
    from project_events
    group by 1
),

account_event_days as (
    select
        accounts.account_id,
        {{ dbt.datediff(
            'accounts.created_date', 'user_days.activity_date', 'day'
        ) }} as days_since_creation
    from accounts
    inner join user_days
        on accounts.account_id = user_days.account_id
),

retention_windows as (
    select
        account_id,
        max(
            case when days_since_creation between 30 and 36 then 1 else 0 end
        ) = 1 as has_day_30_usage,
        max(
            case when days_since_creation between 90 and 96 then 1 else 0 end
        ) = 1 as has_day_90_usage
    from account_event_days
    group by 1
),

measured as (
    select
        accounts.account_id,
        accounts.created_date,
        first_projects.first_project_date,
        {{ dbt.datediff(
            'accounts.created_date', 'first_projects.first_project_date', 'day'
        ) }} as days_to_first_project,
        {{ dbt.datediff('accounts.created_date', as_of_date(), 'day') }}
            as days_since_creation,
        coalesce(retention_windows.has_day_30_usage, false)
            as has_day_30_usage,
        coalesce(retention_windows.has_day_90_usage, false)
            as has_day_90_usage
    from accounts
    left join first_projects
        on accounts.account_id = first_projects.account_id
    left join retention_windows
        on accounts.account_id = retention_windows.account_id
),

final as (
    select
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'created_date')
        ) }} as signup_account_month_id,
        account_id,
        days_to_first_project,
        days_since_creation >= 7 as is_activation_eligible,
        days_since_creation >= 7
        and coalesce(days_to_first_project <= 7, false) as is_activated,
        days_since_creation >= 36 as is_d30_eligible,
        days_since_creation >= 36 and has_day_30_usage as is_d30_retained,
        days_since_creation >= 96 as is_d90_eligible,
        days_since_creation >= 96 and has_day_90_usage as is_d90_retained,
        created_date,
        first_project_date
    from measured
)

select * from final
