{#- Users with at least one meaningful event per day, keyed to the
    account-month of the day: the one pass over the event log that the
    week parts (active-user counts), the account-month activity and the
    usage-retention windows read. Incremental: a run rebuilds the days from
    the earliest one that a new or late delivery touches (see macro
    event_mart_rebuild_from). -#}
{%- set rebuild_from = event_mart_rebuild_from(
    ref('int_events_known_as_of'), 'occurred_date', 'received_at',
    'activity_date',
) %}
{{ config(
    materialized=incremental_materialization(),
    unique_key='activity_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(
        ['last_received_at', 'activity_date']
    ) }}",
) }}

with

events as (
    select * from {{ ref('int_events_known_as_of') }}
    where
        is_meaningful
        and {{ in_rebuild_window('occurred_date', rebuild_from) }}
),

user_days as (
    select
        user_id,
        account_id,
        occurred_date as activity_date,
        count(*) as meaningful_event_count,
        max(received_at) as last_received_at
    from events
    group by 1, 2, 3
),

final as (
    select
        {{ surrogate_key(['user_id', 'account_id', 'activity_date']) }}
            as user_day_id,
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'activity_date')
        ) }} as account_month_id,
        user_id,
        account_id,
        meaningful_event_count,
        activity_date,
        last_received_at
    from user_days
)

select * from final
