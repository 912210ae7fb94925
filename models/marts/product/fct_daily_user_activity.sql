{#- Users with at least one meaningful event per day, keyed to the
    account-month of the day: the one pass over the event log that the
    week parts (active-user counts), the account-month activity and the
    usage-retention windows read. -#}
with

events as (
    select * from {{ ref('int_events_known_as_of') }}
    where is_meaningful
),

user_days as (
    select
        user_id,
        account_id,
        occurred_date as activity_date,
        count(*) as meaningful_event_count
    from events
    group by 1, 2, 3
),

final as (
    select
        {{ dbt.concat([
            'user_id', "'|'", 'account_id', "'|'",
            'cast(activity_date as ' ~ dbt.type_string() ~ ')',
        ]) }} as user_day_id,
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'activity_date')
        ) }} as account_month_id,
        user_id,
        account_id,
        meaningful_event_count,
        activity_date
    from user_days
)

select * from final
