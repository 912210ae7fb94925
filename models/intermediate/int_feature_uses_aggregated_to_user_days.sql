{#- One row per user, account, feature and day with a feature_used event
    (known as of as_of_date): the feature uses behind feature adoption and
    core-feature adoption, read once from the event log. -#}
with

events as (
    select * from {{ ref('int_events_known_as_of') }}
    where event_name = 'feature_used'
),

final as (
    select
        user_id,
        account_id,
        feature_name,
        occurred_date as activity_date,
        count(*) as feature_used_event_count
    from events
    group by 1, 2, 3, 4
)

select * from final
