{#- Product events (one row per event_id, de-duplicated in staging) that
    exist at the end of as_of_date: received by then and occurred by then.
    Late events count on the day they occurred. A view: a filter of the
    incremental staging table, read by the product marts, so the event log
    is stored once. -#}
{{ config(materialized='view') }}

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
)

select * from final
