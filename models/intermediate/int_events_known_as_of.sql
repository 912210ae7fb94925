{#- Product events (one row per event_id, de-duplicated in staging) that
    exist at the end of as_of_date: received by then and occurred by then.
    Late events count on the day they occurred. Incremental (the event table
    is the large one): each run loads the events received since the last
    one, minus a lookback (var event_lookback_days), keyed on event_id, and
    equals a full refresh. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(['received_at', 'occurred_at']) }}",
) }}

with

events as (
    select * from {{ ref('stg_events__tracks') }}
),

final as (
    select
        event_id,
        account_id,
        user_id,
        event_name,
        feature_name,
        onboarding_step,
        is_meaningful,
        cast(occurred_at as date) as occurred_date,
        occurred_at,
        received_at
    from events
    where
        {{ known_as_of('received_at') }}
        and {{ known_as_of('occurred_at') }}
        and {{ incremental_watermark_filter('received_at') }}
)

select * from final
