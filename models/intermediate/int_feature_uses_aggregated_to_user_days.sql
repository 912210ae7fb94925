{#- One row per user, account, feature and day with a feature_used event
    (known as of as_of_date): the feature uses behind feature adoption and
    core-feature adoption, read once from the event log. Incremental like
    fct_daily_user_activity (see macro event_mart_rebuild_from). -#}
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
        event_name = 'feature_used'
        and {{ in_rebuild_window('occurred_date', rebuild_from) }}
),

final as (
    select
        user_id,
        account_id,
        feature_name,
        occurred_date as activity_date,
        count(*) as feature_used_event_count,
        max(received_at) as last_received_at
    from events
    group by 1, 2, 3, 4
)

select * from final
